"""Tariff definitions (电价表): effective-dated versions and their charge components.

Why a data format rather than code: prices change by province and by year (调价文件), so a
tariff is data — a YAML or JSON document validated against ``tariff_schema.json`` — and the
engine only knows a fixed set of component kinds:

=====================  ===========================================================================
kind                   meaning
=====================  ===========================================================================
``fixed``              fixed charge per month or per day (基本月费 / 日费)
``energy_flat``        one price per kWh (单一电度电价)
``energy_tiered``      tiers on the month's or the tier year's kWh (阶梯电价, monthly / annual,
                       thresholds may differ by month: seasonal)
``energy_tou``         a price per time-of-use period (峰谷分时: 尖峰/高峰/平段/低谷)
``energy_tou_tiered``  TOU prices, then a tier surcharge on total kWh by tier (先峰谷后阶梯)
``basic``              two-part basic charge by capacity (元/kVA·月) or max demand (元/kW·月)
``power_factor``       power-factor adjustment (力调电费) per the 1983 tables
``fund``               government fund / surcharge per kWh (政府性基金及附加), itemised
``minimum``            minimum charge per month (最低电费)
=====================  ===========================================================================

Everything is converted at load time to fixed-point integers (see :mod:`gridcare.engine.money`):
prices in 1e-6 元, quantities in 0.001 units, ratios in hundredths.  A definition that does not
validate raises :class:`TariffError` naming every problem (path and reason), and nothing is
loaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from gridcare.engine.money import PRICE_DEC, QTY_DEC, decimal_to_scaled
from gridcare.engine.power_factor import DEFAULT_REWARD_CAP_PF
from gridcare.engine.text import iter_text_problems

__all__ = [
    "DAY_TYPES",
    "PERIODS",
    "PERIOD_LABELS",
    "BasicCharge",
    "Component",
    "FixedCharge",
    "FlatEnergy",
    "Fund",
    "MinimumCharge",
    "PowerFactor",
    "Tariff",
    "TariffError",
    "TariffVersion",
    "Tier",
    "TieredEnergy",
    "TouEnergy",
    "TouSchedule",
    "TouTieredEnergy",
    "list_shipped_tariffs",
    "load_shipped_tariff",
    "load_tariff",
    "parse_tariff",
]

#: TOU periods in bill order; the batch engine's energy columns follow this order.
PERIODS: tuple[str, ...] = ("critical", "peak", "flat", "valley")
PERIOD_LABELS: dict[str, str] = {"critical": "尖峰", "peak": "高峰", "flat": "平段", "valley": "低谷"}
PERIOD_LETTERS: dict[str, str] = {"C": "critical", "P": "peak", "F": "flat", "V": "valley"}
DAY_TYPES: tuple[str, ...] = ("weekday", "weekend", "holiday")
TIER_NAMES: tuple[str, ...] = ("第一档", "第二档", "第三档", "第四档", "第五档", "第六档")


class TariffError(ValueError):
    """A tariff definition or a rating request is invalid; the message names what and where."""

    def __init__(self, problems: str | Sequence[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


# --------------------------------------------------------------------------------------------
# Components (all amounts as fixed-point integers)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    """One tier: ``upto`` per calendar month (index 0 = January) in 0.001 kWh, ``None`` = no limit.

    ``price`` is the tier's price (``energy_tiered``) or surcharge (``energy_tou_tiered``) in 1e-6 元.
    For annual tiers all twelve entries are equal.
    """

    upto: tuple[int | None, ...]
    price: int
    label: str


@dataclass(frozen=True)
class FixedCharge:
    """基本月费 / 日费: a fixed amount per month (prorated by days) or per day of the period."""

    price: int
    per: str
    label: str = "固定费用"
    kind: str = field(default="fixed", init=False)


@dataclass(frozen=True)
class FlatEnergy:
    """单一电度电价: every kWh at one price."""

    price: int
    label: str = "电度电费"
    kind: str = field(default="energy_flat", init=False)


@dataclass(frozen=True)
class TieredEnergy:
    """阶梯电价: total kWh split into tiers on the month's or the tier year's consumption."""

    basis: str
    tiers: tuple[Tier, ...]
    label: str = "阶梯电费"
    kind: str = field(default="energy_tiered", init=False)


@dataclass(frozen=True)
class TouEnergy:
    """峰谷分时电价: a price per TOU period (registers per period)."""

    prices: Mapping[str, int]
    label: str = "分时电度电费"
    kind: str = field(default="energy_tou", init=False)


@dataclass(frozen=True)
class TouTieredEnergy:
    """先峰谷后阶梯: TOU prices per period, then a surcharge per tier on the total kWh."""

    prices: Mapping[str, int]
    basis: str
    tiers: tuple[Tier, ...]
    label: str = "分时阶梯电费"
    kind: str = field(default="energy_tou_tiered", init=False)


@dataclass(frozen=True)
class BasicCharge:
    """两部制基本电费 by capacity (元/kVA·月) or by maximum demand (元/kW·月).

    ``overrun_pct`` = 105: demand above 105 % of the contracted demand is charged at
    ``overrun_multiplier`` × price; ``min_contract_pct`` = 40: contracted (or billed) demand is at
    least 40 % of the capacity; ``partial_month_days`` = 30: a partial month (新装/变更) is
    charged per day at 1/30 of the monthly charge.
    """

    capacity_price: int | None
    demand_price: int | None
    overrun_pct: int = 105
    overrun_multiplier: int = 2
    min_contract_pct: int = 40
    partial_month_days: int = 30
    label: str = "基本电费"
    kind: str = field(default="basic", init=False)


@dataclass(frozen=True)
class PowerFactor:
    """功率因数调整电费: standard and reward cap in hundredths (90 = 0.90)."""

    standard: int
    reward_cap_pf: int
    min_capacity_kva: int = 0
    label: str = "功率因数调整电费"
    kind: str = field(default="power_factor", init=False)


@dataclass(frozen=True)
class Fund:
    """政府性基金及附加 per kWh, itemised on the bill and excluded from the PF base."""

    code: str
    label: str
    price: int
    kind: str = field(default="fund", init=False)


@dataclass(frozen=True)
class MinimumCharge:
    """最低电费: the month's charges (excluding funds) are topped up to this amount."""

    amount: int
    label: str = "最低电费补足"
    kind: str = field(default="minimum", init=False)


