"""REST API of 费控 (prepaid accounts) and of the ledger's reports. Reads are scoped; writes go through the actions
of :mod:`gridcare.ledger.prepaid_actions`.

- ``/api/ledger/prepaid/`` — prepaid agreements with the latest estimate; ``POST`` enrols an account (户号);
  ``…/{id}/leave/`` ends the agreement.
- ``/api/ledger/prepaid-estimates/`` — the daily estimates (filter ``account``, ``day``, ``status``).
- ``/api/ledger/prepaid-events/`` — alerts and switching commands; ``…/{id}/decide/`` approves or rejects an
  important customer's disconnection.
- ``/api/ledger/reports/aging/``, ``collection/``, ``cashiers/``, ``bad-debt/`` — the report figures.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action as route
from rest_framework.response import Response

from gridcare.api.base import InputSerializer, ScopedViewSetMixin
from gridcare.core.access import restrict
from gridcare.core.errors import InvalidInput
from gridcare.core.requests import StaffRequest
from gridcare.ledger import prepaid_actions, reports
from gridcare.ledger.models import PrepaidAgreement, PrepaidEstimate, PrepaidEvent
from gridcare.org.models import OrgUnit


class PrepaidEstimateSerializer(serializers.ModelSerializer):
    account_number = serializers.CharField(source="account.number", read_only=True)

    class Meta:
        model = PrepaidEstimate
        fields = [
            "id",
            "account",
            "account_number",
            "day",
            "since",
            "credit",
            "consumption_kwh",
            "price",
            "consumed",
            "remaining",
            "daily_kwh",
            "days_left",
            "status",
            "source",
            "computed_at",
        ]
        read_only_fields = fields


class PrepaidAgreementSerializer(serializers.ModelSerializer):
    account_number = serializers.CharField(source="account.number", read_only=True)
    latest = serializers.SerializerMethodField()

    class Meta:
        model = PrepaidAgreement
        fields = [
            "id",
            "account",
            "account_number",
            "enrolled_on",
            "enrolled_by",
            "left_on",
            "active",
            "switched_off",
            "note",
            "latest",
        ]
        read_only_fields = fields

    @extend_schema(responses=PrepaidEstimateSerializer(allow_null=True))
    def get_latest(self, obj: PrepaidAgreement) -> dict[str, Any] | None:
        found = PrepaidEstimate.objects.filter(account_id=obj.account_id).order_by("-day").first()
        return PrepaidEstimateSerializer(found).data if found else None


class EnrolInputSerializer(InputSerializer):
    account = serializers.CharField(max_length=20, help_text="户号")
    note = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class NoteInputSerializer(InputSerializer):
    note = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class PrepaidAgreementViewSet(
    ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """费控户 — prepaid agreements (``active``), enrol (``POST {"account": 户号}``) and leave."""

    queryset = PrepaidAgreement.objects.select_related("account")
    serializer_class = PrepaidAgreementSerializer
    filterset_fields = ["active", "switched_off", "account"]
    view_permission = "report.view"
    action_permissions = {"create": "prepaid.manage", "leave": "prepaid.manage"}

    @extend_schema(request=EnrolInputSerializer, responses={201: PrepaidAgreementSerializer})
    def create(self, request: StaffRequest) -> Response:
        data = EnrolInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        agreement = prepaid_actions.do_enrol_prepaid(request.user, **data.validated_data)
        return Response(PrepaidAgreementSerializer(agreement).data, status=201)

    @extend_schema(request=NoteInputSerializer, responses=PrepaidAgreementSerializer)
    @route(detail=True, methods=["post"])
    def leave(self, request: StaffRequest, pk: str | None = None) -> Response:
        agreement = self.get_object()
        data = NoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        left = prepaid_actions.do_leave_prepaid(
            request.user, account=agreement.account, note=data.validated_data["note"]
        )
        return Response(PrepaidAgreementSerializer(left).data)


class PrepaidEstimateViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """剩余电费估算 — the daily estimates of the prepaid accounts."""

    queryset = PrepaidEstimate.objects.select_related("account")
    serializer_class = PrepaidEstimateSerializer
    filterset_fields = ["account", "day", "status"]
    view_permission = "report.view"


class PrepaidEventSerializer(serializers.ModelSerializer):
    account_number = serializers.CharField(source="account.number", read_only=True)

    class Meta:
        model = PrepaidEvent
        fields = [
            "id",
            "account",
            "account_number",
            "day",
            "kind",
            "status",
            "remaining",
            "reason",
            "reference",
            "detail",
            "created_at",
            "decided_by",
            "decided_at",
            "sent_at",
        ]
        read_only_fields = fields


class DecideInputSerializer(InputSerializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class PrepaidEventViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """费控事件 — alerts and remote switching commands; ``decide``: an important customer's disconnection."""

    queryset = PrepaidEvent.objects.select_related("account")
    serializer_class = PrepaidEventSerializer
    filterset_fields = ["account", "day", "kind", "status"]
    view_permission = "report.view"
    action_permissions = {"decide": "disconnection.approve_important"}

    @extend_schema(request=DecideInputSerializer, responses=PrepaidEventSerializer)
    @route(detail=True, methods=["post"])
    def decide(self, request: StaffRequest, pk: str | None = None) -> Response:
        event = self.get_object()
        data = DecideInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = prepaid_actions.do_decide_prepaid_disconnect(request.user, event.pk, **data.validated_data)
        return Response(PrepaidEventSerializer(decided).data)


