"""Cancel/rebill (退补) computation, no database: a released bill's rating inputs → the corrected inputs → the
billing run's own rating (:func:`gridcare.billing.rating.rate_chunk`, never a second rating path) → the lines of
the difference and the penalty, with notes in words.

The rules (RULES.md §1, 供电营业规则; every number a setting of :mod:`gridcare.billing.conf`):

- **correction** (差错更正): corrected determinants per register and/or the tariff that should have applied;
- **meter error** (计量差错): from zero error — a meter ``e`` % fast recorded ``1 + e/100`` times what was used — for
  the share (half) of the time from the last verification to the correction; a bill partly in that window is
  corrected for its days in it;
- **violation** (违约用电): tariff-class misuse — the price difference under the applicable tariff + a multiple (2×)
  as penalty; capacity overrun — two-part customers: the basic charge on the excess + a multiple (3×), the others
  a fixed amount per kW (kVA) of the excess (50 元);
- **theft** (窃电): the stolen energy + 3× as penalty; when the period is unknown, the rated capacity × 180 days ×
  12 h (power) or 6 h (lighting) a day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from gridcare.billing.rating import ACTIVE_TOTAL, REACTIVE, TOU_REGISTERS, BillRow, LineRow
from gridcare.billing.selectors import AccountInput, Segment, tier_year
from gridcare.engine.money import round_yuan

MILLI = Decimal("0.001")
PENALTY = "penalty"
#: TOU period of the engine → metering register
PERIOD_REGISTERS = {period: register for register, period in TOU_REGISTERS.items()}


@dataclass
class Change:
    """What a rebill changes in one bill before it is rated again."""

    #: registers replaced by the corrected quantity (kWh / kvarh, after the multiplier)
    registers: dict[str, Decimal] = field(default_factory=dict)
    #: the tariff that applies instead of the billed one
    tariff_code: str | None = None
    #: every energy register times this (meter error: ``1 - share × e / (100 + e)``)
    energy_factor: Decimal = Decimal(1)
    #: energy added to the bill (stolen energy), shared by the TOU registers as they stand
    extra_kwh: Decimal = Decimal(0)
    #: capacity added (capacity overrun, kVA)
    extra_kva: Decimal = Decimal(0)
    #: penalty = this multiple × the back-billed amount
    penalty_multiple: Decimal = Decimal(0)
    #: a fixed penalty (overrun of a single-part customer): (label, quantity, unit, unit price)
    fixed_penalty: tuple[str, Decimal, str, Decimal] | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """One bill of a rebill, re-rated: what it was, what it is now, the difference and the penalty."""

    original: list[dict[str, Any]]
    corrected: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    original_total: Decimal
    corrected_total: Decimal
    charges: Decimal  # difference of the charges (without funds), penalty included
    funds: Decimal
    penalty: Decimal
    energy_difference: Decimal
    energy: Decimal  # the bill's energy after the correction
    power_factor: Decimal | None
    tariff_code: str
    usages: list[dict[str, Any]]
    notes: list[str]

    @property
    def difference(self) -> Decimal:
        return self.corrected_total - self.original_total

    @property
    def total(self) -> Decimal:
        return self.difference + self.penalty


def quantity(value: Decimal) -> Decimal:
    return value.quantize(MILLI, rounding=ROUND_HALF_UP)


def distribute(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``amount`` shared by ``weights`` (days, kWh), half-up to 0.001; the last share takes the remainder."""
    whole = sum(weights, Decimal(0))
    if not weights:
        return []
    if whole == 0:
        return [Decimal(0)] * (len(weights) - 1) + [amount]
    parts = [quantity(amount * w / whole) for w in weights[:-1]]
    return [*parts, amount - sum(parts, Decimal(0))]


