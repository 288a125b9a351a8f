"""Credit-score features (信用评价的数据来源): a registry of *sources*, each ``function(account_ids, month) ->
{feature name: float64 array}`` aligned with ``account_ids``, computed set-based (one query per source, no
per-account query). Which sources run is the setting ``CREDIT_FEATURE_SOURCES`` (dotted paths), so a source
another module brings is wired by one line of settings.

Features (what the shipped rules in ``credit_rules.yaml`` read), over the ``CREDIT_WINDOW_MONTHS`` months ending
with the scored month, evaluated at the month's last day:

- ``punctuality_pct`` — of the bill charges due in the window, the share (%) settled in full by their due date
  (100 when no bill was due);
- ``max_overdue_days`` / ``avg_overdue_days`` — 延误天数 of the window's bills: the days from the due date to the
  day the bill was settled in full (or to the evaluation date while it is open); the average is over the bills
  paid late or still overdue;
- ``arrears_yuan`` — what is overdue at the evaluation date (every debit due before it less what was allocated to
  it by then), in 元;
- ``arrears_ratio`` — the arrears over the average monthly billing of the window (0 when nothing was billed);
- ``violations`` — violation and theft cases (违约用电/窃电 rebills) posted in the window;
- ``disconnections`` and ``broken_plans`` — disconnections for arrears ordered (the dunning ladder's 停电 steps) and
  payment plans broken by a missed instalment, in the window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import yaml
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from gridcare.core.frames import FrameQuery, query_frames, scaled, scaled_sql
from gridcare.core.rows import TableRef
from gridcare.keyaccounts.conf import conf

Features = dict[str, npt.NDArray[np.float64]]
Source = Callable[[npt.NDArray[np.int64], "Period"], Features]

DEFAULT_RULES_FILE = Path(__file__).with_name("credit_rules.yaml")
EPOCH = dt.date(1970, 1, 1)
DEBIT_KINDS = ("charge", "correction", "late_fee", "refund", "reversal")


class Period:
    """The scored month (``YYYY-MM``) and its window: after ``start_exclusive`` up to ``end`` (the month's last
    day), inclusive."""

    def __init__(self, month: str) -> None:
        year, number = parse_month(month)
        self.month = f"{year}-{number:02d}"
        following = dt.date(year + (number == 12), number % 12 + 1, 1)
        self.end = following - dt.timedelta(days=1)
        months = int(conf("CREDIT_WINDOW_MONTHS"))
        # the window: the day after the last day of the month ``months`` before, up to ``end``
        self.start_exclusive = _last_day(year * 12 + number - 1 - months)
        self.months = months


def _last_day(index: int) -> dt.date:
    """The last day of the month ``index`` (year * 12 + month - 1)."""
    year, number = index // 12, index % 12 + 1
    return dt.date(year + (number == 12), number % 12 + 1, 1) - dt.timedelta(days=1)


def parse_month(month: str) -> tuple[int, int]:
    """``YYYY-MM`` → (year, month), refusing anything else with a clear message."""
    from gridcare.core.errors import InvalidInput

    try:
        year_text, number_text = str(month).split("-")
        year, number = int(year_text), int(number_text)
        if len(year_text) != 4 or not 1 <= number <= 12:
            raise ValueError
    except ValueError:
        raise InvalidInput({"month": f"月份「{month}」格式应为 YYYY-MM。 (Month must be YYYY-MM.)"}) from None
    return year, number


def previous_month(today: dt.date | None = None) -> str:
    """The month a run scores by default: the last complete month."""
    today = today or timezone.localdate()
    last = today.replace(day=1) - dt.timedelta(days=1)
    return f"{last.year}-{last.month:02d}"


def default_rules() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_RULES_FILE.read_text(encoding="utf-8"))
    return data


def _align(account_ids: npt.NDArray[np.int64], frame: pl.DataFrame, columns: list[str]) -> Features:
    ids = pl.DataFrame({"account_id": account_ids}, schema={"account_id": pl.Int64})
    joined = ids.join(frame, on="account_id", how="left", maintain_order="left")
    return {name: joined[name].fill_null(0).cast(pl.Float64).to_numpy() for name in columns}


def _day_number(column: str) -> str:
    """SQL: a date column as whole days since 1970-01-01 (an integer on both databases)."""
    if connection.vendor == "postgresql":
        return f"({column} - DATE '1970-01-01')"
    return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"


def _day_of(day: dt.date) -> int:
    return (day - EPOCH).days


def _slots(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Row of each database id in ``keys`` (unique, non-negative), -1 for an id not there (the last slot is never
    a key): a look-up table the size of the largest id — an array index instead of a hash join over millions."""
    table = np.full(int(keys.max(initial=-1)) + 2, -1, dtype=np.int64)
    table[keys] = np.arange(len(keys), dtype=np.int64)
    return table


