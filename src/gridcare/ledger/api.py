"""REST API of the ledger: the channel interface for banks and aggregators (代收: arrears query and payment post,
``Idempotency-Key`` required, the channel's transaction id taken once), the counter's payments (list, take,
reverse), ledger entries, approvals and daily closes. Reads are scoped; every write goes through an action."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action as route
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from gridcare.api.authentication import PositionTokenAuthentication
from gridcare.api.base import (
    IDEMPOTENCY_HEADER,
    InputSerializer,
    KeyedWrite,
    ScopedViewSetMixin,
    claim_keys,
    fingerprint,
    release_claims,
    replay,
    request_fingerprint,
    store_answers,
)
from gridcare.api.fields import ScopedModelSerializer
from gridcare.api.lane import Answer, Lane, LaneRequest
from gridcare.api.parsers import BoundedJSONParser
from gridcare.api.permissions import allows
from gridcare.api.throttling import ChannelRateThrottle
from gridcare.core.actions import whole_transaction
from gridcare.core.context import current_origin, origin
from gridcare.core.errors import GridcareError, InvalidInput, PermissionRefused
from gridcare.core.gather import ALONE, Alone, Gatherer
from gridcare.core.requests import StaffRequest
from gridcare.ledger import actions, prepaid_api, selectors
from gridcare.ledger.conf import conf
from gridcare.ledger.models import (
    ApprovalRequest,
    Channel,
    ChannelFile,
    DailyClose,
    DunningCase,
    DunningStep,
    Entry,
    Instalment,
    Payment,
    PaymentPlan,
)
from gridcare.org.models import User


class ArrearsItemSerializer(serializers.Serializer):
    kind = serializers.CharField()
    bill = serializers.CharField(allow_null=True)
    period = serializers.CharField(allow_null=True)
    due_date = serializers.DateField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    overdue = serializers.BooleanField()


class ArrearsSerializer(serializers.Serializer):
    account = serializers.CharField()
    name = serializers.CharField()
    balance = serializers.DecimalField(max_digits=14, decimal_places=2)
    owed = serializers.DecimalField(max_digits=14, decimal_places=2)
    arrears = serializers.DecimalField(max_digits=14, decimal_places=2)
    late_fees = serializers.DecimalField(max_digits=14, decimal_places=2)
    prepayment = serializers.DecimalField(max_digits=14, decimal_places=2)
    items = ArrearsItemSerializer(many=True)


class ChannelPaymentInputSerializer(InputSerializer):
    account = serializers.CharField(max_length=20)
    amount = serializers.CharField(max_length=24)
    transaction_id = serializers.CharField(max_length=64)
    currency = serializers.CharField(max_length=3, required=False, default="CNY")


class PaymentAnswerSerializer(serializers.Serializer):
    receipt = serializers.CharField()
    account = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    applied = serializers.DecimalField(max_digits=14, decimal_places=2)
    prepayment = serializers.DecimalField(max_digits=14, decimal_places=2)
    transaction_id = serializers.CharField(allow_null=True)
    received_at = serializers.DateTimeField()


def _masked(name: str) -> str:
    """A channel sees the name masked (张*, 城关**公司) — enough for the payer to recognise the account."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def arrears_answer(position: selectors.AccountPosition, *, mask: bool) -> dict[str, Any]:
    return {
        "account": position.account.number,
        "name": _masked(position.account.name) if mask else position.account.name,
        "balance": position.balance,
        "owed": position.owed,
        "arrears": position.arrears,
        "late_fees": position.late_fees,
        "prepayment": position.credit,
        "items": [
            {
                "kind": item.entry.kind,
                "bill": item.entry.bill.number if item.entry.bill else None,
                "period": item.entry.bill.period if item.entry.bill else None,
                "due_date": item.entry.due_date,
                "amount": item.left,
                "overdue": item.overdue,
            }
            for item in position.items
        ],
    }


