"""REST API of the readings app: routes (with re-order / split / merge and the plan), reading tasks, reads,
the exception queue with its decisions, billing determinants and the head-end endpoint (采集系统接口)."""

from __future__ import annotations

from typing import Any

import polars as pl
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action as route
from rest_framework.request import Request
from rest_framework.response import Response

from gridcare.api.base import ActionViewSet, ScopedViewSetMixin, StoredForm
from gridcare.api.fields import ScopedModelSerializer, ScopedPrimaryKeyRelatedField
from gridcare.core.errors import InvalidInput
from gridcare.core.requests import StaffRequest
from gridcare.org.models import OrgUnit, User
from gridcare.readings import actions
from gridcare.readings.actions.capture import MAX_BATCH
from gridcare.readings.actions.intervals import do_ingest_intervals
from gridcare.readings.filters import ExceptionFilter, IntervalDayFilter, ReadFilter, RouteFilter, TaskFilter
from gridcare.readings.models import IntervalDay, MeterRead, ReadException, ReadingTask, Route
from gridcare.readings.selectors import billing_determinants
from gridcare.readings.store import interval_conf


class ReadingRouteSerializer(ScopedModelSerializer):
    service_points = serializers.ListField(child=serializers.IntegerField(), write_only=True, required=False)
    stops = serializers.SerializerMethodField()

    class Meta:
        model = Route
        fields = [
            "id",
            "number",
            "name",
            "org_unit",
            "reader",
            "reading_day",
            "frequency",
            "mode",
            "remote_since",
            "active",
            "service_points",
            "stops",
        ]
        read_only_fields = ["active"]

    def get_stops(self, obj: Route) -> list[int]:
        return [s.service_point_id for s in obj.stops.all()]


class RouteReorderSerializer(serializers.Serializer):
    service_points = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)


class RouteSplitSerializer(serializers.Serializer):
    service_points = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    number = serializers.CharField(max_length=24)
    name = serializers.CharField(max_length=80)
    reader = ScopedPrimaryKeyRelatedField(queryset=User.objects.all(), required=False)


class RouteMergeSerializer(serializers.Serializer):
    merged_route = ScopedPrimaryKeyRelatedField(queryset=Route.objects.all())


class ReadingPlanSerializer(serializers.Serializer):
    period = serializers.CharField(max_length=7)


class PlanResultSerializer(serializers.Serializer):
    period = serializers.CharField()
    created = serializers.IntegerField()


class ReadingTaskSerializer(ScopedModelSerializer):
    meter_asset_no = serializers.CharField(source="meter.asset_no", read_only=True)
    service_point_number = serializers.CharField(source="service_point.number", read_only=True)

    class Meta:
        model = ReadingTask
        fields = [
            "id",
            "route",
            "period",
            "meter",
            "meter_asset_no",
            "register",
            "service_point",
            "service_point_number",
            "sequence",
            "due_date",
            "status",
            "reader",
        ]


class MeterReadSerializer(ScopedModelSerializer):
    meter_asset_no = serializers.CharField(source="meter.asset_no", read_only=True)

    class Meta:
        model = MeterRead
        fields = [
            "id",
            "meter",
            "meter_asset_no",
            "register",
            "read_at",
            "value",
            "source",
            "condition",
            "service_point",
            "period",
            "task",
            "multiplier",
            "quantity",
            "status",
            "supersedes",
            "entered_by",
            "approved_by",
        ]


class ReadExceptionSerializer(ScopedModelSerializer):
    class Meta:
        model = ReadException
        fields = [
            "id",
            "read",
            "task",
            "service_point",
            "period",
            "rule",
            "severity",
            "message",
            "proposed_value",
            "status",
            "reason",
            "estimate",
            "decided_by",
            "decided_at",
        ]


class RegisterQuantitySerializer(serializers.Serializer):
    quantity = serializers.DecimalField(max_digits=18, decimal_places=3)
    reads = serializers.ListField(child=serializers.IntegerField())
    estimated = serializers.BooleanField()


class DeterminantsSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    period = serializers.CharField()
    service_points = serializers.ListField(child=serializers.IntegerField())
    registers = serializers.DictField(child=RegisterQuantitySerializer())


class ExceptionReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class ExceptionCorrectSerializer(ExceptionReasonSerializer):
    value = serializers.CharField(max_length=20)


class ExceptionEstimateSerializer(ExceptionReasonSerializer):
    method = serializers.ChoiceField(choices=actions.decisions.ESTIMATION_METHODS)


class EstimateApprovalSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class HeadEndRecordSerializer(serializers.Serializer):
    """One register read of a batch (the schema of a record). The records are not validated by this serializer:
    the capture path checks each one and answers its reason (:func:`gridcare.readings.actions.check_records`)."""

    meter = serializers.CharField(max_length=32, required=False, allow_blank=True, help_text="电能表资产编号")
    task = serializers.IntegerField(required=False, help_text="抄表任务 id（可代替 meter）")
    register = serializers.CharField(max_length=16, required=False, allow_blank=True, help_text="计度器")
    read_at = serializers.CharField(
        max_length=40, help_text="抄表时间 ISO 8601, e.g. 2026-11-15T00:15:00+08:00"
    )
    value = serializers.CharField(
        max_length=40, required=False, allow_blank=True, allow_null=True, help_text="示数 (kWh), ≤ 2 decimals"
    )
    condition = serializers.CharField(max_length=20, required=False, allow_blank=True, help_text="表况")


class HeadEndBatchSerializer(serializers.Serializer):
    """The envelope: 1 to 5,000 records (the schema; the view checks only the envelope)."""

    records = serializers.ListField(
        child=HeadEndRecordSerializer(), allow_empty=False, min_length=1, max_length=MAX_BATCH
    )


class HeadEndRecordResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["received", "duplicate", "conflict", "rejected", "no_access"])
    reason = serializers.CharField()
    read = serializers.IntegerField(allow_null=True, help_text="抄表示数 id（已入库的重复/冲突）")
    exceptions = serializers.ListField(child=serializers.CharField())
    receipt = serializers.IntegerField(
        allow_null=True, help_text="采集接收 id（received / duplicate / conflict）"
    )


class HeadEndBatchResultSerializer(serializers.Serializer):
    results = HeadEndRecordResultSerializer(many=True)


def _input(request: Request, input_class: type[serializers.Serializer]) -> dict[str, Any]:
    data = input_class(data=request.data, context={"request": request})
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


class RouteViewSet(ActionViewSet):
    """抄表段 — routes in walking order; re-order, split, merge; ``plan`` generates a period's reading tasks."""

    queryset = Route.objects.select_related("org_unit", "reader").prefetch_related("stops")
    serializer_class = ReadingRouteSerializer
    filterset_class = RouteFilter
    view_permission = "reading.view"
    action_permissions = {
        name: "reading.manage_routes" for name in ("create", "reorder", "split", "merge", "plan")
    }
    http_method_names = ["get", "post", "head", "options"]

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        data = dict(serializer.validated_data)
        org_unit: OrgUnit = data.pop("org_unit")
        serializer.instance = actions.do_create_route(
            self.request.user,
            org_unit=org_unit,
            service_points=data.pop("service_points", []),
            **data,
        )

    def _answer(self, route_obj: Route) -> Response:
        return Response(ReadingRouteSerializer(self.get_queryset().model.objects.get(pk=route_obj.pk)).data)

    @extend_schema(request=RouteReorderSerializer, responses=ReadingRouteSerializer)
    @route(detail=True, methods=["post"])
    def reorder(self, request: StaffRequest, pk: str | None = None) -> Response:
        """调整抄表顺序."""
        target = self.get_object()
        data = _input(request, RouteReorderSerializer)
        return self._answer(actions.do_reorder_route(request.user, target, **data))

    @extend_schema(request=RouteSplitSerializer, responses=ReadingRouteSerializer)
    @route(detail=True, methods=["post"])
    def split(self, request: StaffRequest, pk: str | None = None) -> Response:
        """拆分抄表段: the chosen service points move to a new route (answered)."""
        target = self.get_object()
        data = _input(request, RouteSplitSerializer)
        return self._answer(actions.do_split_route(request.user, target, **data))

    @extend_schema(request=RouteMergeSerializer, responses=ReadingRouteSerializer)
    @route(detail=True, methods=["post"])
    def merge(self, request: StaffRequest, pk: str | None = None) -> Response:
        """合并抄表段: ``merged_route``'s service points are appended to this route, which stays."""
        target = self.get_object()
        data = _input(request, RouteMergeSerializer)
        return self._answer(actions.do_merge_routes(request.user, target, data["merged_route"]))

    @extend_schema(request=ReadingPlanSerializer, responses=PlanResultSerializer)
    @route(detail=False, methods=["post"])
    def plan(self, request: StaffRequest) -> Response:
        """生成抄表计划 for a period (YYYY-MM); a second run creates nothing."""
        data = _input(request, ReadingPlanSerializer)
        created = actions.do_generate_plan(request.user, period=data["period"])
        return Response({"period": data["period"], "created": created})


class TaskViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """抄表任务 — a period's tasks in walking order (a reader sees their own routes)."""

    queryset = ReadingTask.objects.select_related("meter", "service_point").order_by(
        "route", "period", "sequence", "meter", "register"
    )
    serializer_class = ReadingTaskSerializer
    filterset_class = TaskFilter
    view_permission = "reading.view"


class ReadViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """抄见示数 — register reads; ``determinants`` lists what billing may use for a period."""

    queryset = MeterRead.objects.select_related("meter")
    serializer_class = MeterReadSerializer
    filterset_class = ReadFilter
    view_permission = "reading.view"

    @extend_schema(
        parameters=[OpenApiParameter("period", str, required=True)],
        responses=DeterminantsSerializer(many=True),
    )
    @route(detail=False, methods=["get"])
    def determinants(self, request: Request) -> Response:
        """计费电量 — per account (paginated), validated quantities per register with their read ids."""
        period = request.query_params.get("period", "")
        found = billing_determinants(request.user, period=period)
        page = self.paginate_queryset(found)  # a list pages like a queryset
        return self.get_paginated_response(DeterminantsSerializer(page, many=True).data)


class ExceptionViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """抄表异常 — the VEE exception queue (by route, reader, rule) and its decisions."""

    queryset = ReadException.objects.all()
    serializer_class = ReadExceptionSerializer
    filterset_class = ExceptionFilter
    view_permission = "reading.view"
    action_permissions = {
        "accept": "reading.review",
        "correct": "reading.review",
        "reread": "reading.review",
        "estimate": "reading.review",
        "approve": "reading.approve_estimate",
    }

    def _answer(self, exception: ReadException) -> Response:
        return Response(ReadExceptionSerializer(ReadException.objects.get(pk=exception.pk)).data)

    @extend_schema(request=ExceptionReasonSerializer, responses=ReadExceptionSerializer)
    @route(detail=True, methods=["post"])
    def accept(self, request: StaffRequest, pk: str | None = None) -> Response:
        """确认 — the read stands."""
        target = self.get_object()
        data = _input(request, ExceptionReasonSerializer)
        return self._answer(actions.do_accept_exception(request.user, target, **data))

    @extend_schema(request=ExceptionCorrectSerializer, responses=ReadExceptionSerializer)
    @route(detail=True, methods=["post"])
    def correct(self, request: StaffRequest, pk: str | None = None) -> Response:
        """修正 — a new read replaces the questioned one."""
        exception = self.get_object()
        data = _input(request, ExceptionCorrectSerializer)
        actions.do_correct_exception(request.user, exception, **data)
        return self._answer(exception)

    @extend_schema(request=ExceptionReasonSerializer, responses=ReadExceptionSerializer)
    @route(detail=True, methods=["post"])
    def reread(self, request: StaffRequest, pk: str | None = None) -> Response:
        """补抄 — the task goes back to the reader."""
        target = self.get_object()
        data = _input(request, ExceptionReasonSerializer)
        return self._answer(actions.do_order_reread(request.user, target, **data))

    @extend_schema(request=ExceptionEstimateSerializer, responses=ReadExceptionSerializer)
    @route(detail=True, methods=["post"])
    def estimate(self, request: StaffRequest, pk: str | None = None) -> Response:
        """估抄 — flagged, billable only once another person approves it."""
        exception = self.get_object()
        data = _input(request, ExceptionEstimateSerializer)
        actions.do_estimate(request.user, exception, **data)
        return self._answer(exception)

    @extend_schema(request=EstimateApprovalSerializer, responses=ReadExceptionSerializer)
    @route(detail=True, methods=["post"])
    def approve(self, request: StaffRequest, pk: str | None = None) -> Response:
        """审批估抄 — by another person than the one who estimated."""
        exception = self.get_object()
        data = _input(request, EstimateApprovalSerializer)
        actions.do_approve_estimate(request.user, exception, **data)
        return self._answer(exception)


