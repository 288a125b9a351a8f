"""Writes of the ledger: post released bills as charges, take a payment (counter or channel), reverse it, ask for
and decide a later reversal or a refund, close a cashier's day. Every write is an audited action; entries,
payments and allocations are only ever inserted (see :mod:`gridcare.ledger.models`)."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from gridcare.billing.models import Bill
from gridcare.core import audit
from gridcare.core.access import (
    check_limit,
    get_in_scope,
    has_perm,
    not_found_message,
    restrict,
    row_in_scope,
)
from gridcare.core.actions import action
from gridcare.core.context import origin
from gridcare.core.errors import Conflict, InvalidInput, NotFound, PermissionRefused
from gridcare.core.numbering import Counter, next_number
from gridcare.core.rows import (
    TableRef,
    database,
    fetch_all,
    fetch_one,
    from_row,
    insert_row,
    select_columns,
)
from gridcare.customers.models import Account
from gridcare.ledger import latefees, posting
from gridcare.ledger.conf import conf, late_fee_posting, max_payment
from gridcare.ledger.models import (
    Allocation,
    ApprovalRequest,
    Channel,
    DailyClose,
    Entry,
    Method,
    Payment,
)
from gridcare.ledger.posting import MoneySum
from gridcare.ledger.prepaid_actions import reconnect_after_payment
from gridcare.org.models import OrgUnit, User

RECEIPTS = Counter("ledger_receipt", "ledger_receipt_number_seq")
COUNTER_METHODS = (Method.CASH, Method.POS, Method.WECHAT, Method.ALIPAY, Method.BANK_TRANSFER)


# --- input checks -------------------------------------------------------------------------------------------


def parse_amount(value: Any, field: str = "amount") -> Decimal:
    """A payment amount: a positive number of 元 with at most 2 decimals, not above ``MAX_PAYMENT``."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        raise InvalidInput({field: '金额须为数字文本，如 "128.50"。 (The amount must be a decimal text.)'})
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput({field: f"金额「{value}」不是数字。 (Not a number.)"}) from None
    if not amount.is_finite():
        raise InvalidInput({field: "金额须为有限数字。 (The amount must be finite.)"})
    if amount <= 0:
        raise InvalidInput({field: f"金额须大于零，收到 {amount}。 (The amount must be positive.)"})
    if amount > max_payment():
        raise InvalidInput(
            {field: f"单笔金额不能超过 {max_payment()} 元。 (Above the largest single payment.)"}
        )
    if amount.as_tuple().exponent < -2 and amount != amount.quantize(posting.CENT):  # type: ignore[operator]
        raise InvalidInput({field: f"金额最多两位小数（分），收到 {amount}。 (At most 2 decimals.)"})
    return amount.quantize(posting.CENT)


def check_currency(currency: str | None) -> None:
    expected = str(conf("CURRENCY"))
    if currency not in (None, "", expected):
        raise InvalidInput(
            {"currency": f"只收 {expected}（人民币），收到「{currency}」。 (Only {expected} is accepted.)"}
        )


def _account(actor: User, account: Account | int | str, *, lock: bool = False) -> Account:
    """The account by id, instance or 户号 within the actor's write scope (outside = unknown); ``lock``: its row
    locked in the same statement (:func:`posting.lock_accounts` for one account)."""
    rows = Account.objects.select_related("org_unit")
    if lock:
        rows = rows.select_for_update(of=("self",))
    if isinstance(account, Account):
        return get_in_scope(rows, actor, write=True, pk=account.pk)
    if isinstance(account, int):
        return get_in_scope(rows, actor, write=True, pk=account)
    number = str(account or "").strip()
    if not number:
        raise InvalidInput({"account": "请填写户号。 (The account number is required.)"})
    if lock and database().vendor == "postgresql":
        found = _locked_account_by_number(actor, number)
    else:
        found = restrict(rows.filter(number=number), actor, write=True).first()
    if found is None:
        raise NotFound(f"户号「{number}」不存在。 (Unknown account {number}.)")
    return found


@functools.cache
def _account_by_number_sql() -> str:
    """The account by 户号 with its station's path (what the scope rule needs), its row locked."""
    a, u = TableRef(Account, "a"), TableRef(OrgUnit, "u")
    return (
        f"SELECT {select_columns(Account, 'a')}, {u.path} FROM {a} JOIN {u} ON {u.id} = {a.org_unit_id} "
        f"WHERE {a.number} = %s FOR UPDATE OF a"
    )


def _locked_account_by_number(actor: User, number: str) -> Account | None:
    """:func:`_account` of a payment post on PostgreSQL: one prepared statement instead of the ORM's compiled
    join, the same data scope decided by :func:`row_in_scope` on the row (``restrict``'s rule, tested alike)."""
    row = fetch_one(_account_by_number_sql(), [number])
    if row is None:
        return None
    account = from_row(Account, row[:-1])
    if not row_in_scope(
        actor, unit_paths=[row[-1]], owner_ids=[account.account_manager_id], model=Account, write=True
    ):
        return None  # outside the caller's write scope: exactly as if it did not exist
    return account


@dataclass
class PaymentChecks:
    """What a payment must know of its account and day before it posts, read in one statement after the
    account's row lock (:func:`_payment_checks`): each of the three collection flags is a necessary condition
    of the check it stands for, so a false flag skips a query that would have found nothing."""

    closed: bool  # the cashier's (channel's) day is closed (日结)
    first: Payment | None  # the channel's earlier payment of the same transaction id
    overdue: bool  # a bill charge overdue past the grace days (违约金 at payment: :func:`latefees.post`)
    disconnected: bool  # an open dunning case at its disconnection (缴费复电: ``reconnect_paid``)
    cut_off: bool  # an active prepaid agreement whose supply is cut (费控复电: ``reconnect_after_payment``)
    channel_ok: bool  # the channel given is active and still the integration account's of the actor
    debits: list[posting.Open] | None  # the account's open debits (PostgreSQL; SQLite: None, read later)