def payment_answer(payment: Payment) -> dict[str, Any]:
    """What a payment post answers — from the payment's own rows, so every retry answers the same."""
    posted = getattr(payment, "posted_entries", None)  # just posted: no query
    rows = (
        [(e.kind, e.amount) for e in posted]
        if posted is not None
        else Entry.objects.filter(payment=payment, kind__in=("payment", "prepayment")).values_list(
            "kind", "amount"
        )
    )
    parts = dict(rows)
    zero = Decimal("0.00")
    return {
        "receipt": payment.number,
        "account": payment.account.number,
        "amount": str(payment.amount),
        "applied": str(-parts.get("payment", zero) + zero),
        "prepayment": str(-parts.get("prepayment", zero) + zero),
        "transaction_id": payment.transaction_id,
        "received_at": payment.received_at.isoformat(),
    }


@dataclass(frozen=True)
class _GroupedPost:
    """A channel post waiting for its group: who posts, under which key, what."""

    user: User
    channel: Channel
    write: KeyedWrite
    post: actions.ChannelPost


def _serve_posts(grouped: list[_GroupedPost]) -> list[Response | Exception | Alone]:
    """One group of a channel's posts (:class:`gridcare.core.gather.Gatherer`, one per channel account): the
    keys claimed, the posts taken (:func:`actions.do_take_channel_posts`) and the answers stored in one
    transaction — each post answered as it would be alone. A key twice in the group: the second is done alone,
    after the first (it then replays it)."""
    user, channel = grouped[0].user, grouped[0].channel
    answers: list[Response | Exception | Alone | None] = [None] * len(grouped)
    keys: set[str] = set()
    mine: list[int] = []
    for i, g in enumerate(grouped):
        if g.write.key in keys:
            answers[i] = ALONE
        else:
            keys.add(g.write.key)
            mine.append(i)
    fresh: list[tuple[int, int]] = []  # (post, claimed record)
    try:
        with whole_transaction():
            claims = claim_keys(user.pk, [grouped[i].write for i in mine])
            for i, claim in zip(mine, claims, strict=True):
                if isinstance(claim, int):
                    fresh.append((i, claim))
                    continue
                try:
                    answers[i] = replay(claim, grouped[i].write)
                except GridcareError as refusal:
                    answers[i] = refusal
            if fresh:
                taken = _take(user, channel, [grouped[i].post for i, _ in fresh])
                stored: list[tuple[int, Response]] = []
                refused: list[int] = []
                for (i, claim), outcome in zip(fresh, taken, strict=True):
                    if isinstance(outcome, Payment):
                        answers[i] = answer = Response(payment_answer(outcome), status=201)
                        stored.append((claim, answer))
                    else:
                        answers[i] = outcome
                        refused.append(claim)
                store_answers(stored)
                release_claims(refused)
    except actions.NothingTaken as none:  # (rolled back: no claim kept)
        for (i, _), each in zip(fresh, none.refusals, strict=True):
            answers[i] = each
    except GridcareError as refusal:  # the channel's or the day's: every post of the group (rolled back)
        for i, _ in fresh:
            answers[i] = refusal
    return [a if a is not None else ALONE for a in answers]


def _take(user: User, channel: Channel, posts: list[actions.ChannelPost]) -> list[Payment | Exception]:
    """The posts of a group, set-based (:func:`actions.do_take_channel_posts`) from ``CHANNEL_GROUP_MIN`` posts
    on; fewer — a lone post above all — one after the other as :func:`actions.do_take_payment` takes them (fewer
    statements for one or two), each in one savepoint of its own if there are several (a lone post's refusal
    rolls back the whole transaction)."""
    if len(posts) >= int(conf("CHANNEL_GROUP_MIN")):
        return actions.do_take_channel_posts(user, channel=channel, posts=posts)

    def one(post: actions.ChannelPost) -> Payment:
        return actions.do_take_payment(
            user,
            account=post.account,
            amount=post.amount,
            method="channel",
            channel=channel,
            transaction_id=post.transaction_id,
        )

    if len(posts) == 1:
        with origin(request_id=posts[0].request_id):
            return [one(posts[0])]
    outcomes: list[Payment | Exception] = []
    for post in posts:
        try:
            with whole_transaction(), origin(request_id=post.request_id):  # (its savepoint: the action's one)
                outcomes.append(one(post))
        except GridcareError as refusal:
            outcomes.append(refusal)
    return outcomes


