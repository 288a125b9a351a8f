"""Reads of the ledger: an account's balance and open items, the company's receivable, and the consistency check
behind ``gridcare ledger check`` (every figure recomputed from the entries and allocations)."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.utils import timezone

from gridcare.core.access import restrict
from gridcare.core.rows import TableRef, fetch_one, from_row, select_columns
from gridcare.customers.models import Account
from gridcare.ledger import posting
from gridcare.ledger.models import UNCHECKED_REFERENCES, Allocation, Channel, DailyClose, Entry, Payment
from gridcare.ledger.posting import MoneySum


def _money(value: Any) -> Decimal:
    """A sum read by raw SQL as exact 元 (SQLite sums decimals as floats: round to the cent)."""
    return Decimal(str(value if value is not None else 0)).quantize(posting.CENT)


@dataclass
class OpenItem:
    entry: Entry
    left: Decimal

    @property
    def overdue(self) -> bool:
        return self.entry.due_date < timezone.localdate()


@dataclass
class AccountPosition:
    """What the counter shows for an account: balance, arrears (overdue), bills due, late fees, credit."""

    account: Account
    balance: Decimal
    items: list[OpenItem] = field(default_factory=list)
    credit: Decimal = posting.ZERO

    @property
    def owed(self) -> Decimal:
        return sum((i.left for i in self.items), posting.ZERO)

    @property
    def arrears(self) -> Decimal:
        return sum((i.left for i in self.items if i.overdue), posting.ZERO)

    @property
    def late_fees(self) -> Decimal:
        return sum((i.left for i in self.items if i.entry.kind == Entry.Kind.LATE_FEE), posting.ZERO)


def account_position(account: Account) -> AccountPosition:
    debits = posting.open_debits(account.pk)
    entries = Entry.objects.select_related("bill").in_bulk([d.entry_id for d in debits])
    return AccountPosition(
        account=account,
        balance=posting.balance(account.pk),
        items=[OpenItem(entries[d.entry_id], d.left) for d in debits],
        credit=sum((c.left for c in posting.open_credits(account.pk)), posting.ZERO),
    )


def balance_besides(bill: Any) -> Decimal:
    """What the account owes (or has in credit, < 0) besides ``bill``: the notice's 应缴金额 is the bill's total plus
    this (billing's ``BALANCE_PARTS``) — the account's balance now, the bill included once whether posted or not."""
    posted = Entry.objects.filter(
        bill_id=bill.pk, kind__in=[Entry.Kind.CHARGE, Entry.Kind.CORRECTION]
    ).aggregate(total=MoneySum("amount"))["total"]
    return posting.balance(bill.account_id) - _money(posted)


def receivable() -> Decimal:
    """应收电费余额 — the sum of all entries."""
    return _money(Entry.objects.aggregate(total=MoneySum("amount"))["total"])


def recent_payments(user: Any, account: Account | None = None, limit: int = 20) -> list[Payment]:
    rows = restrict(Payment.objects.select_related("account", "cashier", "channel"), user)
    if account is not None:
        rows = rows.filter(account=account)
    reversed_ids = set(
        Entry.objects.filter(kind=Entry.Kind.REVERSAL, payment__in=rows).values_list("payment_id", flat=True)
    )
    found = list(rows.order_by("-received_at", "-id")[:limit])
    for payment in found:
        payment.is_reversed = payment.pk in reversed_ids  # type: ignore[attr-defined]
    return found


def todays_close(user: Any, day: dt.date | None = None) -> DailyClose | None:
    return DailyClose.objects.filter(cashier=user, day=day or timezone.localdate()).first()


def check() -> list[str]:
    """Every invariant of the ledger recomputed set-based; the problems found, in words (none = consistent).

    - the receivable (sum of all entries) equals the sum of the account balances, and of open debits minus
      unapplied credits;
    - no allocation takes more from a credit or gives more to a debit than its amount, nor goes below zero;
    - an allocation joins entries of its own account, a credit (amount < 0) to a debit (amount > 0), and keeps
      its credit's day;
    - each payment's payment and prepayment entries add up to the payment, and a reversal to the payment;
    - each released bill is charged once, with its total;
    - every reference kept without a per-row database check (``models.UNCHECKED_REFERENCES``) resolves.
    """
    problems: list[str] = []
    e, a = TableRef(Entry), TableRef(Allocation)
    p = TableRef(Payment)

    def rows(sql: str) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())

    total = _money(receivable())
    by_account = rows(f"SELECT {e.account}, SUM({e.amount}) FROM {e} GROUP BY {e.account}")
    summed = sum((_money(v) for _, v in by_account), posting.ZERO)
    if summed != total:
        problems.append(f"应收余额 {total} ≠ 各户余额之和 {summed} (receivable ≠ Σ balances)")
    used = rows(
        f"SELECT x.{e.id}, x.{e.amount}, COALESCE(SUM(y.{a.amount}), 0), MIN(y.{a.amount}) FROM {e} x "
        f"LEFT JOIN {a} y ON y.{a.credit} = x.{e.id} OR y.{a.debit} = x.{e.id} "
        f"GROUP BY x.{e.id}, x.{e.amount}"
    )
    open_total = posting.ZERO
    for entry_id, amount, allocated, _least in used:
        amount, allocated = _money(amount), _money(allocated)
        if allocated < 0 or allocated > abs(amount):
            problems.append(f"分录 {entry_id}：已分配 {allocated}，金额 {amount} (over- or under-allocated)")
        open_total += amount - allocated if amount > 0 else amount + allocated
    if open_total != total:
        problems.append(f"未销账借方减未用贷方 {open_total} ≠ 应收余额 {total} (open items ≠ receivable)")
    wrong = rows(
        f"SELECT y.{a.id} FROM {a} y JOIN {e} c ON c.{e.id} = y.{a.credit} JOIN {e} d ON d.{e.id} = y.{a.debit} "
        f"WHERE c.{e.account} <> y.{a.account} OR d.{e.account} <> y.{a.account} "
        f"OR c.{e.amount} >= 0 OR d.{e.amount} <= 0"
    )
    for (alloc_id,) in wrong:
        problems.append(f"分配 {alloc_id} 连接了错误的分录 (allocation joins the wrong entries)")
    misdated = rows(
        f"SELECT y.{a.id} FROM {a} y JOIN {e} c ON c.{e.id} = y.{a.credit} WHERE c.{e.day} <> y.{a.credit_day}"
    )
    for (alloc_id,) in misdated:
        problems.append(
            f"分配 {alloc_id} 的贷方日期与贷方分录不符 (allocation's credit day ≠ its credit's day)"
        )
    payments = rows(
        f"SELECT q.{p.id}, q.{p.number}, q.{p.amount}, "
        f"COALESCE(SUM(CASE WHEN x.{e.kind} IN ('payment', 'prepayment') THEN x.{e.amount} END), 0), "
        f"COALESCE(SUM(CASE WHEN x.{e.kind} = 'reversal' THEN x.{e.amount} END), 0) "
        f"FROM {p} q LEFT JOIN {e} x ON x.{e.payment} = q.{p.id} GROUP BY q.{p.id}, q.{p.number}, q.{p.amount}"
    )
    for _pk, number, amount, paid, reversed_ in payments:
        amount, paid, reversed_ = _money(amount), _money(paid), _money(reversed_)
        if -paid != amount:
            problems.append(f"收费 {number}：入账 {-paid} ≠ 金额 {amount} (payment entries ≠ payment)")
        if reversed_ not in (posting.ZERO, amount):
            problems.append(f"收费 {number}：冲正 {reversed_} ≠ 金额 {amount} (reversal ≠ payment)")
    b, x = TableRef(Entry._meta.apps.get_model("billing", "Bill"), "b"), TableRef(Entry, "x")
    charged = rows(
        f"SELECT {b.id}, {b.number}, {b.total}, COUNT({x.id}), COALESCE(SUM({x.amount}), 0) FROM {b} "
        f"LEFT JOIN {x} ON {x.bill_id} = {b.id} AND {x.kind} IN ('charge', 'correction') "
        f"WHERE {b.status} IN ('released', 'cancelled') AND {b.released_at} IS NOT NULL "
        f"GROUP BY {b.id}, {b.number}, {b.total}"
    )
    for _pk, number, bill_total, count, amount in charged:
        if count > 1 or (count == 1 and _money(amount) != _money(bill_total)):
            problems.append(f"账单 {number}：记账 {count} 笔 {amount} 元 (bill charged wrongly)")
    problems += dangling_references()
    return problems


def dangling_references() -> list[str]:
    """The references of ``UNCHECKED_REFERENCES`` that name no row: one anti-join each, the first ids named."""
    found: list[str] = []
    for model, name in UNCHECKED_REFERENCES:
        reference = model._meta.get_field(name)
        assert isinstance(reference, models.ForeignKey)
        r, t = TableRef(model, "r"), TableRef(reference.related_model, "t")
        column = f'r."{reference.column}"'
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {r.id} FROM {r} WHERE {column} IS NOT NULL "
                f"AND NOT EXISTS (SELECT 1 FROM {t} WHERE {t.id} = {column}) ORDER BY {r.id} LIMIT 5"
            )
            ids = [row[0] for row in cursor.fetchall()]
        if ids:
            found.append(
                f"{model._meta.db_table}.{reference.column} 引用了不存在的记录：{', '.join(map(str, ids))} "
                f"(dangling reference)"
            )
    return found


def uncharged_bills() -> int:
    return (
        Entry._meta.apps.get_model("billing", "Bill")
        .objects.filter(status="released")
        .exclude(total=0)
        .exclude(ledger_entries__kind__in=(Entry.Kind.CHARGE, Entry.Kind.CORRECTION))
        .count()
    )


@functools.cache
def _channel_of_user_sql() -> str:
    c = TableRef(Channel, "c")
    return f"SELECT {select_columns(Channel, 'c')} FROM {c} WHERE {c.user_id} = %s"


def channel_of(user: Any) -> Channel | None:
    """The payment channel whose integration account ``user`` is (``user.payment_channel``), in one prepared
    statement — asked by every payment a channel posts."""
    if user is None or user.pk is None:
        return None
    row = fetch_one(_channel_of_user_sql(), [user.pk])
    return from_row(Channel, row) if row is not None else None


#: the active channel of each integration account seen by this process (user id → channel): a channel post
#: takes its channel from here and :func:`gridcare.ledger.actions.do_take_payment` confirms it in the statement
#: it runs anyway (the channel still that account's and active), dropping the entry and refusing the post if not —
#: so a channel deactivated or given to another account is refused at once, with no statement of its own per post
_CALLER_CHANNELS: dict[int, Channel] = {}


def channel_of_caller(user: Any) -> Channel | None:
    """:func:`channel_of` for a channel's own post, remembered per process while active (see above)."""
    if user is None or user.pk is None:
        return None
    found = _CALLER_CHANNELS.get(user.pk)
    if found is None:
        found = channel_of(user)
        if found is not None and found.active:
            _CALLER_CHANNELS[user.pk] = found
    return found


def forget_channel_of(user_pk: int) -> None:
    """Drop the remembered channel of an integration account (it was found changed)."""
    _CALLER_CHANNELS.pop(user_pk, None)