@functools.cache
def _payment_checks_sql() -> str:
    from gridcare.engine import dunning as ladder  # (the engine: pure constants)
    from gridcare.ledger.models import DunningCase
    from gridcare.ledger.prepaid_models import PrepaidAgreement

    p, d, e = TableRef(Payment, "p"), TableRef(DailyClose, "d"), TableRef(Entry, "e")
    c, g = TableRef(DunningCase, "c"), TableRef(PrepaidAgreement, "g")
    kinds = ", ".join(f"'{kind.value}'" for kind in latefees.BILL_KINDS)
    closed = f"EXISTS (SELECT 1 FROM {d} WHERE {d.cashier_id} = %s AND {d.day} = %s)"
    x, k = TableRef(Allocation, "x"), TableRef(Entry, "k")
    settled = f"COALESCE((SELECT SUM({x.amount}) FROM {x} WHERE {x.debit_id} = {e.id}), 0)"
    settled_late = (
        f"EXISTS (SELECT 1 FROM {x} JOIN {k} ON {k.id} = {x.credit_id} WHERE {x.debit_id} = {e.id} "
        f"AND {k.day} > {e.due_date})"
    )
    overdue = (  # the rows of latefees.accruals: no row, no late fee to post
        f"EXISTS (SELECT 1 FROM {e} WHERE {e.account_id} = %s AND {e.kind} IN ({kinds}) AND {e.amount} > 0 "
        f"AND {e.bill_id} IS NOT NULL AND {e.due_date} < %s AND ({e.amount} > {settled} OR {settled_late}))"
    )
    disconnected = (
        f"EXISTS (SELECT 1 FROM {c} WHERE {c.account_id} = %s AND {c.status} = '{DunningCase.Status.OPEN.value}' "
        f"AND {c.last_step} = {int(ladder.DISCONNECT)})"
    )
    cut_off = (
        f"EXISTS (SELECT 1 FROM {g} WHERE {g.account_id} = %s AND {g.active} = %s AND {g.switched_off} = %s)"
    )
    ch = TableRef(Channel, "ch")
    channel_ok = f"EXISTS (SELECT 1 FROM {ch} WHERE {ch.id} = %s AND {ch.user_id} = %s AND {ch.active} = %s)"
    debits = "NULL"
    if database().vendor == "postgresql":  # the open debits as one JSON column, amounts as exact text
        debits = (
            "(SELECT json_agg(json_build_array(q.i, q.k, q.d, q.a::text, q.s::text)) "
            f"FROM ({posting.open_debits_sql()}) q(i, k, d, a, s) WHERE q.a > q.s)"
        )
    return (
        f"SELECT {closed}, {overdue}, {disconnected}, {cut_off}, {channel_ok}, {debits}, "
        f"{select_columns(Payment, 'p')} "
        f"FROM (SELECT 1 AS one) o LEFT JOIN {p} ON {p.channel_id} = %s AND {p.transaction_id} = %s"
    )


def _payment_checks(
    actor: User, day: dt.date, account: Account, channel: Channel | None, txn: str | None
) -> PaymentChecks:
    """:class:`PaymentChecks` in one prepared statement, taken with the account's row locked (a concurrent payment
    of the account has committed by then, so its late fee or reconnection is seen). Whether the channel's day is
    closed (日结: as for a batch of the channel, nothing more is taken), its payment of transaction ``txn`` if it
    was posted, and the three collection flags of the account — before the merge of the collection tracks these
    were three more statements on every payment."""
    db = database()
    grace = dt.timedelta(days=int(conf("LATE_FEE_GRACE_DAYS")))
    params = [
        actor.pk,
        _DAY.get_db_prep_value(day, db),
        account.pk,
        _DAY.get_db_prep_value(day - grace, db),
        account.pk,
        account.pk,
        True,
        True,
        channel.pk if channel is not None else None,
        actor.pk,
        True,
        *([account.pk] if db.vendor == "postgresql" else []),
        channel.pk if channel is not None else None,
        txn,
    ]
    row = fetch_one(_payment_checks_sql(), params)
    assert row is not None
    return PaymentChecks(
        closed=bool(row[0]),
        overdue=bool(row[1]),
        disconnected=bool(row[2]),
        cut_off=bool(row[3]),
        channel_ok=bool(row[4]),
        debits=_debits(row[5]) if db.vendor == "postgresql" else None,
        first=from_row(Payment, row[6:]) if row[6] is not None else None,
    )


def _debits(value: Any) -> list[posting.Open]:
    """The open debits of the checks' JSON column (``[[id, kind, "due", "amount", "allocated"], …]`` or null)."""
    items = json.loads(value) if isinstance(value, str) else (value or [])
    return posting.ranked(
        (pk, kind, dt.date.fromisoformat(due), Decimal(amount), Decimal(done))
        for pk, kind, due, amount, done in items
    )


_DAY = DailyClose._meta.get_field("day")


def _closed(cashier_id: int, day: dt.date) -> bool:
    return DailyClose.objects.filter(cashier_id=cashier_id, day=day).exists()


# --- bill charges -------------------------------------------------------------------------------------------


def post_bill_charges(actor: User, bills: Iterable[Bill]) -> int:
    """Post released bills not yet in the ledger as charges (a correcting bill as a correction, positive or
    negative): one bulk insert, then the accounts holding an unapplied credit (a prepayment) settle the new
    charges from it. Called inside the release (same transaction) and by :func:`do_post_bill_charges`."""
    rows = [b for b in bills if b.status == Bill.Status.RELEASED]
    if not rows:
        return 0
    done = set(
        Entry.objects.filter(
            bill_id__in=[b.pk for b in rows], kind__in=(Entry.Kind.CHARGE, Entry.Kind.CORRECTION)
        ).values_list("bill_id", flat=True)
    )
    rows = [b for b in rows if b.pk not in done]
    if not rows:
        return 0
    now = timezone.now()
    today = timezone.localdate(now)
    entries = [
        Entry(
            account_id=b.account_id,
            kind=Entry.Kind.CORRECTION if b.kind == Bill.Kind.CORRECTING else Entry.Kind.CHARGE,
            amount=b.total,
            bill_id=b.pk,
            day=today,
            due_date=b.due_date or today,
            posted_at=now,
            posted_by=actor,
        )
        for b in rows
        if b.total != 0
    ]
    Entry.objects.bulk_create(entries, batch_size=5000)
    audit.bulk_record(
        actor,
        "ledger.post_charge",
        (
            {
                "object_type": "billing.bill",
                "object_id": b.pk,
                "object_repr": b.number or "",
                "after": {"account": b.account_id, "amount": b.total},
            }
            for b in rows
        ),
    )
    accounts = sorted({e.account_id for e in entries})
    with_credit = posting.accounts_with_credit(accounts)
    if with_credit:
        posting.lock_accounts(with_credit)
        cause = {e.account_id: e.pk for e in entries}
        for account_id in with_credit:
            posting.settle(account_id, cause[account_id])
    return len(entries)


