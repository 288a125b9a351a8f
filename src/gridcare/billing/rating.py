"""Rating a chunk (no database): accounts' inputs → engine usages → one batch rating → bill rows and lines.

Every rule is the engine's (:mod:`gridcare.engine.batch`, proven equal to the explain mode): this module only
decides *what* is rated — the registers a tariff needs, a tariff change in the period split by days, the tier
year so far, the basic-charge basis — and names every account it cannot bill with the reason.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

import numpy as np

from gridcare.billing.models import NotBilled
from gridcare.billing.selectors import AccountInput, ChunkData, tier_year
from gridcare.engine.batch import BatchInput, Catalog, compile_catalog, rate_batch
from gridcare.engine.money import FEN_DEC, PRICE_DEC, QTY_DEC, decimal_to_scaled, scaled_to_decimal
from gridcare.engine.rating import ENERGY_KEYS, NONE, RatingUnit, Usage, resolve_basis, split_usage
from gridcare.engine.tariff import (
    PERIOD_LABELS,
    BasicCharge,
    FixedCharge,
    FlatEnergy,
    Fund,
    MinimumCharge,
    PowerFactor,
    TariffError,
    TariffVersion,
    TieredEnergy,
    TouEnergy,
    TouTieredEnergy,
)
from gridcare.engine.tariff import Tariff as EngineTariff
from gridcare.metering.models import Register
from gridcare.readings.periods import parse_period

#: metering register → the engine's TOU period
TOU_REGISTERS = {
    "active_sharp": "critical",
    "active_peak": "peak",
    "active_flat": "flat",
    "active_valley": "valley",
}
ACTIVE_TOTAL = "active_total"
REACTIVE = "reactive_total"
MILLI = Decimal("0.001")
COMPENSATION = "compensation"


@dataclass
class LineRow:
    code: str
    label: str
    amount: Decimal
    quantity: Decimal | None = None
    unit: str = ""
    unit_price: Decimal | None = None
    compensation: int | None = None


@dataclass
class BillRow:
    account: int
    period_start: dt.date
    period_end: dt.date
    tariff_code: str
    energy_kwh: Decimal
    tier_ytd_kwh: Decimal
    power_factor: Decimal | None
    charges: Decimal
    funds: Decimal
    credits: Decimal
    total: Decimal
    inputs: dict[str, Any]
    lines: list[LineRow] = field(default_factory=list)
    #: what the plausibility rules found (rule code, in words): a bill with findings is written in review
    findings: list[tuple[str, str]] = field(default_factory=list)
    #: the kWh the bill adds to the tier year when not all of ``energy_kwh`` (a mixed account: its tiered part)
    tier_kwh: Decimal | None = None
    #: a tariff (assignment or version) changed in the period: the bill is split by days
    tariff_changed: bool = False


@dataclass
class Refusal(Exception):
    reason: str
    detail: str = ""


@dataclass
class RatedChunk:
    """A rated chunk: the bills of the general path as row objects (with their place among the chunk's accounts),
    the lane's bills as columns, and the accounts not billed."""

    general: list[BillRow]
    not_billed: list[tuple[int, str, str]]
    positions: list[int] = field(default_factory=list)
    lane: LaneBills | None = None

    @property
    def count(self) -> int:
        return len(self.general) + (self.lane.size if self.lane is not None else 0)

    def total(self) -> Decimal:
        lane = (
            Decimal(int(self.lane.total_fen.sum())).scaleb(-FEN_DEC) if self.lane is not None else Decimal(0)
        )
        return sum((b.total for b in self.general), lane)

    def energy(self) -> Decimal:
        lane = Decimal(int(self.lane.energy_milli.sum())).scaleb(-3) if self.lane is not None else Decimal(0)
        return sum((b.energy_kwh for b in self.general), lane)

    @property
    def bills(self) -> list[BillRow]:
        """Every bill as a row object, in the chunk's account order (findings included)."""
        placed = list(zip(self.positions, self.general, strict=True))
        if self.lane is not None:
            placed += [(p, self.lane.row(k)) for k, p in enumerate(self.lane.positions)]
        return [row for _, row in sorted(placed, key=lambda pair: pair[0])]


_USAGE_FIELDS = tuple(Usage.__dataclass_fields__.values())
_REQUIRED = ("period_start", "period_end", "energy_kwh")
#: (field, default) of the optional fields, in declaration order
_OPTIONAL = tuple((f.name, f.default) for f in _USAGE_FIELDS if f.name not in _REQUIRED)


def _json_value(value: Any) -> Any:
    kind = type(value)
    if kind is Decimal:
        return str(value)
    if kind is dict:
        return {k: str(v) for k, v in value.items()}
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: str(v) for k, v in value.items()}
    return value


