"""The mechanics of the ledger under the actions: open debits and credits of an account and settling them
(销账) into allocation rows in the configured order. Callers hold the account's row lock
(:func:`lock_accounts`), so two postings for one account never allocate the same open amount twice."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from gridcare.core.rows import TableRef, database, fetch_all
from gridcare.customers.models import Account
from gridcare.ledger.conf import conf
from gridcare.ledger.models import Allocation, Entry, Payment

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
#: debits a payment settles (a reversal or refund is settled when it is posted)
SETTLED_DEBITS = (Entry.Kind.CHARGE, Entry.Kind.CORRECTION, Entry.Kind.LATE_FEE)
_SETTLED_KINDS = tuple(kind.value for kind in SETTLED_DEBITS)
_MONEY = DecimalField(max_digits=16, decimal_places=2)


class MoneySum(Sum):
    """``SUM`` of a money column, exact to the cent on every database: SQLite sums decimals as floats (a balance
    of nothing can come out as 2.8e-14), so there the sum is rounded to the cent in SQL — before it is compared
    there or read."""

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, Any]:
        sql, params = self.as_sql(compiler, connection, **extra_context)
        return f"CAST(ROUND({sql}, 2) AS NUMERIC)", params  # (numeric: compared with a decimal as a number)


@dataclass
class Open:
    """An entry with the part of it not yet allocated (``left`` > 0)."""

    entry_id: int
    kind: str
    due_date: object
    left: Decimal
    #: a credit's own day (what its allocations keep as ``credit_day``); None for a debit
    day: Any = None


def lock_accounts(account_ids: Iterable[int]) -> None:
    """Row locks on the accounts, in id order (no deadlock between two postings of several accounts)."""
    ids = sorted(set(account_ids))
    if ids:
        list(
            Account.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True)
        )


def _allocated(direction: str) -> Subquery:
    side = "debit" if direction == "in" else "credit"
    return Subquery(
        Allocation.objects.filter(**{side: OuterRef("pk")})
        .order_by()
        .values(side)
        .annotate(total=MoneySum("amount"))
        .values("total"),
        output_field=_MONEY,
    )


def open_debits(account_id: int) -> list[Open]:
    """The account's unsettled charges and late fees in allocation order (``ALLOCATION_ORDER``).

    On PostgreSQL one prepared statement (every payment of the counter and of the channels asks this: the ORM
    would compile the correlated subquery each time); the rows are the same as :func:`open_debits_of`'s."""
    if database().vendor != "postgresql":
        return open_debits_of([account_id]).get(account_id, [])
    return ranked(fetch_all(open_debits_sql(), [account_id]))


def ranked(rows: Iterable[tuple[int, str, Any, Decimal, Decimal]]) -> list[Open]:
    """Open debits from rows ``(id, kind, due date, amount, allocated)`` of :func:`open_debits_sql`, in allocation
    order (the rows fully allocated left out)."""
    items = [Open(pk, kind, due, amount - done) for pk, kind, due, amount, done in rows if amount > done]
    return sorted(items, key=_rank(list(conf("ALLOCATION_ORDER"))))


@functools.cache
def open_debits_sql(many: bool = False) -> str:
    """:func:`open_debits`'s statement (one parameter: the account; the kinds settled are written in) — also a
    subquery of the payment's checks (``ledger.actions._payment_checks``); ``many``: :func:`open_debits_of`'s
    (the parameter an array of accounts, each row led by its account)."""
    e, a = TableRef(Entry, "e"), TableRef(Allocation, "x")
    kinds = ", ".join(f"'{kind}'" for kind in _SETTLED_KINDS)
    return (
        f"SELECT {f'{e.account_id}, ' if many else ''}{e.id}, {e.kind}, {e.due_date}, {e.amount}, "
        f"COALESCE((SELECT SUM({a.amount}) FROM {a} WHERE {a.debit_id} = {e.id}), 0) "
        f"FROM {e} WHERE {e.account_id} {'= ANY(%s)' if many else '= %s'} AND {e.kind} IN ({kinds}) "
        f"AND {e.amount} > 0"
    )


def _rank(order: list[str]) -> Callable[[Open], tuple[int, object, int]]:
    """The allocation order: the groups of ``ALLOCATION_ORDER`` (late fees, oldest bill), then due date, id."""

    def rank(item: Open) -> tuple[int, object, int]:
        group = "late_fee" if item.kind == Entry.Kind.LATE_FEE else "oldest_bill"
        return (order.index(group) if group in order else len(order), item.due_date, item.entry_id)

    return rank


