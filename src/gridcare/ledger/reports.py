"""Reports of the ledger (报表): arrears aging (账龄), collection rate (电费回收率), the cashier daily report (收费日报)
and the key accounts' bad-debt rate (坏账率) — set-based: one SQL query per source over the user's data scope
(:func:`gridcare.core.access.restrict`), grouped and summed in Polars, amounts back as exact Decimals (fen in
between).

Definitions (docs/ledger.md):

- **Open as of a day**: a debit (bill charge, correcting bill, late fee) posted on or before the day, less what
  allocations caused by entries of business dates on or before the day settled — the open items as they stood
  that evening, so last month's aging is still last month's.
- **Aging**: days overdue = the day − the due date; an amount not yet due is shown apart; buckets by
  ``AGING_BUCKETS`` (default 0–30, 31–90, 91–180, 181–365, > 365 days).
- **Collection rate** of a day or month: the bill charges posted in it (billed) and the part of them settled so
  far (collected); rate = collected ÷ billed.
- **Bad-debt rate of key accounts**: (written off + open arrears more than ``BAD_DEBT_DAYS`` overdue) ÷
  everything ever billed to them (charges and correcting bills), as of the day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl
from django.db.models import (
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from gridcare.core.access import restrict
from gridcare.customers.models import ServicePoint
from gridcare.ledger.conf import conf
from gridcare.ledger.models import Allocation, DailyClose, Entry, Method, Payment
from gridcare.ledger.posting import MoneySum

_MONEY = DecimalField(max_digits=16, decimal_places=2)
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
DEBITS = (Entry.Kind.CHARGE, Entry.Kind.CORRECTION, Entry.Kind.LATE_FEE)


def yuan(fen: int | None) -> Decimal:
    return (Decimal(int(fen or 0)) * CENT).quantize(CENT)


def fen(value: Any) -> int:
    return int((Decimal(str(value if value is not None else 0)).quantize(CENT) * 100).to_integral_value())


def percent(part: int, whole: int) -> Decimal | None:
    """part ÷ whole in % with one decimal (half-up); None when nothing was billed."""
    if whole <= 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def _scoped_entries(
    user: Any, unit: Any = None, *, key_accounts: bool = False, manager: Any = None
) -> QuerySet[Entry]:
    rows = restrict(Entry.objects.all(), user)
    if unit is not None:
        rows = rows.filter(account__org_unit__path__startswith=unit.path)
    if key_accounts:
        rows = rows.filter(account__is_key_account=True)
    if manager is not None:
        rows = rows.filter(account__account_manager=manager)
    return rows


def _settled_by(day: dt.date) -> Subquery:
    """What allocations caused by entries of business dates up to ``day`` settled of the outer debit."""
    return Subquery(
        Allocation.objects.filter(debit=OuterRef("pk"), cause__day__lte=day)
        .order_by()
        .values("debit")
        .annotate(total=MoneySum("amount"))
        .values("total"),
        output_field=_MONEY,
    )


# --- aging ---------------------------------------------------------------------------------------------------


def bucket_labels() -> list[str]:
    bounds = [int(b) for b in conf("AGING_BUCKETS")]
    labels, low = [], 0
    for high in bounds:
        labels.append(f"{low}–{high} 天")
        low = high + 1
    labels.append(f"> {bounds[-1]} 天")
    return labels


def open_items(user: Any, day: dt.date, unit: Any = None, **filters: Any) -> pl.DataFrame:
    """The debits open at the end of ``day`` in the user's scope: one query. Columns: account, due (date), left
    (fen), days (overdue), klass, unit, manager."""
    klass = Subquery(
        ServicePoint.objects.filter(account=OuterRef("account")).order_by("pk").values("customer_class")[:1]
    )
    rows = (
        _scoped_entries(user, unit, **filters)
        .filter(kind__in=DEBITS, amount__gt=0, day__lte=day)
        .annotate(done=Coalesce(_settled_by(day), Value(ZERO), output_field=_MONEY), klass=klass)
        .filter(amount__gt=F("done"))
        .values_list(
            "account_id",
            "due_date",
            "amount",
            "done",
            "klass",
            "account__org_unit__name",
            "account__account_manager__full_name",
        )
    )
    data = [
        (a, due, fen(amount) - fen(done), k or "", u or "", m or "") for a, due, amount, done, k, u, m in rows
    ]
    schema = {
        "account": pl.Int64,
        "due": pl.Date,
        "left": pl.Int64,
        "klass": pl.String,
        "unit": pl.String,
        "manager": pl.String,
    }
    frame = pl.DataFrame(data, schema=schema, orient="row")
    return frame.with_columns(days=(pl.lit(day) - pl.col("due")).dt.total_days().cast(pl.Int64))


@dataclass
class AgingRow:
    label: str
    accounts: int
    not_due: Decimal
    buckets: list[Decimal]
    overdue: Decimal

    @property
    def cells(self) -> list[Any]:
        return [self.label, self.accounts, self.not_due, *self.buckets, self.overdue]


@dataclass
class AgingReport:
    day: dt.date
    by: str
    labels: list[str]
    rows: list[AgingRow] = field(default_factory=list)
    total: AgingRow | None = None


def _bucket_expr() -> pl.Expr:
    bounds = [int(b) for b in conf("AGING_BUCKETS")]
    expr: Any = pl.when(pl.col("days") <= 0).then(pl.lit(-1))
    for i, high in enumerate(bounds):
        expr = expr.when(pl.col("days") <= high).then(pl.lit(i))
    return expr.otherwise(pl.lit(len(bounds))).alias("bucket")


AGING_BY = {"klass": "customer class", "unit": "unit", "manager": "account manager"}


def aging(user: Any, day: dt.date, *, by: str = "klass", unit: Any = None, **filters: Any) -> AgingReport:
    """账龄 — open arrears by days overdue, per customer class, unit or account manager, as of ``day``."""
    if by not in AGING_BY:
        by = "klass"
    labels = bucket_labels()
    frame = open_items(user, day, unit, **filters).with_columns(_bucket_expr())
    report = AgingReport(day=day, by=by, labels=labels)
    if frame.is_empty():
        report.total = AgingRow("合计", 0, ZERO, [ZERO] * len(labels), ZERO)
        return report
    class_names = dict(ServicePoint.CustomerClass.choices)

    def summarise(group: pl.DataFrame, label: str) -> AgingRow:
        sums = dict(group.group_by("bucket").agg(pl.col("left").sum()).iter_rows())
        buckets = [yuan(sums.get(i, 0)) for i in range(len(labels))]
        return AgingRow(
            label,
            group.filter(pl.col("days") > 0).get_column("account").n_unique(),
            yuan(sums.get(-1, 0)),
            buckets,
            sum(buckets, ZERO),
        )

    for (key,), group in sorted(frame.group_by([by]), key=lambda item: str(item[0][0])):
        label = str(class_names.get(str(key), key)) if by == "klass" else (str(key) or "—")
        report.rows.append(summarise(group, label))
    report.total = summarise(frame, "合计")
    return report


def weighted_overdue_days(user: Any, day: dt.date, unit: Any = None, **filters: Any) -> Decimal | None:
    """Average days overdue of the open arrears, weighted by amount (欠费账龄 / 延误天数); None without arrears."""
    frame = open_items(user, day, unit, **filters).filter(pl.col("days") > 0)
    if frame.is_empty():
        return None
    total = int(frame.get_column("left").sum())
    weighted = int((frame.get_column("left") * frame.get_column("days")).sum())
    return (Decimal(weighted) / Decimal(total)).quantize(Decimal("0.1")) if total else None


def overdue_accounts(user: Any, day: dt.date, days: int, unit: Any = None) -> tuple[int, Decimal]:
    """Accounts with arrears more than ``days`` overdue and their amount."""
    frame = open_items(user, day, unit).filter(pl.col("days") > days)
    return frame.get_column("account").n_unique(), yuan(int(frame.get_column("left").sum() or 0))


# --- collection rate -----------------------------------------------------------------------------------------


@dataclass
class RateRow:
    period: str
    bills: int
    billed: Decimal
    collected: Decimal
    rate: Decimal | None

    @property
    def cells(self) -> list[Any]:
        return [self.period, self.bills, self.billed, self.collected, self.rate]


def collection(
    user: Any, first: dt.date, last: dt.date, *, per: str = "month", unit: Any = None, **filters: Any
) -> tuple[list[RateRow], RateRow]:
    """电费回收率 by day or month of the charges posted from ``first`` to ``last``: billed, collected so far,
    rate — one query."""
    rows = (
        _scoped_entries(user, unit, **filters)
        .filter(kind=Entry.Kind.CHARGE, amount__gt=0, day__gte=first, day__lte=last)
        .annotate(
            done=Coalesce(
                Subquery(
                    Allocation.objects.filter(debit=OuterRef("pk"))
                    .order_by()
                    .values("debit")
                    .annotate(total=MoneySum("amount"))
                    .values("total"),
                    output_field=_MONEY,
                ),
                Value(ZERO),
                output_field=_MONEY,
            )
        )
        .values_list("day", "amount", "done")
    )
    frame = pl.DataFrame(
        [(d, fen(a), fen(x)) for d, a, x in rows],
        schema={"day": pl.Date, "billed": pl.Int64, "collected": pl.Int64},
        orient="row",
    )
    key = pl.col("day").dt.strftime("%Y-%m" if per == "month" else "%Y-%m-%d").alias("period")
    grouped = (
        frame.group_by(key)
        .agg(pl.len().alias("bills"), pl.col("billed").sum(), pl.col("collected").sum())
        .sort("period")
    )
    out = [
        RateRow(p, int(n), yuan(b), yuan(c), percent(int(c), int(b))) for p, n, b, c in grouped.iter_rows()
    ]
    billed, collected = (
        int(frame.get_column("billed").sum() or 0),
        int(frame.get_column("collected").sum() or 0),
    )
    total = RateRow("合计", frame.height, yuan(billed), yuan(collected), percent(collected, billed))
    return out, total


# --- cashier daily report ------------------------------------------------------------------------------------


@dataclass
class CashierRow:
    day: dt.date
    cashier: str
    channel: str
    payments: int
    amount: Decimal
    reversals: int
    reversed_amount: Decimal
    net: Decimal
    closed: str

    @property
    def cells(self) -> list[Any]:
        return [
            self.day,
            self.cashier,
            self.channel,
            self.payments,
            self.amount,
            self.reversals,
            self.reversed_amount,
            self.net,
            self.closed,
        ]


def cashier_report(
    user: Any, first: dt.date, last: dt.date, unit: Any = None
) -> tuple[list[CashierRow], CashierRow]:
    """收费日报 — per day, cashier and payment method or channel: payments, reversals, net total and whether the
    cashier's day is closed (日结) with its cash difference. Three queries."""
    payments = restrict(Payment.objects.filter(day__gte=first, day__lte=last), user)
    if unit is not None:
        payments = payments.filter(account__org_unit__path__startswith=unit.path)
    reversed_ = Exists(Entry.objects.filter(payment=OuterRef("pk"), kind=Entry.Kind.REVERSAL))
    rows = payments.annotate(rev=reversed_).values_list(
        "day", "cashier_id", "cashier__full_name", "method", "channel__name", "amount", "rev"
    )
    methods = dict(Method.choices)
    frame = pl.DataFrame(
        [(d, c, n or "", str(ch or methods.get(m, m)), fen(a), bool(r)) for d, c, n, m, ch, a, r in rows],
        schema={
            "day": pl.Date,
            "cashier_id": pl.Int64,
            "cashier": pl.String,
            "channel": pl.String,
            "amount": pl.Int64,
            "rev": pl.Boolean,
        },
        orient="row",
    )
    closes = {
        (c.day, c.cashier_id): c
        for c in DailyClose.objects.filter(
            day__gte=first, day__lte=last, cashier_id__in=frame.get_column("cashier_id").unique().to_list()
        )
    }
    grouped = (
        frame.group_by("day", "cashier_id", "cashier", "channel")
        .agg(
            pl.len().alias("n"),
            pl.col("amount").sum().alias("amount"),
            pl.col("rev").sum().alias("rev_n"),
            pl.col("amount").filter(pl.col("rev")).sum().alias("rev_amount"),
        )
        .sort("day", "cashier", "channel")
    )
    out = []
    for day, cashier_id, cashier, channel, n, amount, rev_n, rev_amount in grouped.iter_rows():
        close = closes.get((day, cashier_id))
        state = (
            "已日结" + (f"（差额 {close.difference} 元）" if close.difference else "")
            if close is not None
            else "未日结"
        )
        out.append(
            CashierRow(
                day,
                cashier,
                channel,
                int(n),
                yuan(amount),
                int(rev_n),
                yuan(rev_amount),
                yuan(amount - (rev_amount or 0)),
                state,
            )
        )
    amount = int(frame.get_column("amount").sum() or 0)
    rev = frame.filter(pl.col("rev"))
    rev_amount = int(rev.get_column("amount").sum() or 0)
    total = CashierRow(
        last,
        "合计",
        "",
        frame.height,
        yuan(amount),
        rev.height,
        yuan(rev_amount),
        yuan(amount - rev_amount),
        "",
    )
    return out, total