Component = (
    FixedCharge
    | FlatEnergy
    | TieredEnergy
    | TouEnergy
    | TouTieredEnergy
    | BasicCharge
    | PowerFactor
    | Fund
    | MinimumCharge
)
ENERGY_KINDS = ("energy_flat", "energy_tiered", "energy_tou", "energy_tou_tiered")


@dataclass(frozen=True)
class TouSchedule:
    """Period of every hour: ``table[month-1, day_type, hour]`` = index into :data:`PERIODS`."""

    table: tuple[tuple[tuple[int, ...], ...], ...]

    def period_at(self, month: int, day_type: str, hour: int) -> str:
        """Period code (``"peak"`` …) of an hour; day_type is weekday / weekend / holiday."""
        return PERIODS[self.table[month - 1][DAY_TYPES.index(day_type)][hour]]

    def as_array(self) -> np.ndarray:
        """(12, 3, 24) int8 array for vectorised interval aggregation."""
        return np.array(self.table, dtype=np.int8)

    def periods_used(self) -> set[str]:
        return {PERIODS[i] for m in self.table for d in m for i in d}


@dataclass(frozen=True)
class TariffVersion:
    """One effective-dated version: ``valid_from`` inclusive, ``valid_to`` exclusive or open."""

    valid_from: date
    valid_to: date | None
    components: tuple[Component, ...]
    tou: TouSchedule | None = None
    source: str = ""

    def component(self, kind: str) -> Component | None:
        for c in self.components:
            if c.kind == kind:
                return c
        return None

    @property
    def energy(self) -> Component | None:
        """The version's energy component (at most one)."""
        for c in self.components:
            if c.kind in ENERGY_KINDS:
                return c
        return None

    @property
    def funds(self) -> tuple[Fund, ...]:
        return tuple(c for c in self.components if isinstance(c, Fund))

    @property
    def is_tou(self) -> bool:
        e = self.energy
        return e is not None and e.kind in ("energy_tou", "energy_tou_tiered")


