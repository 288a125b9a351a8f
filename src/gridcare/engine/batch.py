"""Batch rating (批量算费): many register-based bills at once, as int64 arrays.

Why: a billing run rates hundreds of thousands of accounts; a Python loop per bill is far too
slow.  Rows are grouped by tariff version (one compiled :class:`CompiledVersion` per group) and
each component is applied to the whole group with NumPy.  Every rule, scale and rounding is the
one of :mod:`gridcare.engine.rating` (the explain mode), and the Hypothesis tests check that both
give the same amount for every line code of every bill.

Input rows are *rating units* (a bill, or one version part of a bill that crosses a price change;
see :func:`batch_input_from_usages`).  Quantities are int64 in 0.001 units, prices int64 in 1e-6
元, amounts int64 in 分.  ``-1`` marks an optional quantity that was not measured.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from gridcare.engine.arrays import Int64Array
from gridcare.engine.money import (
    PRICE_DEC,
    QTY_DEC,
    div_round_half_up_array,
)
from gridcare.engine.power_factor import adjustment_pct, pf_hundredths_array
from gridcare.engine.rating import (
    BASIS_CAPACITY,
    BASIS_DEMAND,
    ENERGY_KEYS,
    NONE,
    RatingUnit,
    Usage,
    split_usage,
)
from gridcare.engine.tariff import (
    PERIODS,
    BasicCharge,
    FixedCharge,
    FlatEnergy,
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
    "BatchInput",
    "BatchResult",
    "Catalog",
    "CompiledVersion",
    "batch_input_from_usages",
    "compile_catalog",
    "rate_batch",
]

_TO_FEN = 10 ** (QTY_DEC + PRICE_DEC - 2)  # qty (1e-3) × price (1e-6) → 分 (1e-2)
_PRICE_TO_FEN = 10 ** (PRICE_DEC - 2)
_CHUNK = 1 << 16  # rows rated together


@dataclass(frozen=True)
class CompiledVersion:
    """A tariff version flattened into arrays for the vectorised engine."""

    tariff_code: str
    valid_from: date
    version: TariffVersion
    energy_kind: str
    flat_price: int
    tou_price: np.ndarray  # (4,) int64, price per PERIODS entry (0 if none)
    tou_has: np.ndarray  # (4,) bool
    tier_annual: bool
    tier_upto: np.ndarray  # (K, 12) int64, -1 = unlimited
    tier_price: np.ndarray  # (K,) int64 (price or surcharge)
    fixed: FixedCharge | None
    basic: BasicCharge | None
    pf: PowerFactor | None
    pf_pct: np.ndarray  # (101,) int64 adjustment in 0.01 % by PF hundredths
    funds: tuple[tuple[str, int], ...]
    minimum: MinimumCharge | None

    @property
    def n_tiers(self) -> int:
        return int(self.tier_price.shape[0])


def compile_version(tariff_code: str, v: TariffVersion) -> CompiledVersion:
    """Flatten one version (prices and thresholds already fixed-point in the model)."""
    e = v.energy
    tou_price = np.zeros(len(PERIODS), dtype=np.int64)
    tou_has = np.zeros(len(PERIODS), dtype=bool)
    tiers: tuple[Tier, ...] = ()
    annual = False
    flat_price = 0
    kind = "none" if e is None else e.kind
    if isinstance(e, FlatEnergy):
        flat_price = e.price
    if isinstance(e, TouEnergy | TouTieredEnergy):
        for i, p in enumerate(PERIODS):
            if p in e.prices:
                tou_price[i] = e.prices[p]
                tou_has[i] = True
    if isinstance(e, TieredEnergy | TouTieredEnergy):
        tiers = e.tiers
        annual = e.basis == "annual"
    upto = np.array([[-1 if u is None else u for u in t.upto] for t in tiers], dtype=np.int64).reshape(
        len(tiers), 12
    )
    pf = v.component("power_factor")
    pf_pct = np.zeros(101, dtype=np.int64)
    if isinstance(pf, PowerFactor):
        pf_pct = np.array(
            [adjustment_pct(k, pf.standard, pf.reward_cap_pf) for k in range(101)], dtype=np.int64
        )
    fixed = v.component("fixed")
    basic = v.component("basic")
    minimum = v.component("minimum")
    return CompiledVersion(
        tariff_code=tariff_code,
        valid_from=v.valid_from,
        version=v,
        energy_kind=kind,
        flat_price=flat_price,
        tou_price=tou_price,
        tou_has=tou_has,
        tier_annual=annual,
        tier_upto=upto,
        tier_price=np.array([t.price for t in tiers], dtype=np.int64),
        fixed=fixed if isinstance(fixed, FixedCharge) else None,
        basic=basic if isinstance(basic, BasicCharge) else None,
        pf=pf if isinstance(pf, PowerFactor) else None,
        pf_pct=pf_pct,
        funds=tuple((f.code, f.price) for f in v.funds),
        minimum=minimum if isinstance(minimum, MinimumCharge) else None,
    )


@dataclass(frozen=True)
class Catalog:
    """All versions of the tariffs in a billing run; ``versions[i]`` is version index ``i``."""

    tariffs: tuple[Tariff, ...]
    versions: tuple[CompiledVersion, ...]
    codes: tuple[str, ...]
    _index: dict[tuple[str, int], int] = field(repr=False)

    def index_of(self, tariff_code: str, version_index: int) -> int:
        """Catalog index of a tariff's ``version_index``-th version."""
        return self._index[(tariff_code, version_index)]

    def index_on(self, tariff_code: str, day: date) -> int:
        """Catalog index of the version of ``tariff_code`` in force on ``day``."""
        for t in self.tariffs:
            if t.code == tariff_code:
                v = t.version_on(day)
                return self._index[(tariff_code, t.versions.index(v))]
        raise TariffError(f"tariff {tariff_code} is not in the catalog")


