"""REST API of credit scores (信用评价) and sales expense budgets (销售费用预算): reads scoped by the caller's data
scope, every write through an action (honouring ``Idempotency-Key``); ids resolve in scope (outside = unknown)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action as route
from rest_framework.response import Response

from gridcare.api.base import ScopedViewSetMixin
from gridcare.api.fields import (
    BusinessDateField,
    RoutingSlugRelatedField,
    ScopedModelSerializer,
    ScopedPrimaryKeyRelatedField,
)
from gridcare.core.errors import InvalidInput
from gridcare.core.requests import StaffRequest
from gridcare.customers.models import Account
from gridcare.keyaccounts import budget_actions, credit_actions
from gridcare.keyaccounts.budget import budget_execution, execution_sheets
from gridcare.keyaccounts.models import (
    CreditAdjustment,
    CreditRuleSet,
    CreditScore,
    ExpenseCategory,
    SalesBudget,
    SalesExpense,
)
from gridcare.org.models import OrgUnit, User

CREDIT_READERS = ("keyaccount.manage", "credit.adjust", "credit.manage_rules")


class ReasonSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # the rule's label, not the field's
    feature = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    unit = serializers.CharField()
    points = serializers.IntegerField()


class CreditScoreSerializer(ScopedModelSerializer):
    account_number = serializers.CharField(source="account.number", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    rules_version = serializers.IntegerField(source="rule_set.version", read_only=True)
    reasons = serializers.SerializerMethodField()
    figures = serializers.SerializerMethodField()
    score_in_force = serializers.SerializerMethodField()
    grade_in_force = serializers.SerializerMethodField()

    class Meta:
        model = CreditScore
        fields = [
            "id",
            "account",
            "account_number",
            "account_name",
            "month",
            "score",
            "grade",
            "score_in_force",
            "grade_in_force",
            "figures",
            "reasons",
            "rules_version",
            "computed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(ReasonSerializer(many=True))
    def get_reasons(self, score: CreditScore) -> list[dict[str, Any]]:
        return credit_actions.reasons_of(score)

    @extend_schema_field(serializers.DictField(child=serializers.FloatField()))
    def get_figures(self, score: CreditScore) -> dict[str, float]:
        return credit_actions.figures_of(score)

    @extend_schema_field(OpenApiTypes.INT)
    def get_score_in_force(self, score: CreditScore) -> int:
        return credit_actions.effective(score)[0]

    @extend_schema_field(OpenApiTypes.STR)
    def get_grade_in_force(self, score: CreditScore) -> str:
        return credit_actions.effective(score)[1]


class ComputeSerializer(serializers.Serializer[Any]):
    month = serializers.RegexField(r"^\d{4}-\d{2}$", required=False, help_text="YYYY-MM；默认上月")


class CreditScoreViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[CreditScore]):
    """信用评价 — monthly credit scores with their reasons and the score in force (after adjustments);
    ``POST …/compute/`` runs a month (default: last month)."""

    queryset = CreditScore.objects.select_related("account", "rule_set").order_by("-month", "account_id")
    serializer_class = CreditScoreSerializer
    filterset_fields = ["month", "grade", "account"]
    view_permission = CREDIT_READERS  # type: ignore[assignment]
    action_permissions = {"compute": "credit.manage_rules"}
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(request=ComputeSerializer, responses=dict)
    @route(detail=False, methods=["post"])
    def compute(self, request: StaffRequest) -> Response:
        data = ComputeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(
            credit_actions.do_compute_credit_scores(request.user, month=data.validated_data.get("month"))
        )


class CreditAdjustmentSerializer(ScopedModelSerializer):
    account = ScopedPrimaryKeyRelatedField(queryset=Account.objects.all())
    points = serializers.IntegerField(write_only=True, min_value=-100, max_value=100)
    month = serializers.CharField(source="score.month", read_only=True)
    computed_score = serializers.IntegerField(source="score.score", read_only=True)

    class Meta:
        model = CreditAdjustment
        fields = [
            "id",
            "account",
            "month",
            "computed_score",
            "points",
            "score_before",
            "score_after",
            "grade_after",
            "reason",
            "status",
            "approvers",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = [
            "score_before",
            "score_after",
            "grade_after",
            "status",
            "approvers",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]


class OverLimitDecisionSerializer(serializers.Serializer[Any]):
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class CreditAdjustmentViewSet(
    ScopedViewSetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet[Any]
):
    """信用分调整 — manual changes with their reason; within the caller's limit in force at once, above it waiting
    for an approver (``POST …/decide/``)."""

    queryset = CreditAdjustment.objects.select_related("score", "account")
    serializer_class = CreditAdjustmentSerializer
    filterset_fields = ["status", "account"]
    view_permission = CREDIT_READERS  # type: ignore[assignment]
    action_permissions = {"create": "credit.adjust", "decide": "credit.adjust"}
    http_method_names = ["get", "post", "head", "options"]

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        data = serializer.validated_data
        serializer.instance = credit_actions.do_adjust_credit_score(
            self.request.user, data["account"], points=data["points"], reason=data["reason"]
        )

    @extend_schema(request=OverLimitDecisionSerializer, responses=CreditAdjustmentSerializer)
    @route(detail=True, methods=["post"])
    def decide(self, request: StaffRequest, pk: str | None = None) -> Response:
        adjustment = self.get_object()  # outside scope: 404 before anything else
        data = OverLimitDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = credit_actions.do_decide_credit_adjustment(
            request.user, adjustment.pk, **data.validated_data
        )
        return Response(self.get_serializer(decided).data)


class CreditRulesSerializer(serializers.ModelSerializer[CreditRuleSet]):
    class Meta:
        model = CreditRuleSet
        fields = ["id", "version", "rules", "note", "created_by", "created_at"]
        read_only_fields = ["version", "created_by", "created_at"]


class CreditRulesViewSet(ScopedViewSetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet[Any]):
    """信用评价规则 — the versions of the rules; ``POST`` sets a new version (checked: a bad rule is refused with
    its name and the reason)."""

    queryset = CreditRuleSet.objects.all()
    serializer_class = CreditRulesSerializer
    view_permission = CREDIT_READERS  # type: ignore[assignment]
    action_permissions = {"create": "credit.manage_rules"}
    http_method_names = ["get", "post", "head", "options"]

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        data = serializer.validated_data
        serializer.instance = credit_actions.do_set_credit_rules(
            self.request.user, rules=data["rules"], note=data.get("note", "")
        )


# ------------------------------------------------------------------------------------------------- budgets

BUDGET_READERS = ("budget.approve", "expense.record")


class SalesBudgetSerializer(ScopedModelSerializer):
    region = RoutingSlugRelatedField(
        slug_field="code",
        queryset=OrgUnit.objects.filter(is_active=True),
        reason="预算区域是组织机构名称，不是客户数据 (a budget region is an org-chart name, not data)",
    )
    owner = ScopedPrimaryKeyRelatedField(queryset=User.objects.all())
    region_name = serializers.CharField(source="region.name", read_only=True)
    owner_name = serializers.CharField(source="owner.display_name", read_only=True)

    class Meta:
        model = SalesBudget
        fields = [
            "id",
            "year",
            "region",
            "region_name",
            "owner",
            "owner_name",
            "amount",
            "note",
            "created_at",
        ]
        read_only_fields = ["created_at"]


class ExecutionSerializer(serializers.Serializer[Any]):
    budget_id = serializers.IntegerField()
    year = serializers.IntegerField()
    region = serializers.CharField()
    owner = serializers.CharField()
    budget = serializers.DecimalField(max_digits=16, decimal_places=2)
    spent = serializers.DecimalField(max_digits=16, decimal_places=2)
    pending = serializers.DecimalField(max_digits=16, decimal_places=2)
    remaining = serializers.DecimalField(max_digits=16, decimal_places=2)
    execution = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)
    variance = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)


YEAR = OpenApiParameter("year", OpenApiTypes.INT, description="预算年度（默认今年）")


def _year(request: StaffRequest) -> int:
    raw = request.query_params.get("year") or str(timezone.localdate().year)
    if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
        raise InvalidInput({"year": f"年度「{raw}」无效。 (Invalid year.)"})
    return int(raw)


class SalesBudgetViewSet(ScopedViewSetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet[Any]):
    """销售费用预算 — budget lines by region and owner; ``POST`` sets a line (new, or a changed amount) within the
    caller's ``budget_amount``; ``…/execution/`` and ``…/export/`` the execution (预算执行) of a year."""

    queryset = SalesBudget.objects.select_related("region", "owner")
    serializer_class = SalesBudgetSerializer
    filterset_fields = ["year", "owner", "region"]
    view_permission = BUDGET_READERS  # type: ignore[assignment]
    action_permissions = {"create": "budget.approve"}
    http_method_names = ["get", "post", "head", "options"]

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        data = serializer.validated_data
        serializer.instance = budget_actions.do_set_budget(
            self.request.user,
            year=data["year"],
            region=data["region"],
            owner=data["owner"],
            amount=data["amount"],
            note=data.get("note", ""),
        )

    @extend_schema(parameters=[YEAR], responses=ExecutionSerializer(many=True))
    @route(detail=False, methods=["get"])
    def execution(self, request: StaffRequest) -> Response:
        page = self.paginate_queryset(budget_execution(request.user, _year(request)))
        return self.get_paginated_response(ExecutionSerializer(page, many=True).data)

    @extend_schema(parameters=[YEAR], responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @route(detail=False, methods=["get"])
    def export(self, request: StaffRequest) -> HttpResponse:
        from gridcare.web.excel import report_response

        year = _year(request)
        return report_response(
            f"{year}年销售费用预算执行",
            f"budget-execution-{year}",
            execution_sheets(budget_execution(request.user, year), year),
        )


class SalesExpenseSerializer(ScopedModelSerializer):
    budget = ScopedPrimaryKeyRelatedField(queryset=SalesBudget.objects.all())
    account = ScopedPrimaryKeyRelatedField(queryset=Account.objects.all(), required=False, allow_null=True)
    prospect = serializers.IntegerField(
        required=False, allow_null=True, help_text="备案客户 id（本人可见的）"
    )
    day = BusinessDateField()
    category = serializers.ChoiceField(choices=ExpenseCategory.choices)
    request_approval = serializers.BooleanField(write_only=True, required=False, default=False)

    class Meta:
        model = SalesExpense
        fields = [
            "id",
            "budget",
            "day",
            "category",
            "amount",
            "description",
            "prospect",
            "account",
            "status",
            "overrun",
            "approvers",
            "recorded_by",
            "recorded_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "request_approval",
        ]
        read_only_fields = [
            "status",
            "overrun",
            "approvers",
            "recorded_by",
            "recorded_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        data["prospect"] = instance.prospect_id
        return data


class SalesExpenseViewSet(ScopedViewSetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet[Any]):
    """销售费用 — expenses against a budget line; one over the remaining budget is refused (400, with the figures)
    unless ``request_approval`` sends it to an approver (``POST …/decide/``)."""

    queryset = SalesExpense.objects.select_related("budget")
    serializer_class = SalesExpenseSerializer
    filterset_fields = ["status", "budget", "category"]
    view_permission = BUDGET_READERS  # type: ignore[assignment]
    action_permissions = {"create": "expense.record", "decide": "budget.approve"}
    http_method_names = ["get", "post", "head", "options"]

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        data = dict(serializer.validated_data)
        account = data.pop("account", None)
        serializer.instance = budget_actions.do_record_expense(
            self.request.user,
            budget=data.pop("budget").pk,
            account=account.pk if account else None,
            **data,
        )

    @extend_schema(request=OverLimitDecisionSerializer, responses=SalesExpenseSerializer)
    @route(detail=True, methods=["post"])
    def decide(self, request: StaffRequest, pk: str | None = None) -> Response:
        expense = self.get_object()  # outside scope: 404 before anything else
        data = OverLimitDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = budget_actions.do_decide_expense(request.user, expense.pk, **data.validated_data)
        return Response(self.get_serializer(decided).data, status=status.HTTP_200_OK)


ROUTES: list[tuple[str, type[ScopedViewSetMixin], str]] = [
    ("keyaccounts/credit-scores", CreditScoreViewSet, "credit-score"),
    ("keyaccounts/credit-adjustments", CreditAdjustmentViewSet, "credit-adjustment"),
    ("keyaccounts/credit-rules", CreditRulesViewSet, "credit-rules"),
    ("keyaccounts/budgets", SalesBudgetViewSet, "sales-budget"),
    ("keyaccounts/expenses", SalesExpenseViewSet, "sales-expense"),
]