def account_input(
    account: int,
    period: str,
    period_start: dt.date,
    period_end: dt.date,
    tier_ytd_kwh: Decimal,
    usages: list[dict[str, Any]],
) -> AccountInput:
    """The rating input a bill was rated from, rebuilt from the usages kept on it (``Bill.inputs``): the registers
    summed over its tariff segments, the segments, capacity, contracted demand, the tier year so far."""
    entry = AccountInput(account, period_start, period_end, period_start)
    registers: dict[str, Decimal] = {}
    for raw in usages:
        for key, value in raw["energy_kwh"].items():
            register = ACTIVE_TOTAL if key == "total" else PERIOD_REGISTERS[key]
            registers[register] = registers.get(register, Decimal(0)) + Decimal(str(value))
        entry.segments.append(
            Segment(
                raw["tariff"],
                dt.date.fromisoformat(raw["period_start"]),
                dt.date.fromisoformat(raw["period_end"]),
            )
        )
    first = usages[0]
    if first.get("reactive_kvarh") is not None:  # the whole period's reactive energy on every segment
        registers[REACTIVE] = Decimal(str(first["reactive_kvarh"]))
    if ACTIVE_TOTAL not in registers:
        tou = [q for r, q in registers.items() if r in TOU_REGISTERS]
        registers[ACTIVE_TOTAL] = sum(tou, Decimal(0))
    entry.registers = registers
    if first.get("capacity_kva") is not None:
        entry.capacity_kva = Decimal(str(first["capacity_kva"]))
    if first.get("contracted_demand_kw") is not None:
        entry.contracted_demand_kw = Decimal(str(first["contracted_demand_kw"]))
    year_start, year_end = tier_year(period)
    active_days = first.get("tier_active_days")
    entry.supply_from = (
        year_end - dt.timedelta(days=int(active_days)) if active_days else min(year_start, period_start)
    )
    entry.tier_ytd_kwh = tier_ytd_kwh
    return entry


def apply(entry: AccountInput, change: Change) -> AccountInput:
    """The corrected input: registers replaced, scaled and topped up, the tariff and capacity changed."""
    registers = dict(entry.registers)
    registers.update(change.registers)
    if change.energy_factor != 1:
        registers = {r: quantity(q * change.energy_factor) for r, q in registers.items()}
    if change.extra_kwh:
        tou = [r for r in registers if r in TOU_REGISTERS]
        if tou:
            weights = [registers[r] for r in tou]
            if sum(weights, Decimal(0)) == 0:  # nothing recorded: the stolen energy counts as flat (平段)
                tou, weights = ["active_flat"], [Decimal(1)]
            for register, part in zip(tou, distribute(change.extra_kwh, weights), strict=True):
                registers[register] = registers.get(register, Decimal(0)) + part
        registers[ACTIVE_TOTAL] = registers.get(ACTIVE_TOTAL, Decimal(0)) + change.extra_kwh
    elif (
        change.registers
        and any(r in TOU_REGISTERS for r in change.registers)
        and ACTIVE_TOTAL not in change.registers
    ):
        registers[ACTIVE_TOTAL] = sum((q for r, q in registers.items() if r in TOU_REGISTERS), Decimal(0))
    segments = entry.segments
    if change.tariff_code:
        segments = [Segment(change.tariff_code, entry.period_start, entry.period_end)]
    capacity = entry.capacity_kva
    if change.extra_kva:
        capacity = (capacity or Decimal(0)) + change.extra_kva
    return AccountInput(
        account=entry.account,
        period_start=entry.period_start,
        period_end=entry.period_end,
        supply_from=entry.supply_from,
        registers=registers,
        segments=segments,
        capacity_kva=capacity,
        contracted_demand_kw=entry.contracted_demand_kw,
        tier_ytd_kwh=entry.tier_ytd_kwh,
    )