@action("ledger.post_charges", permission="billing.release")
def do_post_bill_charges(actor: User, bills: QuerySet[Bill] | None = None) -> int:
    """记账 — post every released bill not yet in the ledger (existing data, the demo); idempotent."""
    rows = (bills if bills is not None else Bill.objects.all()).filter(status=Bill.Status.RELEASED)
    pending = rows.exclude(
        pk__in=Entry.objects.filter(
            bill__isnull=False, kind__in=(Entry.Kind.CHARGE, Entry.Kind.CORRECTION)
        ).values("bill_id")
    ).only("pk", "account_id", "kind", "status", "total", "due_date", "number")
    posted = 0
    batch: list[Bill] = []
    for bill in pending.order_by("pk").iterator(chunk_size=5000):
        batch.append(bill)
        if len(batch) == 5000:
            posted += post_bill_charges(actor, batch)
            batch = []
    posted += post_bill_charges(actor, batch)
    audit.record(
        actor,
        "ledger.post_charges",
        object_type="ledger.entry",
        object_id="*",
        object_repr=f"记账 {posted} 笔",
        after={"posted": posted},
    )
    return posted


# --- payments -----------------------------------------------------------------------------------------------


def _receipt_number(day: dt.date) -> str:
    return next_number(RECEIPTS, Payment, f"{conf('RECEIPT_PREFIX')}{day:%Y%m%d}", int(conf("RECEIPT_WIDTH")))


def _post_payment(payment: Payment, actor: User, debits: list[posting.Open] | None = None) -> list[Entry]:
    """The payment's entries — the part settling open debts (payment) and the rest (prepayment) — and their
    allocations; the account is locked. ``debits``: its open debits if already read under the lock."""
    if debits is None:
        debits = posting.open_debits(payment.account_id)
    entries = posting.payment_entries(payment, actor, sum((d.left for d in debits), posting.ZERO))
    for (
        entry
    ) in entries:  # one or two rows: prepared single-row inserts cost less than bulk_create's compiling
        insert_row(entry)
    credits = [posting.Open(e.pk, e.kind, e.due_date, -e.amount, e.day) for e in entries]
    for allocation in posting.match(payment.account_id, credits, debits, entries[0].pk):
        insert_row(allocation)
    return entries


@action("ledger.take_payment", permission="payment.post")
def do_take_payment(
    actor: User,
    *,
    account: Account | int | str,
    amount: Any,
    method: str,
    currency: str | None = None,
    channel: Channel | None = None,
    transaction_id: str | None = None,
    note: str = "",
) -> Payment:
    """收费 — money for an account: numbered, settling late fees then the oldest bills (``ALLOCATION_ORDER``),
    the rest kept as a prepayment the next bill consumes. A channel's transaction id is taken once per channel:
    the same transaction again (same account and amount) answers the first payment, another amount is refused."""
    value = parse_amount(amount)
    check_currency(currency)
    if channel is None and method not in COUNTER_METHODS:
        raise InvalidInput(
            {
                "method": f"收费方式「{method}」无效。 (Unknown payment method; one of {', '.join(COUNTER_METHODS)}.)"
            }
        )
    txn = (transaction_id or "").strip() or None
    if channel is not None:
        method = Method.CHANNEL
        txn = _channel_transaction(txn)
    now = timezone.now()
    day = timezone.localdate(now)
    if channel is None and _closed(actor.pk, day):  # (a channel's: with its transaction, below)
        raise Conflict(f"{day} 已日结，不能再收费。 (The day {day} is closed: no more payments.)")
    target = _account(actor, account, lock=True)
    checks = _payment_checks(actor, day, target, channel, txn)
    if channel is not None and channel.user_id == actor.pk and not checks.channel_ok:
        # the channel's own post with a channel remembered by the API (selectors.channel_of_caller) that has since
        # been deactivated or given to another account: refused, and looked up afresh next time
        from gridcare.ledger.selectors import forget_channel_of

        forget_channel_of(actor.pk)
        raise PermissionRefused("您的账号不是代收渠道。 (Your account is not a payment channel.)")
    # (a counter's closed day was refused above; a channel's is refused here, with its transaction)
    if checks.closed:
        raise Conflict(f"{day} 已日结，不能再收费。 (The day {day} is closed: no more payments.)")
    if channel is not None:
        first = checks.first
        if first is not None:
            if first.account_id != target.pk or first.amount != value:
                raise Conflict(
                    f"渠道流水号「{txn}」已入账（户号 {first.account.number}，{first.amount} 元），与本次不符。"
                    " (This transaction id was posted already with another account or amount.)"
                )
            audit.record(actor, "ledger.payment_repeated", first, note=f"channel transaction {txn} again")
            return first
    payment = Payment(
        number=_receipt_number(day),
        account=target,
        amount=value,
        method=method,
        channel=channel,
        transaction_id=txn,
        cashier=actor,
        day=day,
        received_at=now,
        note=(note or "").strip()[:200],
    )
    try:  # (no savepoint: a refusal rolls the whole action back)
        insert_row(payment)
    except IntegrityError:
        raise Conflict(
            f"渠道流水号「{txn}」已入账。 (This channel transaction id was posted already.)"
        ) from None
    debits = checks.debits
    # the fee accrued up to today posted first (then the payment settles it first): the debits read again
    if checks.overdue and "payment" in late_fee_posting() and latefees.post(actor, day, [target.pk]):
        debits = None
    entries = _post_payment(payment, actor, debits)
    if checks.disconnected:  # paid in full after a disconnection: 复电 within 24 h
        from gridcare.ledger.dunning import reconnect_paid  # (dunning builds on these actions)

        reconnect_paid(actor, [target.pk], now=now)
    if checks.cut_off:  # 费控: a prepaid account cut off at zero is reconnected
        reconnect_after_payment(actor, [target.pk])
    payment.posted_entries = entries  # type: ignore[attr-defined]  # the answer is built from them
    audit.record(
        actor,
        "ledger.take_payment",
        payment,
        after={
            "account": target.number,
            "amount": value,
            "method": method,
            "transaction_id": txn,
            "applied": -sum((e.amount for e in entries if e.kind == Entry.Kind.PAYMENT), posting.ZERO),
        },
    )
    return payment


