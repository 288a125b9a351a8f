"""Explain-mode rating (电费计算, scalar): one usage record → itemised bill lines.

Why a scalar mode besides the batch engine: staff and customers need to see *why* a bill is what
it is (quantity × unit price × proration = amount, per line), and the batch engine needs an
independent, readable oracle — Hypothesis tests assert that :mod:`gridcare.engine.batch` gives
exactly the same lines.

Rules implemented (see ``docs/tariffs.md``):

* A bill period ``[period_start, period_end)`` that crosses a tariff version change is split into
  parts by days (:func:`split_usage`).  Consumption is split by days (half-up to 0.001 kWh, the
  last part takes the remainder) unless ``energy_by_version`` gives the exact split (interval
  data).  Monthly amounts (fixed charge, basic charge, minimum, monthly tier thresholds) are
  prorated by ``part days / period days``.
* A partial cycle (move-in/out, 新装/销户/增减容) is flagged by ``cycle_days`` (the full cycle's
  length): monthly amounts × ``days / cycle_days``; the two-part basic charge × ``days / 30``.
* Annual tiers accumulate over the tier year: ``tier_ytd_kwh`` is what was billed earlier in the
  tier year; thresholds are prorated by ``tier_active_days / tier_year_days`` for a partial year.
* Every line is rounded half-up to 0.01 元 by :func:`gridcare.engine.money.round_yuan`, once.
* Power-factor adjustment = (sum of the rounded basic + energy lines of the part) × table %.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from gridcare.engine.money import (
    FEN_DEC,
    PRICE_DEC,
    QTY_DEC,
    decimal_to_scaled,
    div_round_half_up,
    round_yuan,
    scaled_to_decimal,
)
from gridcare.engine.power_factor import adjustment_pct, pf_hundredths
from gridcare.engine.tariff import (
    PERIOD_LABELS,
    PERIODS,
    BasicCharge,
    FixedCharge,
    FlatEnergy,
    Fund,
    MinimumCharge,
    PowerFactor,
    Tariff,
    TariffError,
    TariffVersion,
    Tier,
    TieredEnergy,
    TouEnergy,
    TouTieredEnergy,
)

__all__ = [
    "ENERGY_KEYS",
    "Bill",
    "BillLine",
    "RatingUnit",
    "Usage",
    "rate",
    "rate_unit",
    "split_usage",
]

#: Energy register keys: the four TOU periods, then ``total`` for untimed (non-TOU) registers.
ENERGY_KEYS: tuple[str, ...] = (*PERIODS, "total")
BASIS_CAPACITY = 0
BASIS_DEMAND = 1
NONE = -1


@dataclass(frozen=True)
class Usage:
    """What was consumed in a bill period, as the billing app knows it (register based).

    ``energy_kwh``: kWh per TOU period (``critical``/``peak``/``flat``/``valley``) for TOU
    tariffs, or ``{"total": kWh}`` for a single register; non-TOU tariffs bill the sum.
    Quantities are rounded half-up to 0.001 on input.
    """

    period_start: date
    period_end: date
    energy_kwh: Mapping[str, Decimal | int | str]
    reactive_kvarh: Decimal | int | str | None = None
    capacity_kva: Decimal | int | str | None = None
    contracted_demand_kw: Decimal | int | str | None = None
    max_demand_kw: Decimal | int | str | None = None
    basic_basis: str | None = None
    cycle_days: int | None = None
    billing_month: int | None = None
    tier_ytd_kwh: Decimal | int | str = 0
    tier_year_days: int | None = None
    tier_active_days: int | None = None
    energy_by_version: Sequence[Mapping[str, Decimal | int | str]] | None = None

    @property
    def days(self) -> int:
        return (self.period_end - self.period_start).days


@dataclass(frozen=True)
class RatingUnit:
    """One bill (or one version-part of a bill) in fixed-point integers — the engine's input.

    Built by :func:`split_usage`; the batch engine takes the same fields as arrays.
    ``-1`` means "not given" for optional quantities.
    """

    version_index: int
    version: TariffVersion
    start: date
    end: date
    energy: tuple[int, int, int, int, int]
    reactive: int
    pf_active: int
    pf_reactive: int
    capacity: int
    contracted: int
    max_demand: int
    basis: int
    f_num: int
    f_den: int
    b_num: int
    b_den: int
    billing_month: int
    tier_ytd: int
    tier_num: int
    tier_den: int

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def total_energy(self) -> int:
        return sum(self.energy)


@dataclass(frozen=True)
class BillLine:
    """One bill line: ``quantity × unit_price × factor`` = ``exact``, rounded to ``amount``."""

    code: str
    label: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal
    exact: Fraction
    factor: Fraction = Fraction(1)
    version_from: date | None = None
    note: str = ""

    @property
    def is_fund(self) -> bool:
        return self.code.startswith("fund:")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict; money and quantities as decimal strings."""
        return {
            "code": self.code,
            "label": self.label,
            "quantity": str(self.quantity),
            "unit": self.unit,
            "unit_price": str(self.unit_price),
            "factor": str(self.factor),
            "amount": str(self.amount),
            "version_from": self.version_from.isoformat() if self.version_from else None,
            "note": self.note,
        }


