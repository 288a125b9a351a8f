"""FilterSets shared by the desk screens and the REST API of the service app."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.core.scoped import ScopedFilterSet
from gridcare.customers.filters import customer_filter
from gridcare.org.filters import UnitSubtreeFilter
from gridcare.service.choices import Channel, OrderType, Status, SubType
from gridcare.service.models import SLAPolicy, StockItem, WorkOrder
from gridcare.service.sla import near_breach_q, overdue_q

SLA_CHOICES = [("near", _("Near breach")), ("overdue", _("Overdue")), ("escalated", _("Escalated"))]


class WorkOrderFilter(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Number / subject / phone / address"), method="search")
    order_type = django_filters.ChoiceFilter(label=_("Type"), choices=OrderType.choices)
    sub_type = django_filters.ChoiceFilter(label=_("Sub-type"), choices=SubType.choices)
    status = django_filters.MultipleChoiceFilter(
        label=_("Status"),
        choices=Status.choices,
        widget=forms.SelectMultiple(attrs={"size": 1, "data-placeholder": _("Any status")}),
    )
    channel = django_filters.ChoiceFilter(label=_("Channel"), choices=Channel.choices)
    sla = django_filters.ChoiceFilter(label=_("SLA"), choices=SLA_CHOICES, method="by_sla")
    created_from = django_filters.DateFilter(
        label=_("Accepted from"),
        field_name="created_at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    created_to = django_filters.DateFilter(
        label=_("Accepted to"),
        field_name="created_at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    customer = customer_filter()

    class Meta:
        model = WorkOrder
        fields = [
            "q",
            "order_type",
            "sub_type",
            "status",
            "channel",
            "sla",
            "created_from",
            "created_to",
            "customer",
        ]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(number__icontains=value)
            | Q(title__icontains=value)
            | Q(contact_phone__icontains=value)
            | Q(address__icontains=value)
        )

    def by_sla(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        now = timezone.now()
        if value == "near":
            return queryset.filter(near_breach_q(now))
        if value == "overdue":
            return queryset.filter(overdue_q(now))
        if value == "escalated":
            return queryset.filter(escalation_level__gt=0)
        return queryset


class SLAPolicyFilter(ScopedFilterSet):
    class Meta:
        model = SLAPolicy
        fields = ["order_type", "sub_type", "area_class", "milestone", "clock"]


class StockItemFilter(ScopedFilterSet):
    name = django_filters.CharFilter(label=_("Name"), lookup_expr="icontains")
    under = UnitSubtreeFilter()

    class Meta:
        model = StockItem
        fields = ["name", "kind", "under"]