def usage_dict(usage: Usage) -> dict[str, Any]:
    """A usage as JSON (decimal strings, ISO dates) — kept on the bill so its explanation can re-rate it; a field
    at its default is left out (the usage reads back the same, and a million bills write less)."""
    values = vars(usage)  # one pass over the instance's fields (a chunk writes thousands of these)
    out: dict[str, Any] = {
        "period_start": values["period_start"].isoformat(),
        "period_end": values["period_end"].isoformat(),
        "energy_kwh": _json_value(values["energy_kwh"]),
    }
    for name, default in _OPTIONAL:
        value = values[name]
        if value is default or value == default:
            continue
        out[name] = _json_value(value)
    return out


def usage_from_dict(raw: dict[str, Any]) -> Usage:
    data = dict(raw)
    data["period_start"] = dt.date.fromisoformat(data["period_start"])
    data["period_end"] = dt.date.fromisoformat(data["period_end"])
    return Usage(**data)


def _split(quantity: Decimal, days: Sequence[int]) -> list[Decimal]:
    """``quantity`` shared by days, half-up to 0.001; the last part takes the remainder."""
    if len(days) == 1:  # the common case: one segment takes it all
        return [quantity]
    total = sum(days)
    parts = [(quantity * d / total).quantize(MILLI, rounding=ROUND_HALF_UP) for d in days[:-1]]
    return [*parts, quantity - sum(parts, Decimal(0))]


@lru_cache(maxsize=64)
def _month(period: str) -> int:
    return parse_period(period).month


def _basis(version: TariffVersion, entry: AccountInput) -> str | None:
    basic = version.component("basic")
    if isinstance(basic, BasicCharge) and basic.capacity_price is not None and basic.demand_price is not None:
        return "demand" if entry.contracted_demand_kw is not None else "capacity"
    return None


def _needs(version: TariffVersion, entry: AccountInput) -> None:
    """Refuse, with the reason in words, an account lacking what its tariff version needs besides energy."""
    R = NotBilled.Reason
    pf = version.component("power_factor")
    if isinstance(pf, PowerFactor) and REACTIVE not in entry.registers:
        capacity = entry.capacity_kva if entry.capacity_kva is not None else Decimal(0)
        if pf.min_capacity_kva == 0 or capacity * 1000 >= pf.min_capacity_kva:
            raise Refusal(
                R.MISSING_REGISTERS,
                "功率因数调整需要本期无功电量。 (The power factor adjustment needs the reactive energy.)",
            )
    basic = version.component("basic")
    by_demand = _basis(version, entry) == "demand" or (
        isinstance(basic, BasicCharge) and basic.demand_price is not None and basic.capacity_price is None
    )
    if by_demand and entry.max_demand_kw is None:
        raise Refusal(
            R.MISSING_DEMAND,
            entry.demand_missing
            or "按需量计收基本电费需要本期最大需量。 (The demand-based basic charge needs the maximum demand.)",
        )


Part = list[tuple[EngineTariff, Usage]]


def usages_for(entry: AccountInput, data: ChunkData, year: tuple[dt.date, dt.date] | None = None) -> Part:
    """The usages (one per tariff segment, of every tariff group) an account is rated from, or a
    :class:`Refusal` with the reason; ``year`` is the tier year of the period (computed once per chunk)."""
    return [pair for part in parts_for(entry, data, year) for pair in part]


def _tiered(part: Part) -> bool:
    return any(
        isinstance(t.version_on(u.period_start).energy, TieredEnergy | TouTieredEnergy) for t, u in part
    )


def parts_for(
    entry: AccountInput, data: ChunkData, year: tuple[dt.date, dt.date] | None = None
) -> list[Part]:
    """The usages of each tariff group of the account (one group unless its service points are on different
    tariffs): each group is rated by its own tariff from its own registers, capacity and contracted demand; the
    tier year so far goes to the tiered groups only, and only their kWh carry it on (RULES §2: annual tiers per
    account; a mixed residential + general account is tiered on its residential part)."""
    if not entry.several_tariffs:
        return [_usages(entry, data, year)]
    parts: list[Part] = []
    ytd = entry.tier_ytd_kwh
    for group in entry.groups:
        one = replace(
            entry,
            registers=group.registers,
            segments=group.segments,
            capacity_kva=group.capacity_kva,
            contracted_demand_kw=group.contracted_demand_kw,
            tier_ytd_kwh=ytd,
            several_tariffs=False,
            groups=[],
        )
        part = _usages(one, data, year)
        if _tiered(part):
            ytd += _energy(part)
        parts.append(part)
    return parts


def _energy(part: Part) -> Decimal:
    return sum(
        (v if type(v) is Decimal else Decimal(str(v)) for _, u in part for v in u.energy_kwh.values()),
        Decimal(0),
    )


