"""REST API of key accounts and market development. Prospects are read through
:func:`~gridcare.keyaccounts.selectors.visible_prospects` (客户信息保密: anyone else gets 404), contact details only
through the audited ``POST …/contact/``; every write goes through an action and honours ``Idempotency-Key``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action as route
from rest_framework.request import Request
from rest_framework.response import Response

from gridcare.api.base import ActionViewSet, ScopedViewSetMixin
from gridcare.api.fields import (
    BusinessDateField,
    RoutingSlugRelatedField,
    ScopedModelSerializer,
    ScopedPrimaryKeyRelatedField,
)
from gridcare.core.requests import StaffRequest
from gridcare.customers.masking import mask_mobile
from gridcare.customers.models import Account
from gridcare.keyaccounts import actions
from gridcare.keyaccounts.filters import ProspectFilter
from gridcare.keyaccounts.models import Collision, Industry, KeyAccount, Prospect, Visit, VisitPlanItem
from gridcare.keyaccounts.selectors import portfolio, visible_prospects
from gridcare.org.models import OrgUnit

#: the supply areas a prospect may be placed in: the org chart's stations and branches (a name, not data)
REGIONS = OrgUnit.objects.filter(kind__in=[OrgUnit.Kind.STATION, OrgUnit.Kind.BRANCH], is_active=True)


class ProspectSerializer(ScopedModelSerializer):
    """A prospect; the contact phone is masked (``POST …/contact/`` shows it, audited)."""

    region = RoutingSlugRelatedField(
        slug_field="code",
        queryset=REGIONS,
        reason="供电区域是组织机构名称，不是客户数据 (a region is an org-chart name, not data)",
    )
    industry = serializers.ChoiceField(choices=Industry.choices)
    next_action_on = BusinessDateField(required=False, allow_null=True)
    owner_name = serializers.CharField(source="owner.display_name", read_only=True)

    class Meta:
        model = Prospect
        fields = [
            "id",
            "number",
            "name",
            "credit_code",
            "address",
            "industry",
            "region",
            "expected_capacity_kva",
            "expected_annual_kwh",
            "stage",
            "lost_reason",
            "next_action",
            "next_action_on",
            "contact_name",
            "contact_phone",
            "owner",
            "owner_name",
            "status",
            "registered_at",
            "last_activity_at",
            "customer",
        ]
        read_only_fields = [
            "number",
            "stage",
            "owner",
            "status",
            "registered_at",
            "last_activity_at",
            "customer",
        ]
        validators: list[
            Any
        ] = []  # one registration per company is the action's rule (409 without the holder)

    def to_representation(self, instance: Prospect) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["contact_phone"] = mask_mobile(instance.contact_phone) if instance.contact_phone else ""
        return data


class ProspectUpdateSerializer(serializers.Serializer[Any]):
    stage = serializers.ChoiceField(choices=Prospect.Stage.choices, required=False)
    lost_reason = serializers.CharField(max_length=200, required=False, allow_blank=True)
    next_action = serializers.CharField(max_length=200, required=False, allow_blank=True)
    next_action_on = BusinessDateField(required=False, allow_null=True)
    contact_name = serializers.CharField(max_length=60, required=False, allow_blank=True)
    contact_phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    expected_capacity_kva = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, min_value=0
    )
    expected_annual_kwh = serializers.DecimalField(
        max_digits=16, decimal_places=2, required=False, min_value=0
    )


class ProspectContactSerializer(serializers.Serializer[Any]):
    contact_name = serializers.CharField()
    contact_phone = serializers.CharField()


class ProspectViewSet(ActionViewSet):
    """备案客户 — prospects (own only for a salesperson; the managers' scope with ``prospect.view_all``).
    A registration that collides answers 409 ``already_registered`` without naming the holder."""

    queryset = Prospect.objects.all()
    serializer_class = ProspectSerializer
    filterset_class = ProspectFilter
    view_permission = ("prospect.register", "prospect.view_all")  # type: ignore[assignment]
    action_permissions = {
        "create": "prospect.register",
        "partial_update": ("prospect.register", "prospect.view_all"),
        "contact": ("prospect.register", "prospect.view_all"),
        "convert": "prospect.convert",
    }

    def get_queryset(self) -> Any:
        write = self.request.method not in ("GET", "HEAD", "OPTIONS")
        return visible_prospects(self.request.user, write=write)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = actions.do_register_prospect(self.request.user, **serializer.validated_data)
        if result.refused:  # an answer, not an error: the collision record for the managers is kept
            return Response(
                {"code": "already_registered", "detail": result.message}, status=status.HTTP_409_CONFLICT
            )
        return Response(self.get_serializer(result.prospect).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProspectUpdateSerializer, responses=ProspectSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        prospect = self.get_object()
        data = ProspectUpdateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        updated = actions.do_update_prospect(self.request.user, prospect, **data.validated_data)
        return Response(self.get_serializer(updated).data)

    @extend_schema(request=None, responses=ProspectContactSerializer)
    @route(detail=True, methods=["post"])
    def contact(self, request: StaffRequest, pk: str | None = None) -> Response:
        """查看联系方式 — the clear contact person and phone (every view audited)."""
        return Response(actions.do_view_prospect_contact(request.user, self.get_object()))

    @extend_schema(request=None, responses=ProspectSerializer)
    @route(detail=True, methods=["post"])
    def convert(self, request: StaffRequest, pk: str | None = None) -> Response:
        """签约转化 — a won prospect becomes a customer (no re-typing)."""
        return Response(
            self.get_serializer(actions.do_convert_prospect(request.user, self.get_object())).data
        )


class KeyAccountSerializer(ScopedModelSerializer):
    account_number = serializers.CharField(source="account.number", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    manager = serializers.IntegerField(source="account.account_manager_id", read_only=True)

    class Meta:
        model = KeyAccount
        fields = [
            "id",
            "account",
            "account_number",
            "account_name",
            "grade",
            "rule",
            "manual",
            "active",
            "capacity_kva",
            "annual_kwh",
            "designated_on",
            "manager",
        ]
        read_only_fields = fields


class KeyAccountViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[KeyAccount]):
    """大客户档案 — the caller's key-account portfolio (read); ``POST …/classify/`` reclassifies by the rules."""

    queryset = KeyAccount.objects.all()
    serializer_class = KeyAccountSerializer
    filterset_fields = ["grade", "manual"]
    view_permission = "keyaccount.manage"
    action_permissions = {"classify": "keyaccount.manage"}
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> Any:
        return portfolio(self.request.user)

    @extend_schema(request=None, responses=dict)
    @route(detail=False, methods=["post"])
    def classify(self, request: StaffRequest) -> Response:
        """(Re)classify every account by the key-account rules."""
        return Response(actions.do_classify_key_accounts(request.user))


class VisitSerializer(ScopedModelSerializer):
    account = ScopedPrimaryKeyRelatedField(queryset=Account.objects.all())
    visited_on = BusinessDateField()
    create_work_order = serializers.BooleanField(write_only=True, required=False, default=False)
    plan_item = serializers.IntegerField(write_only=True, required=False, allow_null=True)

    class Meta:
        model = Visit
        fields = [
            "id",
            "account",
            "manager",
            "visited_on",
            "people_met",
            "topics",
            "demands",
            "follow_up",
            "work_order",
            "created_at",
            "create_work_order",
            "plan_item",
        ]
        read_only_fields = ["manager", "work_order", "created_at"]


class VisitViewSet(ActionViewSet):
    """大客户回访记录 — visits of the caller's key accounts; ``create_work_order`` turns the follow-up into a work
    order through the service desk."""

    queryset = Visit.objects.select_related("account")
    serializer_class = VisitSerializer
    filterset_fields = ["account", "manager"]
    view_permission = "keyaccount.manage"
    action_permissions = {"create": "keyaccount.manage"}
    http_method_names = ["get", "post", "head", "options"]

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        serializer.instance = actions.do_record_visit(self.request.user, **serializer.validated_data)


class PlanItemSerializer(ScopedModelSerializer):
    planned_on = BusinessDateField()

    class Meta:
        model = VisitPlanItem
        fields = ["id", "year", "manager", "account", "planned_on", "status", "visit"]
        read_only_fields = ["year", "manager", "account", "status", "visit"]


class PlanChangeSerializer(serializers.Serializer[Any]):
    planned_on = BusinessDateField(required=False)
    cancel = serializers.BooleanField(required=False, default=False)


class GenerateSerializer(serializers.Serializer[Any]):
    year = serializers.IntegerField(min_value=2000, max_value=2999)


class VisitPlanViewSet(
    ScopedViewSetMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet[VisitPlanItem]
):
    """大客户回访计划 — planned visits; ``POST …/generate/`` makes the year's plan from the grades' frequencies."""

    queryset = VisitPlanItem.objects.select_related("account")
    serializer_class = PlanItemSerializer
    filterset_fields = ["year", "status", "manager", "account"]
    view_permission = "keyaccount.manage"
    action_permissions = {"partial_update": "keyaccount.manage", "generate": "keyaccount.manage"}
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(request=PlanChangeSerializer, responses=PlanItemSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()
        data = PlanChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changed = actions.do_change_plan_item(self.request.user, item, **data.validated_data)
        return Response(self.get_serializer(changed).data)

    @extend_schema(request=GenerateSerializer, responses=dict)
    @route(detail=False, methods=["post"])
    def generate(self, request: StaffRequest) -> Response:
        data = GenerateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(
            {"created": actions.do_generate_visit_plan(request.user, year=data.validated_data["year"])}
        )


class CollisionSerializer(ScopedModelSerializer):
    holder = serializers.CharField(source="prospect.owner.display_name", read_only=True, default="")

    class Meta:
        model = Collision
        fields = [
            "id",
            "claimant",
            "attempted_at",
            "name",
            "credit_code",
            "address",
            "reason",
            "score",
            "prospect",
            "customer",
            "holder",
            "decision",
            "decided_by",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = fields


class DecideSerializer(serializers.Serializer[Any]):
    transfer = serializers.BooleanField()
    note = serializers.CharField(max_length=200)


class CollisionViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[Collision]):
    """撞单记录 — refused registrations with the holder, for the managers; ``POST …/decide/`` settles one."""

    queryset = Collision.objects.select_related("prospect__owner")
    serializer_class = CollisionSerializer
    filterset_fields = ["decision", "reason"]
    view_permission = "prospect.view_all"
    action_permissions = {"decide": "prospect.view_all"}
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(request=DecideSerializer, responses=CollisionSerializer)
    @route(detail=True, methods=["post"])
    def decide(self, request: StaffRequest, pk: str | None = None) -> Response:
        data = DecideSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = actions.do_decide_collision(request.user, self.get_object(), **data.validated_data)
        return Response(self.get_serializer(decided).data)


ROUTES = [
    ("keyaccounts/prospects", ProspectViewSet, "prospect"),
    ("keyaccounts/accounts", KeyAccountViewSet, "key-account"),
    ("keyaccounts/visits", VisitViewSet, "key-visit"),
    ("keyaccounts/plan", VisitPlanViewSet, "visit-plan"),
    ("keyaccounts/collisions", CollisionViewSet, "collision"),
]


# credit scores (信用评价) and sales expense budgets (销售费用预算) live in their own module
from gridcare.keyaccounts.credit_api import (  # noqa: E402
    ROUTES as CREDIT_ROUTES,
)
from gridcare.keyaccounts.credit_api import (  # noqa: E402, F401 - listed with the app's serializers
    CreditAdjustmentSerializer,
    CreditRulesSerializer,
    CreditScoreSerializer,
    SalesBudgetSerializer,
    SalesExpenseSerializer,
)

ROUTES += CREDIT_ROUTES