@action("ledger.take_channel_payments", permission="payment.post")
def do_take_channel_payments(actor: User, *, channel: Channel, rows: list[dict[str, Any]]) -> int:
    """代收批量入账 — many payments of one channel at once (a day's file, reconciliation, the demo), set-based:
    each row ``{account, amount, transaction_id}`` is checked like a single post and the whole batch is refused
    with every bad row named if any is bad; then a few bulk inserts (payments, entries, allocations, audit)."""
    if not rows:
        return 0
    now = timezone.now()
    day = timezone.localdate(now)
    if _closed(actor.pk, day):
        raise Conflict(f"{day} 已日结，不能再收费。 (The day {day} is closed: no more payments.)")
    errors: dict[str, list[str]] = {}
    amounts: list[Decimal] = []
    for i, row in enumerate(rows):
        try:
            amounts.append(parse_amount(row.get("amount")))
        except InvalidInput as error:
            errors[f"rows[{i}].amount"] = error.errors["amount"]
            amounts.append(posting.ZERO)
    txns = [str(row.get("transaction_id") or "").strip() for row in rows]
    if len(set(txns)) != len(txns) or not all(txns) or any(len(t) > 64 for t in txns):
        errors["transaction_id"] = [
            "流水号须唯一、非空、最长 64 个字符。 (Transaction ids: unique, given, ≤ 64.)"
        ]
    numbers = {str(row.get("account") or "").strip() for row in rows}
    accounts = dict(
        restrict(Account.objects.filter(number__in=numbers), actor, write=True).values_list("number", "pk")
    )
    unknown = sorted(numbers - set(accounts))
    if unknown:
        errors["account"] = [f"户号不存在：{', '.join(unknown[:10])}。 (Unknown accounts.)"]
    taken = list(
        Payment.objects.filter(channel=channel, transaction_id__in=txns).values_list(
            "transaction_id", flat=True
        )[:10]
    )
    if taken:
        errors["transaction_id"] = [f"流水号已入账：{', '.join(str(t) for t in taken)}。 (Posted already.)"]
    if errors:
        raise InvalidInput(errors)
    from gridcare.ledger import bulk

    batch = pl.DataFrame(
        {
            "transaction": txns,
            "account": [accounts[str(row["account"]).strip()] for row in rows],
            "fen": [int(amount * 100) for amount in amounts],
        },
        schema={"transaction": pl.String, "account": pl.Int64, "fen": pl.Int64},
    )
    return bulk.post_batch(actor, channel=channel, cashier=actor, day=day, batch=batch).count


@dataclass(frozen=True)
class ChannelPost:
    """One payment post of a channel, its input already checked alone (:func:`check_channel_post`)."""

    account: str
    amount: Decimal
    transaction_id: str
    request_id: str = ""  # the request that brought it, on its audit rows (a group's leader writes them)


def check_channel_post(
    account: Any, amount: Any, currency: str | None, transaction_id: Any, request_id: str = ""
) -> ChannelPost:
    """What :func:`do_take_payment` refuses of a channel post before it reads anything: the amount, the
    currency, the transaction id."""
    value = parse_amount(amount)
    check_currency(currency)
    return ChannelPost(str(account or "").strip(), value, _channel_transaction(transaction_id), request_id)


def _channel_transaction(transaction_id: Any) -> str:
    """A channel's transaction id: given, at most 64 characters."""
    txn = str(transaction_id or "").strip()
    if not txn:
        raise InvalidInput(
            {"transaction_id": "请填写渠道流水号。 (The channel's transaction id is required.)"}
        )
    if len(txn) > 64:
        raise InvalidInput({"transaction_id": "流水号最长 64 个字符。 (At most 64 characters.)"})
    return txn


class NothingTaken(Exception):
    """A group of channel posts of which none was taken or repeated: each post's refusal (nothing was written)."""

    def __init__(self, refusals: list[Exception]) -> None:
        super().__init__(f"{len(refusals)} channel posts refused")
        self.refusals = refusals