@dataclass(frozen=True)
class Tariff:
    """A tariff (电价类别) with its versions sorted by ``valid_from``; versions never overlap."""

    code: str
    name: str
    versions: tuple[TariffVersion, ...]
    province: str = ""
    customer_class: str = ""
    description: str = ""

    def version_on(self, day: date) -> TariffVersion:
        """The version in force on ``day`` (TariffError if none)."""
        for v in self.versions:
            if v.valid_from <= day and (v.valid_to is None or day < v.valid_to):
                return v
        raise TariffError(f"tariff {self.code} has no version in force on {day.isoformat()}")

    def parts(self, start: date, end: date) -> Iterator[tuple[int, TariffVersion, date, date]]:
        """Split ``[start, end)`` at version boundaries: ``(index, version, part_start, part_end)``.

        Raises :class:`TariffError` if any day of the period has no version.
        """
        if end <= start:
            raise TariffError(f"empty bill period {start.isoformat()}..{end.isoformat()}")
        day = start
        while day < end:
            for i, v in enumerate(self.versions):
                if v.valid_from <= day and (v.valid_to is None or day < v.valid_to):
                    part_end = end if v.valid_to is None else min(end, v.valid_to)
                    yield i, v, day, part_end
                    day = part_end
                    break
            else:
                raise TariffError(f"tariff {self.code} has no version in force on {day.isoformat()}")


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("gridcare.engine").joinpath("tariff_schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _normalise(obj: Any) -> Any:
    """YAML gives dates as ``date`` and month keys as ints; the schema wants JSON types."""
    if isinstance(obj, dict):
        return {str(k): _normalise(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_normalise(v) for v in obj]
    if isinstance(obj, date):
        return obj.isoformat()
    return obj


def _dec(value: Any) -> Decimal:
    # str() of a float is its shortest round-trip repr, i.e. the number as typed in YAML/JSON
    return Decimal(str(value))


PRICE_MAX = Decimal(100)
"""元/kWh: no energy price, tier surcharge or fund comes near it (2025 prices are below 2 元)."""
UNIT_PRICE_MAX = Decimal(1000)
"""元 per kVA or kW and month (basic charges are 20–50 元)."""
AMOUNT_MAX = Decimal(1_000_000)
"""元 per month or day (fixed and minimum charges)."""
FIRST_DAY = date(1901, 1, 1)
LAST_DAY = date(2199, 12, 31)


def _price(
    value: Any, where: str, problems: list[str], maximum: Decimal = PRICE_MAX, credit: bool = False
) -> int:
    """A price in 元 as a fixed-point integer with 6 decimals: at least 0 (at most 0 when the component is
    a ``credit``), at most ``maximum`` in size."""
    try:
        amount = _dec(value)
        scaled = decimal_to_scaled(amount, PRICE_DEC)
    except (ValueError, ArithmeticError) as exc:
        problems.append(f"{where}: {exc}")
        return 0
    if credit and amount > 0:
        problems.append(f"{where}: a credit is negative or 0 (got {amount})")
    elif not credit and amount < 0:
        problems.append(f"{where}: must not be negative (got {amount}); a credit component says credit: true")
    if abs(amount) > maximum:
        problems.append(f"{where}: at most {maximum} (got {amount})")
    return scaled


def _qty(value: Any, where: str, problems: list[str]) -> int:
    try:
        return decimal_to_scaled(_dec(value), QTY_DEC)
    except ValueError as exc:
        problems.append(f"{where}: {exc}")
        return 0


def _hundredths(value: Any, where: str, problems: list[str]) -> int:
    try:
        return decimal_to_scaled(_dec(value), 2)
    except ValueError as exc:
        problems.append(f"{where}: {exc}")
        return 0


def _tiers(
    raw: list[dict[str, Any]], key: str, basis: str, where: str, problems: list[str]
) -> tuple[Tier, ...]:
    tiers: list[Tier] = []
    prev: list[int] = [0] * 12
    for i, t in enumerate(raw):
        w = f"{where}.tiers[{i}]"
        base = None if t["upto"] is None else _qty(t["upto"], f"{w}.upto", problems)
        by_month = t.get("upto_by_month") or {}
        if by_month and basis == "annual":
            problems.append(f"{w}.upto_by_month: annual tiers have one threshold for the year")
        upto: list[int | None] = []
        for m in range(1, 13):
            if str(m) in by_month:
                raw_m = by_month[str(m)]
                upto.append(None if raw_m is None else _qty(raw_m, f"{w}.upto_by_month.{m}", problems))
            else:
                upto.append(base)
        last = i == len(raw) - 1
        for m, u in enumerate(upto):
            if u is None and not last:
                problems.append(f"{w}.upto: only the last tier may be unlimited (month {m + 1})")
            if u is not None and last:
                problems.append(
                    f"{w}.upto: the last tier must be unlimited (null), month {m + 1} has {u / 1000}"
                )
            if u is not None and u <= prev[m]:
                problems.append(f"{w}.upto: thresholds must increase (month {m + 1})")
            if u is not None:
                prev[m] = u
        name = TIER_NAMES[i] if i < len(TIER_NAMES) else f"第{i + 1}档"
        tiers.append(
            Tier(upto=tuple(upto), price=_price(t[key], f"{w}.{key}", problems), label=t.get("label", name))
        )
    return tuple(tiers)


def _tou_prices(raw: Mapping[str, Any], where: str, problems: list[str]) -> dict[str, int]:
    return {p: _price(raw[p], f"{where}.prices.{p}", problems) for p in PERIODS if p in raw}


def _component(raw: dict[str, Any], where: str, problems: list[str]) -> Component | None:
    kind = raw["kind"]
    label = raw.get("label")
    kw: dict[str, Any] = {"label": label} if label else {}
    credit = bool(raw.get("credit", False))
    if kind == "fixed":
        price = _price(raw["price"], f"{where}.price", problems, AMOUNT_MAX, credit)
        return FixedCharge(price=price, per=raw["per"], **kw)
    if kind == "energy_flat":
        return FlatEnergy(price=_price(raw["price"], f"{where}.price", problems), **kw)
    if kind == "energy_tiered":
        tiers = _tiers(raw["tiers"], "price", raw["basis"], where, problems)
        return TieredEnergy(basis=raw["basis"], tiers=tiers, **kw)
    if kind == "energy_tou":
        return TouEnergy(prices=_tou_prices(raw["prices"], where, problems), **kw)
    if kind == "energy_tou_tiered":
        tiers = _tiers(raw["tiers"], "surcharge", raw["basis"], where, problems)
        return TouTieredEnergy(
            prices=_tou_prices(raw["prices"], where, problems), basis=raw["basis"], tiers=tiers, **kw
        )
    if kind == "basic":
        cap = raw.get("capacity_price")
        dem = raw.get("demand_price")
        return BasicCharge(
            capacity_price=None
            if cap is None
            else _price(cap, f"{where}.capacity_price", problems, UNIT_PRICE_MAX),
            demand_price=None
            if dem is None
            else _price(dem, f"{where}.demand_price", problems, UNIT_PRICE_MAX),
            overrun_pct=_hundredths(
                raw.get("overrun_threshold", "1.05"), f"{where}.overrun_threshold", problems
            ),
            overrun_multiplier=int(raw.get("overrun_multiplier", 2)),
            min_contract_pct=_hundredths(
                raw.get("min_contract_ratio", "0.40"), f"{where}.min_contract_ratio", problems
            ),
            partial_month_days=int(raw.get("partial_month_days", 30)),
            **kw,
        )
    if kind == "power_factor":
        std = _hundredths(raw["standard"], f"{where}.standard", problems)
        cap_raw = raw.get("reward_cap_pf")
        cap = _hundredths(cap_raw, f"{where}.reward_cap_pf", problems) if cap_raw is not None else None
        if cap is None:
            cap = DEFAULT_REWARD_CAP_PF.get(std)
            if cap is None:
                problems.append(f"{where}.reward_cap_pf: required for a standard other than 0.90/0.85/0.80")
                cap = 100
        if not 0 < std <= 100 or not std <= cap <= 100:
            problems.append(f"{where}: standard and reward_cap_pf must satisfy 0 < standard <= cap <= 1")
        min_kva = raw.get("min_capacity_kva")
        return PowerFactor(
            standard=std,
            reward_cap_pf=cap,
            min_capacity_kva=0 if min_kva is None else _qty(min_kva, f"{where}.min_capacity_kva", problems),
            **kw,
        )
    if kind == "fund":
        return Fund(
            code=raw["code"],
            label=raw["label"],
            price=_price(raw["price"], f"{where}.price", problems, PRICE_MAX, credit),
        )
    if kind == "minimum":
        return MinimumCharge(amount=_price(raw["amount"], f"{where}.amount", problems, AMOUNT_MAX), **kw)
    problems.append(f"{where}.kind: unknown kind {kind!r}")
    return None


def _tou(raw: dict[str, Any], where: str, problems: list[str]) -> TouSchedule:
    table: list[list[list[int] | None]] = [[None, None, None] for _ in range(12)]
    for i, rule in enumerate(raw["rules"]):
        hours = [PERIODS.index(PERIOD_LETTERS[ch]) for ch in rule["hours"]]
        for m in rule["months"]:
            for dt in rule["day_types"]:
                d = DAY_TYPES.index(dt)
                if table[m - 1][d] is not None:
                    problems.append(
                        f"{where}.rules[{i}]: month {m} {dt} is already covered by an earlier rule"
                    )
                table[m - 1][d] = hours
    for m in range(12):
        for d in range(3):
            if table[m][d] is None:
                problems.append(f"{where}: no rule covers month {m + 1} {DAY_TYPES[d]}")
                table[m][d] = [PERIODS.index("flat")] * 24
    return TouSchedule(table=tuple(tuple(tuple(h or ()) for h in m) for m in table))


def _day(value: str, where: str, problems: list[str]) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        problems.append(f"{where}: {value!r} is not a date")
        return FIRST_DAY
    if not FIRST_DAY <= day <= LAST_DAY:
        problems.append(f"{where}: {value} is outside {FIRST_DAY.year}–{LAST_DAY.year}")
    return day


def _version(raw: dict[str, Any], where: str, problems: list[str]) -> TariffVersion:
    vf = _day(raw["valid_from"], f"{where}.valid_from", problems)
    vt = None if raw.get("valid_to") is None else _day(raw["valid_to"], f"{where}.valid_to", problems)
    if vt is not None and vt <= vf:
        problems.append(f"{where}.valid_to: must be after valid_from (it is exclusive)")
    comps: list[Component] = []
    for i, c in enumerate(raw["components"]):
        comp = _component(c, f"{where}.components[{i}]", problems)
        if comp is not None:
            comps.append(comp)
    kinds = [c.kind for c in comps]
    n_energy = sum(k in ENERGY_KINDS for k in kinds)
    if n_energy > 1:
        problems.append(f"{where}.components: at most one energy component (found {n_energy})")
    for k in ("fixed", "basic", "power_factor", "minimum"):
        if kinds.count(k) > 1:
            problems.append(f"{where}.components: {k} appears {kinds.count(k)} times")
    fund_codes = [c.code for c in comps if isinstance(c, Fund)]
    if len(set(fund_codes)) != len(fund_codes):
        problems.append(f"{where}.components: fund codes must be unique")
    tou = _tou(raw["tou"], f"{where}.tou", problems) if "tou" in raw else None
    version = TariffVersion(
        valid_from=vf, valid_to=vt, components=tuple(comps), tou=tou, source=raw.get("source", "")
    )
    energy = version.energy
    if isinstance(energy, TouEnergy | TouTieredEnergy):
        if tou is not None:
            missing = sorted(tou.periods_used() - set(energy.prices), key=PERIODS.index)
            if missing:
                problems.append(
                    f"{where}: the TOU schedule uses {', '.join(missing)} but the energy component has no price for it"
                )
    elif tou is not None:
        problems.append(f"{where}.tou: a TOU schedule needs an energy_tou or energy_tou_tiered component")
    return version


def parse_tariff(doc: Mapping[str, Any]) -> Tariff:
    """Validate a definition (already parsed from YAML/JSON) and build a :class:`Tariff`.

    All problems are collected and raised together in one :class:`TariffError`.
    """
    import jsonschema  # local: only loading needs it

    data = _normalise(dict(doc))
    # text first: a NUL or a lone surrogate must not even reach an error message
    text = [f"{where}: {problem}" for where, problem in iter_text_problems(data)]
    if text:
        raise TariffError(text)
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        raise TariffError(
            [f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in errors]
        )
    problems: list[str] = []
    versions = [_version(v, f"versions[{i}]", problems) for i, v in enumerate(data["versions"])]
    versions.sort(key=lambda v: v.valid_from)
    for a, b in zip(versions, versions[1:], strict=False):
        if a.valid_to is None or a.valid_to > b.valid_from:
            problems.append(
                f"versions: version from {a.valid_from.isoformat()} overlaps the one from {b.valid_from.isoformat()}"
            )
    if problems:
        raise TariffError(problems)
    return Tariff(
        code=data["code"],
        name=data["name"],
        versions=tuple(versions),
        province=data.get("province", ""),
        customer_class=data.get("customer_class", ""),
        description=data.get("description", ""),
    )


def load_tariff(source: str | Path | Mapping[str, Any]) -> Tariff:
    """Load a tariff from a ``.yaml``/``.yml``/``.json`` file or from an already parsed mapping."""
    if isinstance(source, Mapping):
        return parse_tariff(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TariffError(f"{path}: cannot read ({exc.strerror})") from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise TariffError(f"{path}: not valid YAML ({exc})") from exc
    else:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TariffError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(doc, Mapping):
        raise TariffError(f"{path}: a tariff definition is a mapping at the top level")
    try:
        return parse_tariff(doc)
    except TariffError as exc:
        raise TariffError([f"{path}: {p}" for p in exc.problems]) from exc


def list_shipped_tariffs() -> list[str]:
    """Names (file stems) of the tariff definitions shipped in ``gridcare/engine/tariffs``."""
    folder = resources.files("gridcare.engine.tariffs")
    return sorted(p.name.rsplit(".", 1)[0] for p in folder.iterdir() if p.name.endswith((".yaml", ".json")))


def load_shipped_tariff(name: str) -> Tariff:
    """Load a shipped definition by file stem, e.g. ``"zhejiang_residential_tiered"``."""
    folder = resources.files("gridcare.engine.tariffs")
    for suffix in (".yaml", ".json"):
        res = folder.joinpath(name + suffix)
        if res.is_file():
            with resources.as_file(res) as path:
                return load_tariff(path)
    raise TariffError(f"no shipped tariff named {name!r} (have: {', '.join(list_shipped_tariffs())})")
