"""OpenEI Utility Rate Database (URDB) tariffs: import and bill a year of interval load.

Why: international / benchmark tariffs come as URDB JSON, and NREL PySAM ``Utilityrate5`` is the
reference implementation.  Energy and demand charges are billed exactly as SAM does (checked
against PySAM in the tests); fixed and minimum charges are billed as a real bill is.

Semantics (see ``docs/tariffs.md`` for the full list and the deviations from PySAM)
----------------------------------------------------------------------------------
* The load is one year of kW values, hourly (8760) or sub-hourly (e.g. 35040 = 15 min); the year
  starts on a **Monday** and has 365 days (as SAM assumes); Saturday and Sunday use the weekend
  schedules.  Energy per step = kW × step length (h).
* Energy (``energyratestructure`` + 12×24 weekday/weekend schedules): per month, kWh per TOU
  period; tier limits apply to the **month's total kWh, shared across periods**: the kWh in tier
  *t* of the month are allocated to each period in proportion to the period's share of the
  month's kWh (SAM: ``use[p, t] = E_p / E × (min(E, max_t) − max_{t−1})``), then priced at that
  period's tier rate.  ``rate + adj`` is the price.  ``kWh daily`` limits are × days of the month.
  Tier limits that differ between periods *within a month* have no shared-tier meaning: refused.
* ``kWh/kW`` and ``kWh/kW daily`` energy tiers (hours-use-of-demand blocks, as large-power tariffs use): the
  limit of such a tier is × the month's peak kW (the month's maximum of the load; daily: × days as well), and
  ``kWh`` tiers after it are steps *within* that block, as SAM's block-step rule has it
  (``rate_data::init_energy_rates``): walking the tiers, a ``kWh/kW`` tier followed by ``kWh`` steps opens a
  block and bills nothing itself; a step below the block's limit ends at its own ``max``; the first step that
  reaches the block's limit ends there and the block's further steps are skipped; a ``kWh/kW`` tier followed by
  another ``kWh/kW`` tier (or last) is a tier of its own up to its limit.  The first tier must be ``kWh/kW``
  (SAM's condition); the last tier kept is open-ended.  The limits depend on each customer's peak, so they
  are computed per customer and month (vectorised over customers).
* TOU demand (``demandratestructure`` + schedules): per month and period, the maximum kW in the
  period, tiered with **that period's own tiers** (SAM refuses tiers that differ between periods
  of a month; where SAM accepts, the result is the same).
* Flat demand (``flatdemandstructure`` + ``flatdemandmonths``): the month's maximum kW, tiered.
* Coincident demand (``coincidentratestructure`` + ``coincidentrateschedule``): the customer's
  kW at the system peak of each month (``system_peaks``: 12 timestep indices); refused if the
  peaks are not given, because URDB does not carry them.
* Fixed: ``fixedchargefirstmeter`` with ``fixedchargeunits`` ``$/month`` per month, ``$/day`` ×
  actual days of the month (PySAM spreads 365/12), ``$/year`` / 12; the older
  ``fixedmonthlycharge`` per month (PySAM's converter ignores it) when the former is absent.
* Minimum: ``minmonthlycharge`` or ``mincharge`` (``$/month``, ``$/day`` × days) is a floor on the
  month's bill (energy + demand + fixed); ``annualmincharge`` or ``mincharge`` in ``$/year`` is a
  floor on the year's bill (including monthly minimum top-ups), topped up in December.
* Money: rates at 1e-15 $, quantities at 1e-9 kWh/kW, products exact (see
  :func:`gridcare.engine.money.mul_trunc_shift`); one line per month and component, rounded
  half-up to the cent once.

Broken tariffs are refused with :class:`UrdbError` naming what is missing.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

from gridcare.engine.arrays import Int64Array
from gridcare.engine.money import (
    URDB_PRICE_DEC,
    URDB_QTY_DEC,
    decimal_exponent,
    decimal_to_scaled,
    div_round_half_up,
    div_round_half_up_array,
    mul_trunc_shift,
    round_half_up_scaled,
    scaled_to_decimal,
)

__all__ = [
    "COMPONENTS",
    "DAYS_IN_MONTH",
    "UrdbBatch",
    "UrdbBill",
    "UrdbError",
    "UrdbLine",
    "UrdbTariff",
    "UrdbTier",
    "bill_urdb",
    "bill_urdb_many",
    "load_urdb",
    "parse_urdb",
]

#: Days of each month in the (non-leap) year SAM bills.
DAYS_IN_MONTH: tuple[int, ...] = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Line components, in bill order.
COMPONENTS: tuple[str, ...] = ("energy", "demand_flat", "demand_tou", "coincident_demand", "fixed", "minimum")
_UNLIMITED = Decimal("1e30")  # URDB writes "no limit" as 1e38 or 9.99e37
_NANO = 9  # amounts are computed in 1e-9 $
_SHIFT = URDB_QTY_DEC + URDB_PRICE_DEC - _NANO


#: energy tier units: kWh of the month, kWh a day (× days), kWh per kW of the month's peak (× peak, × days)
ENERGY_UNITS = ("kwh", "kwh daily", "kwh/kw", "kwh/kw daily")
PER_KW_UNITS = ("kwh/kw", "kwh/kw daily")
DAILY_UNITS = ("kwh daily", "kwh/kw daily")


class UrdbError(ValueError):
    """A URDB tariff (or a billing request) cannot be billed; the message says what is missing."""


@dataclass(frozen=True)
class UrdbTier:
    """One tier: ``limit`` in 1e-9 kWh/kW (None = unlimited), ``rate`` (rate + adj) in 1e-15 $."""

    limit: int | None
    rate: int
    unit: str = "kWh"

    @property
    def rate_decimal(self) -> Decimal:
        return _plain(scaled_to_decimal(self.rate, URDB_PRICE_DEC))


Structure = tuple[tuple[UrdbTier, ...], ...]


@dataclass(frozen=True)
class UrdbTariff:
    """A validated URDB tariff, ready to bill."""

    name: str
    energy: Structure
    energy_weekday: np.ndarray
    energy_weekend: np.ndarray
    demand: Structure | None = None
    demand_weekday: np.ndarray | None = None
    demand_weekend: np.ndarray | None = None
    flat: Structure | None = None
    flat_months: tuple[int, ...] | None = None
    coincident: Structure | None = None
    coincident_schedule: np.ndarray | None = None
    fixed_month: int = 0  # 1e-9 $ per month
    fixed_day: int = 0  # 1e-9 $ per day
    fixed_year: int = 0  # 1e-9 $ per year (billed 1/12 a month)
    min_month: int = 0
    min_day: int = 0
    min_year: int = 0
    warnings: tuple[str, ...] = ()
    _plans: dict[int, _Plan] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_fixed(self) -> bool:
        return bool(self.fixed_month or self.fixed_day or self.fixed_year)

    @property
    def has_minimum(self) -> bool:
        return bool(self.min_month or self.min_day or self.min_year)

    def energy_month_limits(self, month: int) -> tuple[int | None, ...]:
        """The month's shared energy tier limits (1e-9 kWh, or 1e-9 kWh/kW; daily units scaled by days)."""
        return _month_limits(self.energy, self.energy_month_periods(month), month)

    def energy_month_periods(self, month: int) -> list[int]:
        return sorted(set(self.energy_weekday[month].tolist()) | set(self.energy_weekend[month].tolist()))

    @property
    def energy_per_kw(self) -> bool:
        """Energy tiers in kWh/kW: their limits scale with each customer's monthly peak."""
        return any(t.unit in PER_KW_UNITS for tiers in self.energy for t in tiers)

    def energy_month_per_kw(self, month: int) -> tuple[bool, ...]:
        """Which of the month's shared tiers are kWh/kW blocks (the first period used decides, as in SAM)."""
        first = self.energy[self.energy_month_periods(month)[0]]
        return tuple(t.unit in PER_KW_UNITS for t in first)