@dataclass(frozen=True)
class Bill:
    """An itemised bill; totals are sums of the rounded lines (never re-rounded)."""

    tariff_code: str
    tariff_name: str
    period_start: date
    period_end: date
    lines: tuple[BillLine, ...]
    power_factor: Decimal | None = None
    parts: tuple[tuple[date, date, date], ...] = field(default_factory=tuple)

    @property
    def total(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), Decimal("0.00"))

    @property
    def funds_total(self) -> Decimal:
        return sum((ln.amount for ln in self.lines if ln.is_fund), Decimal("0.00"))

    @property
    def charges_excluding_funds(self) -> Decimal:
        return self.total - self.funds_total

    def by_code(self) -> dict[str, Decimal]:
        """Amount per line code, summed over version parts (what the batch engine reports)."""
        out: dict[str, Decimal] = {}
        for ln in self.lines:
            out[ln.code] = out.get(ln.code, Decimal("0.00")) + ln.amount
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "tariff": self.tariff_code,
            "tariff_name": self.tariff_name,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "power_factor": None if self.power_factor is None else str(self.power_factor),
            "lines": [ln.to_dict() for ln in self.lines],
            "funds_total": str(self.funds_total),
            "charges_excluding_funds": str(self.charges_excluding_funds),
            "total": str(self.total),
        }


# --------------------------------------------------------------------------------------------
# Splitting a usage record into rating units
# --------------------------------------------------------------------------------------------


def _q(value: Decimal | int | str | None) -> int:
    """Quantity → 0.001 units, half-up; None → -1."""
    if value is None:
        return NONE
    v = decimal_to_scaled(Decimal(str(value)), QTY_DEC, exact=False)
    if v < 0:
        raise TariffError(f"quantities must not be negative (got {value})")
    return v


def _energy_vector(raw: Mapping[str, Decimal | int | str]) -> list[int]:
    unknown = set(raw) - set(ENERGY_KEYS)
    if unknown:
        raise TariffError(f"energy_kwh: unknown register(s) {sorted(unknown)}; use {', '.join(ENERGY_KEYS)}")
    return [_q(raw.get(k, 0)) for k in ENERGY_KEYS]


def resolve_basis(basic: BasicCharge | None, requested: str | int | None) -> int:
    """Which basic-charge basis applies: capacity (0) or demand (1); -1 if no basic charge."""
    if basic is None:
        return NONE
    if requested in (None, NONE):
        if basic.capacity_price is not None and basic.demand_price is None:
            return BASIS_CAPACITY
        if basic.demand_price is not None and basic.capacity_price is None:
            return BASIS_DEMAND
        raise TariffError("the tariff offers basic charge by capacity and by demand: give basic_basis")
    named: dict[str | int, str | int] = {"capacity": BASIS_CAPACITY, "demand": BASIS_DEMAND}
    basis = named.get(requested, requested)
    if basis == BASIS_CAPACITY and basic.capacity_price is None:
        raise TariffError("basic_basis 'capacity' but the tariff has no capacity price")
    if basis == BASIS_DEMAND and basic.demand_price is None:
        raise TariffError("basic_basis 'demand' but the tariff has no demand price")
    if basis not in (BASIS_CAPACITY, BASIS_DEMAND):
        raise TariffError(f"basic_basis must be 'capacity' or 'demand', not {requested!r}")
    return int(basis)


def _five(values: Sequence[int]) -> tuple[int, int, int, int, int]:
    """A part's energy per register (critical, peak, flat, valley, total)."""
    critical, peak, flat, valley, total = values
    return critical, peak, flat, valley, total