@action("ledger.take_channel_posts", permission="payment.post")
def do_take_channel_posts(
    actor: User, *, channel: Channel, posts: list[ChannelPost]
) -> list[Payment | Exception]:
    """代收入账 of the channel's posts that arrived together (the API's group commit): each post answered as
    :func:`do_take_payment` answers it alone — its payment, the first payment of a transaction id posted again,
    or its refusal (an exception, returned: the others are taken) — in one transaction of set-based statements
    (:func:`bulk.post_batch`; an audit row per payment, as a single post writes it). A post repeating a transaction id of the same
    group answers the group's payment, as it would a moment later. Raises the channel's or the day's refusal for
    all, and :class:`NothingTaken` when every post is refused."""
    from gridcare.ledger import bulk
    from gridcare.ledger.selectors import forget_channel_of

    now = timezone.now()
    day = timezone.localdate(now)
    numbers = {p.account for p in posts}
    accounts = {  # in scope, locked in id order (then a transaction posted meanwhile is seen)
        a.number: a
        for a in restrict(Account.objects.filter(number__in=numbers), actor, write=True)
        .only("id", "number")
        .order_by("pk")
        .select_for_update(of=("self",))
    }
    channel_ok, closed, firsts = _group_checks(actor, channel, day, [p.transaction_id for p in posts])
    if not channel_ok:
        forget_channel_of(actor.pk)
        raise PermissionRefused("您的账号不是代收渠道。 (Your account is not a payment channel.)")
    if closed:
        raise Conflict(f"{day} 已日结，不能再收费。 (The day {day} is closed: no more payments.)")
    outcomes: list[Payment | Exception | None] = [None] * len(posts)
    for i, post in enumerate(posts):
        if not post.account:
            outcomes[i] = InvalidInput({"account": "请填写户号。 (The account number is required.)"})
        elif post.account not in accounts:
            outcomes[i] = NotFound(f"户号「{post.account}」不存在。 (Unknown account {post.account}.)")
    taking: dict[str, int] = {}  # transaction id → the post of this group that takes it
    repeated: list[tuple[int, Payment | int]] = []
    for i, post in enumerate(posts):
        if outcomes[i] is not None:
            continue
        target = accounts[post.account]
        first: Payment | ChannelPost | None = firsts.get(post.transaction_id)
        if first is None and post.transaction_id in taking:
            first = posts[taking[post.transaction_id]]
        if first is None:
            taking[post.transaction_id] = i
            continue
        first_account = first.account.number if isinstance(first, Payment) else first.account
        if first_account != target.number or first.amount != post.amount:
            outcomes[i] = Conflict(
                f"渠道流水号「{post.transaction_id}」已入账（户号 {first_account}，{first.amount} 元），与本次不符。"
                " (This transaction id was posted already with another account or amount.)"
            )
        else:
            repeated.append((i, first if isinstance(first, Payment) else taking[post.transaction_id]))
    if not taking and not repeated:
        raise NothingTaken([o for o in outcomes if isinstance(o, Exception)])
    new = [(i, posts[i]) for i in taking.values()]
    posted = bulk.post_batch(
        actor,
        channel=channel,
        cashier=actor,
        day=day,
        batch=pl.DataFrame(
            {
                "transaction": [p.transaction_id for _, p in new],
                "account": [accounts[p.account].pk for _, p in new],
                "fen": [int(p.amount * 100) for _, p in new],
            },
            schema={"transaction": pl.String, "account": pl.Int64, "fen": pl.Int64},
        ),
        audit_batch=False,
        accounts_locked=True,
    )
    taken: list[tuple[Payment, Decimal, str]] = []  # (payment, the part settling debts, its request)
    for (i, post), row in zip(new, posted.payments.iter_rows(named=True), strict=True):
        outcomes[i] = made = _taken(channel, actor, accounts[post.account], post, row, posted.at or now, day)
        taken.append((made, Decimal(row["applied"]).scaleb(-2), post.request_id))
    audit.bulk_record(  # each payment audited as a single post audits it
        actor,
        "ledger.take_payment",
        (
            {
                "object_type": Payment._meta.label_lower,
                "object_id": p.pk,
                "object_repr": str(p),
                "after": {
                    "account": p.account.number,
                    "amount": p.amount,
                    "method": Method.CHANNEL.value,
                    "transaction_id": p.transaction_id,
                    "applied": applied,
                },
                "request_id": request_id,
            }
            for p, applied, request_id in taken
        ),
    )
    for i, earlier in repeated:
        again = earlier if isinstance(earlier, Payment) else outcomes[earlier]
        assert isinstance(again, Payment)
        with origin(request_id=posts[i].request_id):
            audit.record(
                actor,
                "ledger.payment_repeated",
                again,
                note=f"channel transaction {again.transaction_id} again",
            )
        outcomes[i] = again
    return [o if o is not None else RuntimeError("unanswered") for o in outcomes]


def _group_checks(
    actor: User, channel: Channel, day: dt.date, transactions: list[str]
) -> tuple[bool, bool, dict[str, Payment]]:
    """A group's checks: the channel still the caller's and active, the caller's day closed, and the payments
    already posted under the group's transaction ids (with their accounts' numbers) — on PostgreSQL one prepared
    statement, each transaction id looked up by the channel's unique index (whatever the statistics say)."""
    db = database()
    if db.vendor != "postgresql":
        firsts = Payment.objects.filter(channel=channel, transaction_id__in=transactions).select_related(
            "account"
        )
        return (
            Channel.objects.filter(pk=channel.pk, active=True, user_id=actor.pk).exists(),
            _closed(actor.pk, day),
            {p.transaction_id: p for p in firsts if p.transaction_id},
        )
    params = [channel.pk, actor.pk, True, actor.pk, _DAY.get_db_prep_value(day, db), transactions, channel.pk]
    rows = fetch_all(_group_checks_sql(), params)
    width = len(Payment._meta.concrete_fields)
    found: dict[str, Payment] = {}
    for row in rows:
        if row[3] is not None:
            payment = from_row(Payment, row[3 : 3 + width])
            Payment.account.field.set_cached_value(
                payment, Account(id=payment.account_id, number=row[3 + width])
            )
            found[row[2]] = payment
    return bool(rows[0][0]), bool(rows[0][1]), found


@functools.cache
def _group_checks_sql() -> str:
    p, a, d, ch = (
        TableRef(Payment, "p"),
        TableRef(Account, "a"),
        TableRef(DailyClose, "d"),
        TableRef(Channel, "ch"),
    )
    channel_ok = f"EXISTS (SELECT 1 FROM {ch} WHERE {ch.id} = %s AND {ch.user_id} = %s AND {ch.active} = %s)"
    closed = f"EXISTS (SELECT 1 FROM {d} WHERE {d.cashier_id} = %s AND {d.day} = %s)"
    return (
        f"SELECT {channel_ok}, {closed}, t.txn, f.* FROM unnest(%s::text[]) AS t(txn) LEFT JOIN LATERAL "
        f"(SELECT {select_columns(Payment, 'p')}, {a.number} AS account_number FROM {p} "
        f"JOIN {a} ON {a.id} = {p.account_id} WHERE {p.channel_id} = %s AND {p.transaction_id} = t.txn LIMIT 1) f "
        "ON true"
    )


