"""Readings screens (lists declared, not written): routes, reading tasks in walking order, the exception queue."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from gridcare.readings.filters import ExceptionFilter, RouteFilter, TaskFilter
from gridcare.readings.models import ReadException, ReadingTask, Route
from gridcare.web.views import Column, ScopedListView


class RouteListView(ScopedListView):
    """抄表段 — routes with their reader and reading day."""

    model = Route
    permission = "reading.view"
    filterset_class = RouteFilter
    title = _("Reading routes")
    export_name = "reading-routes"
    columns = [
        Column(_("Route number"), "number"),
        Column(_("Name"), "name"),
        Column(_("Unit"), "org_unit.name"),
        Column(_("Reader"), "reader.display_name"),
        Column(_("Reading day"), "reading_day"),
        Column(_("Frequency"), "get_frequency_display"),
        Column(_("Reading mode"), "get_mode_display"),
        Column(_("Active"), "active"),
    ]

    def base_queryset(self) -> Any:
        return Route.objects.select_related("org_unit", "reader")


class TaskListView(ScopedListView):
    """抄表任务 — a period's tasks in walking order (a reader sees their own routes)."""

    model = ReadingTask
    permission = "reading.view"
    filterset_class = TaskFilter
    title = _("Reading tasks")
    export_name = "reading-tasks"
    paginate_by = 50
    columns = [
        Column(_("Period"), "period"),
        Column(_("Route"), "route.number"),
        Column(_("Sequence"), "sequence"),
        Column(_("Service point"), "service_point.number"),
        Column(_("Meter"), "meter.asset_no"),
        Column(_("Register"), "get_register_display"),
        Column(_("Due date"), "due_date"),
        Column(_("Status"), "get_status_display"),
    ]

    def base_queryset(self) -> Any:
        return ReadingTask.objects.select_related("route", "service_point", "meter").order_by(
            "-period", "route__number", "sequence", "register"
        )


class ExceptionListView(ScopedListView):
    """抄表异常队列 — open VEE exceptions by route, reader and rule (decided through the API)."""

    model = ReadException
    permission = "reading.view"
    filterset_class = ExceptionFilter
    title = _("Reading exceptions")
    export_name = "reading-exceptions"
    columns = [
        Column(_("Period"), "period"),
        Column(_("Service point"), "service_point.number"),
        Column(_("Rule"), "rule"),
        Column(_("Severity"), "get_severity_display"),
        Column(_("Message"), "message"),
        Column(_("Status"), "get_status_display"),
        Column(_("Reason"), "reason"),
    ]

    def base_queryset(self) -> Any:
        return ReadException.objects.select_related("service_point")