class HeadEndViewSet(ScopedViewSetMixin, viewsets.GenericViewSet):
    """采集系统接口 — batches of up to 5,000 register reads, received and checked in the request and settled
    through the capture path right after (:mod:`gridcare.readings.actions.headend`); one result per record
    (received / duplicate / conflict / rejected with the reason / no_access). Replays are harmless: per record by
    its key, per request by the ``Idempotency-Key`` header."""

    queryset = MeterRead.objects.none()
    serializer_class = HeadEndBatchSerializer
    action_permissions = {"create": "reading.enter"}

    @extend_schema(request=HeadEndBatchSerializer, responses={200: HeadEndBatchResultSerializer})
    def create(self, request: StaffRequest) -> Response:
        """The envelope is checked here; each record goes as received to the receipt, which answers its reason
        with the capture path's checks (a DRF serializer per record would cost more than receiving it)."""
        data = request.data
        records = data.get("records") if isinstance(data, dict) else None
        if not isinstance(records, list) or not records:
            raise InvalidInput({"records": "须为非空的记录列表。 (A non-empty list of records is required.)"})
        if len(records) > MAX_BATCH:
            raise InvalidInput(
                {"records": f"每批最多 {MAX_BATCH} 条。 (At most {MAX_BATCH} records per batch.)"}
            )
        results = actions.receive_reads(request.user, records)
        # built in the idempotency record's stored form: a thousand results are not round-tripped through JSON
        return Response(StoredForm(results=[r.as_stored_dict() for r in results]))


class IntervalSeriesSerializer(serializers.Serializer):
    """One meter's 15-minute values: ``reads`` = [{ts, kwh, kw?, kvarh?}] (values as text or numbers)."""

    meter = serializers.CharField(max_length=32)
    reads = serializers.ListField(child=serializers.DictField(), allow_empty=False)


class IntervalBatchSerializer(serializers.Serializer):
    series = IntervalSeriesSerializer(many=True, allow_empty=False)


class IntervalRejectedSerializer(serializers.Serializer):
    series = serializers.IntegerField()
    read = serializers.IntegerField()
    meter = serializers.CharField()
    ts = serializers.CharField()
    reason = serializers.CharField()


class IntervalConflictSerializer(serializers.Serializer):
    meter = serializers.CharField()
    ts = serializers.CharField()
    kwh = serializers.CharField()
    other_kwh = serializers.CharField()


class IntervalDayResultSerializer(serializers.Serializer):
    meter = serializers.CharField()
    day = serializers.DateField()
    expected = serializers.IntegerField()
    received = serializers.IntegerField()
    gaps = serializers.IntegerField()
    conflicts = serializers.IntegerField()
    rejected = serializers.IntegerField()
    spikes = serializers.IntegerField()
    collection_rate = serializers.CharField()


