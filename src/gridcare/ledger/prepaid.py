"""费控 reads: the remaining balance (剩余电费) of prepaid accounts, estimated set-based.

For a batch of prepaid accounts, one query per source:

- the **ledger credit** — minus the balance (the sum of the account's entries);
- the **last bill** (the latest released regular bill): the day consumption is counted from (its period end, the
  first unbilled day) and the **average price** — the bill's total ÷ its kWh, i.e. the account's tariff as the
  rating engine applied it, funds included (effective-dated through the bill; a tariff change since the last
  bill shows in the next one). An account never billed counts from its enrolment at ``PREPAID_DEFAULT_PRICE``;
- the **energy used since** that day from the interval store (15-minute data of every meter of the account,
  summed per day); an account without interval data in the window is estimated at its last bill's daily average
  (kWh ÷ days of the bill's period) — the estimate says which source it used;
- then :func:`gridcare.engine.prepaid.estimate` computes remaining balance, days left (at the average daily use of
  the last ``PREPAID_USE_DAYS`` days with data) and the status (ok / low / zero) over arrays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import polars as pl

from gridcare.billing.models import Bill
from gridcare.engine import prepaid as engine
from gridcare.engine.money import decimal_to_scaled
from gridcare.ledger.conf import conf
from gridcare.ledger.models import Entry, PrepaidAgreement, PrepaidEstimate
from gridcare.ledger.posting import MoneySum
from gridcare.readings.interval_selectors import interval_meters
from gridcare.readings.store import interval_store

_FEN = Decimal("0.01")
_KWH = Decimal("0.001")
_PRICE = Decimal("0.000001")


@dataclass
class Figures:
    """One account's estimate of the day (not yet stored)."""

    account_id: int
    since: dt.date
    credit: Decimal
    consumption_kwh: Decimal
    price: Decimal
    consumed: Decimal
    remaining: Decimal
    daily_kwh: Decimal
    days_left: Decimal | None
    status: str
    source: str

    def as_estimate(self, day: dt.date) -> PrepaidEstimate:
        return PrepaidEstimate(
            account_id=self.account_id,
            day=day,
            since=self.since,
            credit=self.credit,
            consumption_kwh=self.consumption_kwh,
            price=self.price,
            consumed=self.consumed,
            remaining=self.remaining,
            daily_kwh=self.daily_kwh,
            days_left=self.days_left,
            status=self.status,
            source=self.source,
        )


def _months(first: dt.date, last: dt.date) -> list[str]:
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def credits_of(account_ids: Sequence[int]) -> dict[int, int]:
    """Ledger credit in fen (−balance) per account — one query."""
    rows = (
        Entry.objects.filter(account_id__in=account_ids)
        .values("account_id")
        .order_by()
        .annotate(total=MoneySum("amount"))
        .values_list("account_id", "total")
    )
    return {a: -decimal_to_scaled(Decimal(str(t)).quantize(_FEN), 2) for a, t in rows if t is not None}


def last_bills(account_ids: Sequence[int]) -> dict[int, tuple[dt.date, int, int, int]]:
    """Per account its latest released regular bill: (period end, kWh in 0.001, total in fen, days) — one query."""
    rows = (
        Bill.objects.filter(account_id__in=account_ids, kind=Bill.Kind.REGULAR, status=Bill.Status.RELEASED)
        .order_by("account_id", "-period_end", "-id")
        .values_list("account_id", "period_start", "period_end", "energy_kwh", "total")
    )
    found: dict[int, tuple[dt.date, int, int, int]] = {}
    for account_id, start, end, energy, total in rows:
        if account_id not in found:
            found[account_id] = (
                end,
                decimal_to_scaled(Decimal(energy).quantize(_KWH), 3),
                decimal_to_scaled(Decimal(total).quantize(_FEN), 2),
                max((end - start).days, 1),
            )
    return found


def daily_use(account_ids: Sequence[int], first: dt.date, last: dt.date) -> pl.DataFrame:
    """(account, day, quantity in 0.001 kWh) from the interval store for the days ``first``..``last`` — one read
    of the store for all the accounts' meters."""
    schema = {"account": pl.Int64, "day": pl.Date, "quantity": pl.Int64}
    meters_of = interval_meters(account_ids)
    meters = sorted({m for ms in meters_of.values() for m in ms})
    if not meters or first > last:
        return pl.DataFrame(schema=schema)
    totals = interval_store().daily_totals(meters=meters, months=_months(first, last))
    if totals.is_empty():
        return pl.DataFrame(schema=schema)
    owners = pl.DataFrame(
        [(m, a) for a, ms in meters_of.items() for m in ms],
        schema={"meter": pl.Int64, "account": pl.Int64},
        orient="row",
    )
    return (
        totals.cast({"meter": pl.Int64, "quantity": pl.Int64})
        .join(owners, on="meter")
        .filter((pl.col("day") >= first) & (pl.col("day") <= last))
        .group_by("account", "day")
        .agg(pl.col("quantity").sum())
        .select(list(schema))
        .cast(schema)  # type: ignore[arg-type]
    )