def compile_catalog(tariffs: Sequence[Tariff]) -> Catalog:
    """Compile every version of ``tariffs`` and fix the line-code columns of the results."""
    versions: list[CompiledVersion] = []
    index: dict[tuple[str, int], int] = {}
    max_tiers = 0
    funds: list[str] = []
    kinds: set[str] = set()
    for t in tariffs:
        for i, v in enumerate(t.versions):
            cv = compile_version(t.code, v)
            index[(t.code, i)] = len(versions)
            versions.append(cv)
            max_tiers = max(max_tiers, cv.n_tiers)
            kinds.update(c.kind for c in v.components)
            for code, _ in cv.funds:
                if f"fund:{code}" not in funds:
                    funds.append(f"fund:{code}")
    codes: list[str] = []
    if "fixed" in kinds:
        codes.append("fixed")
    if "energy_flat" in kinds:
        codes.append("energy")
    if "energy_tiered" in kinds:
        codes += [f"energy_tier{k + 1}" for k in range(max_tiers)]
    if kinds & {"energy_tou", "energy_tou_tiered"}:
        codes += [f"energy_{p}" for p in PERIODS]
    if "energy_tou_tiered" in kinds:
        codes += [f"tier_surcharge{k + 1}" for k in range(max_tiers)]
    if "basic" in kinds:
        codes += ["basic_capacity", "basic_demand", "basic_demand_excess"]
    if "power_factor" in kinds:
        codes.append("power_factor")
    codes += funds
    if "minimum" in kinds:
        codes.append("minimum")
    return Catalog(tariffs=tuple(tariffs), versions=tuple(versions), codes=tuple(codes), _index=index)