def _usages(entry: AccountInput, data: ChunkData, year: tuple[dt.date, dt.date] | None = None) -> Part:
    R = NotBilled.Reason
    if entry.already_billed is not None:
        raise Refusal(
            R.ALREADY_BILLED, f"本期已有账单（{entry.already_billed}）。 (A bill exists for the period.)"
        )
    if entry.withheld:
        names = "、".join(
            sorted(str(Register(r).label) if r in Register.values else r for r in entry.withheld)
        )
        raise Refusal(R.OPEN_EXCEPTIONS, f"示数待处理：{names}。 (Reads held by exceptions: {names}.)")
    if not any(r.startswith("active") for r in entry.registers):
        raise Refusal(R.MISSING_READS, "本期没有已校核的有功示数。 (No validated active reads.)")
    if not entry.segments:
        raise Refusal(R.NO_TARIFF, "本期没有执行电价。 (No tariff assigned in the period.)")
    for s in entry.segments:
        if s.tariff_code in data.tariff_errors:
            raise Refusal(R.TARIFF_ERROR, data.tariff_errors[s.tariff_code])
    tou = {TOU_REGISTERS[r]: q for r, q in entry.registers.items() if r in TOU_REGISTERS}
    total = entry.registers.get(ACTIVE_TOTAL)
    if total is None:
        total = sum(tou.values(), Decimal(0))
    days = [(s.end - s.start).days for s in entry.segments]
    period_days = (entry.period_end - entry.period_start).days
    whole = len(entry.segments) == 1 and days[0] == period_days
    tou_split = {p: _split(q, days) for p, q in tou.items()}
    total_split = _split(total, days)
    year_start, year_end = year or tier_year(data.period)
    partial_year = entry.supply_from > year_start
    month = _month(data.period)
    out: list[tuple[EngineTariff, Usage]] = []
    ytd = entry.tier_ytd_kwh
    for k, segment in enumerate(entry.segments):
        tariff = data.tariffs[segment.tariff_code]
        try:
            version = tariff.version_on(segment.start)
        except TariffError as exc:
            raise Refusal(R.TARIFF_ERROR, str(exc)[:250]) from None
        _needs(version, entry)
        if version.is_tou:
            if not tou:
                raise Refusal(
                    R.MISSING_REGISTERS,
                    "分时电价需要尖峰平谷示数。 (A time-of-use tariff needs the TOU registers.)",
                )
            energy: dict[str, Decimal | int | str] = {p: parts[k] for p, parts in tou_split.items()}
        else:
            energy = {"total": total_split[k]}
        usage = Usage(
            period_start=segment.start,
            period_end=segment.end,
            energy_kwh=energy,
            reactive_kvarh=entry.registers.get(REACTIVE),
            capacity_kva=entry.capacity_kva,
            contracted_demand_kw=entry.contracted_demand_kw,
            max_demand_kw=entry.max_demand_kw,
            basic_basis=_basis(version, entry),
            cycle_days=None if whole else period_days,
            billing_month=month,
            tier_ytd_kwh=ytd,
            tier_year_days=(year_end - year_start).days if partial_year else None,
            tier_active_days=(year_end - entry.supply_from).days if partial_year else None,
        )
        ytd += total_split[k]
        out.append((tariff, usage))
    return out


def _label(code: str, version: TariffVersion) -> str:
    """The words of a line code under ``version`` (the explain mode's labels)."""
    e = version.energy
    if code.startswith("fund:"):
        for fund in version.funds:
            if isinstance(fund, Fund) and f"fund:{fund.code}" == code:
                return fund.label
    if code == "energy" and isinstance(e, FlatEnergy):
        return e.label
    if code.startswith("energy_tier") and isinstance(e, TieredEnergy):
        return f"{e.tiers[int(code.removeprefix('energy_tier')) - 1].label}电费"
    if code.startswith("tier_surcharge") and isinstance(e, TouTieredEnergy):
        return f"{e.tiers[int(code.removeprefix('tier_surcharge')) - 1].label}加价"
    if code.startswith("energy_") and code.removeprefix("energy_") in PERIOD_LABELS:
        return f"{PERIOD_LABELS[code.removeprefix('energy_')]}电费"
    component = {
        "fixed": version.component("fixed"),
        "power_factor": version.component("power_factor"),
        "minimum": version.component("minimum"),
    }.get(code)
    if isinstance(component, FixedCharge | PowerFactor | MinimumCharge):
        return component.label
    basic = version.component("basic")
    if isinstance(basic, BasicCharge):
        suffix = {
            "basic_capacity": "（按容量）",
            "basic_demand": "（按需量）",
            "basic_demand_excess": f"（超{basic.overrun_pct}%需量加倍）",
        }
        if code in suffix:
            return f"{basic.label}{suffix[code]}"
    return code


#: what a line's quantity is: the bill's energy, one TOU period's energy, the capacity — or none (the
#: explanation gives it)
Static = tuple[str, str, Decimal | None, str | None]