def _taken(
    channel: Channel,
    actor: User,
    account: Account,
    post: ChannelPost,
    row: dict[str, Any],
    at: dt.datetime,
    day: dt.date,
) -> Payment:
    """A payment of :func:`bulk.post_batch` as the single post returns it, with its entries for the answer."""
    payment = Payment(
        id=row["payment"],
        number=row["number"],
        account=account,
        amount=post.amount,
        method=Method.CHANNEL,
        channel=channel,
        transaction_id=post.transaction_id,
        cashier=actor,
        day=day,
        received_at=at,
    )
    payment.posted_entries = [  # type: ignore[attr-defined]  # the answer is built from them
        Entry(kind=kind, amount=-Decimal(row[column]).scaleb(-2))
        for kind, column in ((Entry.Kind.PAYMENT, "applied"), (Entry.Kind.PREPAYMENT, "prepaid"))
        if row[column]
    ]
    return payment


def _is_reversed(payment: Payment) -> bool:
    return Entry.objects.filter(payment=payment, kind=Entry.Kind.REVERSAL).exists()


def _reverse(actor: User, payment: Payment, reason: str) -> Entry:
    """Undo the payment's allocations, post the reversal and settle the account again from what is left."""
    posting.lock_accounts([payment.account_id])
    if _is_reversed(payment):
        raise Conflict(f"收费 {payment.number} 已冲正。 (The payment is reversed already.)")
    now = timezone.now()
    reversal = Entry(
        account_id=payment.account_id,
        kind=Entry.Kind.REVERSAL,
        amount=payment.amount,
        payment=payment,
        day=timezone.localdate(now),
        due_date=timezone.localdate(now),
        posted_at=now,
        posted_by=actor,
        note=reason[:200],
    )
    reversal.save()
    given = (
        Allocation.objects.filter(credit__payment=payment)
        .values("credit_id", "debit_id", "credit_day")
        .annotate(total=MoneySum("amount"))
        .filter(total__gt=0)
    )
    undo = [
        Allocation(
            credit_id=row["credit_id"],
            debit_id=row["debit_id"],
            credit_day=row["credit_day"],
            amount=-row["total"],
            cause=reversal,
            account_id=payment.account_id,
        )
        for row in given
    ]
    Allocation.objects.bulk_create(undo)
    credits = posting.open_credits(payment.account_id, payment_id=payment.pk)
    mine = posting.Open(reversal.pk, reversal.kind, reversal.due_date, reversal.amount)
    Allocation.objects.bulk_create(posting.match(payment.account_id, credits, [mine], reversal.pk))
    posting.settle(payment.account_id, reversal.pk)
    audit.record(
        actor,
        "ledger.reverse_payment",
        payment,
        after={"reversal": reversal.pk, "amount": payment.amount},
        note=reason,
    )
    return reversal


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput({"reason": "请填写原因。 (A reason is required.)"})
    return text


@action("ledger.reverse_payment", permission="payment.reverse")
def do_reverse_payment(actor: User, payment_id: int, reason: str) -> Entry:
    """冲正 — the cashier's own payment of today, before the day is closed. Any other reversal is asked for
    (:func:`do_request_approval`) and carried out by an approver."""
    text = _reason(reason)
    payment = get_in_scope(Payment.objects.select_related("account"), actor, write=True, pk=payment_id)
    today = timezone.localdate()
    if payment.cashier_id != actor.pk:
        raise PermissionRefused(
            f"收费 {payment.number} 不是您收的，不能冲正；请提交审批。"
            " (Only your own payments can be reversed; ask for an approval.)"
        )
    if payment.day != today:
        raise PermissionRefused(
            f"收费 {payment.number} 不是今天的（{payment.day}），冲正需审批。"
            " (Only today's payments are reversed directly; ask for an approval.)"
        )
    if _closed(actor.pk, payment.day):
        raise PermissionRefused(
            f"{payment.day} 已日结，冲正需审批。 (The day is closed; the reversal needs an approval.)"
        )
    return _reverse(actor, payment, text)


@action("ledger.request_approval", permission=None)  # a cashier (payment.post) or a reconciler: checked below
def do_request_approval(
    actor: User,
    *,
    kind: str,
    reason: str,
    payment_id: int | None = None,
    account: Account | int | str | None = None,
    amount: Any = None,
    entry_id: int | None = None,
) -> ApprovalRequest:
    """提交审批 — a reversal of a payment (not the cashier's own of today), a refund (退费) of an account's credit,
    a waiver (减免) of all or part of a late fee, or a write-off (坏账核销) of an open bill charge or late fee;
    carried out when approved (:func:`do_decide_approval`)."""
    allowed = ("payment.post", "payment.reconcile", "arrears.dun")
    if not any(has_perm(actor, code) for code in allowed):
        raise PermissionRefused(
            "提交审批需要「收费销账」「代收对账」或「发催费通知」权限。"
            " (Needs payment.post, payment.reconcile or arrears.dun.)"
        )
    text = _reason(reason)
    concerns: Entry | None = None
    payment: Payment | None = None
    if kind == ApprovalRequest.Kind.REVERSAL:
        if payment_id is None:
            raise InvalidInput({"payment": "请选择要冲正的收费。 (Choose the payment to reverse.)"})
        payment = get_in_scope(Payment.objects.all(), actor, write=True, pk=payment_id)
        if _is_reversed(payment):
            raise Conflict(f"收费 {payment.number} 已冲正。 (The payment is reversed already.)")
        target_id, value = payment.account_id, payment.amount
    elif kind == ApprovalRequest.Kind.REFUND:
        target = _account(actor, account if account is not None else "")
        value = parse_amount(amount)
        credit = sum((c.left for c in posting.open_credits(target.pk)), posting.ZERO)
        if value > credit:
            raise InvalidInput(
                {
                    "amount": f"可退金额为 {credit} 元，申请 {value} 元。 (Above the account's credit of {credit}.)"
                }
            )
        target_id = target.pk
    elif kind in (ApprovalRequest.Kind.WAIVER, ApprovalRequest.Kind.WRITE_OFF):
        concerns, value = _waivable(actor, kind, entry_id, amount)
        target_id = concerns.account_id
    else:
        raise InvalidInput(
            {
                "kind": "申请类型须为冲正、退费、违约金减免或坏账核销。"
                " (The request must be a reversal, refund, waiver or write-off.)"
            }
        )
    if ApprovalRequest.objects.filter(
        status=ApprovalRequest.Status.PENDING,
        kind=kind,
        payment=payment,
        account_id=target_id,
        concerns=concerns,
    ).exists():
        raise Conflict("已有同样的待审批申请。 (The same request is already pending.)")
    request = ApprovalRequest.objects.create(
        kind=kind,
        account_id=target_id,
        payment=payment,
        concerns=concerns,
        amount=value,
        reason=text,
        requested_by=actor,
    )
    audit.record(
        actor,
        "ledger.request_approval",
        request,
        after={"kind": kind, "amount": value, "entry": concerns.pk if concerns else None},
        note=text,
    )
    return request