@dataclass
class BatchInput:
    """Rating units as arrays (length N).  ``energy`` is (N, 5): critical, peak, flat, valley, total.

    ``f_num/f_den``: fraction of a month for fixed/minimum charges and monthly tier thresholds;
    ``b_num/b_den``: fraction for the basic charge; ``tier_num/tier_den``: annual-threshold
    proration; ``pf_active/pf_reactive``: the whole bill's energies for the power factor.
    """

    version: np.ndarray
    energy: np.ndarray
    reactive: np.ndarray
    pf_active: np.ndarray
    pf_reactive: np.ndarray
    capacity: np.ndarray
    contracted: np.ndarray
    max_demand: np.ndarray
    basis: np.ndarray
    f_num: np.ndarray
    f_den: np.ndarray
    b_num: np.ndarray
    b_den: np.ndarray
    days: np.ndarray
    billing_month: np.ndarray
    tier_ytd: np.ndarray
    tier_num: np.ndarray
    tier_den: np.ndarray

    def __len__(self) -> int:
        return int(self.version.shape[0])

    @classmethod
    def monthly(
        cls,
        version: np.ndarray,
        energy: np.ndarray,
        *,
        days: np.ndarray | int,
        billing_month: np.ndarray | int,
        reactive: np.ndarray | None = None,
        capacity: np.ndarray | None = None,
        contracted: np.ndarray | None = None,
        max_demand: np.ndarray | None = None,
        basis: np.ndarray | None = None,
        tier_ytd: np.ndarray | None = None,
    ) -> BatchInput:
        """Full-cycle monthly bills (no proration): the common case of a billing run."""
        n = int(np.asarray(version).shape[0])

        def arr(x: np.ndarray | int | None, default: int) -> np.ndarray:
            if x is None:
                return np.full(n, default, dtype=np.int64)
            return np.broadcast_to(np.asarray(x, dtype=np.int64), (n,)).copy()

        energy = np.asarray(energy, dtype=np.int64)
        react = arr(reactive, NONE)
        return cls(
            version=np.asarray(version, dtype=np.int64),
            energy=energy,
            reactive=react,
            pf_active=energy.sum(axis=1),
            pf_reactive=react,
            capacity=arr(capacity, NONE),
            contracted=arr(contracted, NONE),
            max_demand=arr(max_demand, NONE),
            basis=arr(basis, NONE),
            f_num=np.ones(n, dtype=np.int64),
            f_den=np.ones(n, dtype=np.int64),
            b_num=np.ones(n, dtype=np.int64),
            b_den=np.ones(n, dtype=np.int64),
            days=arr(days, 30),
            billing_month=arr(billing_month, 1),
            tier_ytd=arr(tier_ytd, 0),
            tier_num=np.ones(n, dtype=np.int64),
            tier_den=np.ones(n, dtype=np.int64),
        )

    @classmethod
    def from_units(cls, catalog: Catalog, units: Sequence[tuple[str, RatingUnit]]) -> BatchInput:
        """Arrays from ``(tariff_code, unit)`` pairs built by :func:`gridcare.engine.rating.split_usage`."""

        def col(get: Callable[[RatingUnit], int]) -> np.ndarray:
            return np.array([get(u) for _, u in units], dtype=np.int64)

        return cls(
            version=np.array([catalog.index_of(code, u.version_index) for code, u in units], dtype=np.int64),
            energy=np.array([u.energy for _, u in units], dtype=np.int64).reshape(
                len(units), len(ENERGY_KEYS)
            ),
            reactive=col(lambda u: u.reactive),
            pf_active=col(lambda u: u.pf_active),
            pf_reactive=col(lambda u: u.pf_reactive),
            capacity=col(lambda u: u.capacity),
            contracted=col(lambda u: u.contracted),
            max_demand=col(lambda u: u.max_demand),
            basis=col(lambda u: u.basis),
            f_num=col(lambda u: u.f_num),
            f_den=col(lambda u: u.f_den),
            b_num=col(lambda u: u.b_num),
            b_den=col(lambda u: u.b_den),
            days=col(lambda u: u.days),
            billing_month=col(lambda u: u.billing_month),
            tier_ytd=col(lambda u: u.tier_ytd),
            tier_num=col(lambda u: u.tier_num),
            tier_den=col(lambda u: u.tier_den),
        )

    def take(self, idx: np.ndarray) -> BatchInput:
        """Rows ``idx`` (a copy) — used to process one tariff-version group."""
        return BatchInput(**{k: getattr(self, k)[idx] for k in self.__dataclass_fields__})


