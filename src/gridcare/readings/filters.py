"""FilterSets shared by the readings screens and the REST API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridcare.core.scoped import ScopedFilterSet
from gridcare.org.models import OrgUnit, User
from gridcare.readings.models import RULE_LABELS, IntervalDay, MeterRead, ReadException, ReadingTask, Route


class RouteFilter(ScopedFilterSet):
    number = django_filters.CharFilter(label=_("Route number"), lookup_expr="startswith")

    class Meta:
        model = Route
        fields = ["number", "org_unit", "reader", "mode", "frequency", "active"]


class TaskFilter(ScopedFilterSet):
    class Meta:
        model = ReadingTask
        fields = ["period", "route", "status", "register"]


class ReadFilter(ScopedFilterSet):
    meter_asset_no = django_filters.CharFilter(label=_("Meter asset number"), field_name="meter__asset_no")

    class Meta:
        model = MeterRead
        fields = ["period", "meter_asset_no", "register", "source", "status", "service_point"]


class ExceptionFilter(ScopedFilterSet):
    rule = django_filters.ChoiceFilter(
        label=pgettext_lazy("meter reading", "Rule"), choices=list(RULE_LABELS.items())
    )
    route = django_filters.ModelChoiceFilter(
        label=_("Route"), field_name="task__route", queryset=Route.objects.all()
    )
    reader = django_filters.ModelChoiceFilter(
        label=_("Reader"),
        field_name="task__route__reader",
        queryset=User.objects.filter(reading_routes__isnull=False).distinct(),
    )

    class Meta:
        model = ReadException
        fields = ["period", "rule", "severity", "status", "route", "reader"]


class IntervalDayFilter(ScopedFilterSet):
    """Meter-days of interval data: by day range, unit (station and below), meter, and the kind of problem."""

    PROBLEMS = (
        ("any", _("Any problem")),
        ("gaps", _("Missing intervals")),
        ("spikes", _("Spikes")),
        ("conflicts", _("Conflicting values")),
        ("rejected", _("Rejected values")),
    )

    day_from = django_filters.DateFilter(
        label=pgettext_lazy("interval data", "From"), field_name="day", lookup_expr="gte"
    )
    day_to = django_filters.DateFilter(
        label=pgettext_lazy("interval data", "To"), field_name="day", lookup_expr="lte"
    )
    unit = django_filters.ModelChoiceFilter(label=_("Unit"), queryset=OrgUnit.objects.all(), method="in_unit")
    meter_asset_no = django_filters.CharFilter(label=_("Meter asset number"), field_name="meter__asset_no")
    problem = django_filters.ChoiceFilter(
        label=pgettext_lazy("interval data", "Problem"), choices=PROBLEMS, method="with_problem"
    )

    class Meta:
        model = IntervalDay
        fields = ["day_from", "day_to", "unit", "meter_asset_no", "problem"]

    def in_unit(
        self, queryset: QuerySet[IntervalDay], name: str, value: OrgUnit | None
    ) -> QuerySet[IntervalDay]:
        if value is None:
            return queryset
        return queryset.filter(service_point__org_unit__path__startswith=value.path)

    def with_problem(self, queryset: QuerySet[IntervalDay], name: str, value: str) -> QuerySet[IntervalDay]:
        if not value:
            return queryset
        if value == "any":
            return queryset.filter(Q(gaps__gt=0) | Q(spikes__gt=0) | Q(conflicts__gt=0) | Q(rejected__gt=0))
        return queryset.filter(**{f"{value}__gt": 0})
