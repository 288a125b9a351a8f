"""Demo readings: routes at each station read by the demo readers, a year of monthly plans, and the monthly register
reads of every demo meter entered through the real capture path (so VEE runs on them), with about 2 % anomalies —
reverse running, a surge, three months of zero consumption, a missing read, a register rollover, a meter exchanged
mid-period through the metering app's own action (the period's consumption spans both meters) — and one estimate
awaiting approval. Each month's plan is generated after that month's exchanges, then its reads are captured.

Every installed meter of the small demo is read (so the billing demo bills every account for twelve months); the
larger scales are bounded to their first :data:`MAX_POINTS` service points (a year of reads through the full
capture path, set-based, is a few seconds per thousand meters) and keep the other points without routes.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from gridcare.core.errors import GridcareError
from gridcare.metering.actions import do_replace_meter
from gridcare.metering.models import InstallationRead, Meter
from gridcare.org.models import User
from gridcare.readings import actions
from gridcare.readings.interval_demo import load_interval_demo
from gridcare.readings.models import ReadException, Route, RouteStop
from gridcare.readings.periods import next_month

#: meters read per scale (the first ones by service point); a scale not named here reads every installed meter
MAX_POINTS = {"medium": 1_000, "large": 1_000}
ROUTE_SIZE = 60
MONTHS = 12
#: share of each register's advance (尖, 峰, 平, 谷); the total is their sum
TOU_SHARES = {"active_sharp": 10, "active_peak": 30, "active_flat": 35, "active_valley": 25}


def _months(today: dt.date) -> list[dt.date]:
    first = today.replace(day=1)
    start = dt.date(first.year - 1, first.month, 1)
    months = [start]
    while len(months) < MONTHS:
        months.append(next_month(months[-1]))
    return months


def _routes(actor: User, meters: list[Meter]) -> int:
    readers = {u.username: u for u in User.objects.filter(username__in=["cg_reader", "reader"])}
    by_unit: dict[Any, list[Meter]] = defaultdict(list)
    for meter in meters:
        assert meter.service_point is not None
        by_unit[meter.service_point.org_unit].append(meter)
    count = 0
    for unit, group in sorted(by_unit.items(), key=lambda item: item[0].code):
        reader = readers.get("cg_reader") if unit.code == "CG" else readers.get("reader")
        for start in range(0, len(group), ROUTE_SIZE):
            count += 1
            actions.do_create_route(
                actor,
                number=f"{unit.code}-{count:03d}",
                name=f"{unit.name}第{start // ROUTE_SIZE + 1}抄表段",
                org_unit=unit,
                reader=reader,
                reading_day=10 + count % 15,
                service_points=[p for m in group[start : start + ROUTE_SIZE] if (p := m.service_point_id)],
            )
    return count


def _advances(
    rng: random.Random, monthly: Decimal, multiplier: int, registers: list[str]
) -> dict[str, Decimal]:
    """One month's register advances (in register units: kWh ÷ multiplier), the TOU ones summing to the total."""
    total = max(Decimal("1"), monthly * Decimal(rng.uniform(0.92, 1.08)) / multiplier).quantize(
        Decimal("0.01")
    )
    tou = [r for r in registers if r in TOU_SHARES]
    advances: dict[str, Decimal] = {}
    if tou:
        weight = sum(TOU_SHARES[r] for r in tou)
        for register in tou[:-1]:
            advances[register] = (total * TOU_SHARES[register] / weight).quantize(Decimal("0.01"))
        advances[tou[-1]] = total - sum(advances.values(), Decimal(0))
    advances["active_total"] = total
    if "reactive_total" in registers:
        advances["reactive_total"] = (total * Decimal("0.4")).quantize(Decimal("0.01"))
    return advances