# --- bad debt ------------------------------------------------------------------------------------------------


@dataclass
class BadDebtRow:
    manager: str
    accounts: int
    billed: Decimal
    written_off: Decimal
    old_arrears: Decimal
    rate: Decimal | None

    @property
    def cells(self) -> list[Any]:
        return [self.manager, self.accounts, self.billed, self.written_off, self.old_arrears, self.rate]


def bad_debt(
    user: Any, day: dt.date, unit: Any = None, manager: Any = None
) -> tuple[list[BadDebtRow], BadDebtRow]:
    """坏账率 of key accounts per account manager, as of ``day``: (written off + arrears more than ``BAD_DEBT_DAYS``
    overdue) ÷ billed (charges and correcting bills). Three queries."""
    entries = _scoped_entries(user, unit, key_accounts=True, manager=manager).filter(day__lte=day)
    sums = (
        entries.values("account_id", "account__account_manager__full_name")
        .annotate(
            billed=Coalesce(
                MoneySum("amount", filter=Q(kind__in=(Entry.Kind.CHARGE, Entry.Kind.CORRECTION))),
                Value(ZERO),
                output_field=_MONEY,
            ),
            written=Coalesce(
                MoneySum("amount", filter=Q(kind=Entry.Kind.WRITE_OFF)), Value(ZERO), output_field=_MONEY
            ),
        )
        .order_by()
    )
    base = pl.DataFrame(
        [
            (
                r["account_id"],
                r["account__account_manager__full_name"] or "—",
                fen(r["billed"]),
                -fen(r["written"]),
            )
            for r in sums
        ],
        schema={"account": pl.Int64, "manager": pl.String, "billed": pl.Int64, "written": pl.Int64},
        orient="row",
    )
    old = (
        open_items(user, day, unit, key_accounts=True, manager=manager)
        .filter(pl.col("days") > int(conf("BAD_DEBT_DAYS")))
        .group_by("account")
        .agg(pl.col("left").sum().alias("old"))
    )
    frame = base.join(old, on="account", how="left").with_columns(pl.col("old").fill_null(0))
    grouped = (
        frame.group_by("manager")
        .agg(pl.len().alias("n"), pl.col("billed").sum(), pl.col("written").sum(), pl.col("old").sum())
        .sort("manager")
    )
    out = [
        BadDebtRow(m, int(n), yuan(b), yuan(w), yuan(o), percent(int(w + o), int(b)))
        for m, n, b, w, o in grouped.iter_rows()
    ]
    b = int(frame.get_column("billed").sum() or 0)
    w = int(frame.get_column("written").sum() or 0)
    o = int(frame.get_column("old").sum() or 0)
    return out, BadDebtRow("合计", frame.height, yuan(b), yuan(w), yuan(o), percent(w + o, b))


def bad_debt_rate(user: Any, day: dt.date, unit: Any = None, manager: Any = None) -> Decimal | None:
    return bad_debt(user, day, unit, manager)[1].rate


def rate_of(rows: Sequence[RateRow]) -> Decimal | None:
    billed = sum((fen(r.billed) for r in rows), 0)
    return percent(sum((fen(r.collected) for r in rows), 0), billed)