# --- reports -------------------------------------------------------------------------------------------------


class AgingRowSerializer(serializers.Serializer):
    group = serializers.CharField(source="label")
    accounts = serializers.IntegerField()
    not_due = serializers.DecimalField(max_digits=16, decimal_places=2)
    buckets = serializers.ListField(child=serializers.DecimalField(max_digits=16, decimal_places=2))
    overdue = serializers.DecimalField(max_digits=16, decimal_places=2)


class AgingSerializer(serializers.Serializer):
    day = serializers.DateField()
    by = serializers.CharField()
    labels = serializers.ListField(child=serializers.CharField())
    rows = AgingRowSerializer(many=True)
    total = AgingRowSerializer()


class RateRowSerializer(serializers.Serializer):
    period = serializers.CharField()
    bills = serializers.IntegerField()
    billed = serializers.DecimalField(max_digits=16, decimal_places=2)
    collected = serializers.DecimalField(max_digits=16, decimal_places=2)
    rate = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)


class CollectionSerializer(serializers.Serializer):
    rows = RateRowSerializer(many=True)
    total = RateRowSerializer()


class CashierRowSerializer(serializers.Serializer):
    day = serializers.DateField()
    cashier = serializers.CharField()
    channel = serializers.CharField()
    payments = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    reversals = serializers.IntegerField()
    reversed_amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    net = serializers.DecimalField(max_digits=16, decimal_places=2)
    closed = serializers.CharField()


class CashierReportSerializer(serializers.Serializer):
    rows = CashierRowSerializer(many=True)
    total = CashierRowSerializer()


class BadDebtRowSerializer(serializers.Serializer):
    manager = serializers.CharField()
    accounts = serializers.IntegerField()
    billed = serializers.DecimalField(max_digits=16, decimal_places=2)
    written_off = serializers.DecimalField(max_digits=16, decimal_places=2)
    old_arrears = serializers.DecimalField(max_digits=16, decimal_places=2)
    rate = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)


class BadDebtSerializer(serializers.Serializer):
    rows = BadDebtRowSerializer(many=True)
    total = BadDebtRowSerializer()