def split_usage(tariff: Tariff, usage: Usage) -> list[RatingUnit]:
    """Split a bill period at version changes and convert everything to fixed-point integers."""
    days = usage.days
    if days <= 0:
        raise TariffError(f"bill period {usage.period_start}..{usage.period_end} is empty (end is exclusive)")
    if usage.cycle_days is not None and not days <= usage.cycle_days:
        raise TariffError(f"cycle_days ({usage.cycle_days}) must be >= the period's {days} days")
    parts = list(tariff.parts(usage.period_start, usage.period_end))
    energy = _energy_vector(usage.energy_kwh)
    if usage.energy_by_version is not None:
        if len(usage.energy_by_version) != len(parts):
            raise TariffError(
                f"energy_by_version has {len(usage.energy_by_version)} entries but the period has {len(parts)} version part(s)"
            )
        split = [_energy_vector(e) for e in usage.energy_by_version]
        if [sum(col) for col in zip(*split, strict=True)] != energy:
            raise TariffError("energy_by_version does not add up to energy_kwh")
    else:
        split = []
        remaining = list(energy)
        for i, (_, _, s, e) in enumerate(parts):
            if i == len(parts) - 1:
                split.append(remaining)
            else:
                d = (e - s).days
                share = [div_round_half_up(q * d, days) for q in energy]
                split.append(share)
                remaining = [r - x for r, x in zip(remaining, share, strict=True)]
    reactive = _q(usage.reactive_kvarh)
    if usage.tier_year_days is None:
        tier_num = tier_den = 1
    else:
        if usage.tier_active_days is None or not 0 < usage.tier_active_days <= usage.tier_year_days:
            raise TariffError("tier_active_days must be between 1 and tier_year_days")
        tier_num, tier_den = usage.tier_active_days, usage.tier_year_days
    month = usage.billing_month or usage.period_start.month
    if not 1 <= month <= 12:
        raise TariffError(f"billing_month must be 1..12, not {month}")
    ytd = _q(usage.tier_ytd_kwh)
    units: list[RatingUnit] = []
    for (index, version, s, e), part_energy in zip(parts, split, strict=True):
        d = (e - s).days
        basic = version.component("basic")
        assert basic is None or isinstance(basic, BasicCharge)
        if usage.cycle_days is None:
            f_num, f_den = d, days
            b_num, b_den = d, days
        else:
            f_num, f_den = d, usage.cycle_days
            b_num, b_den = d, basic.partial_month_days if basic is not None else 30
        units.append(
            RatingUnit(
                version_index=index,
                version=version,
                start=s,
                end=e,
                energy=_five(part_energy),
                reactive=reactive,
                pf_active=sum(energy),
                pf_reactive=reactive,
                capacity=_q(usage.capacity_kva),
                contracted=_q(usage.contracted_demand_kw),
                max_demand=_q(usage.max_demand_kw),
                basis=resolve_basis(basic, usage.basic_basis),
                f_num=f_num,
                f_den=f_den,
                b_num=b_num,
                b_den=b_den,
                billing_month=month,
                tier_ytd=ytd,
                tier_num=tier_num,
                tier_den=tier_den,
            )
        )
        ytd += sum(part_energy)
    return units


# --------------------------------------------------------------------------------------------
# Rating one unit
# --------------------------------------------------------------------------------------------


def _line(
    code: str,
    label: str,
    qty: int,
    unit: str,
    price: int,
    version: TariffVersion,
    factor: Fraction = Fraction(1),
    note: str = "",
) -> BillLine:
    """quantity (0.001 units) × price (1e-6 元) × factor, rounded once by round_yuan."""
    exact = Fraction(qty * price, 10 ** (QTY_DEC + PRICE_DEC)) * factor
    return BillLine(
        code=code,
        label=label,
        quantity=scaled_to_decimal(qty, QTY_DEC),
        unit=unit,
        unit_price=scaled_to_decimal(price, PRICE_DEC),
        amount=round_yuan(exact),
        exact=exact,
        factor=factor,
        version_from=version.valid_from,
        note=note,
    )


def tier_thresholds(tiers: Sequence[Tier], basis: str, unit: RatingUnit) -> list[int | None]:
    """Tier upper bounds (0.001 kWh) for this unit, prorated and rounded half-up."""
    out: list[int | None] = []
    for t in tiers:
        u = t.upto[unit.billing_month - 1]
        if u is None:
            out.append(None)
        elif basis == "annual":
            out.append(div_round_half_up(u * unit.tier_num, unit.tier_den))
        else:
            out.append(div_round_half_up(u * unit.f_num, unit.f_den))
    return out


