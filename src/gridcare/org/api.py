"""REST API of the organisation app: units, positions (with limits and KPIs) and staff."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action as route
from rest_framework.request import Request
from rest_framework.response import Response

from gridcare.api.base import ActionViewSet
from gridcare.core.errors import InvalidInput
from gridcare.org import actions
from gridcare.org.filters import OrgUnitFilter, PositionFilter, StaffFilter
from gridcare.org.models import AuthorityLimit, KPIDefinition, OrgUnit, PermissionCode, Position, User


class OrgUnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrgUnit
        fields = ["id", "code", "name", "kind", "parent", "path", "head", "is_active"]
        read_only_fields = ["path"]


class OrgUnitViewSet(ActionViewSet):
    """组织机构 — org units. Writes: create, rename/re-head, move (change ``parent``)."""

    queryset = OrgUnit.objects.all()
    serializer_class = OrgUnitSerializer
    filterset_class = OrgUnitFilter
    view_permission = "org.view"

    def perform_create(self, serializer: OrgUnitSerializer) -> None:
        data = dict(serializer.validated_data)
        if not data.pop("is_active", True):
            raise InvalidInput({"is_active": "新建的机构总是启用的。 (A new unit is always active.)"})
        serializer.instance = actions.do_create_unit(self.request.user, **data)

    def perform_update(self, serializer: OrgUnitSerializer) -> None:
        data = dict(serializer.validated_data)
        data.pop("code", None)
        new_parent = data.pop("parent", serializer.instance.parent)
        unit = serializer.instance
        if data:
            unit = actions.do_update_unit(self.request.user, unit, **data)
        if new_parent is not None and new_parent.pk != unit.parent_id:
            unit = actions.do_move_unit(self.request.user, unit, new_parent)
        serializer.instance = unit


class AuthorityLimitSerializer(serializers.ModelSerializer):
    limit_type = serializers.SlugRelatedField(slug_field="code", read_only=True)
    name = serializers.CharField(source="limit_type.name", read_only=True)
    unit = serializers.CharField(source="limit_type.unit", read_only=True)

    class Meta:
        model = AuthorityLimit
        fields = ["limit_type", "name", "unit", "amount"]


class KPIDefinitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = KPIDefinition
        fields = ["code", "name", "name_en", "unit", "direction", "definition"]


class PositionSerializer(serializers.ModelSerializer):
    permissions = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=PermissionCode.objects.all(), required=False
    )
    limits = AuthorityLimitSerializer(many=True, read_only=True)
    kpis = KPIDefinitionSerializer(many=True, read_only=True)

    class Meta:
        model = Position
        fields = [
            "id",
            "code",
            "name",
            "name_en",
            "level",
            "superior",
            "data_scope",
            "responsibilities",
            "authorities",
            "source",
            "permissions",
            "limits",
            "kpis",
        ]
        read_only_fields = ["code", "name", "name_en", "level", "responsibilities", "authorities", "source"]


class LimitInputSerializer(serializers.Serializer):
    limit_type = serializers.CharField(max_length=64)
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0)


class PositionViewSet(ActionViewSet):
    """岗位 — positions with permissions, authority limits and KPI definitions."""

    queryset = Position.objects.prefetch_related("permissions", "limits__limit_type", "kpis")
    serializer_class = PositionSerializer
    filterset_class = PositionFilter
    view_permission = "org.view"
    http_method_names = ["get", "patch", "post", "head", "options"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(
            {"detail": "岗位来自岗位目录，不能在此新建。 (Positions come from the catalogue.)"}, 405
        )

    def perform_update(self, serializer: PositionSerializer) -> None:
        data = serializer.validated_data
        perms = data.get("permissions")
        serializer.instance = actions.do_update_position(
            self.request.user,
            serializer.instance,
            data_scope=data.get("data_scope"),
            permissions=[p.code for p in perms] if perms is not None else None,
            superior=data.get("superior"),
        )

    @extend_schema(request=LimitInputSerializer, responses=AuthorityLimitSerializer)
    @route(detail=True, methods=["post"])
    def limits(self, request: Request, pk: str | None = None) -> Response:
        """Set one authority limit (权限额度) of this position."""
        position = self.get_object()
        data = LimitInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        limit = actions.do_set_authority_limit(
            request.user, position, data.validated_data["limit_type"], data.validated_data["amount"]
        )
        return Response(AuthorityLimitSerializer(limit).data, status=status.HTTP_200_OK)


class StaffSerializer(serializers.ModelSerializer):
    password = serializers.CharField(write_only=True, required=False, style={"input_type": "password"})
    position_name = serializers.CharField(source="position.name", read_only=True)
    org_unit_name = serializers.CharField(source="org_unit.name", read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "full_name",
            "employee_no",
            "phone",
            "email",
            "position",
            "position_name",
            "org_unit",
            "org_unit_name",
            "is_active",
            "left_on",
            "successor",
            "password",
        ]
        read_only_fields = ["is_active", "left_on", "successor"]
        extra_kwargs = {
            "position": {"required": True, "allow_null": False},
            "org_unit": {"required": True, "allow_null": False},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and not attrs.get("password"):
            raise serializers.ValidationError({"password": "新建人员必须设置密码。 (Password required.)"})
        if self.instance is not None and ("password" in attrs or "username" in attrs):
            raise serializers.ValidationError({"username": "登录名与密码不在此修改。 (Not editable here.)"})
        return attrs


class LeaveSerializer(serializers.Serializer):
    successor = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    left_on = serializers.DateField(required=False)


class StaffViewSet(ActionViewSet):
    """人员 — staff accounts; ``POST …/leave/`` hands everything they own to a successor (孤儿客户转接)."""

    queryset = User.objects.select_related("position", "org_unit").filter(position__isnull=False)
    serializer_class = StaffSerializer
    filterset_class = StaffFilter
    view_permission = "org.view"

    def perform_create(self, serializer: StaffSerializer) -> None:
        serializer.instance = actions.do_create_staff(self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: StaffSerializer) -> None:
        serializer.instance = actions.do_update_staff(
            self.request.user, serializer.instance, **serializer.validated_data
        )

    @extend_schema(request=LeaveSerializer, responses=StaffSerializer)
    @route(detail=True, methods=["post"])
    def leave(self, request: Request, pk: str | None = None) -> Response:
        staff = self.get_object()
        data = LeaveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        staff = actions.do_staff_leave(request.user, staff, **data.validated_data)
        return Response(StaffSerializer(staff).data)


ROUTES = [
    ("org/units", OrgUnitViewSet, "orgunit"),
    ("org/positions", PositionViewSet, "position"),
    ("org/staff", StaffViewSet, "staff"),
]
