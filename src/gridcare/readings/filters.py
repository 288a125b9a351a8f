"""FilterSets shared by the readings screens and the REST API."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridcare.core.scoped import ScopedFilterSet
from gridcare.org.models import User
from gridcare.readings.models import RULE_LABELS, MeterRead, ReadException, ReadingTask, Route


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
