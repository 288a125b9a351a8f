"""REST API of the billing app: billing runs (start, list, detail with chunks and accounts not billed) and bills
(list, detail with lines). Reads are scoped; a run is started through the audited action."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action as route
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from gridcare.api.base import ScopedViewSetMixin
from gridcare.billing.actions import do_accept_finding, do_release_bills, do_rerate_bill, do_set_sales_plan
from gridcare.billing.documents import pdf_response
from gridcare.billing.executors import resume_run, start_run
from gridcare.billing.filters import BillFilter, FindingFilter, RebillFilter, RunFilter, SalesPlanFilter
from gridcare.billing.models import (
    Bill,
    BillFinding,
    BillingRun,
    BillLine,
    NotBilled,
    Rebill,
    RebillItem,
    RunChunk,
    SalesPlan,
)
from gridcare.billing.rebill_actions import (
    do_approve_rebill,
    do_post_rebill,
    do_propose_rebill,
    do_reject_rebill,
    do_submit_rebill,
    do_withdraw_rebill,
)
from gridcare.core.requests import StaffRequest
from gridcare.org.models import OrgUnit
from gridcare.readings.models import Route


class PdfRenderer(BaseRenderer):
    """Lets a client ask for ``Accept: application/pdf``; an error on that path is still JSON."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> Any:
        return data if isinstance(data, bytes) else JSONRenderer().render(data)


class RunChunkSerializer(serializers.ModelSerializer):
    class Meta:
        model = RunChunk
        fields = [
            "number",
            "first_account",
            "last_account",
            "accounts",
            "status",
            "attempts",
            "bills",
            "not_billed",
            "load_ms",
            "rate_ms",
            "write_ms",
            "error",
        ]


class NotBilledSerializer(serializers.ModelSerializer):
    account_number = serializers.CharField(source="account.number", read_only=True)

    class Meta:
        model = NotBilled
        fields = ["account", "account_number", "reason", "detail"]
        read_only_fields = fields  # written by the run, never through the API


class BillingRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = BillingRun
        fields = [
            "id",
            "period",
            "scope",
            "billed_unit",
            "route",
            "account_ids",
            "executor",
            "workers",
            "chunk_size",
            "status",
            "accounts",
            "chunks",
            "chunks_done",
            "bills",
            "not_billed",
            "total",
            "energy_kwh",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class BillingRunDetailSerializer(BillingRunSerializer):
    parts = RunChunkSerializer(many=True, read_only=True)
    not_billed_accounts = NotBilledSerializer(source="not_billed_set", many=True, read_only=True)

    class Meta(BillingRunSerializer.Meta):
        fields = [*BillingRunSerializer.Meta.fields, "parts", "not_billed_accounts"]
        read_only_fields = fields


class StartRunSerializer(serializers.Serializer):
    period = serializers.RegexField(r"^\d{4}-(0[1-9]|1[0-2])$", error_messages={"invalid": "YYYY-MM"})
    org_unit = serializers.IntegerField(required=False, min_value=1)
    route = serializers.IntegerField(required=False, min_value=1)
    accounts = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=100_000
    )
    executor = serializers.ChoiceField(choices=BillingRun.Executor.choices, default="inline")
    workers = serializers.IntegerField(required=False, min_value=1)
    chunk_size = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000)


class BillLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = BillLine
        fields = ["sequence", "code", "label", "quantity", "unit", "unit_price", "amount", "compensation"]
        read_only_fields = fields  # a bill's lines are written by the run, never through the API


class BillFindingSerializer(serializers.ModelSerializer):
    rule_label = serializers.CharField(source="get_rule_display", read_only=True)

    class Meta:
        model = BillFinding
        fields = [
            "id",
            "bill",
            "rule",
            "rule_label",
            "detail",
            "accepted",
            "accepted_by",
            "accepted_at",
            "reason",
        ]
        read_only_fields = fields


class BillSerializer(serializers.ModelSerializer):
    account_number = serializers.CharField(source="account.number", read_only=True)
    lines = BillLineSerializer(many=True, read_only=True)
    findings = BillFindingSerializer(many=True, read_only=True)

    class Meta:
        model = Bill
        fields = [
            "id",
            "account",
            "account_number",
            "period",
            "period_start",
            "period_end",
            "kind",
            "status",
            "run",
            "tariff_code",
            "energy_kwh",
            "tier_ytd_kwh",
            "power_factor",
            "charges",
            "funds",
            "credits",
            "total",
            "number",
            "due_date",
            "released_at",
            "released_by",
            "lines",
            "findings",
        ]
        read_only_fields = fields