_GATHERERS: dict[int, Gatherer[_GroupedPost, Response | Alone]] = {}
_GATHERERS_GUARD = threading.Lock()


def _gatherer(user: User) -> Gatherer[_GroupedPost, Response | Alone]:
    """The group commit of one channel account's posts in this process."""
    with _GATHERERS_GUARD:
        found = _GATHERERS.get(user.pk)
        if found is None:
            found = _GATHERERS[user.pk] = Gatherer(
                _serve_posts, limit=int(conf("CHANNEL_GROUP_LIMIT")), name="ledger.channel_posts"
            )
        return found


class ChannelViewSet(ScopedViewSetMixin, viewsets.GenericViewSet):
    """代收接口 — for banks and payment aggregators with an integration account. ``arrears``: what an account owes
    (欠费查询; the name masked). ``payments``: post one payment; the ``Idempotency-Key`` header is required and the
    channel's ``transaction_id`` is taken once — a retry answers the first payment, the same key with another
    body is 409, the same transaction id with another account or amount is 409; nothing is posted then.

    The posts arriving together are taken together (group commit, :mod:`gridcare.core.gather`): each keeps its
    own key, answer and refusal; a post its group could not take is taken alone, as any write."""

    queryset = Payment.objects.none()
    serializer_class = ChannelPaymentInputSerializer
    # a machine interface on the hot path: JSON in and out only (no content negotiation over the browsable
    # renderer and the form parsers), its own throttle rate (a bank posts a city's payments through one account)
    renderer_classes = [JSONRenderer]
    parser_classes = [BoundedJSONParser]
    throttle_classes = [ChannelRateThrottle]
    view_permission = "payment.post"
    action_permissions = {"arrears": "payment.post", "payments": "payment.post"}
    grouped_writes = frozenset({"payments"})
    machine_api = True  # served by the lean handler of gridcare.api.machine

    @extend_schema(
        parameters=[OpenApiParameter("account", str, required=True, description="户号")],
        responses=ArrearsSerializer,
    )
    @route(detail=False, methods=["get"])
    def arrears(self, request: StaffRequest) -> Response:
        """欠费查询 — balance, arrears (overdue), bills due and late fees of an account."""
        account = actions._account(request.user, request.query_params.get("account", ""))
        return Response(
            ArrearsSerializer(arrears_answer(selectors.account_position(account), mask=True)).data
        )

    @extend_schema(
        request=ChannelPaymentInputSerializer,
        responses={201: PaymentAnswerSerializer},
        parameters=[OpenApiParameter(IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER, required=True)],
    )
    @route(detail=False, methods=["post"])
    def payments(self, request: StaffRequest) -> Response:
        """缴费入账 — one payment of the calling channel."""
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key:
            raise InvalidInput(
                {IDEMPOTENCY_HEADER: "代收入账必须带幂等键。 (The Idempotency-Key header is required.)"}
            )
        channel = selectors.channel_of_caller(request.user)  # (confirmed in the group's transaction)
        if channel is None or not channel.active:
            raise PermissionRefused("您的账号不是代收渠道。 (Your account is not a payment channel.)")
        data = ChannelPaymentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        post = actions.check_channel_post(
            values["account"],
            values["amount"],
            values["currency"],
            values["transaction_id"],
            current_origin().request_id,
        )
        write = KeyedWrite(key, request.method or "POST", request.path, request_fingerprint(request))
        answer = _gatherer(request.user).submit(_GroupedPost(request.user, channel, write, post))
        if isinstance(answer, Response):
            return answer
        return self._once(key, self._take_alone, request, channel, post)

    @staticmethod
    def _take_alone(request: StaffRequest, channel: Channel, post: actions.ChannelPost) -> Response:
        payment = _take(request.user, channel, [post])[0]  # (a lone post: its payment, or its refusal raised)
        assert isinstance(payment, Payment)
        return Response(payment_answer(payment), status=201)