def tier_split(total: int, before: int, bounds: Sequence[int | None]) -> list[int]:
    """kWh of ``total`` falling in each tier when ``before`` kWh were already used."""
    after = before + total
    out: list[int] = []
    lo = 0
    for hi in bounds:
        top_after = after if hi is None else min(after, hi)
        top_before = before if hi is None else min(before, hi)
        out.append(max(top_after, lo) - max(top_before, lo))
        if hi is not None:
            lo = hi
    return out


def _energy_lines(unit: RatingUnit) -> list[BillLine]:
    v = unit.version
    comp = v.energy
    lines: list[BillLine] = []
    total = unit.total_energy
    if comp is None:
        return lines
    if isinstance(comp, FlatEnergy):
        return [_line("energy", comp.label, total, "kWh", comp.price, v)]
    if isinstance(comp, TieredEnergy):
        bounds = tier_thresholds(comp.tiers, comp.basis, unit)
        before = unit.tier_ytd if comp.basis == "annual" else 0
        for k, (tier, q) in enumerate(zip(comp.tiers, tier_split(total, before, bounds), strict=True)):
            if q > 0 or k == 0:
                lines.append(_line(f"energy_tier{k + 1}", f"{tier.label}电费", q, "kWh", tier.price, v))
        return lines
    assert isinstance(comp, TouEnergy | TouTieredEnergy)
    untimed = unit.energy[ENERGY_KEYS.index("total")]
    if untimed:
        raise TariffError("a time-of-use tariff needs consumption per TOU period, not an untimed total")
    for p, q in zip(PERIODS, unit.energy, strict=False):
        if p not in comp.prices:
            if q:
                raise TariffError(f"consumption in period {p} but the tariff has no {p} price")
            continue
        if q > 0:
            lines.append(_line(f"energy_{p}", f"{PERIOD_LABELS[p]}电费", q, "kWh", comp.prices[p], v))
    if isinstance(comp, TouTieredEnergy):
        bounds = tier_thresholds(comp.tiers, comp.basis, unit)
        before = unit.tier_ytd if comp.basis == "annual" else 0
        for k, (tier, q) in enumerate(zip(comp.tiers, tier_split(total, before, bounds), strict=True)):
            if q > 0 and tier.price != 0:
                lines.append(_line(f"tier_surcharge{k + 1}", f"{tier.label}加价", q, "kWh", tier.price, v))
    return lines


def basic_quantities(basic: BasicCharge, unit: RatingUnit) -> tuple[int, int, int]:
    """(billed demand or capacity, excess demand, price) in 0.001 units / 1e-6 元.

    By capacity: the capacity.  By demand: contracted demand raised to 40 % of capacity (the
    floor), or — without a contract value — the actual maximum demand raised to that floor;
    demand above 105 % of the contracted value is the excess, charged at ``multiplier`` × price.
    """
    if unit.basis == BASIS_CAPACITY:
        if unit.capacity < 0:
            raise TariffError("basic charge by capacity needs capacity_kva")
        return unit.capacity, 0, basic.capacity_price or 0
    if unit.max_demand < 0:
        raise TariffError("basic charge by demand needs max_demand_kw")
    floor = div_round_half_up(unit.capacity * basic.min_contract_pct, 100) if unit.capacity >= 0 else 0
    if unit.contracted < 0:
        return max(unit.max_demand, floor), 0, basic.demand_price or 0
    contracted = max(unit.contracted, floor)
    threshold = div_round_half_up(contracted * basic.overrun_pct, 100)
    return contracted, max(0, unit.max_demand - threshold), basic.demand_price or 0


def _basic_lines(unit: RatingUnit) -> list[BillLine]:
    basic = unit.version.component("basic")
    if basic is None:
        return []
    assert isinstance(basic, BasicCharge)
    v = unit.version
    factor = Fraction(unit.b_num, unit.b_den)
    billed, excess, price = basic_quantities(basic, unit)
    note = "" if factor == 1 else f"按 {unit.b_num}/{unit.b_den} 月计"
    if unit.basis == BASIS_CAPACITY:
        return [_line("basic_capacity", f"{basic.label}（按容量）", billed, "kVA", price, v, factor, note)]
    lines = [_line("basic_demand", f"{basic.label}（按需量）", billed, "kW", price, v, factor, note)]
    if excess > 0:
        lines.append(
            _line(
                "basic_demand_excess",
                f"{basic.label}（超{basic.overrun_pct}%需量加倍）",
                excess,
                "kW",
                price * basic.overrun_multiplier,
                v,
                factor,
                note,
            )
        )
    return lines