def estimate(account_ids: Sequence[int], day: dt.date) -> list[Figures]:
    """The remaining balance of the (prepaid) accounts on ``day`` — a few queries for the whole batch."""
    ids = sorted(set(account_ids))
    if not ids:
        return []
    enrolled = dict(
        PrepaidAgreement.objects.filter(account_id__in=ids, active=True).values_list(
            "account_id", "enrolled_on"
        )
    )
    credit = credits_of(ids)
    bills = last_bills(ids)
    default_price = decimal_to_scaled(Decimal(str(conf("PREPAID_DEFAULT_PRICE"))), 6)
    since: dict[int, dt.date] = {}
    for a in ids:
        start = bills[a][0] if a in bills else enrolled.get(a, day)
        since[a] = min(start, day + dt.timedelta(days=1))
    use_days = int(conf("PREPAID_USE_DAYS"))
    first = min(min(since.values()), day - dt.timedelta(days=use_days - 1))
    frame = daily_use(ids, first, day)
    since_frame = pl.DataFrame(
        {"account": ids, "since": [since[a] for a in ids]}, schema={"account": pl.Int64, "since": pl.Date}
    )
    joined = frame.join(since_frame, on="account")
    used = dict(
        joined.filter(pl.col("day") >= pl.col("since"))
        .group_by("account")
        .agg(pl.col("quantity").sum())
        .iter_rows()
    )
    recent = (
        joined.filter(pl.col("day") > day - dt.timedelta(days=use_days))
        .group_by("account")
        .agg(pl.col("quantity").sum().alias("q"), pl.col("day").n_unique().alias("n"))
    )
    daily = {a: -(-q // n) if n else 0 for a, q, n in recent.iter_rows()}  # (rounded up: days left err short)
    n = len(ids)
    credit_a = np.zeros(n, np.int64)
    used_a = np.zeros(n, np.int64)
    price_a = np.zeros(n, np.int64)
    daily_a = np.zeros(n, np.int64)
    sources: list[str] = []
    for i, a in enumerate(ids):
        credit_a[i] = credit.get(a, 0)
        bill = bills.get(a)
        price_a[i] = (
            int(Decimal(bill[2]) * 10**7 / Decimal(bill[1])) if bill and bill[1] > 0 else default_price
        )
        days_since = max((day - since[a]).days + 1, 0)
        if a in used or a in daily:
            used_a[i], daily_a[i] = used.get(a, 0), daily.get(a, 0)
            sources.append(PrepaidEstimate.Source.INTERVAL)
        elif bill is not None and bill[1] > 0:
            per_day = -(-bill[1] // bill[3])
            used_a[i], daily_a[i] = per_day * days_since, per_day
            sources.append(PrepaidEstimate.Source.BILL_AVERAGE)
        else:
            sources.append(PrepaidEstimate.Source.NONE)
    result = engine.estimate(
        credit_a,
        used_a,
        price_a,
        daily_a,
        low_fen=decimal_to_scaled(Decimal(str(conf("PREPAID_ALERT_LOW"))), 2),
        zero_fen=decimal_to_scaled(Decimal(str(conf("PREPAID_ALERT_ZERO"))), 2),
        low_days=int(conf("PREPAID_ALERT_DAYS")),
    )
    return [
        Figures(
            account_id=a,
            since=since[a],
            credit=Decimal(int(credit_a[i])) * _FEN,
            consumption_kwh=Decimal(int(used_a[i])) * _KWH,
            price=Decimal(int(price_a[i])) * _PRICE,
            consumed=Decimal(int(result.consumed_fen[i])) * _FEN,
            remaining=Decimal(int(result.remaining_fen[i])) * _FEN,
            daily_kwh=Decimal(int(daily_a[i])) * _KWH,
            days_left=None
            if int(result.days_left_tenths[i]) == engine.NO_DAYS
            else Decimal(int(result.days_left_tenths[i])) / 10,
            status=engine.STATUS_CODES[int(result.status[i])],
            source=sources[i],
        )
        for i, a in enumerate(ids)
    ]
