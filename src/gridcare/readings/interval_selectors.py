"""Reads of the interval data (负荷曲线) for billing and the screens — the one module they go through.

Per account (户号): the reads of every meter ever installed at its service points (an exchanged meter's data and
its successor's add up), summed per 15-minute interval. Quantities are exact: the store keeps 0.001 kWh integers
and these functions answer :class:`~decimal.Decimal` kWh / kW.

For the billing run (next issue): :func:`account_month_quantities` — per account and month the kWh, the kWh per
TOU period of the account's tariff, the maximum 15-minute demand and the load factor, for many accounts at once.
For the screens: :func:`day_curve`, :func:`typical_curves`, :func:`daily_kwh`, :func:`monthly_overview`.
For the load manager: :func:`collection_rates` (采集成功率 per unit and day) and :func:`problem_days`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl
from django.db.models import Count, Min, Q, QuerySet, Sum

from gridcare.core.access import restrict
from gridcare.core.calendar import get_calendar
from gridcare.core.errors import InvalidInput
from gridcare.customers.models import Account, ServicePoint
from gridcare.engine.tariff import PERIODS, TariffError, TouSchedule
from gridcare.metering.models import Installation
from gridcare.org.models import OrgUnit
from gridcare.readings.models import IntervalDay
from gridcare.readings.store import interval_store

_THOUSAND = Decimal(1000)
_QTY = Decimal("0.001")
#: 15-minute kWh × 4 = kW
STEPS_PER_HOUR = 4
SLOTS_PER_DAY = 24 * STEPS_PER_HOUR


def kwh(scaled: int | None) -> Decimal:
    """0.001 kWh integer → Decimal kWh (exact)."""
    return (Decimal(int(scaled or 0)) / _THOUSAND).quantize(_QTY)


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_days(month: str) -> list[dt.date]:
    first = dt.date(int(month[:4]), int(month[5:7]), 1)
    following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return [first + dt.timedelta(days=n) for n in range((following - first).days)]


# ------------------------------------------------------------------------------------------- meters of accounts
def interval_meters(accounts: Iterable[int]) -> dict[int, list[int]]:
    """Account → the meters ever installed at its service points (their interval data is the account's)."""
    found: dict[int, set[int]] = defaultdict(set)
    rows = Installation.objects.filter(service_point__account_id__in=list(accounts)).values_list(
        "service_point__account_id", "meter_id"
    )
    for account, meter in rows:
        found[account].add(meter)
    return {account: sorted(meters) for account, meters in found.items()}


def accounts_with_intervals(user: Any, customer_id: int) -> list[Account]:
    """The customer's accounts in the user's scope that have interval data (a checked meter-day)."""
    accounts = restrict(Account.objects.filter(customer_id=customer_id), user).order_by("number")
    meters = interval_meters(a.pk for a in accounts)
    with_data = set(
        IntervalDay.objects.filter(meter_id__in=[m for ms in meters.values() for m in ms])
        .values_list("meter_id", flat=True)
        .distinct()
    )
    return [a for a in accounts if with_data & set(meters.get(a.pk, []))]


def _account_reads(meters_of: dict[int, list[int]], months: Sequence[str]) -> pl.DataFrame:
    """(account, ts, month, day, slot, kwh) summed over each account's meters per interval."""
    meters = sorted({m for ms in meters_of.values() for m in ms})
    schema: dict[str, Any] = {
        "account": pl.Int64,
        "ts": pl.Datetime("ms", "UTC"),
        "month": pl.String,
        "day": pl.Date,
        "slot": pl.Int32,
        "kwh": pl.Int64,
    }
    if not meters:
        return pl.DataFrame(schema=schema)
    reads = interval_store().reads(meters=meters, months=list(months))
    owners = pl.DataFrame(
        [(m, a) for a, ms in meters_of.items() for m in ms],
        schema={"meter": pl.Int64, "account": pl.Int64},
        orient="row",
    )
    return (
        reads.join(owners, on="meter")
        .group_by("account", "ts", "month", "day", "slot")
        .agg(pl.col("kwh").sum())
        .sort("account", "ts")
        .cast({"slot": pl.Int32, "ts": pl.Datetime("ms", "UTC")})
    )


# ------------------------------------------------------------------------------------------------ billing
@dataclass
class IntervalMonth:
    """One account's month from its interval data: energy, energy per TOU period of its tariff (尖峰/高峰/平段/
    低谷; empty for a tariff without TOU), maximum 15-minute demand (最大需量, kW = kWh × 4), load factor (负荷率,
    average kW ÷ maximum kW, %) and how many intervals were received out of those expected."""

    account: int
    month: str
    kwh: Decimal
    tou_kwh: dict[str, Decimal] = field(default_factory=dict)
    max_demand_kw: Decimal = Decimal(0)
    max_demand_at: dt.datetime | None = None
    load_factor: Decimal | None = None
    received: int = 0
    expected: int = 0


def holidays_in(days: Iterable[dt.date]) -> set[dt.date]:
    """Official holidays (Monday–Friday days off of the business calendar) — the TOU 'holiday' day type."""
    calendar = get_calendar()
    return {d for d in days if d.weekday() < 5 and not calendar.is_working_day(d)}


def tou_schedule(account: int, month: str) -> TouSchedule | None:
    """The TOU schedule of the account's tariff in force on the month's first day (``None`` without TOU)."""
    from gridcare.tariffs.models import Tariff
    from gridcare.tariffs.selectors import engine_tariff

    codes = (
        ServicePoint.objects.filter(account_id=account)
        .exclude(tariff_code="")
        .values_list("tariff_code", flat=True)
    )
    for code in codes:
        tariff = Tariff.objects.filter(code=code, kind=Tariff.Kind.CHINESE).first()
        if tariff is None:
            continue
        try:
            version = engine_tariff(tariff).version_on(month_days(month)[0])
        except (TariffError, InvalidInput):  # a broken tariff shows no TOU split; billing reports it
            continue
        if version.tou is not None:
            return version.tou
    return None


def _tou_split(frame: pl.DataFrame, schedule: TouSchedule, month: str) -> dict[str, Decimal]:
    """kWh per TOU period of an account-month's reads (the hour of the local slot, the day type of the day)."""
    days = month_days(month)
    holidays = holidays_in(days)
    kinds = {"weekday": 0, "weekend": 1, "holiday": 2}
    table = schedule.as_array()
    day_type = {
        d: kinds["holiday" if d in holidays else "weekend" if d.weekday() >= 5 else "weekday"] for d in days
    }
    totals: dict[str, int] = defaultdict(int)
    for day, slot, value in frame.select("day", "slot", "kwh").iter_rows():
        period = PERIODS[int(table[day.month - 1, day_type[day], slot // STEPS_PER_HOUR])]
        totals[period] += value
    return {p: kwh(v) for p, v in totals.items()}


def _month_summary(account: int, month: str, reads: pl.DataFrame) -> IntervalMonth:
    values = reads.get_column("kwh")
    maximum = int(values.max() or 0)  # type: ignore[arg-type]
    total = int(values.sum() or 0)
    schedule = tou_schedule(account, month)
    return IntervalMonth(
        account=account,
        month=month,
        kwh=kwh(total),
        tou_kwh=_tou_split(reads, schedule, month) if schedule is not None else {},
        max_demand_kw=kwh(maximum * STEPS_PER_HOUR),
        max_demand_at=reads.row(int(values.arg_max() or 0), named=True)["ts"] if reads.height else None,
        load_factor=(Decimal(total) * 100 / Decimal(reads.height) / maximum).quantize(Decimal("0.1"))
        if maximum
        else None,
        received=reads.height,
        expected=len(month_days(month)) * SLOTS_PER_DAY,
    )


def account_month_quantities(accounts: Iterable[int], month: str) -> dict[int, IntervalMonth]:
    """计费用负荷曲线电量 — per account with interval data in ``month`` (YYYY-MM): see :class:`IntervalMonth`."""
    frame = _account_reads(interval_meters(accounts), [month])
    return {
        int(account): _month_summary(int(account), month, reads)
        for (account,), reads in frame.partition_by("account", as_dict=True).items()
    }


@dataclass(frozen=True)
class PeriodDemand:
    """最大需量 of one account over its bill period: the largest 15-minute kW of the account's meters summed per
    interval, when it happened, and how many intervals were received out of those expected (coverage)."""

    account: int
    kw: Decimal
    at: dt.datetime
    received: int
    expected: int

    @property
    def coverage(self) -> Decimal:
        """Share of the period's intervals received, in % (one decimal)."""
        return (Decimal(self.received) * 100 / Decimal(self.expected or 1)).quantize(Decimal("0.1"))


def months_between(start: dt.date, end: dt.date) -> list[str]:
    """The months (YYYY-MM) the days ``start`` ≤ day < ``end`` fall in."""
    out: list[str] = []
    cursor = start.replace(day=1)
    while cursor < end:
        out.append(month_key(cursor))
        cursor = dt.date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
    return out


def max_demand_in_periods(periods: dict[int, tuple[dt.date, dt.date]]) -> dict[int, PeriodDemand]:
    """计费最大需量 — per account the maximum 15-minute demand over its own period (local days ``start`` ≤ day <
    ``end``, e.g. a bill period from reading day to reading day), for many accounts with one read of the store
    (one installation query, one scan of the months the periods touch). Accounts without data are absent."""
    if not periods:
        return {}
    months = sorted({m for start, end in periods.values() for m in months_between(start, end)})
    frame = _account_reads(interval_meters(periods), months)
    if frame.is_empty():
        return {}
    bounds = pl.DataFrame(
        [(a, s, e) for a, (s, e) in periods.items()],
        schema={"account": pl.Int64, "start": pl.Date, "end": pl.Date},
        orient="row",
    )
    peaks = (
        frame.join(bounds, on="account")
        .filter((pl.col("day") >= pl.col("start")) & (pl.col("day") < pl.col("end")))
        .sort("account", pl.col("kwh"), "ts", descending=[False, True, False])
        .group_by("account", maintain_order=True)
        .agg(pl.col("kwh").first(), pl.col("ts").first(), pl.len().alias("received"))
    )
    return {
        account: PeriodDemand(
            account,
            kwh(peak * STEPS_PER_HOUR),
            at,
            received,
            (periods[account][1] - periods[account][0]).days * SLOTS_PER_DAY,
        )
        for account, peak, at, received in peaks.iter_rows()
    }


def monthly_overview(account: int, months: Sequence[str]) -> list[IntervalMonth]:
    """One account's months (newest first): kWh, TOU split, maximum demand, load factor — one read of the store."""
    frame = _account_reads(interval_meters([account]), months)
    by_month = frame.partition_by("month", as_dict=True)
    return [
        _month_summary(account, str(month), reads)
        for (month,), reads in sorted(by_month.items(), key=lambda item: str(item[0][0]), reverse=True)
    ]


def monthly_kwh(accounts: Iterable[int], months: Sequence[str]) -> dict[tuple[int, str], Decimal]:
    """kWh per (account, month) from the interval data."""
    frame = _account_reads(interval_meters(accounts), months)
    totals = frame.group_by("account", "month").agg(pl.col("kwh").sum())
    return {(a, m): kwh(v) for a, m, v in totals.iter_rows()}


def monthly_max_demand(accounts: Iterable[int], months: Sequence[str]) -> dict[tuple[int, str], Decimal]:
    """最大需量 per (account, month): the largest 15-minute kWh × 4, in kW."""
    frame = _account_reads(interval_meters(accounts), months)
    peaks = frame.group_by("account", "month").agg(pl.col("kwh").max())
    return {(a, m): kwh(v * STEPS_PER_HOUR) for a, m, v in peaks.iter_rows()}


def daily_kwh(account: int, month: str) -> list[tuple[dt.date, Decimal]]:
    """kWh per local day of the month (days without data are left out)."""
    frame = _account_reads(interval_meters([account]), [month])
    totals = frame.group_by("day").agg(pl.col("kwh").sum()).sort("day")
    return [(d, kwh(v)) for d, v in totals.iter_rows()]


# ------------------------------------------------------------------------------------------------ screens
def day_curve(account: int, day: dt.date) -> list[Decimal | None]:
    """The 96 quarter-hours of one local day in kW (``None`` where no read arrived)."""
    frame = _account_reads(interval_meters([account]), [month_key(day)]).filter(pl.col("day") == day)
    curve: list[Decimal | None] = [None] * SLOTS_PER_DAY
    for slot, value in frame.select("slot", "kwh").iter_rows():
        curve[int(slot)] = kwh(value * STEPS_PER_HOUR)
    return curve


def typical_curves(account: int, month: str) -> dict[str, list[Decimal | None]]:
    """典型日负荷曲线: mean kW of each quarter-hour on working days and on weekends/holidays of the month."""
    frame = _account_reads(interval_meters([account]), [month])
    holidays = holidays_in(month_days(month))
    kind = {d: "weekend" if d.weekday() >= 5 or d in holidays else "weekday" for d in month_days(month)}
    sums: dict[str, list[int]] = {"weekday": [0] * SLOTS_PER_DAY, "weekend": [0] * SLOTS_PER_DAY}
    counts: dict[str, list[int]] = {"weekday": [0] * SLOTS_PER_DAY, "weekend": [0] * SLOTS_PER_DAY}
    for day, slot, value in frame.select("day", "slot", "kwh").iter_rows():
        sums[kind[day]][slot] += value
        counts[kind[day]][slot] += 1
    return {
        name: [
            (Decimal(s * STEPS_PER_HOUR) / _THOUSAND / c).quantize(Decimal("0.01")) if c else None
            for s, c in zip(sums[name], counts[name], strict=True)
        ]
        for name in sums
    }


def data_months(account: int) -> list[str]:
    """The months with checked interval data of the account, newest first."""
    meters = interval_meters([account]).get(account, [])
    days = IntervalDay.objects.filter(meter_id__in=meters).values_list("day", flat=True).distinct()
    return sorted({month_key(d) for d in days}, reverse=True)


def latest_day(account: int, month: str) -> dt.date | None:
    meters = interval_meters([account]).get(account, [])
    days = month_days(month)
    return (
        IntervalDay.objects.filter(meter_id__in=meters, day__range=(days[0], days[-1]), received__gt=0)
        .order_by("-day")
        .values_list("day", flat=True)
        .first()
    )


# ------------------------------------------------------------------------------------------------ estimates
@dataclass(frozen=True)
class IntervalSum:
    """Energy of a meter between two instants from its intervals, with the intervals received and expected."""

    kwh: Decimal
    received: int
    expected: int

    @property
    def coverage(self) -> Decimal:
        return Decimal(self.received * 100) / Decimal(self.expected) if self.expected else Decimal(0)


def interval_total(meter: int, start: dt.datetime, end: dt.datetime) -> IntervalSum:
    """Sum of the meter's 15-minute kWh with ``start <= interval start < end`` (the period between two reads)."""
    first = start.astimezone(dt.UTC)
    last = end.astimezone(dt.UTC)
    months = sorted(
        {month_key((first + dt.timedelta(days=n)).date()) for n in range((last - first).days + 2)}
    )
    reads = interval_store().reads(meters=[meter], months=months)
    inside = reads.filter((pl.col("ts") >= first) & (pl.col("ts") < last))
    expected = int((last - first).total_seconds() // (3600 // STEPS_PER_HOUR))
    return IntervalSum(kwh(int(inside.get_column("kwh").sum() or 0)), inside.height, expected)


# ------------------------------------------------------------------------------------------------ load manager
@dataclass
class UnitDay:
    """采集成功率 of a unit on a day: intervals received of those expected from its interval meters."""

    unit: OrgUnit
    day: dt.date
    meters: int
    received: int
    expected: int

    @property
    def rate(self) -> Decimal | None:
        if not self.expected:
            return None
        return (Decimal(self.received * 100) / Decimal(self.expected)).quantize(Decimal("0.1"))


def scoped_days(user: Any, unit: OrgUnit | None = None) -> QuerySet[IntervalDay]:
    """Meter-days the user may see, optionally of one unit's subtree."""
    days = restrict(IntervalDay.objects.all(), user)
    if unit is not None:
        days = days.filter(service_point__org_unit__path__startswith=unit.path)
    return days


def collection_rates(
    user: Any, first: dt.date, last: dt.date, *, unit: OrgUnit | None = None
) -> list[UnitDay]:
    """采集成功率 per unit (the service point's station) and day.

    Expected: 96 intervals a day from every interval meter — one with a checked day on or before that day —
    so a meter that sends nothing at all still counts against the rate (its day has no row)."""
    scoped = scoped_days(user, unit)
    starts = dict(
        scoped.filter(day__lte=last)
        .order_by()
        .values("meter_id")
        .annotate(first=Min("day"))
        .values_list("meter_id", "first")
    )
    point_of = dict(  # the station of each meter's latest day (the last pair wins)
        scoped.filter(meter_id__in=list(starts), day__lte=last)
        .order_by("meter_id", "day")
        .values_list("meter_id", "service_point__org_unit_id")
    )
    received = {
        (u, d): (r, n)
        for u, d, r, n in scoped.filter(day__range=(first, last))
        .order_by()
        .values("service_point__org_unit_id", "day")
        .annotate(r=Sum("received"), n=Count("id"))
        .values_list("service_point__org_unit_id", "day", "r", "n")
    }
    units = OrgUnit.objects.in_bulk({u for u in point_of.values()})
    rows: list[UnitDay] = []
    day = first
    while day <= last:
        meters_per_unit: dict[int, int] = defaultdict(int)
        for meter, start in starts.items():
            if start <= day:
                meters_per_unit[point_of[meter]] += 1
        for unit_id, meters in sorted(meters_per_unit.items(), key=lambda item: units[item[0]].path):
            got, _rows = received.get((unit_id, day), (0, 0))
            rows.append(UnitDay(units[unit_id], day, meters, int(got or 0), meters * SLOTS_PER_DAY))
        day += dt.timedelta(days=1)
    return rows


def collection_rate(
    user: Any, first: dt.date, last: dt.date, *, unit: OrgUnit | None = None
) -> Decimal | None:
    """One figure for a span: all intervals received ÷ expected (the KPI)."""
    rows = collection_rates(user, first, last, unit=unit)
    expected = sum(r.expected for r in rows)
    if not expected:
        return None
    return (Decimal(sum(r.received for r in rows) * 100) / Decimal(expected)).quantize(Decimal("0.1"))


PROBLEM = Q(gaps__gt=0) | Q(spikes__gt=0) | Q(conflicts__gt=0) | Q(rejected__gt=0)


def problem_days(user: Any, unit: OrgUnit | None = None) -> QuerySet[IntervalDay]:
    """Meter-days with a problem (gaps, spikes, conflicting or rejected values), newest first."""
    return scoped_days(user, unit).filter(PROBLEM).order_by("-day", "meter__asset_no")