@dataclass
class Anomalies:
    """The demo meters (by position in the list) that carry one anomaly each for sure, on top of the random
    ~2 % (reverse running, surges, missing reads): the queue always holds every kind the issue names."""

    zero: int  # three and more months of zero consumption (the last four)
    reverse: int  # running backwards two months ago (then estimated, awaiting approval)
    surge: int  # three times its usual consumption last month
    missing: int  # no read last month
    exchange: int | None  # exchanged mid-period last month (换表): the consumption spans both meters
    #: exchanged last month for a refurbished meter near the end of its register: it rolls over
    rollover: int | None

    @classmethod
    def choose(cls, meters: list[Meter], start: dt.date) -> Anomalies:
        """Among the meters installed before the demo year (so each has the whole year to show it)."""
        early = [i for i, m in enumerate(meters) if m.installed_on is not None and m.installed_on < start]
        if len(early) < 8:
            early = list(range(len(meters)))
        n = len(early)
        taken = {early[n // 3], early[n // 5], early[n // 6], early[n // 7]}
        free = [i for i in early if i not in taken and meters[i].registers == ["active_total"]]
        exchange = free[len(free) // 2] if free else None
        rollover = free[len(free) // 4] if len(free) > 1 and free[len(free) // 4] != exchange else None
        return cls(early[n // 3], early[n // 5], early[n // 6], early[n // 7], exchange, rollover)


def _exchange(
    actor: User, meter: Meter, spare: Meter, day: dt.date, final: Decimal, initial: Decimal
) -> Meter:
    """换表 through the metering app's own action; the new meter continues the service point's reads."""
    do_replace_meter(
        actor,
        meter,
        spare,
        replaced_on=day,
        final_reads={"active_total": str(final)},
        initial_reads={"active_total": str(initial)},
    )
    return Meter.objects.select_related("service_point__org_unit").get(pk=spare.pk)


def build(actor: User, scale: str) -> Iterator[str]:
    if Route.objects.exists():
        yield "readings: demo routes already present (use --reset to rebuild)"
        return
    meters = list(
        Meter.objects.filter(status=Meter.Status.INSTALLED)
        .select_related("service_point__org_unit")
        .order_by("service_point_id")[: MAX_POINTS.get(scale)]
    )
    if not meters:
        yield "readings: no installed meters — skipped"
        return
    rng = random.Random(2026)
    routes = _routes(actor, meters)
    today = timezone.localdate()
    months = _months(today)
    current = {
        (r.installation.meter_id, r.register): r.value
        for r in InstallationRead.objects.filter(
            installation__meter__in=meters,
            event=InstallationRead.Event.INSTALL,
            installation__removed_on__isnull=True,
        ).select_related("installation")
    }
    special = Anomalies.choose(meters, months[0])
    stock = Meter.objects.filter(status=Meter.Status.IN_STOCK).order_by("asset_no")
    spares = sorted(
        (m for m in stock if m.registers == ["active_total"] and m.verified_on is not None),
        key=lambda m: (m.verified_on, m.asset_no),
    )
    captured = rejected = exchanged = 0
    reading_days = dict(
        RouteStop.objects.filter(route__in=Route.objects.all()).values_list(
            "service_point_id", "route__reading_day"
        )
    )
    for index, month in enumerate(months):
        for role in ("exchange", "rollover") if index == MONTHS - 1 else ():
            position = getattr(special, role)
            if position is None or not spares:
                continue
            meter = meters[position]
            swap_day = month.replace(day=max(1, reading_days.get(meter.service_point_id or 0, 15) - 3))
            ready = [m for m in spares if m.verified_on is not None and m.verified_on < swap_day]
            if not ready or meter.installed_on is None or not meter.installed_on < swap_day < today:
                continue
            spare = ready[0]
            spares.remove(spare)
            monthly = (meter.service_point.expected_monthly_kwh or Decimal("200")) / meter.multiplier
            half = (monthly / 2).quantize(Decimal("0.01"))
            final = current.get((meter.pk, "active_total"), Decimal(0)) + half
            # a refurbished meter whose register is a quarter month from its end rolls over in this period
            span = Decimal(10) ** spare.register_digits
            initial = span - (half / 2).quantize(Decimal("1")) if role == "rollover" else Decimal(0)
            meters[position] = _exchange(actor, meter, spare, swap_day, final, initial)
            current[(spare.pk, "active_total")] = initial
            exchanged += 1
        # the month's plan after the exchanges: a meter removed in the period is done by its final read
        actions.do_generate_plan(actor, period=f"{month:%Y-%m}")
        records = []
        for position, meter in enumerate(meters):
            day = reading_days.get(meter.service_point_id or 0, 15)
            read_at = timezone.make_aware(dt.datetime(month.year, month.month, day, 10))
            if meter.installed_on is None or meter.installed_on >= read_at.date() or read_at > timezone.now():
                continue
            luck = rng.random()
            if luck < 0.004 or (position == special.missing and index == MONTHS - 1):
                continue  # a missing read (缺抄): the task stays open
            assert meter.service_point is not None
            monthly = meter.service_point.expected_monthly_kwh or Decimal("200")
            surge = luck > 0.994 or (position == special.surge and index == MONTHS - 1)
            advances = _advances(rng, monthly * (3 if surge else 1), meter.multiplier, meter.registers)
            if (
                position in (special.exchange, special.rollover)
                and meter.installed_on.replace(day=1) == month
            ):
                advances = {
                    r: (a / 2).quantize(Decimal("0.01")) for r, a in advances.items()
                }  # after the swap
            zero = position == special.zero and index >= MONTHS - 4
            reverse = (0.004 <= luck < 0.009) or (position == special.reverse and index == MONTHS - 2)
            span = Decimal(10) ** meter.register_digits
            for register in meter.registers:
                previous = current.get((meter.pk, register), Decimal(0))
                value = previous if zero else (previous + advances.get(register, Decimal(0))) % span
                if reverse and register == "active_total" and previous > 10:
                    value = (previous - Decimal(5)).quantize(Decimal("0.01"))  # reverse running (倒走)
                else:
                    current[(meter.pk, register)] = value
                records.append(
                    {"meter": meter.asset_no, "register": register, "read_at": read_at, "value": value}
                )
        for start in range(0, len(records), actions.MAX_BATCH):
            results = actions.capture_reads(
                actor, records[start : start + actions.MAX_BATCH], source="headend"
            )
            captured += sum(1 for r in results if r.status == "accepted")
            rejected += sum(1 for r in results if r.status == "rejected")
    # this month's plan is out: the readers' tasks wait for their routes' reading days
    actions.do_generate_plan(actor, period=f"{today:%Y-%m}")
    estimated = _one_estimate(actor)
    yield load_interval_demo(actor)  # 15-minute data of the large customers (readings/interval_demo.py)
    open_exceptions = ReadException.objects.filter(status=ReadException.Status.OPEN).count()
    yield (
        f"readings: {routes} routes, {captured:,} reads over {MONTHS} months ({rejected} rejected), "
        f"{exchanged} meters exchanged mid-period, {open_exceptions:,} open exceptions, "
        f"{estimated} estimate awaiting approval"
    )


def _one_estimate(actor: User) -> int:
    """The latest reverse-running read that has the history for it, estimated by the manager (average of the
    last three periods) and left for another person's approval."""
    manager = User.objects.filter(username="manager").first()
    candidates = ReadException.objects.filter(
        rule="reverse_running", status=ReadException.Status.OPEN
    ).order_by("-period", "-id")[:10]
    if manager is None:
        return 0
    for exception in candidates:
        try:
            actions.do_estimate(
                manager, exception, method="average_last_three", reason="表计倒走，按近三期平均估抄"
            )
        except GridcareError:  # not enough history for this one: try the next
            continue
        return 1
    return 0