@dataclass(frozen=True)
class _LanePost:
    """A channel post the lane took in: the caller's token, the keyed write, the checked post."""

    token: str
    write: KeyedWrite
    post: actions.ChannelPost


class ChannelPostLane(Lane[_LanePost]):
    """缴费入账 in the ASGI event loop (:mod:`gridcare.api.lane`): the ordinary channel post checked as
    :meth:`ChannelViewSet.payments` checks it — body parsed by the API's parser, the input form, the amount,
    currency and transaction id — then served in groups (:func:`_serve_posts`) after the group's tokens,
    permission, throttle and channel are checked as the view's pipeline checks them. Anything else goes to the
    view."""

    name = "ledger.channel_posts"

    def __init__(self) -> None:
        self.limit = int(conf("CHANNEL_GROUP_LIMIT"))
        self.gather = int(conf("CHANNEL_GROUP_GATHER"))
        self.wait = float(conf("CHANNEL_GROUP_WAIT_MS")) / 1000

    @property
    def path(self) -> str:
        return reverse("ledger-channel-payments")

    def prepare(self, request: LaneRequest) -> _LanePost | None:
        headers = request.headers
        keyword, _, token = headers.get("authorization", "").partition(" ")
        key = headers.get("idempotency-key", "").strip()
        if (
            keyword.lower() != "token"
            or not token
            or " " in token
            or not key
            or len(key) > 128
            or request.query
            or headers.get("content-type", "").split(";")[0].strip() != "application/json"
            or headers.get("accept", "*/*")
            not in ("*/*", "application/json")  # (the rest: DRF's negotiation)
            or headers.get("content-length") != str(len(request.body))  # (none: Django reads no body)
        ):
            return None
        try:
            data = BoundedJSONParser().parse(io.BytesIO(request.body))
        except Exception:  # the view answers it (400 or 413)
            return None
        form = ChannelPaymentInputSerializer(data=data)
        if not form.is_valid():
            return None
        values = form.validated_data
        try:
            post = actions.check_channel_post(
                values["account"],
                values["amount"],
                values["currency"],
                values["transaction_id"],
                request.request_id,
            )
        except GridcareError:
            return None
        write = KeyedWrite(key, "POST", request.path, fingerprint("POST", request.path, [], data))
        return _LanePost(token, write, post)

    def serve(self, items: list[_LanePost]) -> list[Answer | Alone]:
        answers: list[Answer | Alone] = [ALONE] * len(items)
        callers: dict[str, tuple[User, Channel] | None] = {}
        groups: dict[int, list[int]] = {}
        throttles: dict[int, ChannelRateThrottle] = {}
        for i, item in enumerate(items):
            if item.token not in callers:
                callers[item.token] = _channel_caller(item.token)
            caller = callers[item.token]
            if caller is not None:
                throttles[i] = throttle = ChannelRateThrottle()
                if _admitted(throttle, caller[0]):
                    groups.setdefault(caller[0].pk, []).append(i)
        try:
            self._serve_groups(items, callers, groups, answers)
        finally:
            for i, throttle in throttles.items():
                if answers[i] is ALONE:  # the view answers it, and counts it then
                    throttle.refund()
        return answers

    @staticmethod
    def _serve_groups(
        items: list[_LanePost],
        callers: dict[str, tuple[User, Channel] | None],
        groups: dict[int, list[int]],
        answers: list[Answer | Alone],
    ) -> None:
        for members in groups.values():
            caller = callers[items[members[0]].token]
            assert caller is not None
            user, channel = caller
            grouped = [_GroupedPost(user, channel, items[i].write, items[i].post) for i in members]
            for i, outcome in zip(members, _serve_posts(grouped), strict=True):
                if isinstance(outcome, Response):
                    answers[i] = Answer(
                        outcome.status_code, outcome.data, replayed=outcome.has_header("Idempotent-Replayed")
                    )


