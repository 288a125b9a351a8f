"""REST API of the organisation app: units, positions (with limits and KPIs) and staff."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action as route
from rest_framework.request import Request
from rest_framework.response import Response

from gridcare.api.base import ActionViewSet, ScopedViewSetMixin
from gridcare.api.fields import (
    ScopedModelSerializer,
    ScopedPrimaryKeyRelatedField,
    ScopedSlugRelatedField,
)
from gridcare.api.types import bound
from gridcare.core.access import get_in_scope
from gridcare.core.requests import StaffRequest
from gridcare.org import actions
from gridcare.org.filters import OrgUnitFilter, PositionFilter, StaffFilter
from gridcare.org.models import (
    AuthorityLimit,
    KPIDefinition,
    OrgUnit,
    PermissionCode,
    Position,
    PositionChangeRequest,
    User,
)


class OrgUnitSerializer(ScopedModelSerializer):
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
    action_permissions = {"create": "org.manage_units", "partial_update": "org.manage_units"}

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        serializer.instance = actions.do_create_unit(self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: serializers.BaseSerializer[Any]) -> None:
        data = dict(serializer.validated_data)
        data.pop("code", None)
        new_parent = data.pop("parent", bound(serializer).parent)
        unit = bound(serializer)
        if data:
            unit = actions.do_update_unit(self.request.user, unit, **data)
        if new_parent is not None and new_parent.pk != unit.parent_id:
            unit = actions.do_move_unit(self.request.user, unit, new_parent)
        serializer.instance = unit


class AuthorityLimitSerializer(ScopedModelSerializer):
    limit_type: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    name = serializers.CharField(source="limit_type.name", read_only=True)
    unit = serializers.CharField(source="limit_type.unit", read_only=True)

    class Meta:
        model = AuthorityLimit
        fields = ["limit_type", "name", "unit", "amount"]


class KPIDefinitionSerializer(ScopedModelSerializer):
    class Meta:
        model = KPIDefinition
        fields = ["code", "name", "name_en", "unit", "direction", "definition"]


class PositionSerializer(ScopedModelSerializer):
    permissions = ScopedSlugRelatedField(
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
            "read_scope",
            "responsibilities",
            "authorities",
            "source",
            "permissions",
            "limits",
            "kpis",
        ]
        read_only_fields = ["code", "name", "name_en", "level", "responsibilities", "authorities", "source"]


class PositionChangeRequestSerializer(serializers.ModelSerializer):
    position_name = serializers.CharField(source="position.name", read_only=True)
    proposed_by_name = serializers.CharField(source="proposed_by.display_name", read_only=True)

    class Meta:
        model = PositionChangeRequest
        fields = [
            "id",
            "position",
            "position_name",
            "kind",
            "changes",
            "before",
            "status",
            "proposed_by",
            "proposed_by_name",
            "proposed_at",
            "decided_by",
            "decided_at",
            "reason",
        ]
        read_only_fields = fields


class LimitInputSerializer(serializers.Serializer):
    limit_type = serializers.CharField(max_length=64)
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0)


class PositionViewSet(ActionViewSet):
    """岗位 — positions with permissions, authority limits and KPI definitions."""

    queryset = Position.objects.prefetch_related("permissions", "limits__limit_type", "kpis")
    serializer_class = PositionSerializer
    filterset_class = PositionFilter
    view_permission = "org.view"
    action_permissions = {
        "create": "org.manage_positions",  # answered 405: positions come from the catalogue
        "partial_update": "org.manage_positions",
        "limits": "org.manage_positions",
    }
    http_method_names = ["get", "patch", "post", "head", "options"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(
            {"detail": "岗位来自岗位目录，不能在此新建。 (Positions come from the catalogue.)"}, 405
        )

    _pending: PositionChangeRequest | None = None

    @extend_schema(responses={200: PositionSerializer, 202: PositionChangeRequestSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change data scope, permissions or superior. On an administrator position the change is only
        proposed: the answer is **202** with the pending request, which a second administrator decides."""
        response = super().partial_update(request, *args, **kwargs)
        if self._pending is not None:
            return Response(
                PositionChangeRequestSerializer(self._pending).data, status=status.HTTP_202_ACCEPTED
            )
        return response

    def perform_update(self, serializer: serializers.BaseSerializer[Any]) -> None:
        data = serializer.validated_data
        perms = data.get("permissions")
        result = actions.do_update_position(
            self.request.user,
            bound(serializer),
            data_scope=data.get("data_scope"),
            read_scope=data.get("read_scope"),
            permissions=[p.code for p in perms] if perms is not None else None,
            superior=data.get("superior"),
        )
        if isinstance(result, PositionChangeRequest):
            self._pending = result
        else:
            serializer.instance = result

    @extend_schema(
        request=LimitInputSerializer,
        responses={200: AuthorityLimitSerializer, 202: PositionChangeRequestSerializer},
    )
    @route(detail=True, methods=["post"])
    def limits(self, request: StaffRequest, pk: str | None = None) -> Response:
        """Set one authority limit (权限额度) of this position (202 + pending request on an administrator
        position: four-eyes)."""
        position = self.get_object()
        data = LimitInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        result = actions.do_set_authority_limit(
            request.user, position, data.validated_data["limit_type"], data.validated_data["amount"]
        )
        if isinstance(result, PositionChangeRequest):
            return Response(PositionChangeRequestSerializer(result).data, status=status.HTTP_202_ACCEPTED)
        return Response(AuthorityLimitSerializer(result).data, status=status.HTTP_200_OK)


class PositionChangeDecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class PositionChangeRequestViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """岗位变更双人复核 — changes to administrator positions waiting for a second administrator."""

    queryset = PositionChangeRequest.objects.select_related("position", "proposed_by", "decided_by")
    serializer_class = PositionChangeRequestSerializer
    view_permission = "org.manage_positions"
    action_permissions = {"approve": "org.manage_positions", "reject": "org.manage_positions"}
    filterset_fields = ["status", "position"]

    def _decide(self, request: StaffRequest, approve: bool) -> Response:
        change = get_in_scope(self.get_queryset(), request.user, pk=self.kwargs["pk"])
        data = PositionChangeDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = actions.do_decide_position_change(
            request.user, change, approve=approve, reason=data.validated_data["reason"]
        )
        return Response(PositionChangeRequestSerializer(change).data)

    @extend_schema(request=PositionChangeDecisionSerializer, responses=PositionChangeRequestSerializer)
    @route(detail=True, methods=["post"])
    def approve(self, request: StaffRequest, pk: str | None = None) -> Response:
        """A second administrator approves: the change applies now."""
        return self._decide(request, approve=True)

    @extend_schema(request=PositionChangeDecisionSerializer, responses=PositionChangeRequestSerializer)
    @route(detail=True, methods=["post"])
    def reject(self, request: StaffRequest, pk: str | None = None) -> Response:
        """A second administrator rejects: nothing changes."""
        return self._decide(request, approve=False)


class StaffSerializer(ScopedModelSerializer):
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
    successor = ScopedPrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    left_on = serializers.DateField(required=False)


class StaffViewSet(ActionViewSet):
    """人员 — staff accounts; ``POST …/leave/`` hands everything they own to a successor (孤儿客户转接)."""

    queryset = User.objects.select_related("position", "org_unit").filter(position__isnull=False)
    serializer_class = StaffSerializer
    filterset_class = StaffFilter
    view_permission = "org.view"
    action_permissions = {
        "create": "org.manage_staff",
        "partial_update": "org.manage_staff",
        "leave": "org.manage_staff",
    }

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        serializer.instance = actions.do_create_staff(self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: serializers.BaseSerializer[Any]) -> None:
        serializer.instance = actions.do_update_staff(
            self.request.user, bound(serializer), **serializer.validated_data
        )

    @extend_schema(request=LeaveSerializer, responses=StaffSerializer)
    @route(detail=True, methods=["post"])
    def leave(self, request: StaffRequest, pk: str | None = None) -> Response:
        staff = self.get_object()
        data = LeaveSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        staff = actions.do_staff_leave(request.user, staff, **data.validated_data)
        return Response(StaffSerializer(staff).data)


ROUTES = [
    ("org/units", OrgUnitViewSet, "orgunit"),
    ("org/positions", PositionViewSet, "position"),
    ("org/staff", StaffViewSet, "staff"),
    ("org/position-changes", PositionChangeRequestViewSet, "positionchange"),
]