def batch_input_from_usages(
    catalog: Catalog, bills: Sequence[tuple[Tariff, Usage]]
) -> tuple[BatchInput, np.ndarray]:
    """Split bills into rating units exactly as the explain mode does; returns (input, parent).

    ``parent[i]`` is the index in ``bills`` of unit ``i`` (for :meth:`BatchResult.per_bill`).
    """
    units: list[tuple[str, RatingUnit]] = []
    parent: list[int] = []
    for i, (tariff, usage) in enumerate(bills):
        for u in split_usage(tariff, usage):
            units.append((tariff.code, u))
            parent.append(i)
    return BatchInput.from_units(catalog, units), np.array(parent, dtype=np.int64)


@dataclass(frozen=True)
class BatchResult:
    """Amounts in 分 per line code: ``amounts[j, i]`` is line ``codes[j]`` of row ``i``."""

    codes: tuple[str, ...]
    amounts: np.ndarray
    power_factor: np.ndarray  # PF hundredths per row, -1 where no adjustment

    @property
    def total(self) -> np.ndarray:
        """Bill total in 分 per row (sum of the rounded lines)."""
        total: Int64Array = self.amounts.sum(axis=0)
        return total

    def column(self, code: str) -> np.ndarray:
        line: Int64Array = self.amounts[self.codes.index(code)]
        return line

    def per_bill(self, parent: np.ndarray, n_bills: int) -> BatchResult:
        """Add the version parts of each bill (rows with the same ``parent``)."""
        out = np.zeros((len(self.codes), n_bills), dtype=np.int64)
        for j in range(len(self.codes)):
            np.add.at(out[j], parent, self.amounts[j])
        pf = np.full(n_bills, -1, dtype=np.int64)
        pf[parent] = np.maximum(pf[parent], self.power_factor)
        return BatchResult(codes=self.codes, amounts=out, power_factor=pf)


class _Rows:
    """The rows of one version group, fetched lazily per field (a slice view when rows are contiguous).

    Why: a residential group needs a third of the fields; gathering only those halves the copying.
    """

    def __init__(self, x: BatchInput, rows: np.ndarray | slice, n: int):
        self._x = x
        self._rows = rows
        self._n = n
        self._cache: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return self._n

    def __getattr__(self, name: str) -> np.ndarray:
        if name.startswith("_"):
            raise AttributeError(name)
        value = self._cache.get(name)
        if value is None:
            value = self._cache[name] = getattr(self._x, name)[self._rows]
        return value

    def fraction(self, num: str, den: str) -> tuple[np.ndarray | int, np.ndarray | int]:
        """``(num, den)`` arrays, or ``(1, 1)`` when every row is a full month (the common case)."""
        a, b = getattr(self, num), getattr(self, den)
        if bool(np.all(a == b)):
            return 1, 1
        return a, b


def _fen(
    qty: np.ndarray, price: np.ndarray | int, num: np.ndarray | int = 1, den: np.ndarray | int = 1
) -> np.ndarray:
    """qty (0.001) × price (1e-6 元) × num / den, rounded half-up to 分 — one division."""
    if isinstance(num, int) and isinstance(den, int):
        return div_round_half_up_array(qty * (price * num), den * _TO_FEN)
    return div_round_half_up_array(qty * price * num, np.asarray(den, dtype=np.int64) * _TO_FEN)


def _fail(rows: np.ndarray, idx: np.ndarray | slice, message: str) -> None:
    """Raise naming the (input) row numbers where ``rows`` is true."""
    if not rows.any():
        return
    bad = np.flatnonzero(rows) + idx.start if isinstance(idx, slice) else idx[rows]
    if bad.size:
        shown = ", ".join(str(int(i)) for i in bad[:5])
        more = f" and {bad.size - 5} more" if bad.size > 5 else ""
        raise TariffError(f"rows {shown}{more}: {message}")


def _tier_split(total: np.ndarray, before: np.ndarray, bounds: list[np.ndarray]) -> list[np.ndarray]:
    after = before + total
    lo = np.zeros_like(total)
    out = []
    for hi in bounds:
        unlimited = hi < 0
        top_after = np.where(unlimited, after, np.minimum(after, hi))
        top_before = np.where(unlimited, before, np.minimum(before, hi))
        out.append(np.maximum(top_after, lo) - np.maximum(top_before, lo))
        lo = np.where(unlimited, lo, hi)
    return out