def _channel_caller(token: str) -> tuple[User, Channel] | None:
    """The token's user and channel, if the view would let the user post (authenticated, active, permitted,
    an active channel's account)."""
    try:
        user, _ = PositionTokenAuthentication().authenticate_credentials(token)
    except AuthenticationFailed:
        return None
    if not allows(user, ChannelViewSet.action_permissions["payments"]):
        return None
    channel = selectors.channel_of_caller(user)
    return (user, channel) if channel is not None and channel.active else None


def _admitted(throttle: ChannelRateThrottle, user: User) -> bool:
    """The view's throttle, counted for this post."""
    try:
        return throttle.allow_request(cast(Request, SimpleNamespace(user=user)), None)
    except Throttled:
        return False


#: the routes served in the ASGI event loop (gridcare.asgi)
LANES = [ChannelPostLane]


class PaymentSerializer(serializers.ModelSerializer):
    account_number = serializers.CharField(source="account.number", read_only=True)
    cashier_name = serializers.CharField(source="cashier.display_name", read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "number",
            "account",
            "account_number",
            "amount",
            "method",
            "channel",
            "transaction_id",
            "cashier",
            "cashier_name",
            "day",
            "received_at",
            "note",
        ]
        read_only_fields = fields


class CounterPaymentInputSerializer(InputSerializer):
    account = serializers.CharField(max_length=20)
    amount = serializers.CharField(max_length=24)
    method = serializers.ChoiceField(choices=[m.value for m in actions.COUNTER_METHODS])
    currency = serializers.CharField(max_length=3, required=False, default="CNY")
    note = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class LedgerReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class PaymentViewSet(
    ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """收费记录 — the counter's payments: list, detail, take one (``POST``), reverse (冲正: your own of today
    before the close; otherwise ask for an approval)."""

    queryset = Payment.objects.select_related("account", "cashier")
    serializer_class = PaymentSerializer
    filterset_fields = ["day", "method", "cashier", "account"]
    view_permission = "billing.view"
    action_permissions = {"create": "payment.post", "reverse": "payment.reverse"}

    @extend_schema(request=CounterPaymentInputSerializer, responses={201: PaymentAnswerSerializer})
    def create(self, request: StaffRequest) -> Response:
        data = CounterPaymentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment = actions.do_take_payment(request.user, **data.validated_data)
        return Response(payment_answer(payment), status=201)

    @extend_schema(request=LedgerReasonSerializer, responses=PaymentSerializer)
    @route(detail=True, methods=["post"])
    def reverse(self, request: StaffRequest, pk: str | None = None) -> Response:
        payment = self.get_object()
        data = LedgerReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actions.do_reverse_payment(request.user, payment.pk, data.validated_data["reason"])
        return Response(PaymentSerializer(payment).data)


class EntrySerializer(serializers.ModelSerializer):
    account_number = serializers.CharField(source="account.number", read_only=True)

    class Meta:
        model = Entry
        fields = [
            "id",
            "account",
            "account_number",
            "kind",
            "amount",
            "bill",
            "payment",
            "concerns",
            "day",
            "due_date",
            "posted_at",
            "note",
        ]
        read_only_fields = fields


class EntryViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """账务明细 — an account's ledger entries (read-only: entries are never changed)."""

    queryset = Entry.objects.select_related("account")
    serializer_class = EntrySerializer
    filterset_fields = ["account", "kind", "day"]
    view_permission = "billing.view"


class DailyCloseSerializer(serializers.ModelSerializer):
    class Meta:
        model = DailyClose
        fields = [
            "id",
            "cashier",
            "day",
            "payments",
            "reversals",
            "total",
            "by_method",
            "cash_expected",
            "cash_handed_over",
            "difference",
            "note",
            "closed_at",
        ]
        read_only_fields = [
            "id",
            "cashier",
            "day",
            "payments",
            "reversals",
            "total",
            "by_method",
            "cash_expected",
            "difference",
            "closed_at",
        ]


class DailyCloseViewSet(
    ScopedViewSetMixin, mixins.CreateModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    """日结 — close your day (``POST`` with the cash handed over; a difference needs a note); list closes."""

    queryset = DailyClose.objects.all()
    serializer_class = DailyCloseSerializer
    view_permission = "payment.post"
    action_permissions = {"create": "payment.post"}

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        serializer.instance = actions.do_close_day(
            self.request.user,
            cash_handed_over=serializer.validated_data["cash_handed_over"],
            note=serializer.validated_data.get("note", ""),
        )


class ChannelFileSerializer(serializers.ModelSerializer):
    channel: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )

    class Meta:
        model = ChannelFile
        fields = [
            "id",
            "channel",
            "day",
            "file_name",
            "rows",
            "matched",
            "only_ours",
            "only_theirs",
            "amount_differs",
            "their_total",
            "our_total",
            "imported_by",
            "imported_at",
            "seconds",
        ]
        read_only_fields = fields


class MissingPostedSerializer(serializers.Serializer):
    file = serializers.IntegerField()
    posted = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=18, decimal_places=2)
    seconds = serializers.FloatField()


