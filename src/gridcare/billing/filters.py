"""FilterSets shared by the billing screens and the REST API."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from gridcare.billing.models import Bill, BillFinding, BillingRun, Rebill, RebillItem, SalesPlan
from gridcare.billing.review import RULE_LABELS
from gridcare.core.scoped import ScopedFilterSet
from gridcare.org.filters import UnitSubtreeFilter

RULE_CHOICES = list(RULE_LABELS.items())


class RunFilter(ScopedFilterSet):
    class Meta:
        model = BillingRun
        fields = ["period", "status", "executor"]


class BillFilter(ScopedFilterSet):
    unit = UnitSubtreeFilter(path_field="account__org_unit__path")
    rule = django_filters.ChoiceFilter(label=_("Rule"), choices=RULE_CHOICES, method="with_finding")

    class Meta:
        model = Bill
        fields = ["period", "status", "kind", "run", "account", "unit", "rule"]

    def with_finding(self, queryset: QuerySet[Bill], name: str, value: str) -> QuerySet[Bill]:
        if not value:
            return queryset
        return queryset.filter(pk__in=BillFinding.objects.filter(rule=value).values("bill_id"))


class ReviewFilter(BillFilter):
    """The review queue: the bills in review (and drafts whose findings were accepted) of a run, unit or rule."""

    class Meta(BillFilter.Meta):
        fields = ["period", "run", "unit", "rule"]


class FindingFilter(ScopedFilterSet):
    rule = django_filters.ChoiceFilter(label=_("Rule"), choices=RULE_CHOICES)

    class Meta:
        model = BillFinding
        fields = ["bill", "rule", "accepted"]


class RebillFilter(ScopedFilterSet):
    """退补: by status, type, and the period of the bills a case corrects."""

    period = django_filters.CharFilter(label=_("Period"), method="of_period")

    class Meta:
        model = Rebill
        fields = ["status", "kind", "period"]

    def of_period(self, queryset: QuerySet[Rebill], name: str, value: str) -> QuerySet[Rebill]:
        if not value:
            return queryset
        return queryset.filter(pk__in=RebillItem.objects.filter(bill__period=value).values("rebill_id"))


class WholeNumberFilter(django_filters.NumberFilter):
    """A whole number in a range (a year, a month): "0.0" or "2026.5" is a 400 naming the parameter, never a date
    lookup the database cannot make."""

    field_class = forms.IntegerField  # type: ignore[assignment]  # a whole number, where NumberFilter takes decimals


class SalesPlanFilter(ScopedFilterSet):
    """售电计划: by year, month (1–12) and unit (and below)."""

    year = WholeNumberFilter(
        label=_("Year"), field_name="month", lookup_expr="year", min_value=2000, max_value=2100
    )
    month_number = WholeNumberFilter(
        label=_("Month"), field_name="month", lookup_expr="month", min_value=1, max_value=12
    )
    unit = UnitSubtreeFilter(path_field="org_unit__path")

    class Meta:
        model = SalesPlan
        fields = ["year", "month_number", "unit", "org_unit"]
