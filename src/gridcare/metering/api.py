"""REST API of the metering app: meters with install / remove / replace / test / status routes, installations,
the verification & rotation plan and the overdue list."""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action as route
from rest_framework.request import Request
from rest_framework.response import Response

from gridcare.api.base import ActionViewSet, ScopedViewSetMixin
from gridcare.api.fields import ScopedModelSerializer, ScopedPrimaryKeyRelatedField
from gridcare.core.errors import InvalidInput
from gridcare.core.requests import StaffRequest
from gridcare.customers.models import ServicePoint
from gridcare.metering import actions
from gridcare.metering.filters import InstallationFilter, MeterFilter
from gridcare.metering.models import Installation, InstallationRead, Meter, OnSiteTest, Register
from gridcare.metering.selectors import due_q, overdue_meters
from gridcare.org.models import OrgUnit


class MeterSerializer(ScopedModelSerializer):
    registers = serializers.ListField(child=serializers.ChoiceField(choices=Register.choices), required=False)
    multiplier = serializers.IntegerField(read_only=True)
    service_point_number = serializers.CharField(
        source="service_point.number", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Meter
        fields = [
            "id",
            "asset_no",
            "barcode",
            "manufacturer",
            "model_code",
            "kind",
            "accuracy_class",
            "phases",
            "rated_current",
            "register_digits",
            "registers",
            "ct_ratio",
            "pt_ratio",
            "multiplier",
            "status",
            "verified_on",
            "installed_on",
            "org_unit",
            "service_point",
            "service_point_number",
            "last_tested_on",
            "next_test_due",
            "rotation_due",
            "replace_due",
        ]
        read_only_fields = [
            "status",
            "installed_on",
            "service_point",
            "last_tested_on",
            "next_test_due",
            "rotation_due",
            "replace_due",
        ]


class ReadsField(serializers.DictField):
    child = serializers.DecimalField(max_digits=16, decimal_places=2)


class InstallSerializer(serializers.Serializer):
    service_point = ScopedPrimaryKeyRelatedField(queryset=ServicePoint.objects.all())
    installed_on = serializers.DateField()
    initial_reads = ReadsField()
    reason = serializers.ChoiceField(choices=Installation.Reason.choices, required=False)


class RemoveSerializer(serializers.Serializer):
    removed_on = serializers.DateField()
    final_reads = ReadsField(required=False)
    reason = serializers.ChoiceField(choices=Installation.Reason.choices, required=False)


class ReplaceSerializer(serializers.Serializer):
    new_meter = ScopedPrimaryKeyRelatedField(queryset=Meter.objects.all())
    replaced_on = serializers.DateField()
    final_reads = ReadsField(required=False)
    initial_reads = ReadsField(required=False)
    reason = serializers.ChoiceField(choices=Installation.Reason.choices, required=False)


class TestSerializer(serializers.Serializer):
    tested_on = serializers.DateField()
    result = serializers.ChoiceField(choices=OnSiteTest.Result.choices)
    error_percent = serializers.DecimalField(max_digits=6, decimal_places=3, required=False, allow_null=True)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Meter.Status.choices)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)
    verified_on = serializers.DateField(required=False)
    org_unit = ScopedPrimaryKeyRelatedField(queryset=OrgUnit.objects.all(), required=False)


class ReadSerializer(ScopedModelSerializer):
    class Meta:
        model = InstallationRead
        fields = ["event", "register", "value"]


class InstallationSerializer(ScopedModelSerializer):
    reads = ReadSerializer(many=True, read_only=True)
    meter_asset_no = serializers.CharField(source="meter.asset_no", read_only=True)
    service_point_number = serializers.CharField(source="service_point.number", read_only=True)
    multiplier = serializers.IntegerField(read_only=True)

    class Meta:
        model = Installation
        fields = [
            "id",
            "meter",
            "meter_asset_no",
            "service_point",
            "service_point_number",
            "installed_on",
            "removed_on",
            "reason",
            "removal_reason",
            "ct_ratio",
            "pt_ratio",
            "multiplier",
            "reads",
        ]


