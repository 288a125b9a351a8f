"""FilterSets shared by the customer screens and the REST API (one definition for both)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.api.fields import MAX_DAYS_AHEAD
from gridcare.core.scoped import ScopedFilterSet
from gridcare.customers.models import Account, Customer, ServicePoint, SupplyContract


class CustomerFilter(ScopedFilterSet):
    number = django_filters.CharFilter(label=_("Customer number"), lookup_expr="startswith")
    name = django_filters.CharFilter(label=_("Name"), lookup_expr="icontains")
    under = django_filters.CharFilter(
        label=_("Unit path prefix"), field_name="org_unit__path", lookup_expr="startswith"
    )

    class Meta:
        model = Customer
        fields = ["number", "name", "kind", "id_type", "org_unit", "under"]


class AccountFilter(ScopedFilterSet):
    number = django_filters.CharFilter(label=_("Account number"), lookup_expr="startswith")
    name = django_filters.CharFilter(label=_("Account name"), lookup_expr="icontains")
    under = django_filters.CharFilter(
        label=_("Unit path prefix"), field_name="org_unit__path", lookup_expr="startswith"
    )

    class Meta:
        model = Account
        fields = [
            "number",
            "name",
            "customer",
            "org_unit",
            "under",
            "is_key_account",
            "account_manager",
            "billing_cycle",
            "payment_method",
            "credit_rating",
            "status",
        ]


class ServicePointFilter(ScopedFilterSet):
    number = django_filters.CharFilter(label=_("Service point number"), lookup_expr="startswith")
    address = django_filters.CharFilter(label=_("Address"), lookup_expr="icontains")
    account_number = django_filters.CharFilter(
        label=_("Account number"), field_name="account__number", lookup_expr="startswith"
    )
    capacity_min = django_filters.NumberFilter(
        label=_("Capacity from (kVA)"), field_name="capacity_kva", lookup_expr="gte"
    )
    capacity_max = django_filters.NumberFilter(
        label=_("Capacity to (kVA)"), field_name="capacity_kva", lookup_expr="lte"
    )

    class Meta:
        model = ServicePoint
        fields = [
            "number",
            "address",
            "account",
            "account_number",
            "org_unit",
            "voltage_level",
            "customer_class",
            "metering_class",
            "area_class",
            "is_important",
            "tariff_code",
            "capacity_min",
            "capacity_max",
        ]


class ContractFilter(ScopedFilterSet):
    number = django_filters.CharFilter(label=_("Contract number"), lookup_expr="startswith")
    expiring_within = django_filters.NumberFilter(
        label=_("Expiring within (days)"),
        method="expiring",
        min_value=0,
        max_value=MAX_DAYS_AHEAD,
        decimal_places=0,
    )
    valid_to_before = django_filters.DateFilter(
        label=_("Term to before"), field_name="valid_to", lookup_expr="lte"
    )

    class Meta:
        model = SupplyContract
        fields = ["number", "account", "status", "expiring_within", "valid_to_before"]

    def expiring(self, queryset: QuerySet, name: str, value: float) -> QuerySet:
        today = timezone.localdate()
        return queryset.filter(
            status=SupplyContract.Status.ACTIVE,
            valid_to__gte=today,
            valid_to__lte=today + dt.timedelta(days=int(value)),
        )