def _look_up(table: npt.NDArray[Any], ids: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
    """``table[ids]``, an id beyond the table (not among its keys) → -1."""
    return table[np.minimum(ids, len(table) - 1)]


def ledger_features(account_ids: npt.NDArray[np.int64], period: Period) -> Features:
    """Payment punctuality, overdue days and arrears from the ledger (``account_ids`` unique). Two plain scans —
    the debits, the allocations with their credits' days — combined over arrays: nothing joined or grouped in the
    database (PostgreSQL joining ~10 M allocations to their entries and grouping them by debit, then ~12 M debits
    by account, took 4.6 minutes at 1,000,000 accounts); each debit's account found by an array index."""
    from gridcare.ledger.models import Allocation, Entry

    e, a = TableRef(Entry), TableRef(Allocation)
    kinds = ", ".join(f"'{kind}'" for kind in DEBIT_KINDS)
    end, start = _day_of(period.end), _day_of(period.start_exclusive)
    loaded = query_frames(
        {
            "debits": FrameQuery(
                f"SELECT {e.id}, {e.account}, {scaled_sql(e.amount, 2)}, {_day_number(e.due_date)}, "
                f"CASE WHEN {e.kind} = 'charge' THEN 1 ELSE 0 END "
                f"FROM {e} WHERE {e.amount} > 0 AND {e.due_date} <= %s AND {e.kind} IN ({kinds})",
                [period.end],
                {
                    "id": pl.Int64,
                    "account_id": pl.Int64,
                    "amount": scaled(2),
                    "due": pl.Int32,
                    "charge": pl.Int8,
                },
            ),
            # every allocation whose credit (payment, prepayment, waiver, negative bill) is dated by the
            # evaluation date, with that day
            "allocations": FrameQuery(
                f"SELECT {a.debit}, {_day_number(a.credit_day)}, {scaled_sql(a.amount, 2)} FROM {a} "
                f"WHERE {a.credit_day} <= %s",
                [period.end],
                {"debit": pl.Int64, "day": pl.Int32, "amount": scaled(2)},
            ),
        },
        connections=int(conf("CREDIT_LOAD_CONNECTIONS")),
    )
    debits, allocations = loaded["debits"], loaded["allocations"]
    amount = debits["amount"].to_numpy()
    due = debits["due"].to_numpy().astype(np.int64)
    # what settled each debit by the evaluation date, dated by its credit (a reversal's negative rows too)
    debit_row = _look_up(_slots(debits["id"].to_numpy()), allocations["debit"].to_numpy())
    counted = debit_row >= 0
    row, paid = debit_row[counted], allocations["amount"].to_numpy()[counted]
    day = allocations["day"].to_numpy()[counted].astype(np.int64)
    size = len(amount)
    # cents stay exact in float64 sums far beyond any ledger's total (2**53 cents)
    settled = np.rint(np.bincount(row, weights=paid, minlength=size)).astype(np.int64)
    on_time = np.rint(np.bincount(row, weights=np.where(day <= due[row], paid, 0), minlength=size)).astype(
        np.int64
    )
    last_day = np.full(size, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last_day, row, day)
    overdue = np.where(settled >= amount, np.clip(last_day - due, 0, None), end - due)
    in_window = (debits["charge"].to_numpy() == 1) & (due > start)
    late = in_window & (overdue > 0)
    # per account: the row in ``account_ids`` of each debit's account (-1: an account not being scored)
    owner = _look_up(_slots(account_ids), debits["account_id"].to_numpy())
    scored = owner >= 0
    everyone = bool(scored.all())  # the usual case: nothing to leave out

    def scored_only(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return values if everyone else values[scored]

    owner, count = scored_only(owner), len(account_ids)

    def total(values: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
        return np.rint(np.bincount(owner, weights=scored_only(values), minlength=count)).astype(np.int64)

    # the maximum starts at 0: only the late debits can raise it
    max_overdue = np.zeros(count, dtype=np.int64)
    late_scored = scored_only(late)
    np.maximum.at(max_overdue, owner[late_scored], scored_only(overdue)[late_scored])
    frame = pl.DataFrame(
        {
            "bills": total(in_window),
            "punctual": total(in_window & (on_time >= amount)),
            "max_overdue": max_overdue,
            "overdue_sum": total(np.where(late, overdue, 0)),
            "late": total(late),
            "billed": total(np.where(in_window, amount, 0)),
            "arrears": total(np.where(due < end, amount - settled, 0)),
        }
    )
    monthly = pl.col("billed") / period.months
    frame = frame.select(
        # an account without a bill in the window (or without any ledger row) was never late
        punctuality_pct=pl.when(pl.col("bills") > 0)
        .then((100.0 * pl.col("punctual") / pl.col("bills")).round(1))
        .otherwise(100.0),
        max_overdue_days=pl.col("max_overdue").cast(pl.Float64),
        avg_overdue_days=pl.when(pl.col("late") > 0)
        .then((pl.col("overdue_sum") / pl.col("late")).round(1))
        .otherwise(0.0),
        arrears_yuan=pl.col("arrears").clip(lower_bound=0) / 100.0,
        arrears_ratio=pl.when(pl.col("billed") > 0)
        .then((pl.col("arrears").clip(lower_bound=0) / monthly).round(2))
        .otherwise(0.0),
    )
    return {name: frame[name].to_numpy() for name in frame.columns}


def violation_features(account_ids: npt.NDArray[np.int64], period: Period) -> Features:
    """违约用电/窃电: posted violation and theft rebills in the window, counted once per case and account."""
    from gridcare.billing.models import Rebill, RebillItem

    start, end = _window(period)
    rows = (
        RebillItem.objects.filter(
            rebill__kind__in=[Rebill.Kind.VIOLATION, Rebill.Kind.THEFT],
            rebill__status=Rebill.Status.POSTED,
            rebill__posted_at__gte=start,
            rebill__posted_at__lt=end,
        )
        .values_list("bill__account_id", "rebill_id")
        .distinct()
    )
    counts: dict[int, int] = {}
    for account_id, _rebill in rows:
        counts[account_id] = counts.get(account_id, 0) + 1
    frame = pl.DataFrame(
        {"account_id": list(counts), "violations": list(counts.values())},
        schema={"account_id": pl.Int64, "violations": pl.Int64},
    )
    return _align(account_ids, frame, ["violations"])


def _window(period: Period) -> tuple[dt.datetime, dt.datetime]:
    """The window as instants (Asia/Shanghai): from the day after ``start_exclusive`` to the day after ``end``."""
    from gridcare.engine.calendar import SHANGHAI

    start = dt.datetime.combine(period.start_exclusive + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
    return start, dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)


def _counts(account_ids: npt.NDArray[np.int64], rows: Any, name: str) -> Features:
    """``rows`` of (account_id, count) aggregated in the database, aligned on ``account_ids`` (0 elsewhere)."""
    frame = pl.DataFrame(list(rows), schema={"account_id": pl.Int64, name: pl.Int64}, orient="row")
    return _align(account_ids, frame, [name])


def disconnection_features(account_ids: npt.NDArray[np.int64], period: Period) -> Features:
    """欠费停电次数 — disconnections for arrears ordered in the window (the dunning ladder's 停电 steps)."""
    from gridcare.ledger.models import DunningStep

    start, end = _window(period)
    rows = (
        DunningStep.objects.filter(kind=DunningStep.Kind.DISCONNECTED, at__gte=start, at__lt=end)
        .values("case__account_id")
        .annotate(n=Count("id"))
        .values_list("case__account_id", "n")
    )
    return _counts(account_ids, rows, "disconnections")


def payment_plan_features(account_ids: npt.NDArray[np.int64], period: Period) -> Features:
    """分期缴费违约次数 — payment plans that broke (an instalment missed) in the window."""
    from gridcare.ledger.models import PaymentPlan

    start, end = _window(period)
    rows = (
        PaymentPlan.objects.filter(status=PaymentPlan.Status.BROKEN, ended_at__gte=start, ended_at__lt=end)
        .values("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n")
    )
    return _counts(account_ids, rows, "broken_plans")


@cache
def _load(path: str) -> Source:
    module, _dot, name = path.rpartition(".")
    source: Source = getattr(import_module(module), name)
    return source


def sources() -> list[Source]:
    return [_load(path) for path in conf("CREDIT_FEATURE_SOURCES")]


def compute_features(account_ids: npt.NDArray[np.int64], month: str) -> Features:
    """Every configured source's features for the accounts (aligned with ``account_ids``)."""
    period = Period(month)
    features: Features = {}
    for source in sources():
        for name, values in source(account_ids, period).items():
            if name in features:
                raise ValueError(f"Credit feature {name!r} comes from two sources.")
            features[name] = np.asarray(values, dtype=np.float64)
    return features