# --------------------------------------------------------------------------------------------
# Parsing and validation
# --------------------------------------------------------------------------------------------


def _num(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UrdbError(f"expected a number, got {value!r}")
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise UrdbError(f"expected a number, got {value!r}") from None
    if not d.is_finite():
        raise UrdbError(f"expected a finite number, got {value!r}")
    return d


def _month_list(months: Sequence[int]) -> str:
    return ", ".join(MONTH_NAMES[m] for m in months)


def _structure(doc: Mapping[str, Any], key: str, *, energy: bool) -> Structure:
    raw = doc[key]
    if not isinstance(raw, list) or not raw:
        raise UrdbError(f"{key} is empty: the rates are missing")
    periods: list[tuple[UrdbTier, ...]] = []
    for p, period in enumerate(raw):
        if not isinstance(period, list) or not period:
            raise UrdbError(f"{key}[{p}] has no tiers: the rate of period {p} is missing")
        tiers: list[UrdbTier] = []
        for t, tier in enumerate(period):
            where = f"{key}[{p}][{t}]"
            if not isinstance(tier, Mapping):
                raise UrdbError(f"{where} is not an object")
            if "rate" not in tier or tier["rate"] is None:
                raise UrdbError(f"{where} has no 'rate': the rate of period {p}, tier {t} is missing")
            rate = _num(tier["rate"]) + _num(tier.get("adj") or 0)
            unit = str(tier.get("unit") or ("kWh" if energy else "kW"))
            if energy and unit.lower() not in ENERGY_UNITS:
                raise UrdbError(
                    f"{where} unit {unit!r} is not supported (only 'kWh', 'kWh daily', 'kWh/kW', 'kWh/kW daily')"
                )
            if not energy and unit.lower() != "kw":
                raise UrdbError(f"{where} unit {unit!r} is not supported (only 'kW')")
            limit: int | None = None
            if tier.get("max") is not None:
                m = _num(tier["max"])
                if m < 0:
                    raise UrdbError(f"{where} has a negative 'max'")
                if m < _UNLIMITED:
                    limit = decimal_to_scaled(m, URDB_QTY_DEC, exact=False)
            if limit is None and t < len(period) - 1:
                raise UrdbError(f"{where} has no 'max' but is not the last tier of period {p}")
            same_kind = not tiers or (tiers[-1].unit in PER_KW_UNITS) == (unit.lower() in PER_KW_UNITS)
            if (
                same_kind
                and tiers
                and limit is not None
                and tiers[-1].limit is not None
                and limit <= tiers[-1].limit
            ):
                raise UrdbError(f"{where} 'max' must be larger than the previous tier's")
            tiers.append(
                UrdbTier(
                    limit=limit, rate=decimal_to_scaled(rate, URDB_PRICE_DEC, exact=False), unit=unit.lower()
                )
            )
        if energy and any(t.unit in PER_KW_UNITS for t in tiers) and tiers[0].unit not in PER_KW_UNITS:
            raise UrdbError(
                f"{key}[{p}]: the first tier must be in 'kWh/kW' (or 'kWh/kW daily') when the period has kWh/kW "
                "tiers — its kWh tiers are steps within the kWh/kW blocks (as SAM bills them)"
            )
        # the last tier is open-ended on a real bill, even when URDB writes a (huge) 'max' on it
        tiers[-1] = UrdbTier(limit=None, rate=tiers[-1].rate, unit=tiers[-1].unit)
        periods.append(tuple(tiers))
    return tuple(periods)


def _schedule(doc: Mapping[str, Any], key: str, structure_key: str, n_periods: int) -> np.ndarray:
    if key not in doc or doc[key] is None:
        raise UrdbError(f"{key} is missing (needed with {structure_key})")
    raw = doc[key]
    if (
        not isinstance(raw, list)
        or len(raw) != 12
        or any(not isinstance(r, list) or len(r) != 24 for r in raw)
    ):
        raise UrdbError(f"{key} must be 12 months × 24 hours")
    try:
        arr = np.array([[float(v) for v in row] for row in raw])
    except (TypeError, ValueError) as exc:
        raise UrdbError(f"{key} has a non-numeric entry") from exc
    if np.any(arr != np.round(arr)) or np.any(arr < 0):
        raise UrdbError(f"{key} entries must be non-negative period indices")
    sched = arr.astype(np.int64)
    bad = sorted(set(sched[sched >= n_periods].tolist()))
    for p in bad:
        months = sorted({m for m in range(12) if p in sched[m]})
        raise UrdbError(
            f"{key} uses period {p} (in {_month_list(months)}) but {structure_key} defines only "
            f"{n_periods} period(s) (0..{n_periods - 1}): the rate for period {p} is missing"
        )
    return sched


def _month_limits(structure: Structure, periods: Sequence[int], month: int) -> tuple[int | None, ...]:
    """Shared tier limits of a month; refuses periods whose limits differ (no shared meaning)."""
    reference: tuple[int | None, ...] | None = None
    reference_units: tuple[bool, ...] = ()
    ref_period = -1
    for p in periods:
        limits = tuple(
            None
            if t.limit is None
            else (t.limit * DAYS_IN_MONTH[month] if t.unit in DAILY_UNITS else t.limit)
            for t in structure[p]
        )
        per_kw = tuple(t.unit in PER_KW_UNITS for t in structure[p])
        if reference is not None and per_kw != reference_units:
            raise UrdbError(
                f"energyratestructure: in {MONTH_NAMES[month]} periods {ref_period} and {p} have tiers in "
                "different units (kWh/kW and kWh); all periods used in a month must share the tier breakdown"
            )
        if reference is None:
            reference, reference_units, ref_period = limits, per_kw, p
        elif limits != reference:

            def show(lims: tuple[int | None, ...], units: tuple[bool, ...] = reference_units) -> str:
                return (
                    "["
                    + ", ".join(
                        "no limit"
                        if x is None
                        else f"{scaled_to_decimal(x, URDB_QTY_DEC).normalize():f} {'kWh/kW' if kw else 'kWh'}"
                        for x, kw in zip(lims, units, strict=True)
                    )
                    + "]"
                )

            raise UrdbError(
                f"energyratestructure: in {MONTH_NAMES[month]} period {ref_period} has tier limits {show(reference)} "
                f"but period {p} has {show(limits)}; tiers apply to the month's total kWh shared across periods, "
                "so all periods used in a month must have the same tier limits"
            )
    return reference or (None,)


def parse_urdb(doc: Mapping[str, Any]) -> UrdbTariff:
    """Validate a URDB tariff object (API v7/v8 fields) and build a :class:`UrdbTariff`."""
    if not isinstance(doc, Mapping):
        raise UrdbError("a URDB tariff is a JSON object")
    if "items" in doc and isinstance(doc["items"], list):
        if len(doc["items"]) != 1:
            raise UrdbError(f"expected one tariff in 'items', found {len(doc['items'])}")
        doc = doc["items"][0]
    warnings: list[str] = []
    name = str(doc.get("name") or doc.get("label") or "URDB tariff")

    for key in ("lookbackpercent", "lookbackrange"):
        if doc.get(key) and _num(doc[key]) != 0:
            raise UrdbError(f"demand ratchets ({key} = {doc[key]}) are not supported")
    if any(_num(v) != 0 for v in (doc.get("demandratchetpercentage") or [])):
        raise UrdbError("demand ratchets (demandratchetpercentage) are not supported")
    for key in ("fueladjustmentsmonthly", "energyfueladjustmentsmonthly"):
        if any(_num(v) != 0 for v in (doc.get(key) or [])):
            raise UrdbError(f"{key} (monthly fuel adjustments) is not supported")
    if doc.get("demandreactivepowercharge") and _num(doc["demandreactivepowercharge"]) != 0:
        raise UrdbError("demandreactivepowercharge (reactive power charge) is not supported")
    for key in ("demandrateunit", "flatdemandunit", "coincidentrateunit"):
        if doc.get(key) not in (None, "", "kW"):
            raise UrdbError(f"{key} {doc[key]!r} is not supported (only 'kW')")

    if "energyratestructure" not in doc or doc["energyratestructure"] is None:
        raise UrdbError("energyratestructure is missing: the energy rates are missing")
    energy = _structure(doc, "energyratestructure", energy=True)
    e_wd = _schedule(doc, "energyweekdayschedule", "energyratestructure", len(energy))
    e_we = _schedule(doc, "energyweekendschedule", "energyratestructure", len(energy))
    for m in range(12):
        periods = sorted(set(e_wd[m].tolist()) | set(e_we[m].tolist()))
        _month_limits(energy, periods, m)

    demand = d_wd = d_we = None
    if doc.get("demandratestructure") is not None:
        demand = _structure(doc, "demandratestructure", energy=False)
        d_wd = _schedule(doc, "demandweekdayschedule", "demandratestructure", len(demand))
        d_we = _schedule(doc, "demandweekendschedule", "demandratestructure", len(demand))
    elif doc.get("demandweekdayschedule") is not None:
        warnings.append("demand schedules without demandratestructure are ignored")

    flat = flat_months = None
    if doc.get("flatdemandstructure") is not None or doc.get("flatdemandmonths") is not None:
        if doc.get("flatdemandstructure") is None:
            raise UrdbError("flatdemandstructure is missing (flatdemandmonths refers to it)")
        if doc.get("flatdemandmonths") is None:
            raise UrdbError("flatdemandmonths is missing (needed with flatdemandstructure)")
        flat = _structure(doc, "flatdemandstructure", energy=False)
        fm = doc["flatdemandmonths"]
        if not isinstance(fm, list) or len(fm) != 12:
            raise UrdbError("flatdemandmonths must list 12 months")
        flat_months = tuple(int(float(v)) for v in fm)
        for m, p in enumerate(flat_months):
            if not 0 <= p < len(flat):
                raise UrdbError(
                    f"flatdemandmonths uses period {p} in {MONTH_NAMES[m]} but flatdemandstructure defines only "
                    f"{len(flat)} period(s): the flat demand rate for period {p} is missing"
                )

    coincident = c_sched = None
    if doc.get("coincidentratestructure") is not None:
        coincident = _structure(doc, "coincidentratestructure", energy=False)
        c_sched = _schedule(doc, "coincidentrateschedule", "coincidentratestructure", len(coincident))

    def money(key: str) -> int:
        return decimal_to_scaled(_num(doc[key]), _NANO, exact=False)

    fixed_month = fixed_day = fixed_year = 0
    if doc.get("fixedchargefirstmeter") not in (None, 0):
        units = doc.get("fixedchargeunits")
        if units is None:
            raise UrdbError("fixedchargeunits is missing (needed with fixedchargefirstmeter)")
        if units == "$/month":
            fixed_month = money("fixedchargefirstmeter")
        elif units == "$/day":
            fixed_day = money("fixedchargefirstmeter")
        elif units == "$/year":
            fixed_year = money("fixedchargefirstmeter")
        else:
            raise UrdbError(f"fixedchargeunits {units!r} is not supported ($/month, $/day, $/year)")
        if doc.get("fixedmonthlycharge") not in (None, 0):
            warnings.append("fixedmonthlycharge ignored: fixedchargefirstmeter is given")
    elif doc.get("fixedmonthlycharge") not in (None, 0):
        fixed_month = money("fixedmonthlycharge")

    min_month = min_day = min_year = 0
    if doc.get("minmonthlycharge") not in (None, 0):
        min_month = money("minmonthlycharge")
    if doc.get("mincharge") not in (None, 0):
        units = doc.get("minchargeunits")
        if units is None:
            raise UrdbError("minchargeunits is missing (needed with mincharge)")
        if units == "$/month":
            min_month = max(min_month, money("mincharge"))
        elif units == "$/day":
            min_day = money("mincharge")
        elif units == "$/year":
            min_year = money("mincharge")
        else:
            raise UrdbError(f"minchargeunits {units!r} is not supported ($/month, $/day, $/year)")
    if doc.get("annualmincharge") not in (None, 0):
        min_year = max(min_year, money("annualmincharge"))

    return UrdbTariff(
        name=name,
        energy=energy,
        energy_weekday=e_wd,
        energy_weekend=e_we,
        demand=demand,
        demand_weekday=d_wd,
        demand_weekend=d_we,
        flat=flat,
        flat_months=flat_months,
        coincident=coincident,
        coincident_schedule=c_sched,
        fixed_month=fixed_month,
        fixed_day=fixed_day,
        fixed_year=fixed_year,
        min_month=min_month,
        min_day=min_day,
        min_year=min_year,
        warnings=tuple(warnings),
    )


def load_urdb(path: str | Path) -> UrdbTariff:
    """Read and validate a URDB JSON file (numbers kept exact as decimals)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise UrdbError(f"{p}: cannot read ({exc.strerror})") from exc
    try:
        doc = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise UrdbError(f"{p}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    try:
        return parse_urdb(doc)
    except UrdbError as exc:
        raise UrdbError(f"{p}: {exc}") from exc


# --------------------------------------------------------------------------------------------
# Calendar of the billing year (Monday start, 365 days)
# --------------------------------------------------------------------------------------------


@cache
def _day_tables() -> tuple[np.ndarray, np.ndarray]:
    """Month (0–11) and weekend flag of each day of SAM's 365-day year, which starts on a Monday."""
    month = np.repeat(np.arange(12), DAYS_IN_MONTH).astype(np.int64)
    weekend = ((np.arange(365) % 7) >= 5).astype(np.int64)
    return month, weekend


@njit(cache=True, nogil=True, boundscheck=False)
def _aggregate_kernel(
    loads: np.ndarray,
    slots: int,
    day_month: np.ndarray,
    day_weekend: np.ndarray,
    g_sum: np.ndarray,
    g_max: np.ndarray,
    maxima: bool,
) -> float:
    """One pass over each customer's year: sum, maximum and minimum together, so the load is read once.

    The days of a month are consecutive, so the month's sums and maxima build up in two small
    local rows (weekday slots, then weekend slots) that stay in cache and are written out when
    the month changes.  Each slot's sum adds the days in order, as before.  A NaN in the load
    makes its sums NaN, which the caller refuses.
    """
    width = 2 * slots
    acc = np.zeros(width)
    peak = np.full(width, -np.inf)
    lowest = np.inf
    for c in range(loads.shape[0]):
        month = day_month[0]
        for d in range(366):  # day 365 only closes December
            if d == 365 or day_month[d] != month:
                for j in range(width):
                    g_sum[month, c, j] = acc[j]
                    acc[j] = 0.0
                    if maxima:
                        g_max[month, c, j] = peak[j]
                        peak[j] = -np.inf
                if d == 365:
                    break
                month = day_month[d]
            off = day_weekend[d] * slots
            base = d * slots
            for s in range(slots):
                v = loads[c, base + s]
                acc[off + s] += v
                lowest = v if v < lowest else lowest
                if maxima:
                    top = peak[off + s]
                    peak[off + s] = v if v > top else top
    return lowest


@njit(cache=True, nogil=True, boundscheck=False)
def _demand_peaks_kernel(g_max: np.ndarray, slot_period: np.ndarray, n_tou: int, flat: bool) -> np.ndarray:
    """(12, D, N) maximum kW per demand "period": the TOU periods (0 where a period has no slot
    in the month; the load is ≥ 0), then the whole month if there is flat demand."""
    n = g_max.shape[1]
    out = np.zeros((12, n_tou + (1 if flat else 0), n))
    for m in range(12):
        for c in range(n):
            for j in range(g_max.shape[2]):
                v = g_max[m, c, j]
                p = slot_period[m, j]
                if p >= 0 and v > out[m, p, c]:
                    out[m, p, c] = v
                if flat and v > out[m, n_tou, c]:
                    out[m, n_tou, c] = v
    return out


def _aggregate(
    loads: np.ndarray, spd: int, *, maxima: bool = True
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Sums and maxima of kW per (month, customer, weekday slots + weekend slots): two
    (12, N, 2·24·spd) arrays (maxima only if asked), and the smallest value of the load (a NaN
    is not seen there but leaves its sums NaN, which the caller refuses).

    A compiled kernel (Numba) reads each value once and updates the sum, maximum and minimum in the
    same pass — NumPy needs a separate pass (and a gathered copy) for each, and this step is bound
    by memory speed.  The results are month-major, ready for the batched matmul and the
    (12, …, N) arrays of :func:`bill_urdb_many`.
    """
    n = loads.shape[0]
    slots = 24 * spd
    day_month, day_weekend = _day_tables()
    g_sum = np.zeros((12, n, 2 * slots))
    g_max = np.full((12, n, 2 * slots), -np.inf) if maxima else np.empty((1, 1, 1))
    lowest = _aggregate_kernel(
        np.ascontiguousarray(loads), slots, day_month, day_weekend, g_sum, g_max, maxima
    )
    return g_sum, (g_max if maxima else None), float(lowest)


def _month_of_step(step: int, spd: int) -> int:
    day = step // (24 * spd)
    return int(np.searchsorted(np.cumsum(DAYS_IN_MONTH), day, side="right"))


# --------------------------------------------------------------------------------------------
# Vectorised billing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UrdbBatch:
    """Bills of N customer-years: ``cents[component]`` is an (N, 12) int64 array in cents.

    The quantity arrays behind the lines are kept for explain output: ``energy_kwh`` (N, 12, P)
    per period, ``energy_use`` (N, 12, P, T) kWh per period and tier in 1e-9 kWh,
    ``demand_peak`` (N, 12, Pd) and ``flat_peak`` (N, 12) kW in 1e-9 kW.
    """

    tariff: UrdbTariff
    cents: dict[str, np.ndarray]
    energy_kwh: np.ndarray
    energy_use: np.ndarray
    energy_rates: np.ndarray
    demand_peak: np.ndarray | None
    flat_peak: np.ndarray | None
    coincident_kw: np.ndarray | None
    system_peaks: tuple[int, ...] | None
    bill_before_minimum: np.ndarray

    @property
    def monthly(self) -> np.ndarray:
        """(N, 12) monthly totals in cents."""
        total: Int64Array = functools.reduce(operator.add, self.cents.values())
        return total

    @property
    def annual(self) -> np.ndarray:
        yearly: Int64Array = self.monthly.sum(axis=1)
        return yearly

    @property
    def components(self) -> tuple[str, ...]:
        return tuple(c for c in COMPONENTS if c in self.cents)


def _to_qty(x: np.ndarray) -> np.ndarray:
    """Float kWh/kW → int64 in 1e-9 units (nearest): quantities, not money."""
    quantities: Int64Array = np.rint(x * 10**URDB_QTY_DEC).astype(np.int64)
    return quantities


_BIG = np.int64(2**61)  # "no limit" for integer tier widths


def _tier_table(periods: Sequence[tuple[UrdbTier, ...]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lo, hi, rate) int64 arrays (len(periods), T), padded with empty zero-rate tiers."""
    n_t = max(len(t) for t in periods)
    lo = np.full((len(periods), n_t), _BIG, dtype=np.int64)
    hi = np.full((len(periods), n_t), _BIG, dtype=np.int64)
    rate = np.zeros((len(periods), n_t), dtype=np.int64)
    for p, tiers in enumerate(periods):
        prev = 0
        for t, tier in enumerate(tiers):
            lo[p, t] = prev
            hi[p, t] = _BIG if tier.limit is None else tier.limit
            rate[p, t] = tier.rate
            prev = hi[p, t]
    return lo, hi, rate


def _tiered_nano(q: np.ndarray, lo: np.ndarray, hi: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Σ over the last axis of width × rate (truncated to 1e-9 $); ``q[..., None]`` against tier bounds."""
    width = np.minimum(np.maximum(q[..., None] - lo, 0), hi - lo)
    charged: Int64Array = mul_trunc_shift(width, rate, _SHIFT).sum(axis=-1)
    return charged


_LIMB = 10**9  # base of the limbs of the exact quantity × rate products


@dataclass(frozen=True)
class _Rates:
    """Rates of one (month, item) axis, split for :func:`_mul_rates`: |rate| = hi·10⁹ + lo."""

    hi_k: np.ndarray  # hi · 10^(18 - shift), int64
    hi: np.ndarray
    lo: np.ndarray
    sign: np.ndarray | None  # ±1 where any rate is negative, else None
    largest: int  # max |rate|

    @classmethod
    def build(cls, rates: np.ndarray) -> _Rates:
        mag = np.abs(rates)
        hi, lo = np.divmod(mag, _LIMB)
        return cls(
            hi_k=hi * 10 ** (18 - _SHIFT),
            hi=hi,
            lo=lo,
            sign=np.where(rates < 0, -1, 1).astype(np.int64) if (rates < 0).any() else None,
            largest=int(mag.max()) if mag.size else 0,
        )


def _mul_rates(q: np.ndarray, rates: np.ndarray, split: _Rates) -> np.ndarray:
    """``mul_trunc_shift(q, rates, _SHIFT)`` for quantities ``q`` ≥ 0, with the rates' limbs
    computed once per tariff and two integer divisions instead of four divmods.

    With ``q = q1·B + q0`` and ``|r| = r1·B + r0`` (``B = 10⁹``, shift 15)::

        q·|r| / 10¹⁵ = q1·r1·10³ + (X·10⁹ + Y) / 10¹⁵,   X = q1·r0 + q0·r1,  Y = q0·r0

    and ``floor((X·10⁹ + Y) / 10¹⁵) = floor((X + floor(Y / 10⁹)) / 10⁶)`` (nested floors of a
    non-negative value by integers).  Exact while ``q, |r| < 10¹⁸`` (then X, Y < 2·10¹⁸) and
    ``max q · max |r| < 9·10³³`` (the result fits in int64); otherwise :func:`mul_trunc_shift`
    decides (it raises when the product does not fit).  Truncation toward zero = sign × floor.
    """
    top = int(q.max()) if q.size else 0
    if top >= 10**18 or split.largest >= 10**18 or top * split.largest >= 9 * 10**33:
        return mul_trunc_shift(q, rates, _SHIFT)
    q1 = q // _LIMB
    q0 = q - q1 * _LIMB
    x = q1 * split.lo
    x += q0 * split.hi
    x += (q0 * split.lo) // _LIMB
    x //= 10 ** (_SHIFT - 9)
    x += q1 * split.hi_k
    signed: Int64Array = x if split.sign is None else x * split.sign
    return signed


@dataclass(frozen=True)
class _Plan:
    """Everything about a tariff that does not depend on the load, for one time resolution.

    Slots are those of :func:`_aggregate`: weekday time slots, then weekend time slots.  Billing runs on (12 months, item, N customers) arrays, customers innermost, so that
    every sum over items is a sum of long rows.  Items (axis 1 of ``rates``): the energy
    (period, tier) pairs, then the demand (period, tier) pairs, TOU periods first and the flat
    "period" (the whole month) last, each padded to the same number of tiers.
    """

    e_onehot_t: np.ndarray  # (12, P, 2S) energy period of each slot, for one batched matmul
    e_lo: np.ndarray  # (12, T, 1) kWh, float (tier allocation follows SAM in float)
    e_width: np.ndarray  # (12, T, 1)
    e_rates: np.ndarray  # (12, P, T) int64, 1e-15 $
    #: kWh/kW tariffs: per month, each tier's limit (kWh or kWh/kW, daily × days; inf = none) and whether it is
    #: a kWh/kW block — the bounds are computed per customer from its peak (:func:`_per_kw_bounds`)
    e_per_kw: tuple[tuple[tuple[float, bool], ...], ...] | None
    has_demand: bool  # any TOU or flat demand: the maxima are aggregated only then
    d_slot_period: np.ndarray  # (12, 2S) int64 TOU demand period of each slot (-1: none)
    n_tou: int  # TOU demand periods (the first ``n_tou`` of D)
    has_flat: bool  # D = n_tou + 1, the last "period" being the whole month
    d_lo: np.ndarray | None  # (12, D, Td, 1) int64 tier bounds of each demand "period", 1e-9 kW
    d_width: np.ndarray | None  # (12, D, Td, 1)
    rates: np.ndarray  # (12, P·T + D·Td, 1) int64, 1e-15 $
    split: _Rates


def _plan(tariff: UrdbTariff, spd: int) -> _Plan:
    cached = tariff._plans.get(spd)
    if cached is not None:
        return cached
    hour_of_slot = np.arange(24 * spd) // spd

    def slot_periods(wd: np.ndarray, we: np.ndarray) -> np.ndarray:
        """(12, 2S) period of each weekday slot, then of each weekend slot."""
        return np.concatenate([wd[:, hour_of_slot], we[:, hour_of_slot]], axis=1)

    n_p = len(tariff.energy)
    e_onehot_t = (
        slot_periods(tariff.energy_weekday, tariff.energy_weekend)[:, None, :] == np.arange(n_p)[:, None]
    ).astype(np.float64)
    limits = [tariff.energy_month_limits(m) for m in range(12)]
    n_t = max(len(lims) for lims in limits)
    e_lo = np.full((12, n_t), 1e300)
    e_hi = np.full((12, n_t), 1e300)
    e_rates = np.zeros((12, n_p, n_t), dtype=np.int64)
    for m, lims in enumerate(limits):
        prev = 0.0
        for t, lim in enumerate(lims):
            e_lo[m, t] = prev
            e_hi[m, t] = np.inf if lim is None else lim / 10**URDB_QTY_DEC
            prev = e_hi[m, t]
        for p, tiers in enumerate(tariff.energy):
            if len(tiers) == len(lims):  # periods used in the month (checked consistent at import)
                e_rates[m, p, : len(tiers)] = [t.rate for t in tiers]

    # demand "periods": the TOU periods, then the whole month for flat demand
    d_slot_period = np.full((12, 2 * 24 * spd), -1, dtype=np.int64)
    tables: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (12, ·, T) each
    n_tou = 0
    if tariff.demand is not None and tariff.demand_weekday is not None and tariff.demand_weekend is not None:
        n_tou = len(tariff.demand)
        d_slot_period = slot_periods(tariff.demand_weekday, tariff.demand_weekend)
        lo, hi, rate = _tier_table(tariff.demand)  # (Pd, Td), the same every month
        tables.append(
            (
                np.broadcast_to(lo, (12, *lo.shape)),
                np.broadcast_to(hi, (12, *hi.shape)),
                np.broadcast_to(rate, (12, *rate.shape)),
            )
        )
    if tariff.flat is not None and tariff.flat_months is not None:
        lo, hi, rate = _tier_table([tariff.flat[p] for p in tariff.flat_months])  # (12, Tf)
        tables.append((lo[:, None, :], hi[:, None, :], rate[:, None, :]))
    d_lo = d_width = None
    rates = [e_rates.reshape(12, -1)]
    if tables:
        n_td = max(t[0].shape[2] for t in tables)

        def pad(x: np.ndarray, fill: int) -> np.ndarray:
            return np.concatenate(
                [x, np.full((*x.shape[:2], n_td - x.shape[2]), fill, dtype=np.int64)], axis=2
            )

        lo = np.concatenate([pad(t[0], int(_BIG)) for t in tables], axis=1)  # (12, D, Td)
        hi = np.concatenate([pad(t[1], int(_BIG)) for t in tables], axis=1)
        d_lo, d_width = lo[..., None], (hi - lo)[..., None]
        rates.append(np.concatenate([pad(t[2], 0) for t in tables], axis=1).reshape(12, -1))
    all_rates = np.ascontiguousarray(np.concatenate(rates, axis=1)[:, :, None])
    e_per_kw = None
    if tariff.energy_per_kw:
        e_per_kw = tuple(
            tuple(
                (np.inf if lim is None else lim / 10**URDB_QTY_DEC, kw)
                for lim, kw in zip(limits[m], tariff.energy_month_per_kw(m), strict=True)
            )
            for m in range(12)
        )
    plan = _Plan(
        e_onehot_t=e_onehot_t,
        e_lo=e_lo[:, :, None],
        e_width=(e_hi - e_lo)[:, :, None],
        e_rates=e_rates,
        e_per_kw=e_per_kw,
        has_demand=bool(tables),
        d_slot_period=np.ascontiguousarray(d_slot_period),
        n_tou=n_tou,
        has_flat=tariff.flat is not None and tariff.flat_months is not None,
        d_lo=d_lo,
        d_width=d_width,
        rates=all_rates,
        split=_Rates.build(all_rates),
    )
    tariff._plans[spd] = plan
    return plan


def _per_kw_bounds(
    months: tuple[tuple[tuple[float, bool], ...], ...], peak: np.ndarray, n_t: int
) -> tuple[np.ndarray, np.ndarray]:
    """(lo, width) of every tier, month and customer (12, T, N) kWh for kWh/kW tiers: SAM's block-step walk
    (``rate_data::init_energy_rates``) done for all customers at once from their monthly peaks ``peak`` (12, N).

    A tier SAM leaves out has width 0 (its rate is never used); the tiers SAM keeps follow each other from 0 and
    the last one kept is open-ended, so the month's kWh are allocated to them as to fixed tiers."""
    n = peak.shape[1]
    lo = np.zeros((12, n_t, n))
    width = np.zeros((12, n_t, n))
    everyone = np.arange(n)
    for m, tiers in enumerate(months):
        f = peak[m]
        blocks = np.array(
            [np.full(n, np.inf) if np.isinf(lim) else lim * f for lim, kw in tiers if kw]
        )  # (K, N)
        block = np.zeros(n, dtype=np.int64)
        last = np.full(n, -np.inf)  # the last limit kept (-inf: none yet)
        kept = np.zeros((len(tiers), n), dtype=bool)
        for i, (lim, kw) in enumerate(tiers):
            current = blocks[block, everyone]
            if kw:
                own = np.full(n, np.inf) if np.isinf(lim) else lim * f
                block = block + ((current < own) & (block + 1 < len(blocks)))
                current = blocks[block, everyone]
                if i + 1 < len(tiers) and not tiers[i + 1][1]:
                    continue  # the block's kWh steps follow: they carry its rates
                add = np.ones(n, dtype=bool)
                value = current
            else:
                below = lim < current
                add = below | (last < current)
                value = np.where(below, lim, current)
            start = np.maximum(last, 0.0)
            lo[m, i] = np.where(add, start, 0.0)
            with np.errstate(invalid="ignore"):
                width[m, i] = np.where(add, np.maximum(value - start, 0.0), 0.0)
            kept[i] = add
            last = np.where(add, np.maximum(value, last), last)
        final = len(tiers) - 1 - np.argmax(kept[::-1], axis=0)  # the last tier kept is open-ended
        width[m, final, everyone] = np.inf
    return lo, width


def bill_urdb_many(
    tariff: UrdbTariff, loads: np.ndarray, *, system_peaks: Sequence[int] | None = None
) -> UrdbBatch:
    """Bill N customer-years at once: ``loads`` is (N, 8760·k) kW, k steps per hour.

    All customers share the tariff.  The load is aggregated once (sums and maxima per month ×
    day type × time slot); every charge is then a small array operation on (12, …, N)
    arrays, and the money of all energy and demand items is one exact integer product.
    """
    loads = np.asarray(loads, dtype=np.float64)
    if loads.ndim == 1:
        loads = loads[None, :]
    n, steps = loads.shape
    if steps == 0 or steps % 8760:
        raise UrdbError(f"a load year has 8760 × k values (8760 hourly, 35040 at 15 minutes), got {steps}")
    spd = steps // 8760
    plan = _plan(tariff, spd)
    g_sum, g_max, lowest = _aggregate(loads, spd, maxima=plan.has_demand or plan.e_per_kw is not None)

    # ---- energy: kWh per (month, period); month tiers shared across periods by share (SAM)
    kwh = np.matmul(plan.e_onehot_t, g_sum.transpose(0, 2, 1))  # (12, P, N)
    if spd != 1:
        kwh /= spd
    total = kwh.sum(axis=1)  # (12, N); not finite if any load value is not
    if not np.isfinite(total).all():
        raise UrdbError("the load has non-finite values")
    if lowest < 0:
        raise UrdbError("the load has negative values (exports / net metering are not modelled)")
    e_lo, e_width = plan.e_lo, plan.e_width
    if plan.e_per_kw is not None:
        assert g_max is not None
        e_lo, e_width = _per_kw_bounds(plan.e_per_kw, g_max.max(axis=2), e_lo.shape[1])  # (12, T, N)
    widths = np.minimum(np.maximum(total[:, None, :] - e_lo, 0.0), e_width)  # (12, T, N)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total[:, None, :] > 0, kwh / total[:, None, :], 0.0)
    use = _to_qty(share[:, :, None, :] * widths[:, None, :, :])  # (12, P, T, N)
    n_energy = use.shape[1] * use.shape[2]
    quantities = use.reshape(12, n_energy, n)

    # ---- demand: each period's maximum kW in the month (the last "period" is the month, if flat)
    peak = None
    if g_max is not None and plan.d_lo is not None and plan.d_width is not None:
        kw = _demand_peaks_kernel(g_max, plan.d_slot_period, plan.n_tou, plan.has_flat)  # (12, D, N)
        peak = _to_qty(kw)
        d_widths = np.minimum(np.maximum(peak[:, :, None, :] - plan.d_lo, 0), plan.d_width)  # (12, D, Td, N)
        quantities = np.concatenate([quantities, d_widths.reshape(12, -1, n)], axis=1)

    # ---- money: every (month, item, customer) product exact, summed per line, rounded once
    nano = _mul_rates(quantities, plan.rates, plan.split)  # (12, items, N) 1e-9 $
    sums = [nano[:, :n_energy].sum(axis=1)]
    demand_peak = flat_peak = None
    if peak is not None and plan.d_lo is not None:
        n_td = plan.d_lo.shape[2]
        d_nano = nano[:, n_energy:].reshape(12, -1, n_td, n).sum(axis=2)  # (12, D, N)
        if plan.n_tou:
            demand_peak = peak[:, : plan.n_tou].transpose(2, 0, 1)  # (N, 12, Pd)
            sums.append(d_nano[:, : plan.n_tou].sum(axis=1))
        if peak.shape[1] > plan.n_tou:
            flat_peak = peak[:, -1].T  # (N, 12)
            sums.append(d_nano[:, -1])
    lines = round_half_up_scaled(np.stack(sums), _NANO, 2)  # (C, 12, N)
    cents: dict[str, np.ndarray] = {"energy": lines[0].T}
    if flat_peak is not None:
        cents["demand_flat"] = lines[-1].T
    if demand_peak is not None:
        cents["demand_tou"] = lines[1].T
    energy_kwh = kwh.transpose(2, 0, 1)  # (N, 12, P)
    energy_use = use.transpose(3, 0, 1, 2)  # (N, 12, P, T)

    # ---- coincident demand: the kW at each month's system peak
    coincident_kw = None
    peaks_used: tuple[int, ...] | None = None
    if tariff.coincident is not None and tariff.coincident_schedule is not None:
        if system_peaks is None:
            raise UrdbError(
                "this tariff bills coincident demand (coincidentratestructure) at the system peak, which URDB "
                "does not give: pass the system peak timestep of each month (system_peaks, 12 indices)"
            )
        if len(system_peaks) != 12:
            raise UrdbError(
                f"system_peaks needs 12 timestep indices (one per month), got {len(system_peaks)}"
            )
        peaks_used = tuple(int(s) for s in system_peaks)
        coincident_kw = np.zeros((n, 12), dtype=np.int64)
        nano = np.zeros((n, 12), dtype=np.int64)
        c_table = _tier_table(tariff.coincident)
        for m, s in enumerate(peaks_used):
            if not 0 <= s < steps or _month_of_step(s, spd) != m:
                raise UrdbError(f"system peak of {MONTH_NAMES[m]} (timestep {s}) is not in {MONTH_NAMES[m]}")
            coincident_kw[:, m] = _to_qty(loads[:, s])
            period = int(tariff.coincident_schedule[m, (s // spd) % 24])
            nano[:, m] = _tiered_nano(coincident_kw[:, m], *(x[period] for x in c_table))
        cents["coincident_demand"] = round_half_up_scaled(nano, _NANO, 2)

    # ---- fixed: $/month, $/day × days of the month, $/year ÷ 12 — one rounding per month
    days = np.array(DAYS_IN_MONTH, dtype=np.int64)
    if tariff.has_fixed:
        fixed_nano12 = (tariff.fixed_month + tariff.fixed_day * days) * 12 + tariff.fixed_year
        fixed = div_round_half_up_array(fixed_nano12, 12 * 10 ** (_NANO - 2))
        cents["fixed"] = np.broadcast_to(fixed, (n, 12)).copy()

    # ---- minimum: a floor on the month's bill, then on the year's (topped up in December)
    before: Int64Array = sum(cents.values(), start=np.zeros((n, 12), dtype=np.int64))
    if tariff.has_minimum:
        floor = round_half_up_scaled(tariff.min_month + tariff.min_day * days, _NANO, 2)
        minimum = np.maximum(floor[None, :] - before, 0)
        if tariff.min_year:
            year_floor = div_round_half_up(tariff.min_year, 10 ** (_NANO - 2))
            year_total = (before + minimum).sum(axis=1)
            minimum[:, 11] += np.maximum(year_floor - year_total, 0)
        cents["minimum"] = minimum

    return UrdbBatch(
        tariff=tariff,
        cents=cents,
        energy_kwh=energy_kwh,
        energy_use=energy_use,
        energy_rates=plan.e_rates,
        demand_peak=demand_peak,
        flat_peak=flat_peak,
        coincident_kw=coincident_kw,
        system_peaks=peaks_used,
        bill_before_minimum=before,
    )


# --------------------------------------------------------------------------------------------
# Scalar (explain) billing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UrdbLine:
    """One bill line: a month × component, with the quantities and prices behind it."""

    month: int
    component: str
    amount: Decimal
    quantity: Decimal
    unit: str
    items: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "component": self.component,
            "amount": self.amount,
            "quantity": self.quantity,
            "unit": self.unit,
            "items": list(self.items),
        }


@dataclass(frozen=True)
class UrdbBill:
    """A customer-year: 12 monthly totals, the annual total and the itemised lines."""

    tariff_name: str
    monthly: tuple[Decimal, ...]
    annual: Decimal
    lines: tuple[UrdbLine, ...]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "tariff": self.tariff_name,
            "monthly": list(self.monthly),
            "annual": self.annual,
            "lines": [ln.to_dict() for ln in self.lines],
            "warnings": list(self.warnings),
        }

    def amounts(self, component: str) -> list[Decimal]:
        """12 monthly amounts of one component (0 where the tariff has none)."""
        out = [Decimal("0.00")] * 12
        for ln in self.lines:
            if ln.component == component:
                out[ln.month - 1] += ln.amount
        return out


def _cents(v: int) -> Decimal:
    return scaled_to_decimal(int(v), 2)


def _plain(d: Decimal) -> Decimal:
    """Strip trailing zeros without switching to exponent notation (20, not 2E+1)."""
    d = d.normalize()
    return d.quantize(Decimal(1)) if decimal_exponent(d) > 0 else d


def _qty(v: int) -> Decimal:
    return _plain(scaled_to_decimal(int(v), URDB_QTY_DEC))


def _demand_items(q: int, tiers: tuple[UrdbTier, ...], **extra: Any) -> list[dict[str, Any]]:
    items = []
    lo = 0
    for t_i, t in enumerate(tiers):
        width = max(q - lo, 0) if t.limit is None else min(max(q - lo, 0), t.limit - lo)
        if width > 0 or t_i == 0:
            items.append({**extra, "tier": t_i, "kw": _qty(width), "rate": t.rate_decimal})
        if t.limit is None:
            break
        lo = t.limit
    return items


def bill_urdb(
    tariff: UrdbTariff, load_kw: np.ndarray | Sequence[float], *, system_peaks: Sequence[int] | None = None
) -> UrdbBill:
    """Bill one customer-year and explain every line (same numbers as :func:`bill_urdb_many`)."""
    load = np.asarray(load_kw, dtype=np.float64)
    if load.ndim != 1:
        raise UrdbError("bill_urdb takes one load year (1-D); use bill_urdb_many for many")
    b = bill_urdb_many(tariff, load[None, :], system_peaks=system_peaks)
    lines: list[UrdbLine] = []
    for m in range(12):
        month = m + 1
        for comp in b.components:
            amount = _cents(b.cents[comp][0, m])
            if comp == "energy":
                items = [
                    {
                        "period": p,
                        "tier": t,
                        "kwh": _qty(b.energy_use[0, m, p, t]),
                        "rate": _plain(scaled_to_decimal(int(b.energy_rates[m, p, t]), URDB_PRICE_DEC)),
                    }
                    for p in range(b.energy_use.shape[2])
                    for t in range(b.energy_use.shape[3])
                    if b.energy_use[0, m, p, t] > 0
                ]
                kwh = _qty(int(_to_qty(b.energy_kwh[0, m].sum())))
                lines.append(UrdbLine(month, comp, amount, kwh, "kWh", tuple(items)))
            elif comp == "demand_flat":
                assert b.flat_peak is not None and tariff.flat is not None and tariff.flat_months is not None
                q = int(b.flat_peak[0, m])
                items = _demand_items(q, tariff.flat[tariff.flat_months[m]], period=tariff.flat_months[m])
                lines.append(UrdbLine(month, comp, amount, _qty(q), "kW", tuple(items)))
            elif comp == "demand_tou":
                assert b.demand_peak is not None and tariff.demand is not None
                assert tariff.demand_weekday is not None and tariff.demand_weekend is not None
                used = sorted(set(tariff.demand_weekday[m].tolist()) | set(tariff.demand_weekend[m].tolist()))
                items = []
                for p in used:
                    q = int(b.demand_peak[0, m, p])
                    items += _demand_items(q, tariff.demand[p], period=p, peak_kw=_qty(q))
                peak = max(int(b.demand_peak[0, m, p]) for p in used)
                lines.append(UrdbLine(month, comp, amount, _qty(peak), "kW", tuple(items)))
            elif comp == "coincident_demand":
                assert b.coincident_kw is not None and b.system_peaks is not None
                assert tariff.coincident is not None and tariff.coincident_schedule is not None
                s = b.system_peaks[m]
                spd = load.shape[0] // 8760
                period = int(tariff.coincident_schedule[m, (s // spd) % 24])
                q = int(b.coincident_kw[0, m])
                items = _demand_items(q, tariff.coincident[period], period=period, system_peak_step=s)
                lines.append(UrdbLine(month, comp, amount, _qty(q), "kW", tuple(items)))
            elif comp == "fixed":
                items = []
                if tariff.fixed_month:
                    items.append(
                        {
                            "unit": "$/month",
                            "quantity": 1,
                            "price": _plain(scaled_to_decimal(tariff.fixed_month, _NANO)),
                        }
                    )
                if tariff.fixed_day:
                    items.append(
                        {
                            "unit": "$/day",
                            "quantity": DAYS_IN_MONTH[m],
                            "price": _plain(scaled_to_decimal(tariff.fixed_day, _NANO)),
                        }
                    )
                if tariff.fixed_year:
                    items.append(
                        {
                            "unit": "$/year",
                            "quantity": Decimal(1) / 12,
                            "price": _plain(scaled_to_decimal(tariff.fixed_year, _NANO)),
                        }
                    )
                if tariff.fixed_day:
                    lines.append(
                        UrdbLine(month, comp, amount, Decimal(DAYS_IN_MONTH[m]), "days", tuple(items))
                    )
                else:
                    lines.append(UrdbLine(month, comp, amount, Decimal(1), "month", tuple(items)))
            elif comp == "minimum" and b.cents[comp][0, m] > 0:
                floor = _plain(scaled_to_decimal(tariff.min_month + tariff.min_day * DAYS_IN_MONTH[m], _NANO))
                items = [
                    {"monthly_minimum": floor, "bill_before_minimum": _cents(b.bill_before_minimum[0, m])}
                ]
                if m == 11 and tariff.min_year:
                    items.append({"annual_minimum": _plain(scaled_to_decimal(tariff.min_year, _NANO))})
                lines.append(UrdbLine(month, comp, amount, Decimal(1), "month", tuple(items)))
    monthly = tuple(_cents(v) for v in b.monthly[0])
    return UrdbBill(
        tariff_name=tariff.name,
        monthly=monthly,
        annual=_cents(int(b.annual[0])),
        lines=tuple(lines),
        warnings=tariff.warnings,
    )