class MeterViewSet(ActionViewSet):
    """电能表 — meter assets; routes install / remove / replace / test / status; lists overdue and plan."""

    queryset = Meter.objects.select_related("service_point", "org_unit")
    serializer_class = MeterSerializer
    filterset_class = MeterFilter
    view_permission = "meter.view"
    action_permissions = {
        name: "meter.manage" for name in ("create", "install", "remove", "replace", "test", "status")
    }
    http_method_names = ["get", "post", "head", "options"]

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        serializer.instance = actions.do_register_meter(self.request.user, **serializer.validated_data)

    def _run(self, request: Request, input_class: type[serializers.Serializer], call: Any) -> Response:
        meter = self.get_object()
        data = input_class(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        result = call(meter, dict(data.validated_data))
        if isinstance(result, Installation):
            return Response(InstallationSerializer(result).data)
        return Response(MeterSerializer(Meter.objects.get(pk=meter.pk)).data)

    @extend_schema(request=InstallSerializer, responses=InstallationSerializer)
    @route(detail=True, methods=["post"])
    def install(self, request: StaffRequest, pk: str | None = None) -> Response:
        """装表."""
        return self._run(
            request,
            InstallSerializer,
            lambda meter, d: actions.do_install_meter(request.user, meter, d.pop("service_point"), **d),
        )

    @extend_schema(request=RemoveSerializer, responses=InstallationSerializer)
    @route(detail=True, methods=["post"])
    def remove(self, request: StaffRequest, pk: str | None = None) -> Response:
        """拆表 (final reads required)."""
        return self._run(
            request,
            RemoveSerializer,
            lambda meter, d: actions.do_remove_meter(
                request.user, meter, final_reads=d.pop("final_reads", None), **d
            ),
        )

    @extend_schema(request=ReplaceSerializer, responses=InstallationSerializer)
    @route(detail=True, methods=["post"])
    def replace(self, request: StaffRequest, pk: str | None = None) -> Response:
        """换表: remove this meter and install ``new_meter`` atomically."""
        return self._run(
            request,
            ReplaceSerializer,
            lambda meter, d: actions.do_replace_meter(
                request.user,
                meter,
                d.pop("new_meter"),
                final_reads=d.pop("final_reads", None),
                initial_reads=d.pop("initial_reads", None),
                **d,
            ),
        )

    @extend_schema(request=TestSerializer, responses=MeterSerializer)
    @route(detail=True, methods=["post"])
    def test(self, request: StaffRequest, pk: str | None = None) -> Response:
        """现场检验."""
        return self._run(
            request, TestSerializer, lambda meter, d: actions.do_record_onsite_test(request.user, meter, **d)
        )

    @extend_schema(request=StatusSerializer, responses=MeterSerializer)
    @route(detail=True, methods=["post"])
    def status(self, request: StaffRequest, pk: str | None = None) -> Response:
        """送检 / 入库 / 报废."""
        return self._run(
            request,
            StatusSerializer,
            lambda meter, d: actions.do_change_meter_status(request.user, meter, **d),
        )

    @extend_schema(responses=MeterSerializer(many=True))
    @route(detail=False, methods=["get"])
    def overdue(self, request: Request) -> Response:
        """超期清单 — installed meters with an overdue on-site test, rotation or replacement."""
        queryset = self.filter_queryset(
            overdue_meters(request.user).select_related("service_point", "org_unit")
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(MeterSerializer(page, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("start", dt.date), OpenApiParameter("end", dt.date)],
        responses=MeterSerializer(many=True),
    )
    @route(detail=False, methods=["get"])
    def plan(self, request: Request) -> Response:
        """检定轮换计划 — meters due for a test, rotation or replacement between ``start`` and ``end``."""
        try:
            start = dt.date.fromisoformat(request.query_params["start"])
            end = dt.date.fromisoformat(request.query_params["end"])
        except (KeyError, ValueError):
            raise InvalidInput(
                {"start": "请给出 start 和 end（YYYY-MM-DD）。 (start and end dates required.)"}
            ) from None
        queryset = self.filter_queryset(self.get_queryset().filter(due_q(start, end)))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(MeterSerializer(page, many=True).data)


class InstallationViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """装拆记录 — installation history with the initial and final register reads (read only)."""

    queryset = Installation.objects.select_related("meter", "service_point").prefetch_related("reads")
    serializer_class = InstallationSerializer
    filterset_class = InstallationFilter
    view_permission = "meter.view"


ROUTES = [
    ("metering/meters", MeterViewSet, "meter"),
    ("metering/installations", InstallationViewSet, "installation"),
]
