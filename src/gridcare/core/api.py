"""REST API of the core app: the audit log (read-only) and the business calendar."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action as route
from rest_framework.request import Request
from rest_framework.response import Response

from gridcare.api.base import ActionViewSet, ScopedViewSetMixin
from gridcare.api.fields import BusinessDateField, BusinessDateTimeField, ScopedModelSerializer
from gridcare.api.permissions import PUBLIC
from gridcare.core import calendar
from gridcare.core.actions import do_delete_calendar_override, do_set_calendar_override
from gridcare.core.filters import AuditEntryFilter
from gridcare.core.models import AuditEntry, CalendarOverride


class AuditEntrySerializer(ScopedModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "actor",
            "actor_name",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "before",
            "after",
            "request_id",
            "job_id",
            "note",
        ]


class AuditEntryViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[AuditEntry]):
    """审计日志 — who changed what, when, before/after; filter by person, object, action, time."""

    queryset = AuditEntry.objects.all()
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilter
    view_permission = "audit.view"


class CalendarOverrideSerializer(ScopedModelSerializer):
    day = BusinessDateField()

    class Meta:
        model = CalendarOverride
        fields = ["id", "day", "is_working_day", "reason"]


class DeadlineSerializer(serializers.Serializer[Any]):
    start = BusinessDateTimeField()
    working_days = serializers.IntegerField(min_value=1, max_value=366)
    deadline = serializers.DateTimeField(read_only=True)


class DayQuerySerializer(serializers.Serializer[Any]):
    date = BusinessDateField()


class WorkingDaySerializer(serializers.Serializer[Any]):
    date = serializers.DateField()
    is_working_day = serializers.BooleanField()


class CalendarOverrideViewSet(ActionViewSet):
    """工作日历 — overrides of the official calendar, plus day checks and deadline calculation."""

    queryset = CalendarOverride.objects.all()
    serializer_class = CalendarOverrideSerializer
    filterset_fields = ["is_working_day"]
    view_permission = PUBLIC
    action_permissions = {"create": "calendar.manage", "destroy": "calendar.manage", "deadline": PUBLIC}
    public_reasons = {
        "view": "工作日历人人可查 (the business calendar is every signed-in user's reference)",
        "deadline": "按日历计算期限，不读写业务数据 (a date computation; reads or writes no business data)",
    }
    http_method_names = ["get", "post", "delete", "head", "options"]

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        serializer.instance = do_set_calendar_override(self.request.user, **serializer.validated_data)

    def perform_destroy(self, instance: CalendarOverride) -> None:
        do_delete_calendar_override(self.request.user, instance)

    @extend_schema(parameters=[DayQuerySerializer], responses=WorkingDaySerializer)
    @route(detail=False, methods=["get"])
    def day(self, request: Request) -> Response:
        """Is this date a working day?"""
        query = DayQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        day = query.validated_data["date"]
        return Response(
            WorkingDaySerializer({"date": day, "is_working_day": calendar.is_working_day(day)}).data
        )

    @extend_schema(request=DeadlineSerializer, responses=DeadlineSerializer)
    @route(detail=False, methods=["post"])
    def deadline(self, request: Request) -> Response:
        """Deadline of a rule "within n working days" from ``start`` (24:00 of the n-th working day)."""
        data = DeadlineSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = dict(data.validated_data)
        values["deadline"] = calendar.add_working_days(values["start"], values["working_days"])
        return Response(DeadlineSerializer(values).data)


ROUTES = [
    ("audit", AuditEntryViewSet, "audit"),
    ("calendar/overrides", CalendarOverrideViewSet, "calendar-override"),
]