def _open_left(entry: Entry) -> Decimal:
    done = Allocation.objects.filter(debit=entry).aggregate(total=MoneySum("amount"))["total"]
    return entry.amount - Decimal(str(done or 0)).quantize(posting.CENT)


def _waivable(actor: User, kind: str, entry_id: int | None, amount: Any) -> tuple[Entry, Decimal]:
    """The late fee a waiver concerns (or the bill charge / late fee a write-off concerns), in the actor's scope, and
    the amount asked for: at most what is still open of it (all of it when no amount is given)."""
    if entry_id is None:
        raise InvalidInput({"entry": "请选择要减免或核销的账务明细。 (Choose the ledger entry.)"})
    entry = get_in_scope(Entry.objects.select_related("bill"), actor, write=True, pk=entry_id)
    kinds = (
        (Entry.Kind.LATE_FEE,)
        if kind == ApprovalRequest.Kind.WAIVER
        else (Entry.Kind.CHARGE, Entry.Kind.CORRECTION, Entry.Kind.LATE_FEE)
    )
    if entry.kind not in kinds or entry.amount <= 0:
        what = "违约金" if kind == ApprovalRequest.Kind.WAIVER else "电费或违约金"
        raise InvalidInput(
            {
                "entry": f"明细 {entry.pk}（{entry.get_kind_display()}）不是{what}，不能{'减免' if kind == 'waiver' else '核销'}。"
                " (A waiver concerns a late fee; a write-off a bill charge or a late fee.)"
            }
        )
    left = _open_left(entry)
    if left <= 0:
        raise Conflict(f"明细 {entry.pk} 已结清，无可减免或核销金额。 (The entry is settled already.)")
    value = left if amount in (None, "") else parse_amount(amount)
    if value > left:
        raise InvalidInput(
            {"amount": f"未结清金额为 {left} 元，申请 {value} 元。 (Above the open amount of {left} 元.)"}
        )
    return entry, value


def _refund(actor: User, account_id: int, amount: Decimal, reason: str) -> Entry:
    posting.lock_accounts([account_id])
    credits = posting.open_credits(account_id)
    available = sum((c.left for c in credits), posting.ZERO)
    if amount > available:
        raise Conflict(f"可退金额为 {available} 元。 (Only {available} 元 of credit is left to refund.)")
    now = timezone.now()
    refund = Entry(
        account_id=account_id,
        kind=Entry.Kind.REFUND,
        amount=amount,
        day=timezone.localdate(now),
        due_date=timezone.localdate(now),
        posted_at=now,
        posted_by=actor,
        note=reason[:200],
    )
    refund.save()
    mine = posting.Open(refund.pk, refund.kind, refund.due_date, amount)
    Allocation.objects.bulk_create(posting.match(account_id, credits, [mine], refund.pk))
    audit.record(actor, "ledger.refund", refund, after={"account": account_id, "amount": amount}, note=reason)
    return refund


#: per request kind: the permission that decides it and the authority limit its amount must be within
DECISION = {
    ApprovalRequest.Kind.REVERSAL: ("payment.approve", "reversal_amount"),
    ApprovalRequest.Kind.REFUND: ("payment.approve", "refund_amount"),
    ApprovalRequest.Kind.WAIVER: ("payment.approve", "late_fee_waiver"),
    ApprovalRequest.Kind.WRITE_OFF: ("writeoff.approve", "writeoff_amount"),
}


def _credit_against(actor: User, kind: str, request: ApprovalRequest) -> Entry:
    """A waiver (减免) or write-off (核销): a negative entry concerning the entry, allocated to what is left of it
    (the rest, if it was paid meanwhile, stays a credit the account's next debts consume)."""
    assert request.concerns_id is not None
    posting.lock_accounts([request.account_id])
    target = Entry.objects.get(pk=request.concerns_id)
    now = timezone.now()
    credit = Entry(
        account_id=request.account_id,
        kind=kind,
        amount=-request.amount,
        bill_id=target.bill_id,
        concerns=target,
        day=timezone.localdate(now),
        due_date=timezone.localdate(now),
        posted_at=now,
        posted_by=actor,
        note=request.reason[:200],
    )
    credit.save()
    left = _open_left(target)
    mine = [posting.Open(credit.pk, credit.kind, credit.due_date, request.amount, credit.day)]
    debit = [posting.Open(target.pk, target.kind, target.due_date, left)] if left > 0 else []
    Allocation.objects.bulk_create(posting.match(request.account_id, mine, debit, credit.pk))
    posting.settle(request.account_id, credit.pk)
    audit.record(
        actor,
        "ledger.waiver" if kind == ApprovalRequest.Kind.WAIVER else "ledger.write_off",
        credit,
        after={"account": request.account_id, "amount": credit.amount, "concerns": target.pk},
        note=request.reason,
    )
    return credit