class BillingRunViewSet(
    ScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """电费计算批次 — ``POST`` starts a run (inline and process-pool runs answer when finished; a Celery run
    answers at once and its progress is read here)."""

    queryset = BillingRun.objects.select_related("created_by").order_by("-created_at", "-id")
    serializer_class = BillingRunSerializer
    filterset_class = RunFilter
    view_permission = "billing.view"
    action_permissions = {"create": "billing.run", "resume": "billing.run"}

    def get_serializer_class(self) -> Any:
        if self.action == "retrieve":
            return BillingRunDetailSerializer
        return BillingRunSerializer

    @extend_schema(request=StartRunSerializer, responses={201: BillingRunSerializer})
    def create(self, request: StaffRequest, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        data = StartRunSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        options = dict(data.validated_data)
        if "org_unit" in options:
            options["org_unit"] = OrgUnit(pk=options["org_unit"])
        if "route" in options:
            options["route"] = Route(pk=options["route"])
        run = start_run(request.user, wait=options["executor"] != BillingRun.Executor.CELERY, **options)
        return Response(BillingRunSerializer(run).data, status=201)

    @extend_schema(request=None, responses=BillingRunSerializer)
    @route(detail=True, methods=["post"])
    def resume(self, request: StaffRequest, pk: str | None = None) -> Response:
        """继续计算 — rate the chunks not done yet (after a kill or failed chunks); a finished run stays as it is."""
        run = self.get_object()
        resumed = resume_run(request.user, run.pk, wait=run.executor != BillingRun.Executor.CELERY)
        return Response(BillingRunSerializer(resumed).data)


class FindingReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class BulkReleaseSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=100_000
    )
    all = serializers.BooleanField(
        default=False, help_text="release the whole filtered set (query parameters)"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("ids")) == bool(attrs.get("all")):
            raise serializers.ValidationError(
                {"ids": "请给出账单编号清单，或 all=true 发行筛选出的全部账单。 (Give ids, or all=true.)"}
            )
        return attrs


class BillViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """电费账单 — with their lines and review findings; ``release`` (电费发行) one or in bulk, ``rerate`` a draft
    or review bill after a reading correction."""

    queryset = (
        Bill.objects.select_related("account")
        .prefetch_related("lines", "findings")
        .order_by("-period", "account")
    )
    serializer_class = BillSerializer
    filterset_class = BillFilter
    view_permission = "billing.view"
    action_permissions = {
        "release": "billing.release",
        "release_bulk": "billing.release",
        "rerate": "billing.run",
    }

    def _answer(self, pk: int) -> Response:
        return Response(BillSerializer(self.get_queryset().get(pk=pk)).data)

    @extend_schema(request=None, responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @route(detail=True, methods=["get"], renderer_classes=[JSONRenderer, PdfRenderer])
    def pdf(self, request: StaffRequest, pk: str | None = None) -> HttpResponse:
        """电费通知单 — the bill as PDF (Chinese, embedded font; a bill not released is watermarked 草稿)."""
        return pdf_response(self.get_object())

    @extend_schema(request=None, responses=BillSerializer)
    @route(detail=True, methods=["post"])
    def release(self, request: StaffRequest, pk: str | None = None) -> Response:
        """电费发行 — this bill gets its number and due date and never changes again."""
        bill = self.get_object()
        do_release_bills(request.user, Bill.objects.filter(pk=bill.pk), single=True)
        return self._answer(bill.pk)

    @extend_schema(request=None, responses=BillSerializer)
    @route(detail=True, methods=["post"])
    def rerate(self, request: StaffRequest, pk: str | None = None) -> Response:
        """重新计费 — from the current determinants (a released bill is never re-rated)."""
        bill = self.get_object()
        new = do_rerate_bill(request.user, bill.pk)
        return self._answer(new.pk)

    @extend_schema(
        operation_id="billing_bills_release_bulk", request=BulkReleaseSerializer, responses={200: dict}
    )
    @route(detail=False, methods=["post"], url_path="release", url_name="release-bulk")
    def release_bulk(self, request: StaffRequest) -> Response:
        """批量发行 — the given bill ids, or (``all``) every bill of the filtered list (query parameters)."""
        data = BulkReleaseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bills = self.filter_queryset(self.get_queryset())
        if data.validated_data.get("ids"):
            bills = bills.filter(pk__in=data.validated_data["ids"])
        released = do_release_bills(request.user, bills)
        return Response({"released": released})


class BillFindingViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """审核异常 — what the plausibility rules found; ``accept`` with a reason."""

    queryset = BillFinding.objects.select_related("bill").order_by("bill", "pk")
    serializer_class = BillFindingSerializer
    filterset_class = FindingFilter
    view_permission = "billing.view"
    action_permissions = {"accept": "billing.release"}

    @extend_schema(request=FindingReasonSerializer, responses=BillFindingSerializer)
    @route(detail=True, methods=["post"])
    def accept(self, request: StaffRequest, pk: str | None = None) -> Response:
        finding = self.get_object()
        data = FindingReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        accepted = do_accept_finding(request.user, finding.pk, data.validated_data["reason"])
        return Response(BillFindingSerializer(accepted).data)


class RebillItemSerializer(serializers.ModelSerializer):
    account = serializers.IntegerField(source="bill.account_id", read_only=True)
    account_number = serializers.CharField(source="bill.account.number", read_only=True)
    period = serializers.CharField(source="bill.period", read_only=True)
    bill_number = serializers.CharField(source="bill.number", read_only=True)

    class Meta:
        model = RebillItem
        fields = [
            "bill",
            "bill_number",
            "account",
            "account_number",
            "period",
            "original_total",
            "corrected_total",
            "difference",
            "penalty",
            "total",
            "energy_difference",
            "correcting_bill",
            "explanation",
        ]
        read_only_fields = fields


class RebillSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    items = RebillItemSerializer(many=True, read_only=True)

    class Meta:
        model = Rebill
        fields = [
            "id",
            "number",
            "kind",
            "kind_label",
            "reason",
            "status",
            "status_label",
            "params",
            "difference",
            "penalty",
            "total",
            "authority_amount",
            "approvers",
            "proposed_by",
            "proposed_at",
            "submitted_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "posted_by",
            "posted_at",
            "items",
        ]
        read_only_fields = fields


class ProposeRebillSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Rebill.Kind.choices)
    reason = serializers.CharField(max_length=500)
    bills = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=120)
    account = serializers.IntegerField(required=False, min_value=1)
    periods = serializers.ListField(
        child=serializers.RegexField(r"^\d{4}-(0[1-9]|1[0-2])$", error_messages={"invalid": "YYYY-MM"}),
        required=False,
        max_length=120,
    )
    params = serializers.DictField(
        required=False,
        help_text="corrected inputs: registers ({register: kWh} or {bill id: {register: kWh}}), tariff_code; "
        "error_pct, verified_on, corrected_on; violation (tariff|capacity), overrun_kva, penalty_multiple; "
        "stolen_kwh, period_unknown, rated_kw",
    )
    submit = serializers.BooleanField(default=False)


class RebillDecisionSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class RebillViewSet(
    ScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """退补申请 — ``POST`` proposes a case (its bills re-rated, the difference computed); ``submit``,
    ``approve``/``reject`` (a position whose limit covers it, not the proposer), ``withdraw``, ``post`` (the
    correcting bills, released)."""

    queryset = Rebill.objects.prefetch_related("items__bill__account").order_by("-proposed_at", "-id")
    serializer_class = RebillSerializer
    filterset_class = RebillFilter
    view_permission = "billing.view"
    action_permissions = {
        "create": "billing.propose_adjustment",
        "submit": "billing.propose_adjustment",
        "withdraw": "billing.propose_adjustment",
        "approve": "billing.approve_adjustment",
        "reject": "billing.approve_adjustment",
        "post_case": "billing.release",
    }

    def _answer(self, pk: int, status: int = 200) -> Response:
        return Response(RebillSerializer(self.get_queryset().get(pk=pk)).data, status=status)

    @extend_schema(request=ProposeRebillSerializer, responses={201: RebillSerializer})
    def create(self, request: StaffRequest, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        data = ProposeRebillSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = do_propose_rebill(request.user, **data.validated_data)
        return self._answer(case.pk, 201)

    @extend_schema(request=None, responses=RebillSerializer)
    @route(detail=True, methods=["post"])
    def submit(self, request: StaffRequest, pk: str | None = None) -> Response:
        """提交 — approved within the proposer's limit, otherwise waiting for approval."""
        return self._answer(do_submit_rebill(request.user, self.get_object().pk).pk)

    @extend_schema(request=RebillDecisionSerializer, responses=RebillSerializer)
    @route(detail=True, methods=["post"])
    def approve(self, request: StaffRequest, pk: str | None = None) -> Response:
        """审批通过 — within the approver's limit, never one's own case."""
        data = RebillDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = do_approve_rebill(request.user, self.get_object().pk, note=data.validated_data["note"])
        return self._answer(case.pk)

    @extend_schema(request=RebillDecisionSerializer, responses=RebillSerializer)
    @route(detail=True, methods=["post"])
    def reject(self, request: StaffRequest, pk: str | None = None) -> Response:
        """驳回 — with the reason."""
        data = RebillDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = do_reject_rebill(request.user, self.get_object().pk, note=data.validated_data["note"])
        return self._answer(case.pk)

    @extend_schema(request=None, responses=RebillSerializer)
    @route(detail=True, methods=["post"])
    def withdraw(self, request: StaffRequest, pk: str | None = None) -> Response:
        """撤回 — by the proposer, before it is posted."""
        return self._answer(do_withdraw_rebill(request.user, self.get_object().pk).pk)

    @extend_schema(request=None, responses=RebillSerializer)
    @route(detail=True, methods=["post"], url_path="post", url_name="post")
    def post_case(self, request: StaffRequest, pk: str | None = None) -> Response:
        """入账 — the correcting bills, numbered and released; the corrected bills stay as they are."""
        return self._answer(do_post_rebill(request.user, self.get_object().pk).pk)


class SalesPlanSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="org_unit.name", read_only=True)

    class Meta:
        model = SalesPlan
        fields = ["id", "org_unit", "unit_name", "month", "kwh", "revenue", "set_by", "set_at"]
        read_only_fields = fields


class PlannedMonthSerializer(serializers.Serializer):
    # strings, not DecimalFields: the action checks them and says what is wrong in both languages
    kwh = serializers.CharField(max_length=40, help_text="planned kWh (≥ 0, up to 3 decimals)")
    revenue = serializers.CharField(max_length=40, help_text="planned revenue in 元 (≥ 0, up to 2 decimals)")


class SetSalesPlanSerializer(serializers.Serializer):
    org_unit = serializers.IntegerField(min_value=1)
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    months = serializers.DictField(
        child=PlannedMonthSerializer(),
        allow_empty=False,
        help_text='{"1": {"kwh": "120000", "revenue": "66000.00"}, …}: the months to set (1–12); others keep theirs',
    )

    def validate_months(self, value: dict[str, Any]) -> dict[int, tuple[str, str]]:
        months: dict[int, tuple[str, str]] = {}
        for key, figures in value.items():
            if not str(key).isdigit() or not 1 <= int(key) <= 12:
                raise serializers.ValidationError(
                    f"月份须为 1–12，收到「{key}」。 (Months are 1–12, got '{key}'.)"
                )
            months[int(key)] = (figures["kwh"], figures["revenue"])
        return months


class SalesPlanViewSet(
    ScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """售电计划 — plans per unit and month (filter ``year``, ``month_number``, ``unit``); ``POST`` sets one unit's
    months of a year through the audited action and answers the unit's plans of that year."""

    queryset = SalesPlan.objects.select_related("org_unit").order_by("org_unit__path", "month", "id")
    serializer_class = SalesPlanSerializer
    filterset_class = SalesPlanFilter
    view_permission = "billing.view"
    action_permissions = {"create": "sales_plan.set"}

    @extend_schema(request=SetSalesPlanSerializer, responses={201: SalesPlanSerializer(many=True)})
    def create(self, request: StaffRequest, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        data = SetSalesPlanSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        do_set_sales_plan(request.user, values["org_unit"], values["year"], values["months"])
        plans = self.get_queryset().filter(org_unit_id=values["org_unit"], month__year=values["year"])
        return Response(SalesPlanSerializer(plans, many=True).data, status=201)


ROUTES = [
    ("billing/runs", BillingRunViewSet, "billing-run"),
    ("billing/bills", BillViewSet, "bill"),
    ("billing/findings", BillFindingViewSet, "bill-finding"),
    ("billing/rebills", RebillViewSet, "rebill"),
    ("billing/sales-plans", SalesPlanViewSet, "sales-plan"),
]
