"""Demo readings: routes at each station read by the demo readers, a year of monthly plans, and the monthly register
reads of every demo meter entered through the real capture path (so VEE runs on them), with about 2 % anomalies —
reverse running, a surge, three months of zero consumption, a missing read — and one estimate awaiting approval.

Bounded to the first :data:`MAX_POINTS` service points (a year of reads through the full capture path is a few
seconds per thousand meters); larger demos keep the other points without routes.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.utils import timezone

from gridcare.core.errors import GridcareError
from gridcare.metering.models import InstallationRead, Meter
from gridcare.org.models import User
from gridcare.readings import actions
from gridcare.readings.interval_demo import load_interval_demo
from gridcare.readings.models import ReadException, Route, RouteStop
from gridcare.readings.periods import next_month

MAX_POINTS = 1000
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


def build(actor: User, scale: str) -> Iterator[str]:
    if Route.objects.exists():
        yield "readings: demo routes already present (use --reset to rebuild)"
        return
    meters = list(
        Meter.objects.filter(status=Meter.Status.INSTALLED)
        .select_related("service_point__org_unit")
        .order_by("service_point_id")[:MAX_POINTS]
    )
    if not meters:
        yield "readings: no installed meters — skipped"
        return
    rng = random.Random(2026)
    routes = _routes(actor, meters)
    today = timezone.localdate()
    months = _months(today)
    for month in months:
        actions.do_generate_plan(actor, period=f"{month:%Y-%m}")
    current = {
        (r.installation.meter_id, r.register): r.value
        for r in InstallationRead.objects.filter(
            installation__meter__in=meters,
            event=InstallationRead.Event.INSTALL,
            installation__removed_on__isnull=True,
        ).select_related("installation")
    }
    zero_meter = meters[len(meters) // 3].pk
    captured = rejected = 0
    reading_days = dict(
        RouteStop.objects.filter(route__in=Route.objects.all()).values_list(
            "service_point_id", "route__reading_day"
        )
    )
    for index, month in enumerate(months):
        records = []
        for meter in meters:
            day = reading_days.get(meter.service_point_id or 0, 15)
            read_at = timezone.make_aware(dt.datetime(month.year, month.month, day, 10))
            if meter.installed_on is None or meter.installed_on >= read_at.date() or read_at > timezone.now():
                continue
            luck = rng.random()
            if luck < 0.004:
                continue  # a missing read (缺抄): the task stays open
            assert meter.service_point is not None
            monthly = meter.service_point.expected_monthly_kwh or Decimal("200")
            advances = _advances(rng, monthly * (3 if luck > 0.994 else 1), meter.multiplier, meter.registers)
            zero = meter.pk == zero_meter and index >= MONTHS - 4
            span = Decimal(10) ** meter.register_digits
            for register in meter.registers:
                value = current.get((meter.pk, register), Decimal(0))
                if not zero:
                    value = (value + advances.get(register, Decimal(0))) % span
                if 0.004 <= luck < 0.009 and register == "active_total" and value > 10:
                    value = (value - Decimal(5)).quantize(Decimal("0.01"))  # reverse running (倒走)
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
    estimated = _one_estimate(actor)
    yield load_interval_demo(actor)  # 15-minute data of the large customers (readings/interval_demo.py)
    open_exceptions = ReadException.objects.filter(status=ReadException.Status.OPEN).count()
    yield (
        f"readings: {routes} routes, {captured:,} reads over {MONTHS} months ({rejected} rejected), "
        f"{open_exceptions:,} open exceptions, {estimated} estimate awaiting approval"
    )


def _one_estimate(actor: User) -> int:
    """The last reverse-running read estimated from its history by the manager, left for approval."""
    manager = User.objects.filter(username="manager").first()
    exception = (
        ReadException.objects.filter(rule="reverse_running", status=ReadException.Status.OPEN)
        .order_by("-period", "-id")
        .first()
    )
    if manager is None or exception is None:
        return 0
    try:
        actions.do_estimate(
            manager, exception, method="average_last_three", reason="表计倒走，按近三期平均估抄"
        )
    except GridcareError:  # a demo without enough history simply has no estimate
        return 0
    return 1