@action("ledger.decide_approval", permission=None)  # the permission of the request's kind: checked below
def do_decide_approval(actor: User, request_id: int, *, approve: bool, note: str = "") -> ApprovalRequest:
    """审批 — by someone else than the requester, with the permission of the kind and within its authority limit
    (冲正/退费/违约金减免/坏账核销金额上限); an approved request is carried out at once."""
    request = get_in_scope(
        ApprovalRequest.objects.select_for_update(of=("self",)).select_related("payment"),
        actor,
        write=True,
        pk=request_id,
    )
    if request.status != ApprovalRequest.Status.PENDING:
        raise Conflict(f"该申请已{request.get_status_display()}。 (The request is decided already.)")
    permission, limit = DECISION[ApprovalRequest.Kind(request.kind)]
    if not has_perm(actor, permission):
        raise PermissionRefused(
            f"审批「{request.get_kind_display()}」需要「{permission}」权限。 (Needs the permission {permission}.)"
        )
    if request.requested_by_id == actor.pk:
        raise PermissionRefused("不能审批自己的申请。 (You cannot approve your own request.)")
    before = audit.snapshot(request, ["status"])
    if approve:
        check_limit(actor, limit, request.amount)
        if request.kind == ApprovalRequest.Kind.REVERSAL:
            assert request.payment is not None
            request.entry = _reverse(actor, request.payment, request.reason)
        elif request.kind == ApprovalRequest.Kind.REFUND:
            request.entry = _refund(actor, request.account_id, request.amount, request.reason)
        else:
            request.entry = _credit_against(actor, request.kind, request)
    request.status = ApprovalRequest.Status.APPROVED if approve else ApprovalRequest.Status.REJECTED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_by", "decided_at", "entry"])
    audit.record(
        actor, "ledger.decide_approval", request, before=before, after={"status": request.status}, note=note
    )
    return request


# --- channels -----------------------------------------------------------------------------------------------


@action("ledger.register_channel", permission="payment.reconcile")
def do_register_channel(
    actor: User, *, code: str, name: str, user: User, layout: dict[str, Any], active: bool = True
) -> Channel:
    """登记代收渠道 — a bank or aggregator, its integration account and its file layout (or change them)."""
    code = (code or "").strip().upper()
    if not code or not (name or "").strip():
        raise InvalidInput({"code": "请填写渠道代码与名称。 (Code and name are required.)"})
    missing = [c for c in ("transaction", "account", "amount") if not layout.get(c)]
    if missing:
        raise InvalidInput({"layout": f"文件格式缺少列：{', '.join(missing)}。 (Layout lacks columns.)"})
    existing = Channel.objects.select_for_update().filter(code=code).first()
    before = audit.snapshot(existing, ["name", "user", "layout", "active"]) if existing else None
    channel, _ = Channel.objects.update_or_create(
        code=code, defaults={"name": name.strip(), "user": user, "layout": layout, "active": active}
    )
    audit.record(
        actor,
        "ledger.register_channel",
        channel,
        before=before,
        after=audit.snapshot(channel, ["name", "user", "layout", "active"]),
    )
    return channel


# --- daily close --------------------------------------------------------------------------------------------


def day_figures(cashier_id: int, day: dt.date) -> dict[str, Any]:
    """The cashier's day: payments taken, reversals of them, totals by method net of reversals, cash expected."""
    payments = Payment.objects.filter(cashier_id=cashier_id, day=day)
    reversed_ids = Entry.objects.filter(kind=Entry.Kind.REVERSAL, payment__in=payments).values("payment_id")
    live = payments.exclude(pk__in=reversed_ids)
    by_method = {
        row["method"]: Decimal(row["total"]).quantize(posting.CENT)
        for row in live.order_by().values("method").annotate(total=MoneySum("amount"))
    }
    counts = payments.aggregate(n=Count("pk"), reversed=Count("pk", filter=Q(pk__in=reversed_ids)))
    return {
        "payments": counts["n"],
        "reversals": counts["reversed"],
        "by_method": by_method,
        "total": sum(by_method.values(), posting.ZERO),
        "cash_expected": by_method.get(Method.CASH, posting.ZERO),
    }


@action("ledger.close_day", permission="payment.post")
def do_close_day(
    actor: User, *, cash_handed_over: Any, note: str = "", day: dt.date | None = None
) -> DailyClose:
    """日结 — the cashier's totals of the day by method, the cash handed over and the difference (a difference
    needs a note); from then on the day's payments are final."""
    day = day or timezone.localdate()
    if day > timezone.localdate():
        raise InvalidInput({"day": "不能日结未来的日期。 (A day in the future cannot be closed.)"})
    try:
        handed = Decimal(str(cash_handed_over).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput({"cash_handed_over": "上缴现金须为数字。 (Must be a number.)"}) from None
    if (
        not handed.is_finite()
        or handed < 0
        or handed > max_payment() * 1000
        or handed != handed.quantize(posting.CENT)
    ):
        raise InvalidInput(
            {
                "cash_handed_over": "上缴现金须为不小于零、最多两位小数的金额。 (Zero or more, at most 2 decimals.)"
            }
        )
    if _closed(actor.pk, day):
        raise Conflict(f"{day} 已日结。 (The day is closed already.)")
    figures = day_figures(actor.pk, day)
    difference = handed - figures["cash_expected"]
    if difference != 0 and not (note or "").strip():
        raise InvalidInput(
            {
                "note": f"现金差额 {difference} 元，请说明原因。 (Explain the cash difference of {difference} 元.)"
            }
        )
    close = DailyClose(
        cashier=actor,
        day=day,
        payments=figures["payments"],
        reversals=figures["reversals"],
        total=figures["total"],
        by_method={k: str(v) for k, v in figures["by_method"].items()},
        cash_expected=figures["cash_expected"],
        cash_handed_over=handed,
        difference=difference,
        note=(note or "").strip()[:200],
    )
    try:
        with transaction.atomic():
            close.save()
    except IntegrityError:
        raise Conflict(f"{day} 已日结。 (The day is closed already.)") from None
    audit.record(
        actor,
        "ledger.close_day",
        close,
        after={"day": day, "total": close.total, "cash_handed_over": handed, "difference": difference},
    )
    return close


def can_approve(user: Any) -> bool:
    return has_perm(user, "payment.approve")


def payment_or_404(actor: User, pk: int) -> Payment:
    found = restrict(Payment.objects.select_related("account", "cashier"), actor).filter(pk=pk).first()
    if found is None:
        raise NotFound(not_found_message(Payment))
    return found