def _static(code: str, version: TariffVersion) -> Static:
    """(label, unit, unit price, quantity kind) of a line code under a version — the same for every bill."""
    e = version.energy
    price: int | None = None
    unit = ""
    kind: str | None = None
    if code.startswith("fund:"):
        price = next((f.price for f in version.funds if f"fund:{f.code}" == code), None)
        unit, kind = "kWh", "energy"
    elif code == "energy" and isinstance(e, FlatEnergy):
        price, unit, kind = e.price, "kWh", "energy"
    elif code.startswith("energy_") and isinstance(e, TouEnergy | TouTieredEnergy):
        kind = code.removeprefix("energy_")
        price, unit = e.prices.get(kind), "kWh"
    elif code.startswith("energy_tier") and isinstance(e, TieredEnergy):
        price, unit = e.tiers[int(code.removeprefix("energy_tier")) - 1].price, "kWh"
    elif code.startswith("tier_surcharge") and isinstance(e, TouTieredEnergy):
        price, unit = e.tiers[int(code.removeprefix("tier_surcharge")) - 1].price, "kWh"
    elif code.startswith("basic_"):
        basic = version.component("basic")
        if isinstance(basic, BasicCharge) and code == "basic_capacity":
            price, unit, kind = basic.capacity_price, "kVA", "capacity"
        elif isinstance(basic, BasicCharge) and basic.demand_price is not None:
            excess = code == "basic_demand_excess"
            price = basic.demand_price * (basic.overrun_multiplier if excess else 1)
            unit = "kW"
    return _label(code, version), unit, None if price is None else scaled_to_decimal(price, PRICE_DEC), kind


def _quantity(kind: str | None, usages: list[Usage], energy_total: Decimal) -> Decimal | None:
    if kind is None:
        return None
    if kind == "energy":
        return energy_total
    if kind == "capacity":
        capacity = usages[-1].capacity_kva
        return None if capacity is None else Decimal(str(capacity))
    return sum((Decimal(str(u.energy_kwh.get(kind, 0))) for u in usages), Decimal(0))


def _engine_reason(error: TariffError) -> str:
    """The engine's refusal for one account, without the batch's row numbers."""
    text = re.sub(r"^rows? [0-9, ]+(and \d+ more)?: ", "", str(error))
    return f"电价引擎拒绝计费：{text}"[:300]


def _units(
    entries: list[tuple[int, list[tuple[EngineTariff, Usage]]]],
) -> tuple[list[tuple[str, RatingUnit]], list[int], dict[int, str]]:
    """Rating units of every account (split at version changes); accounts whose usage the engine refuses are
    returned with the engine's message."""
    units: list[tuple[str, RatingUnit]] = []
    owner: list[int] = []
    failed: dict[int, str] = {}
    for index, usages in entries:
        try:
            mine = [(t.code, u) for t, usage in usages for u in split_usage(t, usage)]
        except TariffError as exc:
            failed[index] = _engine_reason(exc)
            continue
        units += mine
        owner += [index] * len(mine)
    return units, owner, failed


def _rate(
    catalog: Catalog, units: list[tuple[str, RatingUnit]], owner: list[int]
) -> tuple[dict[int, np.ndarray], dict[int, int], dict[int, str]]:
    """Amounts per account (by catalog code) with one batch rating; if the engine refuses a group, each account
    is rated alone so only the accounts at fault are stopped (with the engine's reason)."""
    amounts: dict[int, np.ndarray] = {}
    pf: dict[int, int] = {}
    failed: dict[int, str] = {}
    if not units:
        return amounts, pf, failed
    owners = np.asarray(owner, dtype=np.int64)
    try:
        result = rate_batch(catalog, BatchInput.from_units(catalog, units))
    except TariffError:
        result = None
    if result is not None:
        size = int(owners.max()) + 1
        per = result.per_bill(owners, size)
        for account in np.unique(owners).tolist():
            amounts[account] = per.amounts[:, account]
            pf[account] = int(per.power_factor[account])
        return amounts, pf, failed
    rows_of: dict[int, list[int]] = {}
    for i, o in enumerate(owner):
        rows_of.setdefault(o, []).append(i)
    for account, rows in rows_of.items():
        try:
            result = rate_batch(catalog, BatchInput.from_units(catalog, [units[i] for i in rows]))
        except TariffError as exc:
            failed[account] = _engine_reason(exc)
            continue
        amounts[account] = result.amounts.sum(axis=1)
        pf[account] = int(result.power_factor.max())
    return amounts, pf, failed


def words(detail: str) -> str:
    """The Chinese half of a bilingual message ("中文。 (English.)"): what the screens show of a reason."""
    cut = detail.find("。 (")
    return detail if cut < 0 else detail[: cut + 1]


#: what a plain account's tariff is in its period: (catalog row of the version, the version, TOU) — or None
Plain = tuple[int, TariffVersion, bool] | None