def open_debits_of(account_ids: list[int]) -> dict[int, list[Open]]:
    """:func:`open_debits` of many accounts in one query (on PostgreSQL a prepared statement, as for one)."""
    if database().vendor == "postgresql":
        by_account: dict[int, list[tuple[int, str, Any, Decimal, Decimal]]] = {}
        for account_id, pk, kind, due, amount, done in fetch_all(
            open_debits_sql(many=True), [list(account_ids)]
        ):
            by_account.setdefault(account_id, []).append((pk, kind, due, amount, done))
        return {account_id: ranked(items) for account_id, items in by_account.items()}
    rows = (
        Entry.objects.filter(account_id__in=account_ids, kind__in=SETTLED_DEBITS, amount__gt=0)
        .annotate(done=Coalesce(_allocated("in"), Value(ZERO), output_field=_MONEY))
        .filter(amount__gt=F("done"))
        .values_list("account_id", "pk", "kind", "due_date", "amount", "done")
    )
    rank = _rank(list(conf("ALLOCATION_ORDER")))
    found: dict[int, list[Open]] = {}
    for account_id, pk, kind, due, amount, done in rows:
        if amount > done:  # again in Decimal: SQLite compared float sums (122.73 > 122.72999…)
            found.setdefault(account_id, []).append(Open(pk, kind, due, amount - done))
    return {account_id: sorted(items, key=rank) for account_id, items in found.items()}


def open_credits(account_id: int, *, payment_id: int | None = None) -> list[Open]:
    """The account's unapplied credits (prepayments, negative bills, waivers), oldest first."""
    rows = Entry.objects.filter(account_id=account_id, amount__lt=0)
    if payment_id is not None:
        rows = rows.filter(payment_id=payment_id)
    found = (
        rows.annotate(done=Coalesce(_allocated("out"), Value(ZERO), output_field=_MONEY))
        .filter(done__lt=-F("amount"))
        .order_by("pk")
        .values_list("pk", "kind", "due_date", "amount", "done", "day")
    )
    return [
        Open(pk, kind, due, -amount - done, day)
        for pk, kind, due, amount, done, day in found
        if -amount > done
    ]


def accounts_with_credit(account_ids: list[int]) -> list[int]:
    """Those of the accounts holding an unapplied credit (one query for a batch of accounts)."""
    return sorted(
        set(
            Entry.objects.filter(account_id__in=account_ids, amount__lt=0)
            .annotate(done=Coalesce(_allocated("out"), Value(ZERO), output_field=_MONEY))
            .filter(done__lt=-F("amount"))
            .values_list("account_id", flat=True)
        )
    )


def payment_entries(payment: Payment, actor: Any, owed: Decimal) -> list[Entry]:
    """A payment's entries, not yet saved: the part settling what the account ``owed`` (payment) and the rest
    (prepayment) — the one or two rows every payment posts, alone or in a batch."""
    applied = min(owed, payment.amount)
    return [
        Entry(
            account_id=payment.account_id,
            kind=kind,
            amount=-amount,
            payment=payment,
            day=payment.day,
            due_date=payment.day,
            posted_at=payment.received_at,
            posted_by=actor,
        )
        for kind, amount in ((Entry.Kind.PAYMENT, applied), (Entry.Kind.PREPAYMENT, payment.amount - applied))
        if amount > 0
    ]


def match(account_id: int, credits: list[Open], debits: list[Open], cause_id: int) -> list[Allocation]:
    """Allocation rows settling ``debits`` in their order from ``credits`` in theirs, as far as both reach."""
    rows: list[Allocation] = []
    ci = di = 0
    while ci < len(credits) and di < len(debits):
        credit, debit = credits[ci], debits[di]
        amount = min(credit.left, debit.left)
        rows.append(
            Allocation(
                credit_id=credit.entry_id,
                debit_id=debit.entry_id,
                amount=amount,
                cause_id=cause_id,
                account_id=account_id,
                credit_day=credit.day,
            )
        )
        credit.left -= amount
        debit.left -= amount
        if credit.left == 0:
            ci += 1
        if debit.left == 0:
            di += 1
    return rows


def settle(account_id: int, cause_id: int) -> list[Allocation]:
    """Apply the account's unapplied credits to its open debits (a prepayment consumed by a new bill)."""
    debits = open_debits(account_id)
    if not debits:
        return []
    credits = open_credits(account_id)
    rows = match(account_id, credits, debits, cause_id)
    Allocation.objects.bulk_create(rows)
    return rows


def balance(account_id: int) -> Decimal:
    """What the account owes (> 0) or has in credit (< 0): the sum of its entries."""
    total = Entry.objects.filter(account_id=account_id).aggregate(total=MoneySum("amount"))["total"]
    return Decimal(str(total)).quantize(CENT) if total is not None else ZERO