class IntervalBatchResultSerializer(serializers.Serializer):
    records = serializers.IntegerField()
    written = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = IntervalRejectedSerializer(many=True)
    conflicts = IntervalConflictSerializer(many=True)
    days = IntervalDayResultSerializer(many=True)


_INTERVAL_VALUES = ("ts", "kwh", "kw", "kvarh")


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None if value is None else "invalid"
    return str(value)


class IntervalViewSet(ScopedViewSetMixin, viewsets.GenericViewSet):
    """负荷曲线采集接口 — batches of 15-minute values per meter asset number. Meters resolve through the caller's
    write scope like register reads; bad records are rejected one by one with the reason (``series``/``read`` =
    their position), the rest is stored; the answer has the counts and each meter-day's checks. One audit row per
    batch; a replay under the same ``Idempotency-Key`` gets the first answer."""

    queryset = IntervalDay.objects.none()
    serializer_class = IntervalBatchSerializer
    action_permissions = {"create": "reading.enter"}

    @extend_schema(request=IntervalBatchSerializer, responses={200: IntervalBatchResultSerializer})
    def create(self, request: StaffRequest) -> Response:
        batch = _input(request, IntervalBatchSerializer)
        limit = int(interval_conf("MAX_API_READS"))
        positions: list[tuple[int, int]] = []
        columns: dict[str, list[str | None]] = {name: [] for name in ("meter", *_INTERVAL_VALUES)}
        for i, series in enumerate(batch["series"]):
            for j, read in enumerate(series["reads"]):
                positions.append((i, j))
                columns["meter"].append(series["meter"])
                for name in _INTERVAL_VALUES:
                    columns[name].append(_text(read.get(name)))
        if len(positions) > limit:
            raise InvalidInput({"series": f"每批最多 {limit} 个数据点。 (At most {limit} reads per batch.)"})
        frame = pl.DataFrame(columns, schema={name: pl.String for name in columns})
        frame = frame.drop([n for n in ("kw", "kvarh") if frame.get_column(n).null_count() == frame.height])
        result = do_ingest_intervals(request.user, frame, source="api")
        rejected = [
            {"series": positions[r["row"]][0], "read": positions[r["row"]][1], **r} for r in result.rejected
        ]
        for item in rejected:
            item.pop("row", None)
        return Response(
            {
                "records": result.records,
                "written": result.written,
                "duplicates": result.duplicates,
                "rejected": rejected,
                "conflicts": result.conflicts,
                "days": result.days,
            }
        )


class IntervalDaySerializer(ScopedModelSerializer):
    meter_asset_no = serializers.CharField(source="meter.asset_no", read_only=True)
    collection_rate = serializers.DecimalField(max_digits=5, decimal_places=1, read_only=True)

    class Meta:
        model = IntervalDay
        fields = [
            "id",
            "meter",
            "meter_asset_no",
            "service_point",
            "day",
            "expected",
            "received",
            "gaps",
            "conflicts",
            "rejected",
            "spikes",
            "collection_rate",
        ]


class IntervalDayViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """采集日结果 — the checks of each meter-day of interval data (filter by day, unit, problem)."""

    queryset = IntervalDay.objects.select_related("meter").order_by("-day", "meter__asset_no")
    serializer_class = IntervalDaySerializer
    filterset_class = IntervalDayFilter
    view_permission = "interval.view"


ROUTES = [
    ("readings/routes", RouteViewSet, "reading-route"),
    ("readings/tasks", TaskViewSet, "reading-task"),
    ("readings/reads", ReadViewSet, "meter-read"),
    ("readings/exceptions", ExceptionViewSet, "reading-exception"),
    ("readings/headend", HeadEndViewSet, "reading-headend"),
    ("readings/intervals", IntervalViewSet, "reading-intervals"),
    ("readings/interval-days", IntervalDayViewSet, "reading-interval-day"),
]