class _PlainLane:
    """The common case rated straight from the chunk's inputs as arrays, without building the engine's rating
    units one by one: one tariff segment over the whole period and one tariff version in it (what nearly every
    account is in a month). A tariff change in the period, service points on several tariffs, and any account the
    lane is unsure of (refused, or the engine would refuse it) take the general path (:func:`parts_for`); both
    feed the same batch engine and the same bill rows, and the explain mode re-rates both from the same stored
    usages (tested equal)."""

    def __init__(self, data: ChunkData, catalog: Catalog) -> None:
        self.data, self.catalog = data, catalog
        self.year_start, self.year_end = tier_year(data.period)
        self.month = _month(data.period)
        self.facts: dict[tuple[str, dt.date, dt.date], Plain] = {}
        self.bases: dict[tuple[Any, ...], tuple[str | None, int] | None] = {}
        self.entries: list[int] = []
        #: per lane account: its bill's inputs as JSON text, its tariff code
        self.inputs: list[str] = []
        self.codes: list[str] = []
        #: the tariff version of each catalog row the lane uses (its lines' labels and prices)
        self.versions: dict[int, TariffVersion] = {}
        self.spans: dict[tuple[dt.date, dt.date], str] = {}
        self.heads: dict[str, str] = {}
        self.columns: dict[str, list[int]] = {
            k: []
            for k in (
                "version",
                "energy",
                "reactive",
                "capacity",
                "contracted",
                "max_demand",
                "basis",
                "days",
                "ytd",
                "tier_num",
                "tier_den",
            )
        }

    def _facts(self, code: str, start: dt.date, end: dt.date) -> Plain:
        key = (code, start, end)
        if key not in self.facts:
            found: Plain = None
            tariff = self.data.tariffs.get(code)
            if tariff is not None and code not in self.data.tariff_errors:
                try:
                    parts = list(tariff.parts(start, end))
                except TariffError:
                    parts = []
                if len(parts) == 1:
                    index, version, _s, _e = parts[0]
                    found = (self.catalog.index_of(code, index), version, version.is_tou)
                    self.versions[found[0]] = version
            self.facts[key] = found
        return self.facts[key]

    def take(self, index: int, entry: AccountInput) -> bool:
        """Plan ``entry`` in this lane (True) or leave it to the general path (False)."""
        if (
            entry.already_billed is not None
            or entry.withheld
            or entry.several_tariffs
            or entry.compensations
            or len(entry.segments) != 1
        ):
            return False
        segment = entry.segments[0]
        if segment.start != entry.period_start or segment.end != entry.period_end:
            return False
        facts = self._facts(segment.tariff_code, segment.start, segment.end)
        if facts is None:
            return False
        row, version, tou = facts
        registers = entry.registers
        # what the version needs of the account depends on these alone: decided once per combination
        need = (
            row,
            REACTIVE in registers,
            entry.capacity_kva,
            entry.contracted_demand_kw is None,
            entry.max_demand_kw is None,
        )
        if need not in self.bases:
            bases: tuple[str | None, int] | None
            try:
                _needs(version, entry)
                basic = version.component("basic")
                basis_name = _basis(version, entry)
                bases = (
                    basis_name,
                    resolve_basis(basic if isinstance(basic, BasicCharge) else None, basis_name),
                )
            except (Refusal, TariffError):  # the general path refuses it with the reason
                bases = None
            self.bases[need] = bases
        bases = self.bases[need]
        if bases is None:
            return False
        basis_name, basis = bases
        quantities = {TOU_REGISTERS[r]: q for r, q in registers.items() if r in TOU_REGISTERS}
        if tou and not quantities:
            return False
        total = registers.get(ACTIVE_TOTAL)
        if total is None:
            if not quantities:
                return False
            total = sum(quantities.values(), Decimal(0))
        energy: dict[str, Decimal] = quantities if tou else {"total": total}
        scaled = [0] * len(ENERGY_KEYS)
        for key, quantity in energy.items():
            scaled[ENERGY_AT[key]] = _scaled(quantity)
        if any(v < 0 for v in scaled):  # the engine refuses it: the general path names the reason
            return False
        partial = entry.supply_from > self.year_start
        days = (entry.period_end - entry.period_start).days
        year_days = (self.year_end - self.year_start).days
        active_days = (self.year_end - entry.supply_from).days
        if partial and not 0 < active_days <= year_days:
            return False
        reactive = registers.get(REACTIVE)
        self.inputs.append(
            self._inputs(
                segment.tariff_code, entry, energy, reactive, basis_name, partial, year_days, active_days
            )
        )
        c = self.columns
        c["version"].append(row)
        c["energy"] += scaled
        c["reactive"].append(_scaled(reactive))
        c["capacity"].append(_scaled(entry.capacity_kva))
        c["contracted"].append(_scaled(entry.contracted_demand_kw))
        c["max_demand"].append(_scaled(entry.max_demand_kw))
        c["basis"].append(basis)
        c["days"].append(days)
        c["ytd"].append(_scaled(entry.tier_ytd_kwh))
        c["tier_num"].append(active_days if partial else 1)
        c["tier_den"].append(year_days if partial else 1)
        self.entries.append(index)
        self.codes.append(segment.tariff_code)
        return True

    def _inputs(
        self,
        code: str,
        entry: AccountInput,
        energy: dict[str, Decimal],
        reactive: Decimal | None,
        basis_name: str | None,
        partial: bool,
        year_days: int,
        active_days: int,
    ) -> str:
        """The bill's inputs as JSON text: what the general path's ``{"usages": [usage_dict(usage)]}`` encodes to
        (fields at their defaults left out), written straight from the account's values — a lane bill builds no
        ``Usage`` and encodes no dict (tested equal)."""
        head = self.heads.get(code)
        if head is None:
            head = self.heads[code] = '{"usages":[{"tariff":' + json.dumps(code, ensure_ascii=False) + ","
        span = self.spans.get((entry.period_start, entry.period_end))
        if span is None:
            span = self.spans[(entry.period_start, entry.period_end)] = (
                f'"period_start":"{entry.period_start.isoformat()}","period_end":"{entry.period_end.isoformat()}"'
            )
        text = head + span + ',"energy_kwh":{' + ",".join(f'"{k}":"{v}"' for k, v in energy.items()) + "}"
        if reactive is not None:
            text += f',"reactive_kvarh":"{reactive}"'
        if entry.capacity_kva is not None:
            text += f',"capacity_kva":"{entry.capacity_kva}"'
        if entry.contracted_demand_kw is not None:
            text += f',"contracted_demand_kw":"{entry.contracted_demand_kw}"'
        if entry.max_demand_kw is not None:
            text += f',"max_demand_kw":"{entry.max_demand_kw}"'
        if basis_name is not None:
            text += f',"basic_basis":{json.dumps(basis_name)}'
        text += f',"billing_month":{self.month}'
        if entry.tier_ytd_kwh != 0:
            text += f',"tier_ytd_kwh":"{entry.tier_ytd_kwh}"'
        if partial:
            text += f',"tier_year_days":{year_days},"tier_active_days":{active_days}'
        text += "}]"
        if entry.max_demand:
            text += ',"max_demand":' + json.dumps(entry.max_demand, ensure_ascii=False, separators=(",", ":"))
        return text + "}"

    def rate(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(amounts by catalog code × account, power factor) of the lane's accounts with one batch rating; None
        if the engine refuses the lane (its accounts then take the general path, which names the one at fault)."""
        if not self.entries:
            return None
        c = self.columns
        n = len(self.entries)
        energy = np.asarray(c["energy"], dtype=np.int64).reshape(n, len(ENERGY_KEYS))
        days = np.asarray(c["days"], dtype=np.int64)
        reactive = np.asarray(c["reactive"], dtype=np.int64)
        batch = BatchInput(
            version=np.asarray(c["version"], dtype=np.int64),
            energy=energy,
            reactive=reactive,
            pf_active=energy.sum(axis=1),
            pf_reactive=reactive,
            capacity=np.asarray(c["capacity"], dtype=np.int64),
            contracted=np.asarray(c["contracted"], dtype=np.int64),
            max_demand=np.asarray(c["max_demand"], dtype=np.int64),
            basis=np.asarray(c["basis"], dtype=np.int64),
            f_num=days,
            f_den=days,
            b_num=days,
            b_den=days,
            days=days,
            billing_month=np.full(n, self.month, dtype=np.int64),
            tier_ytd=np.asarray(c["ytd"], dtype=np.int64),
            tier_num=np.asarray(c["tier_num"], dtype=np.int64),
            tier_den=np.asarray(c["tier_den"], dtype=np.int64),
        )
        try:
            result = rate_batch(self.catalog, batch)
        except TariffError:
            return None
        return result.amounts, result.power_factor


ENERGY_AT = {k: i for i, k in enumerate(ENERGY_KEYS)}


class LaneBills:
    """The lane's bills as columns: amounts (fen) by account × catalog code from the batch engine, their sums, the
    power factors, the inputs as JSON text. The chunk's writer formats them for COPY column by column; a bill
    becomes a :class:`BillRow` only when something needs one (a finding's words, SQLite's writes, a single
    re-rating, the tests — :meth:`row` gives exactly the general path's row)."""

    def __init__(self, data: ChunkData, lane: _PlainLane, catalog: Catalog, fen: np.ndarray, pf: np.ndarray):
        self.positions = lane.entries
        self.entries = [data.accounts[i] for i in lane.entries]
        self.size = len(self.entries)
        self.codes = lane.codes
        self.inputs = lane.inputs
        self.catalog = catalog
        self.versions = np.asarray(lane.columns["version"], dtype=np.int64)
        self.version_of = lane.versions
        self.energy = np.asarray(lane.columns["energy"], dtype=np.int64).reshape(self.size, len(ENERGY_KEYS))
        #: kWh of each bill in 0.001 (the registers have three decimals: exact)
        self.energy_milli = self.energy.sum(axis=1)
        self.fen = np.ascontiguousarray(fen.T)  # account × code
        fund = np.array([code.startswith("fund:") for code in catalog.codes], dtype=bool)
        self.funds_fen = self.fen[:, fund].sum(axis=1)
        self.charges_fen = self.fen[:, ~fund].sum(axis=1)
        self.total_fen = self.charges_fen + self.funds_fen
        self.power_factor = np.asarray(pf, dtype=np.int64)
        #: what the plausibility rules found, per lane bill (rule code, in words)
        self.findings: dict[int, list[tuple[str, str]]] = {}
        self._statics: dict[tuple[int, int], Static] = {}

    def static(self, version_row: int, code_index: int) -> Static:
        """(label, unit, unit price, quantity kind) of a line code under the catalog row's version."""
        key = (version_row, code_index)
        found = self._statics.get(key)
        if found is None:
            found = self._statics[key] = _static(self.catalog.codes[code_index], self.version_of[version_row])
        return found

    def quantity(self, k: int, kind: str | None) -> Decimal | None:
        """A line's quantity, as :func:`_quantity` gives it for the same usage."""
        if kind is None:
            return None
        if kind == "capacity":
            capacity = self.entries[k].capacity_kva
            return None if capacity is None else Decimal(str(capacity))
        milli = (
            self.energy_milli[k]
            if kind == "energy"
            else self.energy[k, ENERGY_AT[kind]]
            if kind in ENERGY_AT
            else 0
        )
        return Decimal(int(milli)).scaleb(-3)

    def row(self, k: int) -> BillRow:
        """The ``k``-th lane bill as the general path's row object (lines, findings and all)."""
        entry = self.entries[k]
        version_row = int(self.versions[k])
        lines = []
        for j in np.flatnonzero(self.fen[k]).tolist():
            label, unit, price, kind = self.static(version_row, j)
            amount = Decimal(int(self.fen[k, j])).scaleb(-FEN_DEC)
            lines.append(LineRow(self.catalog.codes[j], label, amount, self.quantity(k, kind), unit, price))
        pf = int(self.power_factor[k])
        charges = Decimal(int(self.charges_fen[k])).scaleb(-FEN_DEC)
        funds = Decimal(int(self.funds_fen[k])).scaleb(-FEN_DEC)
        return BillRow(
            account=entry.account,
            period_start=entry.period_start,
            period_end=entry.period_end,
            tariff_code=self.codes[k][:64],
            energy_kwh=Decimal(int(self.energy_milli[k])).scaleb(-3),
            tier_ytd_kwh=entry.tier_ytd_kwh,
            power_factor=Decimal(pf).scaleb(-2) if pf >= 0 else None,
            charges=charges,
            funds=funds,
            credits=Decimal("0.00"),
            total=charges + funds,
            inputs=json.loads(self.inputs[k]),
            lines=lines,
            findings=list(self.findings.get(k, [])),
        )


def _scaled(value: Decimal | None) -> int:
    """A quantity in the engine's 0.001 units, half-up (−1: not given) — the engine's own conversion."""
    if value is None:
        return NONE
    if type(value) is Decimal and value.is_finite():  # decimal_to_scaled(…, exact=False) without its checks
        return int(value.scaleb(QTY_DEC).to_integral_value(rounding=ROUND_HALF_UP))
    return decimal_to_scaled(value, QTY_DEC, exact=False)


def rate_chunk(data: ChunkData) -> RatedChunk:
    """Bill rows for the chunk's accounts and the accounts not billed, with one batch rating (each tariff group
    of an account is rated as its own row of the batch and becomes its own lines of the account's bill)."""
    not_billed: list[tuple[int, str, str]] = []
    planned: list[tuple[int, Part]] = []  # (plan row, usages); plan rows of one account are consecutive
    account_of: list[int] = []  # plan row → index of the account in the chunk
    year = tier_year(data.period)
    catalog = compile_catalog(list(data.tariffs.values()))
    lane = _PlainLane(data, catalog)
    for index, entry in enumerate(data.accounts):
        if lane.take(index, entry):
            continue
        try:
            parts = parts_for(entry, data, year)
        except Refusal as refusal:
            not_billed.append((entry.account, refusal.reason, words(refusal.detail)))
            continue
        for part in parts:
            planned.append((len(account_of), part))
            account_of.append(index)
    plain = lane.rate()
    if plain is None and lane.entries:  # the engine refused the lane: its accounts take the general path
        for index in lane.entries:
            entry = data.accounts[index]
            try:
                parts = parts_for(entry, data, year)
            except Refusal as refusal:
                not_billed.append((entry.account, refusal.reason, words(refusal.detail)))
                continue
            for part in parts:
                planned.append((len(account_of), part))
                account_of.append(index)
        lane.entries = []
    lane_bills = None if plain is None else LaneBills(data, lane, catalog, *plain)
    units, owner, failed = _units(planned)
    amounts, pf, rate_failed = _rate(catalog, units, owner)
    failed.update(rate_failed)
    counts = Counter(
        owner
    )  # rating units per plan row: more than one = a tariff version change in the period
    rows_of: dict[int, list[int]] = {}
    for row, index in enumerate(account_of):
        rows_of.setdefault(index, []).append(row)
    bills: list[BillRow] = []
    positions: list[int] = []
    statics: dict[tuple[int, str], Static] = {}
    for index, rows in rows_of.items():
        entry = data.accounts[index]
        fault = next((failed[r] for r in rows if r in failed), None)
        if fault is not None:
            not_billed.append((entry.account, NotBilled.Reason.TARIFF_ERROR, fault))
            continue
        rated = [(planned[r][1], counts[r], amounts[r], pf[r]) for r in rows]
        bills.append(_bill_row(entry, rated, catalog, statics))
        positions.append(index)
    return RatedChunk(bills, not_billed, positions, lane_bills)


def _part_lines(
    usages: Part,
    units: int,
    catalog: Catalog,
    fen: np.ndarray | list[int],
    statics: dict[tuple[int, str], Static],
    prefix: str,
) -> tuple[list[LineRow], Decimal, Decimal, Decimal]:
    """The lines of one tariff group (labelled with its tariff when the bill has several), its charges, funds
    and kWh."""
    tariff, last = usages[-1]
    version = tariff.version_on(last.period_end - dt.timedelta(days=1))
    plain = [u for _, u in usages]
    lines: list[LineRow] = []
    charges = funds = Decimal("0.00")
    energy = _energy(usages)
    several = len(plain) > 1 or units > 1
    codes = catalog.codes
    for j, value in enumerate(fen.tolist() if isinstance(fen, np.ndarray) else fen):
        if not value:
            continue
        code = codes[j]
        amount = Decimal(value).scaleb(-FEN_DEC)  # scaled_to_decimal, without the int() round trip
        key = (id(version), code)  # the chunk's versions live as long as the chunk: ids stay theirs
        static = statics.get(key)
        if static is None:
            static = statics[key] = _static(code, version)
        label, unit, price, kind = static
        if several:
            price = None  # several segments: each part's price is in the explanation
        lines.append(
            LineRow(code, f"{prefix}{label}"[:80], amount, _quantity(kind, plain, energy), unit, price)
        )
        if code.startswith("fund:"):
            funds += amount
        else:
            charges += amount
    return lines, charges, funds, energy


def _bill_row(
    entry: AccountInput,
    rated: Sequence[tuple[Part, int, np.ndarray | list[int], int]],
    catalog: Catalog,
    statics: dict[tuple[int, str], Static],
) -> BillRow:
    lines: list[LineRow] = []
    charges = funds = energy = Decimal("0.00")
    tiered = Decimal(0)
    mixed = len(rated) > 1
    for usages, units, fen, _pf in rated:
        prefix = f"【{usages[0][0].name}】" if mixed else ""
        more, c, f, e = _part_lines(usages, units, catalog, fen, statics, prefix)
        lines += more
        charges, funds, energy = charges + c, funds + f, energy + e
        if mixed and _tiered(usages):
            tiered += e
    credits = Decimal("0.00")
    for pk, amount, reason in entry.compensations:
        lines.append(
            LineRow(
                COMPENSATION, f"服务补偿：{reason}"[:80], -amount, Decimal(1), "次", -amount, compensation=pk
            )
        )
        credits += amount
    pfs = [pf for _, _, _, pf in rated if pf >= 0]
    usages = [pair for part, _, _, _ in rated for pair in part]
    inputs: dict[str, Any] = {"usages": [{"tariff": t.code, **usage_dict(u)} for t, u in usages]}
    if mixed:
        inputs["groups"] = [
            {"tariff": g.segments[0].tariff_code, "service_points": g.points, "usages": len(part)}
            for g, (part, _, _, _) in zip(entry.groups, rated, strict=True)
        ]
    if entry.max_demand:
        inputs["max_demand"] = entry.max_demand
    return BillRow(
        account=entry.account,
        period_start=entry.period_start,
        period_end=entry.period_end,
        tariff_code="/".join(dict.fromkeys(t.code for t, _ in usages))[:64],
        energy_kwh=energy,
        tier_ytd_kwh=entry.tier_ytd_kwh,
        power_factor=Decimal(min(pfs)).scaleb(-2) if pfs else None,
        charges=charges,
        funds=funds,
        credits=credits,
        total=charges + funds - credits,
        inputs=inputs,
        lines=lines,
        tier_kwh=tiered if mixed else None,
        tariff_changed=any(len(part) > 1 for part, _, _, _ in rated),
    )