class ChannelFileViewSet(
    ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """对账文件 — the reconciled channel files (counts and totals); ``post-missing``: 批量补记, every open "only
    theirs" difference of the file posted as the channel's payment of the file's day, all or nothing (any bad row:
    400 naming every bad row, nothing posted). Send an ``Idempotency-Key``: a retry gets the first answer back."""

    queryset = ChannelFile.objects.select_related("channel")
    serializer_class = ChannelFileSerializer
    filterset_fields = ["day", "channel"]
    view_permission = "payment.reconcile"
    action_permissions = {"post_missing": "payment.reconcile"}

    @extend_schema(request=None, responses=MissingPostedSerializer)
    @route(detail=True, methods=["post"], url_path="post-missing")
    def post_missing(self, request: StaffRequest, pk: str | None = None) -> Response:
        from gridcare.ledger.reconcile import do_post_file_missing

        record = self.get_object()
        result = do_post_file_missing(request.user, record.pk)
        return Response(
            MissingPostedSerializer(
                {"file": record.pk, "posted": result.posted, "total": result.total, "seconds": result.seconds}
            ).data
        )


class ApprovalRequestSerializer(ScopedModelSerializer):
    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "kind",
            "status",
            "account",
            "payment",
            "concerns",
            "amount",
            "reason",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "entry",
        ]
        read_only_fields = [
            "id",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "entry",
        ]
        extra_kwargs = {"account": {"required": False}, "amount": {"required": False}}


class ApprovalDecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class ApprovalRequestViewSet(
    ScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """审批 — later reversals, refunds (退费), late-fee waivers (减免, ``concerns``: the late-fee entry) and write-offs
    (核销, ``concerns``: a bill charge or late fee): asked for by a cashier or collector, decided by someone else with
    the kind's permission and within its authority limit (冲正/退费/违约金减免/坏账核销金额上限)."""

    queryset = ApprovalRequest.objects.select_related("payment", "account")
    serializer_class = ApprovalRequestSerializer
    filterset_fields = ["status", "kind"]
    view_permission = "payment.post"
    action_permissions = {
        "create": "payment.post",
        "decide": "payment.approve",
        "list": ("payment.post", "payment.approve"),
        "retrieve": ("payment.post", "payment.approve"),
    }

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        values = serializer.validated_data
        payment = values.get("payment")
        account = values.get("account")
        concerns = values.get("concerns")
        serializer.instance = actions.do_request_approval(
            self.request.user,
            kind=values["kind"],
            reason=values["reason"],
            payment_id=payment.pk if payment else None,
            account=account.pk if account else None,
            amount=values.get("amount"),
            entry_id=concerns.pk if concerns else None,
        )

    @extend_schema(request=ApprovalDecisionSerializer, responses=ApprovalRequestSerializer)
    @route(detail=True, methods=["post"])
    def decide(self, request: StaffRequest, pk: str | None = None) -> Response:
        request_row = self.get_object()
        data = ApprovalDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = actions.do_decide_approval(request.user, request_row.pk, **data.validated_data)
        return Response(ApprovalRequestSerializer(decided).data)


class DunningStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = DunningStep
        fields = [
            "id",
            "kind",
            "at",
            "by",
            "channel",
            "recipient",
            "arrears",
            "overdue_days",
            "outcome",
            "work_order",
            "note",
        ]
        read_only_fields = fields


class DunningCaseSerializer(serializers.ModelSerializer):
    account_number = serializers.CharField(source="account.number", read_only=True)
    steps = DunningStepSerializer(many=True, read_only=True)

    class Meta:
        model = DunningCase
        fields = [
            "id",
            "account",
            "account_number",
            "status",
            "last_step",
            "last_step_at",
            "approval_pending",
            "important",
            "opened_at",
            "closed_at",
            "steps",
        ]
        read_only_fields = fields


class RemindInputSerializer(InputSerializer):
    accounts = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=5000
    )