def pf_applies(pf: PowerFactor, unit: RatingUnit) -> bool:
    """PF adjustment applies from ``min_capacity_kva`` up (always when that is 0)."""
    if pf.min_capacity_kva == 0:
        return True
    if unit.capacity < 0:
        raise TariffError("capacity_kva is needed to decide whether the power factor adjustment applies")
    return unit.capacity >= pf.min_capacity_kva


def _pf_line(unit: RatingUnit, base_fen: int) -> tuple[BillLine | None, int | None]:
    pf = unit.version.component("power_factor")
    if pf is None:
        return None, None
    assert isinstance(pf, PowerFactor)
    if not pf_applies(pf, unit):
        return None, None
    if unit.pf_reactive < 0:
        raise TariffError("reactive_kvarh is needed for the power factor adjustment")
    k = pf_hundredths(unit.pf_active, unit.pf_reactive)
    if k is None:
        return None, None
    pct = adjustment_pct(k, pf.standard, pf.reward_cap_pf)
    exact = Fraction(base_fen * pct, 10**FEN_DEC * 10000)
    line = BillLine(
        code="power_factor",
        label=pf.label,
        quantity=scaled_to_decimal(base_fen, FEN_DEC),
        unit="元",
        unit_price=Decimal(pct).scaleb(-4),
        amount=round_yuan(exact),
        exact=exact,
        version_from=unit.version.valid_from,
        note=f"功率因数 {Decimal(k).scaleb(-2)}，标准 {Decimal(pf.standard).scaleb(-2)}",
    )
    return line, k


def _fen(amount: Decimal) -> int:
    return int(amount.scaleb(FEN_DEC))


def rate_unit(unit: RatingUnit) -> tuple[list[BillLine], int | None]:
    """Lines of one rating unit (one version part) and the PF in hundredths (or None)."""
    v = unit.version
    lines: list[BillLine] = []
    fixed = v.component("fixed")
    if fixed is not None:
        assert isinstance(fixed, FixedCharge)
        if fixed.per == "day":
            lines.append(_line("fixed", fixed.label, unit.days * 1000, "天", fixed.price, v))
        else:
            factor = Fraction(unit.f_num, unit.f_den)
            note = "" if factor == 1 else f"按 {unit.f_num}/{unit.f_den} 月计"
            lines.append(_line("fixed", fixed.label, 1000, "月", fixed.price, v, factor, note))
    energy = _energy_lines(unit)
    basic = _basic_lines(unit)
    lines += basic + energy
    pf_line, k = _pf_line(unit, sum(_fen(ln.amount) for ln in energy + basic))
    if pf_line is not None:
        lines.append(pf_line)
    total = unit.total_energy
    for fund in v.funds:
        assert isinstance(fund, Fund)
        lines.append(_line(f"fund:{fund.code}", fund.label, total, "kWh", fund.price, v))
    minimum = v.component("minimum")
    if minimum is not None:
        assert isinstance(minimum, MinimumCharge)
        floor_exact = Fraction(minimum.amount * unit.f_num, unit.f_den * 10**PRICE_DEC)
        floor_fen = _fen(round_yuan(floor_exact))
        charged = sum(_fen(ln.amount) for ln in lines if not ln.is_fund)
        if floor_fen > charged:
            top = floor_fen - charged
            lines.append(
                BillLine(
                    code="minimum",
                    label=minimum.label,
                    quantity=Decimal(1),
                    unit="次",
                    unit_price=scaled_to_decimal(top, FEN_DEC),
                    amount=scaled_to_decimal(top, FEN_DEC),
                    exact=Fraction(top, 100),
                    version_from=v.valid_from,
                    note=f"最低电费 {scaled_to_decimal(floor_fen, FEN_DEC)} 元",
                )
            )
    return lines, k


def rate(tariff: Tariff, usage: Usage) -> Bill:
    """Explain mode: rate one bill and return its itemised lines (amounts rounded per line)."""
    units = split_usage(tariff, usage)
    lines: list[BillLine] = []
    pf: int | None = None
    for unit in units:
        unit_lines, k = rate_unit(unit)
        lines += unit_lines
        pf = k if k is not None else pf
    return Bill(
        tariff_code=tariff.code,
        tariff_name=tariff.name,
        period_start=usage.period_start,
        period_end=usage.period_end,
        lines=tuple(lines),
        power_factor=None if pf is None else Decimal(pf).scaleb(-2),
        parts=tuple((u.version.valid_from, u.start, u.end) for u in units),
    )
