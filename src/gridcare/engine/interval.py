"""Interval data → TOU registers (分时电量) with a tariff version's schedule.

Why: register meters report kWh per TOU period, but interval (15-minute / hourly) data must first
be summed per period with the tariff's schedule (month × weekday/weekend/holiday × hour) before
:func:`gridcare.engine.rating.rate` can price it.  Holidays come from the business calendar
(法定节假日, 调休): pass ``day_type`` (e.g. built on ``gridcare.engine.calendar``) or a set of
``holidays``.  Amounts are summed in 0.001 kWh integers (each interval rounded half-up first), so
the registers add up exactly to the rounded interval total.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from gridcare.engine.money import QTY_DEC, div_round_half_up_array, scaled_to_decimal
from gridcare.engine.tariff import DAY_TYPES, PERIODS, TariffError, TouSchedule

__all__ = ["default_day_type", "tou_registers"]


def default_day_type(day: date, holidays: Collection[date] = ()) -> str:
    """Holiday if listed, weekend on Saturday and Sunday, otherwise weekday."""
    if day in holidays:
        return "holiday"
    return "weekend" if day.weekday() >= 5 else "weekday"


def tou_registers(
    schedule: TouSchedule,
    first_day: date,
    kwh: np.ndarray,
    *,
    steps_per_hour: int = 4,
    holidays: Collection[date] = (),
    day_type: Callable[[date], str] | None = None,
) -> dict[str, Decimal]:
    """Sum interval kWh (starting at 00:00 of ``first_day``, whole days) per TOU period.

    ``kwh`` holds the energy of each interval (not kW).  Returns kWh per period used by the
    schedule, as exact decimals with three places, ready for ``Usage.energy_kwh``.
    """
    values = np.asarray(kwh, dtype=np.float64)
    per_day = 24 * steps_per_hour
    if values.ndim != 1 or values.size % per_day:
        raise TariffError(f"interval data must cover whole days: {values.size} values, {per_day} per day")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise TariffError("interval data must be finite and non-negative")
    days = values.size // per_day
    table = schedule.as_array()  # (12, 3, 24)
    classify = day_type or (lambda d: default_day_type(d, holidays))
    rows = []
    for i in range(days):
        d = first_day + timedelta(days=i)
        kind = classify(d)
        if kind not in DAY_TYPES:
            raise TariffError(f"day_type returned {kind!r} for {d}; expected one of {DAY_TYPES}")
        rows.append(table[d.month - 1, DAY_TYPES.index(kind)])
    hour_period = np.array(rows, dtype=np.int64)  # (days, 24)
    period = np.repeat(hour_period, steps_per_hour, axis=1).ravel()
    # each interval half-up to 0.001 kWh (quantities, not money), then exact integer sums
    scaled = div_round_half_up_array(np.rint(values * 10**QTY_DEC * 1000).astype(np.int64), 1000)
    sums = np.zeros(len(PERIODS), dtype=np.int64)
    np.add.at(sums, period, scaled)
    used = sorted(set(period.tolist()))
    return {PERIODS[p]: scaled_to_decimal(int(sums[p]), QTY_DEC) for p in used}