class DecisionInputSerializer(InputSerializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class DeliveryInputSerializer(InputSerializer):
    how = serializers.ChoiceField(choices=DunningStep.Delivery.choices)
    recipient = serializers.CharField(max_length=100)
    at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class DisconnectInputSerializer(InputSerializer):
    how = serializers.ChoiceField(choices=[("field", "field"), ("remote", "remote")], default="field")


class RemindAnswerSerializer(serializers.Serializer):
    sent = serializers.IntegerField()


class DunningCaseViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """催费案件 — each account's dunning case with its immutable steps; the collector's steps as actions:
    ``remind`` (bulk reminders), ``request`` (disconnection approval), ``decide`` (approver), ``notice`` (停电通知书),
    ``deliver`` (送达: how, to whom, when), ``disconnect`` (field work order or remote command)."""

    queryset = DunningCase.objects.select_related("account").prefetch_related("steps")
    serializer_class = DunningCaseSerializer
    filterset_fields = ["status", "account", "approval_pending"]
    view_permission = "arrears.dun"
    action_permissions = {
        "list": ("arrears.dun", "disconnection.approve"),
        "retrieve": ("arrears.dun", "disconnection.approve"),
        "remind": "arrears.dun",
        "request_approval": "disconnection.request",
        "decide": "disconnection.approve",
        "notice": "arrears.dun",
        "deliver": "arrears.dun",
        "disconnect": "disconnection.request",
    }

    def _answer(self, pk: int) -> Response:
        return Response(DunningCaseSerializer(DunningCase.objects.get(pk=pk)).data)

    @extend_schema(request=RemindInputSerializer, responses=RemindAnswerSerializer)
    @route(detail=False, methods=["post"])
    def remind(self, request: StaffRequest) -> Response:
        from gridcare.ledger.dunning import do_send_reminders

        data = RemindInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response({"sent": do_send_reminders(request.user, data.validated_data["accounts"])})

    @extend_schema(request=LedgerReasonSerializer, responses=DunningCaseSerializer)
    @route(detail=True, methods=["post"], url_path="request")
    def request_approval(self, request: StaffRequest, pk: str | None = None) -> Response:
        from gridcare.ledger.dunning import do_request_disconnection

        case = self.get_object()
        data = LedgerReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        do_request_disconnection(request.user, case.pk, reason=data.validated_data["reason"])
        return self._answer(case.pk)

    @extend_schema(request=DecisionInputSerializer, responses=DunningCaseSerializer)
    @route(detail=True, methods=["post"])
    def decide(self, request: StaffRequest, pk: str | None = None) -> Response:
        from gridcare.ledger.dunning import do_decide_disconnection

        case = self.get_object()
        data = DecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        do_decide_disconnection(request.user, case.pk, **data.validated_data)
        return self._answer(case.pk)

    @extend_schema(request=None, responses=DunningCaseSerializer)
    @route(detail=True, methods=["post"])
    def notice(self, request: StaffRequest, pk: str | None = None) -> Response:
        from gridcare.ledger.dunning import do_issue_notice

        case = self.get_object()
        do_issue_notice(request.user, case.pk)
        return self._answer(case.pk)

    @extend_schema(request=DeliveryInputSerializer, responses=DunningCaseSerializer)
    @route(detail=True, methods=["post"])
    def deliver(self, request: StaffRequest, pk: str | None = None) -> Response:
        from gridcare.ledger.dunning import do_record_delivery

        case = self.get_object()
        data = DeliveryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        do_record_delivery(request.user, case.pk, **data.validated_data)
        return self._answer(case.pk)

    @extend_schema(request=DisconnectInputSerializer, responses=DunningCaseSerializer)
    @route(detail=True, methods=["post"])
    def disconnect(self, request: StaffRequest, pk: str | None = None) -> Response:
        from gridcare.ledger.dunning import do_disconnect

        case = self.get_object()
        data = DisconnectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        do_disconnect(request.user, case.pk, how=data.validated_data["how"])
        return self._answer(case.pk)


class InstalmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Instalment
        fields = ["number", "due_date", "amount"]
        read_only_fields = fields


class InstalmentInputSerializer(serializers.Serializer):
    due_date = serializers.DateField()
    amount = serializers.CharField(max_length=24)


class PaymentPlanSerializer(ScopedModelSerializer):
    account_number = serializers.CharField(source="account.number", read_only=True)
    instalments = InstalmentSerializer(many=True, read_only=True)

    class Meta:
        model = PaymentPlan
        fields = [
            "id",
            "account",
            "account_number",
            "amount",
            "status",
            "reason",
            "start_day",
            "created_by",
            "created_at",
            "decided_by",
            "decided_at",
            "ended_at",
            "instalments",
        ]
        read_only_fields = [f for f in fields if f not in ("account", "reason")]


class PaymentPlanInputSerializer(ScopedModelSerializer):
    instalments = InstalmentInputSerializer(many=True)

    class Meta:
        model = PaymentPlan
        fields = ["account", "reason", "instalments"]


class PaymentPlanViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """灵活付款方案 — set a plan (``POST``: account, reason, instalments [{due_date, amount}]); within your
    ``payment_plan_amount`` limit it is in force at once, above it pending; ``decide`` by someone else."""

    queryset = PaymentPlan.objects.select_related("account").prefetch_related("instalments")
    serializer_class = PaymentPlanSerializer
    filterset_fields = ["status", "account"]
    view_permission = "payment_plan.set"
    action_permissions = {"create": "payment_plan.set", "decide": "payment_plan.set"}

    def get_serializer_class(self) -> Any:
        return PaymentPlanInputSerializer if self.action == "create" else PaymentPlanSerializer

    @extend_schema(request=PaymentPlanInputSerializer, responses={201: PaymentPlanSerializer})
    def create(self, request: StaffRequest) -> Response:
        from gridcare.ledger.plans import do_set_payment_plan

        data = PaymentPlanInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        values = data.validated_data
        plan = do_set_payment_plan(
            request.user,
            account=values["account"].pk,
            reason=values["reason"],
            instalments=[dict(row) for row in values["instalments"]],
        )
        return Response(PaymentPlanSerializer(plan).data, status=201)

    @extend_schema(request=ApprovalDecisionSerializer, responses=PaymentPlanSerializer)
    @route(detail=True, methods=["post"])
    def decide(self, request: StaffRequest, pk: str | None = None) -> Response:
        from gridcare.ledger.plans import do_decide_payment_plan

        plan = self.get_object()
        data = ApprovalDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = do_decide_payment_plan(request.user, plan.pk, **data.validated_data)
        return Response(PaymentPlanSerializer(decided).data)


ROUTES = [
    *prepaid_api.ROUTES,  # 费控 and the reports (their own module)
    ("ledger/channel", ChannelViewSet, "ledger-channel"),
    ("ledger/payments", PaymentViewSet, "ledger-payment"),
    ("ledger/entries", EntryViewSet, "ledger-entry"),
    ("ledger/closes", DailyCloseViewSet, "ledger-close"),
    ("ledger/approvals", ApprovalRequestViewSet, "ledger-approval"),
    ("ledger/files", ChannelFileViewSet, "ledger-file"),
    ("ledger/dunning", DunningCaseViewSet, "ledger-dunning"),
    ("ledger/plans", PaymentPlanViewSet, "ledger-plan"),
]
