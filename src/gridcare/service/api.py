"""REST API of the service desk: work orders (intake from any channel, every lifecycle step), SLA policies,
dispatch rules, stock and notices. Viewsets only validate shapes and call the actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action as route
from rest_framework.request import Request
from rest_framework.response import Response

from gridcare.api.base import (
    ActionViewSet,
    HasViewPermission,
    IdempotentWritesMixin,
    InputSerializer,
    ScopedViewSetMixin,
)
from gridcare.api.fields import ScopedModelSerializer
from gridcare.api.types import bound
from gridcare.core.requests import StaffRequest
from gridcare.customers.masking import can_unmask, mask_mobile
from gridcare.service import actions
from gridcare.service.choices import Cause, Channel, OrderType, SubType, allowed_transitions
from gridcare.service.filters import SLAPolicyFilter, StockItemFilter, WorkOrderFilter
from gridcare.service.models import (
    AREA_CLASSES,
    Compensation,
    DispatchRule,
    ServiceNotice,
    SLAClock,
    SLAPolicy,
    StockItem,
    WorkOrder,
    WorkOrderTransition,
)


class WorkOrderSerializer(ScopedModelSerializer):
    """A work order as the API answers it (ids only, so answering costs no extra query)."""

    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = WorkOrder
        fields = [
            "id",
            "number",
            "order_type",
            "sub_type",
            "channel",
            "status",
            "master",
            "customer",
            "account",
            "service_point",
            "contact_name",
            "contact_phone",
            "address",
            "area_text",
            "area_class",
            "is_key_account",
            "is_important",
            "title",
            "description",
            "unit",
            "intake_unit",
            "queue_unit",
            "assignee",
            "created_at",
            "dispatched_at",
            "taken_at",
            "first_response_at",
            "arrival_at",
            "restoration_at",
            "answered_at",
            "callback_at",
            "closed_at",
            "due_at",
            "warn_at",
            "sla_state",
            "escalation_level",
            "reopen_count",
            "cause",
            "result",
            "first_contact_resolution",
            "pause_reason",
            "allowed_actions",
        ]
        read_only_fields = fields

    def get_allowed_actions(self, obj: WorkOrder) -> list[str]:
        return allowed_transitions(obj.status)

    def to_representation(self, instance: WorkOrder) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if "contact_phone" in data and not can_unmask(getattr(request, "user", None)):
            data["contact_phone"] = mask_mobile(data["contact_phone"])
        return data


_MOMENT = serializers.DateTimeField()


class WorkOrderCreateSerializer(InputSerializer):
    """受理 input: the customer is looked up by service point, account or customer id (or none: anonymous)."""

    order_type = serializers.ChoiceField(choices=OrderType.choices)
    sub_type = serializers.ChoiceField(choices=SubType.choices, required=False, allow_blank=True, default="")
    channel = serializers.ChoiceField(choices=Channel.choices, required=False, default=Channel.API)
    customer = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    account = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    service_point = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    contact_name = serializers.CharField(required=False, allow_blank=True, max_length=60, default="")
    contact_phone = serializers.CharField(required=False, allow_blank=True, max_length=20, default="")
    address = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    area_text = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    area_class = serializers.ChoiceField(choices=AREA_CLASSES, required=False, allow_blank=True, default="")
    title = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")
    auto_dispatch = serializers.BooleanField(required=False, default=True)

    def to_representation(self, instance: WorkOrder) -> dict[str, Any]:
        """The answer is the registered order's key fields (built directly: intake is the hot path);
        ``GET …/{id}/`` gives the full record."""
        moment = _MOMENT.to_representation
        return {
            "id": instance.pk,
            "number": instance.number,
            "order_type": instance.order_type,
            "sub_type": instance.sub_type,
            "channel": instance.channel,
            "status": instance.status,
            "master": instance.master_id,
            "customer": instance.customer_id,
            "account": instance.account_id,
            "service_point": instance.service_point_id,
            "unit": instance.unit_id,
            "intake_unit": instance.intake_unit_id,
            "queue_unit": instance.queue_unit_id,
            "assignee": instance.assignee_id,
            "created_at": moment(instance.created_at),
            "due_at": moment(instance.due_at) if instance.due_at else None,
            "warn_at": moment(instance.warn_at) if instance.warn_at else None,
            "allowed_actions": allowed_transitions(instance.status),
        }


class TargetSerializer(serializers.Serializer):
    queue_unit = serializers.IntegerField(required=False, allow_null=True)
    assignee = serializers.IntegerField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class ReasonTargetSerializer(serializers.Serializer):
    queue_unit = serializers.IntegerField(required=False, allow_null=True)
    assignee = serializers.IntegerField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class EscalateSerializer(ReasonSerializer):
    to = serializers.IntegerField(required=False, allow_null=True)


class MomentSerializer(serializers.Serializer):
    """``at``: when it happened (e.g. a field app syncing later); never in the future."""

    at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_at(self, value: Any) -> Any:
        if value is not None and value > timezone.now():
            raise serializers.ValidationError("时间不能晚于现在。 (Cannot be in the future.)")
        return value


class NoteSerializer(MomentSerializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class ReplySerializer(serializers.Serializer):
    result = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    cause = serializers.ChoiceField(choices=Cause.choices, required=False, allow_blank=True, default="")


class CallbackSerializer(serializers.Serializer):
    reached = serializers.BooleanField(required=False, default=True)
    satisfaction = serializers.IntegerField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    on_unsatisfied = serializers.ChoiceField(choices=["reopen", "escalate"], required=False, default="reopen")


class RepairRecordSerializer(serializers.Serializer):
    cause = serializers.ChoiceField(choices=Cause.choices)
    fault = serializers.CharField(max_length=2000)
    work_done = serializers.CharField(max_length=2000)
    is_paid_service = serializers.BooleanField(required=False, default=False)


class StockMoveSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    quantity = serializers.IntegerField()


class FeeSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=120)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)


class CompensationInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    reason = serializers.CharField(max_length=200)


class CompensationSerializer(ScopedModelSerializer):
    class Meta:
        model = Compensation
        fields = [
            "id",
            "order",
            "amount",
            "reason",
            "status",
            "proposed_by",
            "proposed_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "credited",
        ]
        read_only_fields = fields


class TransitionSerializer(ScopedModelSerializer):
    class Meta:
        model = WorkOrderTransition
        fields = ["action", "from_status", "to_status", "actor", "at", "note"]


class ClockSerializer(ScopedModelSerializer):
    class Meta:
        model = SLAClock
        fields = [
            "milestone",
            "clock",
            "amount",
            "warn_permille",
            "start_at",
            "paused_seconds",
            "paused_since",
            "deadline",
            "warn_at",
            "done_at",
            "breached",
            "warned_at",
            "escalated_at",
        ]


#: Field and handling steps: the handler (process/dispatch) or a supervisor; the action checks who exactly.
HANDLER_ROUTE = ("workorder.process", "workorder.dispatch", "workorder.reassign")


class HistorySerializer(serializers.Serializer):
    """``GET …/orders/{id}/history/``: the transitions (状态流转) and the SLA clocks of the order."""

    transitions = TransitionSerializer(many=True)
    clocks = ClockSerializer(many=True)


class WorkOrderViewSet(ActionViewSet):
    """工单 — 95598-style work orders. ``POST`` registers one (受理, any channel, ``Idempotency-Key`` honoured);
    ``POST …/{id}/<step>/`` moves it through its life; an impossible step answers 409 with the allowed ones."""

    queryset = WorkOrder.objects.all()
    serializer_class = WorkOrderSerializer
    filterset_class = WorkOrderFilter
    http_method_names = ["get", "post", "head", "options"]
    view_permission = "workorder.view"
    action_permissions = {
        "create": "workorder.create",
        "dispatch_order": "workorder.dispatch",
        "reassign": "workorder.reassign",
        "escalate": "workorder.reassign",
        **{
            step: HANDLER_ROUTE
            for step in (
                "take",
                "start",
                "arrive",
                "restore",
                "suspend",
                "wait_customer",
                "resume",
                "repair_records",
                "issue_stock",
                "return_stock",
                "fees",
            )
        },
        "contact": (*HANDLER_ROUTE, "workorder.create"),
        "reply": (*HANDLER_ROUTE, "workorder.create"),
        "callback": "workorder.close",
        "archive": "workorder.close",
        "reopen": ("workorder.close", "workorder.reassign"),
        "compensations": "workorder.create",
    }

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return WorkOrderCreateSerializer if self.action == "create" else WorkOrderSerializer

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        serializer.instance = actions.do_create_order(self.request.user, **serializer.validated_data)

    def _step(
        self, request: Request, input_class: type[serializers.Serializer] | None, fn: Callable[..., Any]
    ) -> Response:
        order = self.get_object()
        data: dict[str, Any] = {}
        if input_class is not None:
            shape = input_class(data=request.data, context={"request": request})
            shape.is_valid(raise_exception=True)
            data = {k: v for k, v in shape.validated_data.items() if v is not None or k == "satisfaction"}
        result = fn(request.user, order, **data)
        refreshed = result if isinstance(result, WorkOrder) else WorkOrder.objects.get(pk=order.pk)
        code = status.HTTP_200_OK if isinstance(result, WorkOrder) else status.HTTP_201_CREATED
        return Response(WorkOrderSerializer(refreshed, context={"request": request}).data, status=code)

    @extend_schema(request=TargetSerializer, responses=WorkOrderSerializer)
    @route(detail=True, methods=["post"], url_path="dispatch", url_name="dispatch")
    def dispatch_order(self, request: Request, pk: str | None = None) -> Response:
        """派发 — to a unit or person, or by the dispatch rules when none is named (``…/{id}/dispatch/``;
        DRF reserves the method name ``dispatch``)."""
        return self._step(request, TargetSerializer, actions.do_dispatch)

    @extend_schema(request=ReasonTargetSerializer, responses=WorkOrderSerializer)
    @route(detail=True, methods=["post"])
    def reassign(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, ReasonTargetSerializer, actions.do_reassign)

    @extend_schema(request=EscalateSerializer, responses=WorkOrderSerializer)
    @route(detail=True, methods=["post"])
    def escalate(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, EscalateSerializer, actions.do_escalate)

    @extend_schema(request=MomentSerializer, responses=WorkOrderSerializer)
    @route(detail=True, methods=["post"])
    def take(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, MomentSerializer, actions.do_take)

    @extend_schema(request=MomentSerializer, responses=WorkOrderSerializer)
    @route(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, MomentSerializer, actions.do_start)

    @extend_schema(request=MomentSerializer, responses=WorkOrderSerializer)
    @route(detail=True, methods=["post"])
    def arrive(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, MomentSerializer, actions.do_arrive)

    @extend_schema(request=MomentSerializer, responses=WorkOrderSerializer)
    @route(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, MomentSerializer, actions.do_restore)

    @extend_schema(request=NoteSerializer, responses=WorkOrderSerializer)
    @route(detail=True, methods=["post"])
    def contact(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, NoteSerializer, actions.do_contact)

    @extend_schema(request=ReasonSerializer, responses=WorkOrderSerializer)
    @route(detail=True, methods=["post"])
    def suspend(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, ReasonSerializer, actions.do_suspend)

    @extend_schema(request=ReasonSerializer, responses=WorkOrderSerializer)
    @route(detail=True, methods=["post"], url_path="wait-customer")
    def wait_customer(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, ReasonSerializer, actions.do_wait_customer)

    @extend_schema(request=MomentSerializer, responses=WorkOrderSerializer)
    @route(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, MomentSerializer, actions.do_resume)

    @extend_schema(request=ReplySerializer, responses=WorkOrderSerializer)
    @route(detail=True, methods=["post"])
    def reply(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, ReplySerializer, actions.do_reply)

    @extend_schema(request=CallbackSerializer, responses=WorkOrderSerializer)
    @route(detail=True, methods=["post"])
    def callback(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, CallbackSerializer, actions.do_callback)

    @extend_schema(request=None, responses=WorkOrderSerializer)
    @route(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, None, actions.do_archive)

    @extend_schema(request=ReasonSerializer, responses=WorkOrderSerializer)
    @route(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, ReasonSerializer, actions.do_reopen)

    @extend_schema(request=RepairRecordSerializer, responses={201: WorkOrderSerializer})
    @route(detail=True, methods=["post"], url_path="repair-records")
    def repair_records(self, request: Request, pk: str | None = None) -> Response:
        """维修记录单."""
        return self._step(request, RepairRecordSerializer, actions.do_record_repair)

    @extend_schema(request=StockMoveSerializer, responses={201: WorkOrderSerializer})
    @route(detail=True, methods=["post"], url_path="issue-stock")
    def issue_stock(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, StockMoveSerializer, actions.do_issue_stock)

    @extend_schema(request=StockMoveSerializer, responses={201: WorkOrderSerializer})
    @route(detail=True, methods=["post"], url_path="return-stock")
    def return_stock(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, StockMoveSerializer, actions.do_return_stock)

    @extend_schema(request=FeeSerializer, responses={201: WorkOrderSerializer})
    @route(detail=True, methods=["post"])
    def fees(self, request: Request, pk: str | None = None) -> Response:
        """有偿服务费 (元, 2 decimals)."""
        return self._step(request, FeeSerializer, actions.do_record_fee)

    @extend_schema(request=CompensationInputSerializer, responses={201: CompensationSerializer})
    @route(detail=True, methods=["post"])
    def compensations(self, request: StaffRequest, pk: str | None = None) -> Response:
        """服务补偿 — propose a credit to the order's account; ``/api/service/compensations/{id}/approve/``
        decides it."""
        order = self.get_object()  # outside the caller's scope: 404 before anything is read from the body
        shape = CompensationInputSerializer(data=request.data, context={"request": request})
        shape.is_valid(raise_exception=True)
        compensation = actions.do_propose_compensation(request.user, order, **shape.validated_data)
        return Response(CompensationSerializer(compensation).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=HistorySerializer)
    @route(detail=True, methods=["get"])
    def history(self, request: Request, pk: str | None = None) -> Response:
        """Transitions (状态流转) and SLA clocks of the order."""
        order = self.get_object()
        return Response(
            {
                "transitions": TransitionSerializer(order.transitions.all(), many=True).data,
                "clocks": ClockSerializer(order.clocks.all(), many=True).data,
            }
        )


class SLAPolicySerializer(ScopedModelSerializer):
    class Meta:
        model = SLAPolicy
        fields = [
            "id",
            "order_type",
            "sub_type",
            "area_class",
            "milestone",
            "clock",
            "amount",
            "warn_ratio",
            "valid_from",
            "valid_to",
            "source",
        ]
        read_only_fields = ["order_type", "sub_type", "area_class", "milestone", "valid_from", "source"]


class SLAPolicyViewSet(ActionViewSet):
    """服务时限规则 — SLA policies as data; ``PATCH`` (``sla.manage``) changes amount, clock, warning ratio."""

    queryset = SLAPolicy.objects.all()
    serializer_class = SLAPolicySerializer
    filterset_class = SLAPolicyFilter
    view_permission = "sla.view"
    action_permissions = {"partial_update": "sla.manage"}
    http_method_names = ["get", "patch", "head", "options"]

    def perform_update(self, serializer: serializers.BaseSerializer[Any]) -> None:
        serializer.instance = actions.do_update_policy(
            self.request.user, bound(serializer), **serializer.validated_data
        )


class DispatchRuleSerializer(ScopedModelSerializer):
    class Meta:
        model = DispatchRule
        fields = [
            "id",
            "priority",
            "name",
            "order_type",
            "sub_type",
            "station",
            "area_class",
            "key_account",
            "has_station",
            "target",
            "target_unit",
            "target_user",
            "is_active",
        ]


class DispatchRuleViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """派单规则 — dispatch rules as data (loaded from the defaults file)."""

    queryset = DispatchRule.objects.all()
    serializer_class = DispatchRuleSerializer
    view_permission = "sla.view"


class StockItemSerializer(ScopedModelSerializer):
    class Meta:
        model = StockItem
        fields = ["id", "code", "name", "kind", "unit_of_measure", "unit_price", "quantity", "org_unit"]


class StockItemViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """备件与工具库存."""

    queryset = StockItem.objects.all()
    serializer_class = StockItemSerializer
    filterset_class = StockItemFilter
    view_permission = "stock.view"


class DecisionSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class CompensationViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """服务补偿 — proposed on a work order (``POST /api/service/orders/{id}/compensations/``), decided here."""

    queryset = Compensation.objects.select_related("order")
    serializer_class = CompensationSerializer
    filterset_fields = ["status", "order"]
    view_permission = "workorder.view"
    action_permissions = {"approve": "compensation.approve", "reject": "compensation.approve"}

    def _decide(self, request: Request, fn: Callable[..., Compensation]) -> Response:
        shape = DecisionSerializer(data=request.data, context={"request": request})
        shape.is_valid(raise_exception=True)
        compensation = fn(request.user, self.get_object(), **shape.validated_data)
        return Response(CompensationSerializer(compensation).data)

    @extend_schema(request=DecisionSerializer, responses=CompensationSerializer)
    @route(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """审批 — within your authority limit (``service_compensation``); not your own proposal."""
        return self._decide(request, actions.do_approve_compensation)

    @extend_schema(request=DecisionSerializer, responses=CompensationSerializer)
    @route(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        """驳回 — a note is required."""
        return self._decide(request, actions.do_reject_compensation)


class NoticeSerializer(ScopedModelSerializer):
    class Meta:
        model = ServiceNotice
        fields = ["id", "order", "kind", "recipient", "sent_at", "text", "read_at"]


class NoticeViewSet(IdempotentWritesMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """My warnings and escalations (临期预警 / 超时升级)."""

    queryset = ServiceNotice.objects.none()  # for the schema; the real one is the caller's own notices
    serializer_class = NoticeSerializer
    request: StaffRequest
    permission_classes = [HasViewPermission]
    view_permission = "workorder.view"

    def get_queryset(self) -> QuerySet[ServiceNotice]:
        return ServiceNotice.objects.filter(recipient=self.request.user)


ROUTES = [
    ("service/orders", WorkOrderViewSet, "workorder"),
    ("service/policies", SLAPolicyViewSet, "slapolicy"),
    ("service/dispatch-rules", DispatchRuleViewSet, "dispatchrule"),
    ("service/stock", StockItemViewSet, "stockitem"),
    ("service/notices", NoticeViewSet, "servicenotice"),
    ("service/compensations", CompensationViewSet, "compensation"),
]
