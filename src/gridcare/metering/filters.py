"""FilterSets shared by the metering screens and the REST API."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.core.scoped import AutocompleteFilter, ScopedFilterSet
from gridcare.customers.filters import service_point_filter
from gridcare.metering.models import Installation, Meter
from gridcare.metering.selectors import overdue_q
from gridcare.org.filters import UnitSubtreeFilter


class MeterFilter(ScopedFilterSet):
    asset_no = django_filters.CharFilter(label=_("Asset number"), lookup_expr="startswith")
    barcode = django_filters.CharFilter(label=_("Barcode"), lookup_expr="startswith")
    manufacturer = django_filters.CharFilter(label=_("Manufacturer"), lookup_expr="icontains")
    account_number = django_filters.CharFilter(
        label=_("Account number"), field_name="service_point__account__number", lookup_expr="startswith"
    )
    metering_class = django_filters.CharFilter(
        label=_("Metering class"), field_name="service_point__metering_class"
    )
    overdue = django_filters.BooleanFilter(label=_("Overdue"), method="filter_overdue")
    due_before = django_filters.DateFilter(
        label=_("Test due before"), field_name="next_test_due", lookup_expr="lte"
    )
    under = UnitSubtreeFilter()
    service_point = service_point_filter()

    class Meta:
        model = Meter
        fields = [
            "asset_no",
            "barcode",
            "manufacturer",
            "status",
            "kind",
            "phases",
            "accuracy_class",
            "under",
            "service_point",
            "account_number",
            "metering_class",
            "overdue",
            "due_before",
        ]

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        q = overdue_q(timezone.localdate())
        return queryset.filter(q) if value else queryset.exclude(q)


class InstallationFilter(ScopedFilterSet):
    meter_asset_no = django_filters.CharFilter(
        label=_("Asset number"), field_name="meter__asset_no", lookup_expr="startswith"
    )
    account_number = django_filters.CharFilter(
        label=_("Account number"), field_name="service_point__account__number", lookup_expr="startswith"
    )
    installed_from = django_filters.DateFilter(
        label=_("Installed from"), field_name="installed_on", lookup_expr="gte"
    )
    installed_to = django_filters.DateFilter(
        label=_("Installed to"), field_name="installed_on", lookup_expr="lte"
    )
    open = django_filters.BooleanFilter(label=_("In service"), field_name="removed_on", lookup_expr="isnull")
    meter = AutocompleteFilter(
        label=_("Meter"), queryset=Meter.objects.all(), url_name="metering:meter-autocomplete"
    )
    service_point = service_point_filter()

    class Meta:
        model = Installation
        fields = [
            "meter",
            "meter_asset_no",
            "service_point",
            "account_number",
            "reason",
            "installed_from",
            "installed_to",
            "open",
        ]