def line_dict(line: LineRow) -> dict[str, Any]:
    return {
        "code": line.code,
        "label": line.label,
        "quantity": None if line.quantity is None else str(line.quantity),
        "unit": line.unit,
        "unit_price": None if line.unit_price is None else str(line.unit_price),
        "amount": str(line.amount),
    }


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def difference_lines(original: list[dict[str, Any]], corrected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """退补明细 — per line code, corrected minus original (amount, quantity; the unit price where both agree);
    a line that did not change is left out."""
    before = {ln["code"]: ln for ln in original}
    after = {ln["code"]: ln for ln in corrected}
    out: list[dict[str, Any]] = []
    for code in dict.fromkeys([*before, *after]):
        old, new = before.get(code), after.get(code)
        amount = (_dec((new or {}).get("amount")) or Decimal(0)) - (
            _dec((old or {}).get("amount")) or Decimal(0)
        )
        if amount == 0:
            continue
        shown = new or old or {}
        q_old, q_new = _dec((old or {}).get("quantity")), _dec((new or {}).get("quantity"))
        qty = None if q_old is None and q_new is None else (q_new or Decimal(0)) - (q_old or Decimal(0))
        p_old, p_new = (old or {}).get("unit_price"), (new or {}).get("unit_price")
        price = p_new if old is None else p_old if new is None else p_new if p_old == p_new else None
        out.append(
            {
                "code": code,
                "label": shown["label"],
                "quantity": None if qty is None else str(qty),
                "unit": shown.get("unit", ""),
                "unit_price": price,
                "amount": str(amount),
            }
        )
    return out


def outcome(
    original: list[dict[str, Any]],
    rated: BillRow,
    change: Change,
    *,
    original_energy: Decimal,
    penalty_on_funds: bool,
) -> Outcome:
    """Compare the re-rated bill with what was billed; add the penalty line (the multiple of the back-billed
    amount — charges, and funds only if ``penalty_on_funds`` — or the fixed penalty)."""
    corrected = [line_dict(ln) for ln in rated.lines]
    lines = difference_lines(original, corrected)
    funds = sum((Decimal(ln["amount"]) for ln in lines if ln["code"].startswith("fund:")), Decimal(0))
    charges = sum((Decimal(ln["amount"]) for ln in lines if not ln["code"].startswith("fund:")), Decimal(0))
    notes = list(change.notes)
    penalty = Decimal("0.00")
    if change.penalty_multiple:
        base = charges + (funds if penalty_on_funds else Decimal(0))
        if base > 0:
            penalty = round_yuan(base * change.penalty_multiple)
            multiple = change.penalty_multiple.normalize()
            lines.append(
                {
                    "code": PENALTY,
                    "label": f"违约使用电费（追补电费 {base} 元 × {multiple}）"[:80],
                    "quantity": None,
                    "unit": "",
                    "unit_price": None,
                    "amount": str(penalty),
                }
            )
    if change.fixed_penalty is not None:
        label, qty, unit, price = change.fixed_penalty
        fixed = round_yuan(qty * price)
        penalty += fixed
        lines.append(
            {
                "code": PENALTY,
                "label": label[:80],
                "quantity": str(qty),
                "unit": unit,
                "unit_price": str(price),
                "amount": str(fixed),
            }
        )
    original_total = sum((Decimal(ln["amount"]) for ln in original), Decimal("0.00"))
    return Outcome(
        original=original,
        corrected=corrected,
        lines=lines,
        original_total=original_total,
        corrected_total=rated.charges + rated.funds,
        charges=charges + penalty,
        funds=funds,
        penalty=penalty,
        energy_difference=rated.energy_kwh - original_energy,
        energy=rated.energy_kwh,
        power_factor=rated.power_factor,
        tariff_code=rated.tariff_code,
        usages=[dict(u) for u in rated.inputs.get("usages", [])],
        notes=notes,
    )


def meter_error_window(
    verified_on: dt.date, corrected_on: dt.date, share: Decimal
) -> tuple[dt.date, dt.date]:
    """The back-billing window of a meter error: the last ``share`` of the time from the last verification to
    the correction (RULES §1: half of it), ``[start, corrected_on)``."""
    days = (Decimal((corrected_on - verified_on).days) * share).to_integral_value(rounding=ROUND_HALF_UP)
    return corrected_on - dt.timedelta(days=int(days)), corrected_on


def meter_error_factor(error_pct: Decimal, days_in_window: int, period_days: int) -> Decimal:
    """What a bill's energy is multiplied by: from zero error, a meter ``error_pct`` % fast recorded
    ``(100 + e) / 100`` of the energy used; only the bill's days in the window are corrected."""
    return 1 - Decimal(days_in_window) / Decimal(period_days) * error_pct / (100 + error_pct)


def theft_energy(rated_kw: Decimal, days: int, hours: int) -> Decimal:
    """窃电量 when the period is unknown: rated capacity (kVA counted as kW) × days × hours a day."""
    return quantity(rated_kw * days * hours)