class ReportQuerySerializer(serializers.Serializer):
    day = serializers.DateField(required=False)
    first = serializers.DateField(required=False)
    last = serializers.DateField(required=False)
    unit = serializers.CharField(required=False, help_text="org unit code")
    by = serializers.ChoiceField(choices=["klass", "unit", "manager"], required=False, default="klass")
    per = serializers.ChoiceField(choices=["month", "day"], required=False, default="month")


_PARAMS = [
    OpenApiParameter("day", dt.date, description="as of (default today)"),
    OpenApiParameter("first", dt.date, description="from (default the 1st of this month)"),
    OpenApiParameter("last", dt.date, description="to (default today)"),
    OpenApiParameter("unit", str, description="org unit code (default your scope)"),
]


class LedgerReportViewSet(ScopedViewSetMixin, viewsets.GenericViewSet):
    """账务报表 — arrears aging, collection rate, cashier daily report and key-account bad-debt rate as data."""

    queryset = PrepaidEstimate.objects.none()
    serializer_class = ReportQuerySerializer
    view_permission = "report.view"
    action_permissions = {
        "aging": "report.view",
        "collection": "report.view",
        "cashiers": ("report.view", "payment.post"),
        "bad_debt": "report.view",
    }

    def _query(self, request: StaffRequest) -> dict[str, Any]:
        data = ReportQuerySerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        today = dt.date.today()
        values.setdefault("day", today)
        values.setdefault("first", today.replace(day=1))
        values.setdefault("last", today)
        if values["first"] > values["last"]:
            raise InvalidInput({"last": "结束日期早于开始日期。 (The end date is before the start date.)"})
        code = values.pop("unit", None)
        values["unit"] = None
        if code:
            unit = restrict(OrgUnit.objects.filter(code=code), request.user).first()
            if unit is None:
                raise InvalidInput({"unit": f"单位「{code}」不存在或不在您的数据范围内。 (Unknown unit.)"})
            values["unit"] = unit
        return values

    @extend_schema(
        parameters=[*_PARAMS, OpenApiParameter("by", str, enum=["klass", "unit", "manager"])],
        responses=AgingSerializer,
    )
    @route(detail=False, methods=["get"])
    def aging(self, request: StaffRequest) -> Response:
        q = self._query(request)
        return Response(
            AgingSerializer(reports.aging(request.user, q["day"], by=q["by"], unit=q["unit"])).data
        )

    @extend_schema(
        parameters=[*_PARAMS, OpenApiParameter("per", str, enum=["month", "day"])],
        responses=CollectionSerializer,
    )
    @route(detail=False, methods=["get"])
    def collection(self, request: StaffRequest) -> Response:
        q = self._query(request)
        rows, total = reports.collection(request.user, q["first"], q["last"], per=q["per"], unit=q["unit"])
        return Response(CollectionSerializer({"rows": rows, "total": total}).data)

    @extend_schema(parameters=_PARAMS, responses=CashierReportSerializer)
    @route(detail=False, methods=["get"])
    def cashiers(self, request: StaffRequest) -> Response:
        q = self._query(request)
        rows, total = reports.cashier_report(request.user, q["first"], q["last"], q["unit"])
        return Response(CashierReportSerializer({"rows": rows, "total": total}).data)

    @extend_schema(parameters=_PARAMS, responses=BadDebtSerializer)
    @route(detail=False, methods=["get"], url_path="bad-debt")
    def bad_debt(self, request: StaffRequest) -> Response:
        q = self._query(request)
        rows, total = reports.bad_debt(request.user, q["day"], q["unit"])
        return Response(BadDebtSerializer({"rows": rows, "total": total}).data)


ROUTES = [
    ("ledger/prepaid", PrepaidAgreementViewSet, "ledger-prepaid"),
    ("ledger/prepaid-estimates", PrepaidEstimateViewSet, "ledger-prepaid-estimate"),
    ("ledger/prepaid-events", PrepaidEventViewSet, "ledger-prepaid-event"),
    ("ledger/reports", LedgerReportViewSet, "ledger-report"),
]
