"""REST API of the tariff catalogue: tariffs with versions, import, trial calculation, basic-charge comparison."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action as route
from rest_framework.request import Request
from rest_framework.response import Response

from gridcare.api.base import ActionViewSet
from gridcare.api.fields import ScopedModelSerializer
from gridcare.core.requests import StaffRequest
from gridcare.engine.rating import Usage
from gridcare.tariffs import actions, selectors
from gridcare.tariffs.filters import TariffFilter
from gridcare.tariffs.models import Tariff, TariffVersion


class TariffVersionSerializer(ScopedModelSerializer):
    class Meta:
        model = TariffVersion
        fields = ["id", "valid_from", "valid_to", "source", "body"]


class TariffSerializer(ScopedModelSerializer):
    versions = TariffVersionSerializer(many=True, read_only=True)

    class Meta:
        model = Tariff
        fields = ["id", "code", "name", "kind", "province", "customer_class", "description", "versions"]


class TariffImportSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Tariff.Kind.choices, default=Tariff.Kind.CHINESE)
    code = serializers.CharField(max_length=64, required=False, allow_blank=True)
    definition = serializers.DictField()

    def to_representation(self, instance: Tariff) -> dict[str, Any]:
        return TariffSerializer(instance).data


class QuoteSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    energy_kwh = serializers.DictField(
        child=serializers.DecimalField(max_digits=18, decimal_places=3, min_value=0)
    )
    reactive_kvarh = serializers.DecimalField(max_digits=18, decimal_places=3, min_value=0, required=False)
    capacity_kva = serializers.DecimalField(max_digits=18, decimal_places=3, min_value=0, required=False)
    contracted_demand_kw = serializers.DecimalField(
        max_digits=18, decimal_places=3, min_value=0, required=False
    )
    max_demand_kw = serializers.DecimalField(max_digits=18, decimal_places=3, min_value=0, required=False)
    basic_basis = serializers.ChoiceField(choices=["capacity", "demand"], required=False)
    tier_ytd_kwh = serializers.DecimalField(max_digits=18, decimal_places=3, min_value=0, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["period_end"] <= attrs["period_start"]:
            raise serializers.ValidationError(
                {"period_end": "结束日期须晚于开始日期。 (End must be after start.)"}
            )
        if not attrs["energy_kwh"]:
            raise serializers.ValidationError({"energy_kwh": "至少填写一个电量。 (At least one register.)"})
        return attrs


class CompareSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    capacity_kva = serializers.DecimalField(max_digits=18, decimal_places=3, min_value=0)
    contracted_demand_kw = serializers.DecimalField(max_digits=18, decimal_places=3, min_value=0)
    max_demand_kw = serializers.ListField(
        child=serializers.DecimalField(max_digits=18, decimal_places=3, min_value=0),
        min_length=12,
        max_length=12,
    )


class TariffViewSet(ActionViewSet):
    """电价目录 — tariffs and versions; ``POST`` imports a definition; ``quote`` = 电费试算."""

    queryset = Tariff.objects.prefetch_related("versions")
    serializer_class = TariffSerializer
    filterset_class = TariffFilter
    view_permission = "tariff.view"
    action_permissions = {
        "create": "tariff.manage",
        "versions": "tariff.manage",
        "quote": "tariff.view",
        "compare_basic": "tariff.view",
    }
    http_method_names = ["get", "post", "head", "options"]

    def get_serializer_class(self):
        return TariffImportSerializer if self.action == "create" else TariffSerializer

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        data = serializer.validated_data
        if data["kind"] == Tariff.Kind.URDB:
            tariff = actions.do_import_urdb_tariff(
                self.request.user, data["definition"], code=data.get("code", "")
            )
        else:
            tariff = actions.do_import_tariff(self.request.user, data["definition"])
        serializer.instance = tariff

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        responses={201: TariffVersionSerializer},
        description="The body is one tariff version in the definition format (docs/tariffs.md).",
    )
    @route(detail=True, methods=["post"])
    def versions(self, request: StaffRequest, pk: str | None = None) -> Response:
        """Add a version (调价); the open version before it closes the day it starts."""
        tariff = self.get_object()
        if not isinstance(request.data, dict):
            return Response({"code": "invalid", "errors": {"version": ["应为对象 (a mapping)"]}}, status=400)
        version = actions.do_add_tariff_version(request.user, tariff, dict(request.data))
        return Response(TariffVersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=QuoteSerializer, responses={200: dict})
    @route(detail=True, methods=["post"])
    def quote(self, request: Request, pk: str | None = None) -> Response:
        """电费试算: the itemised bill for this usage."""
        tariff = self.get_object()
        data = QuoteSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        bill = selectors.quote(tariff, Usage(**data.validated_data))
        return Response(bill.to_dict())

    @extend_schema(request=CompareSerializer, responses={200: dict})
    @route(detail=True, methods=["post"], url_path="compare-basic")
    def compare_basic(self, request: Request, pk: str | None = None) -> Response:
        """Basic charge by capacity vs by maximum demand over 12 months; names the cheaper."""
        tariff = self.get_object()
        data = CompareSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        result = selectors.compare_basic_charge(tariff, **data.validated_data)
        return Response(
            {
                "months": [
                    {k: str(v) if not isinstance(v, int) else v for k, v in m.items()} for m in result.months
                ],
                "capacity_total": str(result.capacity_total),
                "demand_total": str(result.demand_total),
                "cheaper": result.cheaper,
                "saving": str(result.saving),
            }
        )


ROUTES = [("tariffs", TariffViewSet, "tariff")]