def _rate_group(
    cv: CompiledVersion, x: _Rows, idx: np.ndarray | slice, col: dict[str, int], out: np.ndarray
) -> np.ndarray:
    """Rate the rows of one version; writes into ``out[:, idx]``, returns PF per row."""
    n = len(x)
    total = x.energy.sum(axis=1)
    lines: dict[str, np.ndarray] = {}
    pf_rows = np.full(n, -1, dtype=np.int64)
    if cv.fixed is not None:
        if cv.fixed.per == "day":
            lines["fixed"] = _fen(x.days * 1000, cv.fixed.price)
        else:
            f_num, f_den = x.fraction("f_num", "f_den")
            lines["fixed"] = _fen(np.full(n, 1000, dtype=np.int64), cv.fixed.price, f_num, f_den)
    energy_codes: list[str] = []
    if cv.energy_kind == "energy_flat":
        lines["energy"] = _fen(total, cv.flat_price)
        energy_codes.append("energy")
    if cv.energy_kind in ("energy_tou", "energy_tou_tiered"):
        _fail(
            x.energy[:, len(PERIODS)] != 0,
            idx,
            "a time-of-use tariff needs consumption per TOU period, not an untimed total",
        )
        for i, p in enumerate(PERIODS):
            if cv.tou_has[i]:
                lines[f"energy_{p}"] = _fen(x.energy[:, i], int(cv.tou_price[i]))
                energy_codes.append(f"energy_{p}")
            else:
                _fail(x.energy[:, i] != 0, idx, f"consumption in period {p} but the tariff has no {p} price")
    if cv.energy_kind in ("energy_tiered", "energy_tou_tiered"):
        month = x.billing_month - 1
        num, den = x.fraction("tier_num", "tier_den") if cv.tier_annual else x.fraction("f_num", "f_den")
        bounds = []
        for k in range(cv.n_tiers):
            u = cv.tier_upto[k][month]
            if isinstance(num, int):  # whole month / whole tier year: the published threshold
                bounds.append(u)
            else:
                b = div_round_half_up_array(np.maximum(u, 0) * num, den)
                bounds.append(np.where(u < 0, -1, b))
        before = x.tier_ytd if cv.tier_annual else np.zeros(n, dtype=np.int64)
        parts = _tier_split(total, before, bounds)
        for k, q in enumerate(parts):
            price = int(cv.tier_price[k])
            code = f"energy_tier{k + 1}" if cv.energy_kind == "energy_tiered" else f"tier_surcharge{k + 1}"
            lines[code] = _fen(q, price)
            energy_codes.append(code)
    basic_codes: list[str] = []
    if cv.basic is not None:
        basic = cv.basic
        basis = x.basis.copy()
        unset = basis == NONE
        if basic.capacity_price is not None and basic.demand_price is None:
            basis[unset] = BASIS_CAPACITY
        elif basic.demand_price is not None and basic.capacity_price is None:
            basis[unset] = BASIS_DEMAND
        else:
            _fail(unset, idx, "the tariff offers basic charge by capacity and by demand: give basic_basis")
        _fail(
            (basis == BASIS_CAPACITY) & (basic.capacity_price is None),
            idx,
            "basic_basis 'capacity' but the tariff has no capacity price",
        )
        _fail(
            (basis == BASIS_DEMAND) & (basic.demand_price is None),
            idx,
            "basic_basis 'demand' but the tariff has no demand price",
        )
        by_cap = basis == BASIS_CAPACITY
        by_dem = basis == BASIS_DEMAND
        _fail(by_cap & (x.capacity < 0), idx, "basic charge by capacity needs capacity_kva")
        _fail(by_dem & (x.max_demand < 0), idx, "basic charge by demand needs max_demand_kw")
        cap_price = basic.capacity_price or 0
        dem_price = basic.demand_price or 0
        b_num, b_den = x.fraction("b_num", "b_den")
        lines["basic_capacity"] = np.where(
            by_cap, _fen(np.maximum(x.capacity, 0), cap_price, b_num, b_den), 0
        )
        floor = np.where(
            x.capacity >= 0,
            div_round_half_up_array(np.maximum(x.capacity, 0) * basic.min_contract_pct, 100),
            0,
        )
        has_contract = x.contracted >= 0
        contracted = np.maximum(x.contracted, floor)
        threshold = div_round_half_up_array(contracted * basic.overrun_pct, 100)
        billed = np.where(has_contract, contracted, np.maximum(x.max_demand, floor))
        excess = np.where(has_contract, np.maximum(0, x.max_demand - threshold), 0)
        lines["basic_demand"] = np.where(by_dem, _fen(billed, dem_price, b_num, b_den), 0)
        lines["basic_demand_excess"] = np.where(
            by_dem, _fen(excess, dem_price * basic.overrun_multiplier, b_num, b_den), 0
        )
        basic_codes = ["basic_capacity", "basic_demand", "basic_demand_excess"]
    if cv.pf is not None:
        pf = cv.pf
        if pf.min_capacity_kva:
            _fail(
                x.capacity < 0,
                idx,
                "capacity_kva is needed to decide whether the power factor adjustment applies",
            )
            applies = x.capacity >= pf.min_capacity_kva
        else:
            applies = np.ones(n, dtype=bool)
        _fail(applies & (x.pf_reactive < 0), idx, "reactive_kvarh is needed for the power factor adjustment")
        pf_k = np.full(n, -1, dtype=np.int64)
        if applies.any():
            pf_k[applies] = pf_hundredths_array(x.pf_active[applies], x.pf_reactive[applies])
        has = pf_k >= 0
        base = np.zeros(n, dtype=np.int64)
        for code in energy_codes + basic_codes:
            base += lines[code]
        pct = np.where(has, cv.pf_pct[np.maximum(pf_k, 0)], 0)
        lines["power_factor"] = div_round_half_up_array(base * pct, 10000)
        pf_rows = pf_k
    charged = np.zeros(n, dtype=np.int64)
    for arr in lines.values():
        charged += arr
    for code, price in cv.funds:
        lines[f"fund:{code}"] = _fen(total, price)
    if cv.minimum is not None:
        f_num, f_den = x.fraction("f_num", "f_den")
        floor_fen = div_round_half_up_array(
            cv.minimum.amount * np.asarray(f_num), np.asarray(f_den) * _PRICE_TO_FEN
        )
        lines["minimum"] = np.maximum(0, floor_fen - charged)
    for code, arr in lines.items():
        out[col[code], idx] = arr
    return pf_rows


