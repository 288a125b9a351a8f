"""Demo 15-minute data (负荷曲线) for the large customers, ingested through the real ingest action.

Shapes: the hourly 8760 normalised load profiles of DOE commercial reference buildings in ``shared/data/loads``
(REopt.jl, Apache-2.0: see its LICENSE file there; each profile sums to 1 over the year). Each large customer
(non-residential, capacity ≥ ``DEMO_MIN_KVA``) gets one building type; its hourly kWh is the shape × its
expected annual energy (12 × expected monthly kWh, or capacity × ``DEMO_LOAD_FACTOR`` × 8760 h when none is
recorded; its peak hour kept within 80 % of the capacity), split into quarter-hours with a little noise. A few gaps, a missing day and a spike are left in so
the checks find something for the load manager.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from django.utils import timezone

from gridcare import paths
from gridcare.customers.models import ServicePoint
from gridcare.metering.models import Meter
from gridcare.org.models import User
from gridcare.readings.actions.intervals import do_ingest_intervals
from gridcare.readings.models import IntervalDay
from gridcare.readings.store import store_root

#: building types of the reference profiles, assigned to the large customers in turn
#: (the ones whose peak hour is under 3 × their 95th percentile: the office profiles carry start-up hours of up to
#: 55 × it, which the spike check rightly flags on every day)
BUILDINGS = (
    "Hospital",
    "Supermarket",
    "LargeHotel",
    "SecondarySchool",
    "RetailStore",
    "Warehouse",
    "Outpatient",
    "StripMall",
)
CITY = "Chicago"
DEMO_MIN_KVA = 315  # two-part tariff customers (RULES §2): the ones with interval meters
DEMO_MAX_METERS = 12
DEMO_MONTHS = 12
DEMO_LOAD_FACTOR = 0.35
PEAK_OF_CAPACITY = 0.8
NOISE = 0.03  # ± share of each quarter-hour


def loads_dir() -> Path:
    """``GRIDCARE_LOADS_DIR``, else ``shared/data/loads`` beside the checkout (the project's reference data)."""
    configured = os.environ.get("GRIDCARE_LOADS_DIR")
    if configured:
        return Path(configured)
    root = paths.checkout_dir()
    candidates = [root.parent / "shared" / "data" / "loads"] if root else []
    candidates.append(Path("/work/shared/data/loads"))
    return next((c for c in candidates if c.is_dir()), candidates[0])


def _shape(building: str) -> np.ndarray:
    values = np.loadtxt(loads_dir() / f"crb8760_norm_{CITY}_{building}.dat")
    return values / values.sum()


def _large_meters() -> list[Meter]:
    points = ServicePoint.objects.filter(capacity_kva__gte=DEMO_MIN_KVA).exclude(customer_class="residential")
    return list(
        Meter.objects.filter(status=Meter.Status.INSTALLED, service_point__in=points)
        .select_related("service_point")
        .order_by("-service_point__capacity_kva", "pk")[:DEMO_MAX_METERS]
    )


def _quarters(first: dt.date, last: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """Every local quarter-hour start from ``first`` 00:00 to ``last`` 23:45 (naive local datetimes) and the
    hour of the year (0–8759) each falls in."""
    days = (last - first).days + 1
    starts = np.datetime64(first.isoformat(), "m") + np.arange(days * 96) * np.timedelta64(15, "m")
    year_start = starts.astype("datetime64[Y]").astype("datetime64[m]")
    hour = ((starts - year_start) // np.timedelta64(60, "m")).astype(np.int64)
    return starts, np.minimum(hour, 8759)  # a leap year's last day uses the profile's last day


def _series(
    rng: np.random.Generator, meter: Meter, building: str, starts: np.ndarray, hours: np.ndarray
) -> np.ndarray:
    point = meter.service_point
    assert point is not None
    shape = _shape(building)
    annual = float(point.expected_monthly_kwh) * 12 or float(point.capacity_kva) * DEMO_LOAD_FACTOR * 8760
    # the building's peak hour stays within PEAK_OF_CAPACITY of the transformer (a real customer's does)
    annual = min(annual, float(point.capacity_kva) * PEAK_OF_CAPACITY / float(shape.max()))
    quarter = shape[hours] * annual / 4
    return np.round(quarter * rng.uniform(1 - NOISE, 1 + NOISE, quarter.size), 3)


def _stale_store() -> str:
    """A store left by an earlier demo database (``demo --reset``) would be read as this one's: move it aside."""
    root = store_root()
    if IntervalDay.objects.exists() or not any(root.glob("month=*")):
        return ""
    aside = root.with_name(f"{root.name}.stale-{int(time.time())}")
    root.rename(aside)
    return f" (an earlier demo's store moved to {aside.name})"


def load_interval_demo(actor: User, today: dt.date | None = None) -> str:
    """15-minute data for the large customers over the last :data:`DEMO_MONTHS` months (to yesterday), through
    :func:`~gridcare.readings.actions.intervals.do_ingest_intervals`; one line of summary."""
    if IntervalDay.objects.exists():
        return "readings: interval demo data already present"
    meters = _large_meters()
    if not meters:
        return "readings: no large customers with meters — no interval data"
    if not loads_dir().is_dir():
        return f"readings: no load shapes at {loads_dir()} (set GRIDCARE_LOADS_DIR) — no interval data"
    moved = _stale_store()
    today = today or timezone.localdate()
    last = today - dt.timedelta(days=1)
    first = dt.date(today.year - 1, today.month, 1)
    starts, hours = _quarters(first, last)
    rng = np.random.default_rng(2026)
    frames = []
    for index, meter in enumerate(meters):
        kwh = _series(rng, meter, BUILDINGS[index % len(BUILDINGS)], starts, hours)
        keep = np.ones(kwh.size, dtype=bool)
        if index % 4 == 1:  # a two-hour gap on a day of last month (采集缺点)
            gap = kwh.size - (20 + index) * 96 + 40
            keep[gap : gap + 8] = False
        if index == 2:  # a whole day missing (集中器离线)
            keep[kwh.size - 10 * 96 : kwh.size - 9 * 96] = False
        if index == 0:  # a spike (尖峰异常)
            kwh[kwh.size - 5 * 96 + 44] = round(float(kwh.max()) * 8, 3)
        frames.append(
            pl.DataFrame(
                {
                    "meter": [meter.asset_no] * int(keep.sum()),
                    "ts": starts[keep].astype("datetime64[ms]"),
                    "kwh": kwh[keep],
                }
            )
        )
    result = do_ingest_intervals(actor, pl.concat(frames), source="demo", name="负荷曲线演示数据")
    counts: dict[str, Any] = result.counts()
    return (
        f"readings: 15-minute data of {len(meters)} large customers, {counts['written']:,} reads, "
        f"{counts['meter_days']:,} meter-days ({counts['meter_days_with_problems']} with problems){moved}"
    )