def rate_batch(catalog: Catalog, x: BatchInput) -> BatchResult:
    """Rate every row of ``x``; rows are grouped by tariff version and rated group by group.

    Rows already ordered by version (e.g. a billing run sorted by tariff) are processed as slices,
    without copying; otherwise each group's fields are gathered as they are needed.
    """
    n = len(x)
    col = {c: j for j, c in enumerate(catalog.codes)}
    out = np.zeros((len(catalog.codes), n), dtype=np.int64)
    pf = np.full(n, -1, dtype=np.int64)
    version = np.asarray(x.version, dtype=np.int64)
    if n == 0:
        return BatchResult(codes=catalog.codes, amounts=out, power_factor=pf)
    if version.min() < 0 or version.max() >= len(catalog.versions):
        raise TariffError("version index out of the catalog's range")
    if np.any(x.billing_month < 1) or np.any(x.billing_month > 12):
        raise TariffError("billing_month must be 1..12")
    ordered = bool(np.all(version[1:] >= version[:-1]))
    order = None if ordered else np.argsort(version, kind="stable")
    sorted_v = version if order is None else version[order]
    starts = np.flatnonzero(np.r_[True, sorted_v[1:] != sorted_v[:-1]])
    ends = np.r_[starts[1:], n]
    for s, e in zip(starts, ends, strict=True):
        cv = catalog.versions[int(sorted_v[s])]
        # chunks keep the temporaries small (in cache, recycled by the allocator)
        for a in range(int(s), int(e), _CHUNK):
            b = min(a + _CHUNK, int(e))
            rows: np.ndarray | slice = slice(a, b) if order is None else order[a:b]
            pf[rows] = _rate_group(cv, _Rows(x, rows, b - a), rows, col, out)
    return BatchResult(codes=catalog.codes, amounts=out, power_factor=pf)
