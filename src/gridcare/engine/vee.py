"""VEE — validation, estimation, editing of register reads (抄表数据有效性验证及修正), as data, vectorised.

Why rules are data: which checks block billing, which only warn, and their thresholds differ by utility
and province (RULES.md §5), so each check is a :class:`Rule` ``(code, severity, params)`` and
:data:`DEFAULT_RULES` holds the defaults; the app stores an edited copy and passes it in.  Leaving a code
out of the list switches the check off.

The batch is a Polars frame with **one row per account × register × period** (columns in
:data:`BATCH_COLUMNS`); :func:`validate` finds each row's previous period and the same month last year in
the accounts' history by binary search on one packed key, and evaluates every rule as a column
expression, so a million accounts cost a few vector passes, not a million loops.  Quantities are
scaled ``int64`` in 0.001 units (:mod:`gridcare.engine.money`), thresholds in kWh / percent integers.

Registers: ``total`` (有功总), the TOU registers of :data:`~gridcare.engine.tariff.PERIODS` (尖峰/高峰/平段/
低谷), ``reactive`` (无功) and ``demand`` (最大需量, a reset-each-period reading, so its quantity is the
reading × multiplier, not a difference).  Period-level checks (zero, surge, capacity, multiplier change,
TOU sum) are made on the ``total`` row so an account raises one exception, not one per register.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import numpy as np
import polars as pl

from gridcare.engine.arrays import BoolArray, Int64Array
from gridcare.engine.columns import column_problem
from gridcare.engine.consumption import MAX_DIGITS, ConsumptionError, consumption, reads_out_of_range
from gridcare.engine.money import QTY_DEC, div_round_half_up_array, scaled_to_decimal
from gridcare.engine.tariff import PERIODS

__all__ = [
    "BATCH_COLUMNS",
    "DEFAULT_PARAMS",
    "DEFAULT_RULES",
    "ESTIMATION_METHODS",
    "EXCEPTION_SCHEMA",
    "HISTORY_COLUMNS",
    "MESSAGES",
    "REGISTERS",
    "Exceptions",
    "Rule",
    "VeeError",
    "estimate",
    "message",
    "validate",
    "with_consumption",
]

Severity = Literal["block", "warn"]
TOTAL = "total"
DEMAND = "demand"
REGISTERS: tuple[str, ...] = (TOTAL, *PERIODS, "reactive", DEMAND)
_QTY = 10**QTY_DEC

#: column → (dtype, default when absent; ``...`` = required)
BATCH_COLUMNS: dict[str, tuple[type[pl.DataType], object]] = {
    "account": (pl.Int64, ...),
    "register": (pl.String, ...),
    "period": (pl.Date, ...),  # first day of the billing month
    "previous": (pl.Int64, ...),  # reading at the start of the period (0.001 units), null = none
    "current": (pl.Int64, ...),  # reading at the end, null = missing read
    "digits": (pl.Int64, ...),
    "multiplier": (pl.Int64, ...),
    "read_day": (pl.Date, None),  # when the reading was taken
    "reading_day": (pl.Date, None),  # the route's reading day (抄表例日) of this period
    "estimated": (pl.Boolean, False),
    "remote_cycle": (pl.Int64, None),  # 1 = first cycle after the route switched to remote reading
    "capacity": (pl.Int64, None),  # contracted capacity, 0.001 kVA
    "hours": (pl.Int64, None),  # hours in the period
    "exchanged": (pl.Boolean, False),
    "old_final": (pl.Int64, None),
    "new_initial": (pl.Int64, None),
    "old_digits": (pl.Int64, None),
    "old_multiplier": (pl.Int64, None),
}
HISTORY_COLUMNS: dict[str, type[pl.DataType]] = {
    "account": pl.Int64,
    "register": pl.String,
    "period": pl.Date,
    "quantity": pl.Int64,  # validated consumption of that period, 0.001 units
    "multiplier": pl.Int64,
}
EXCEPTION_SCHEMA: dict[str, type[pl.DataType]] = {
    "row": pl.Int64,
    "account": pl.Int64,
    "register": pl.String,
    "period": pl.Date,
    "rule": pl.String,
    "severity": pl.String,
    "value": pl.Int64,
    "reference": pl.Int64,
}


class VeeError(ValueError):
    """The batch, the history or the rules are malformed (a column, a rule code); nothing was validated."""


@dataclass(frozen=True)
class Rule:
    """One check: a code from :data:`MESSAGES`, ``block`` (keeps the read from billing until resolved) or
    ``warn`` (queued for review, billable), and integer parameters overriding :data:`DEFAULT_PARAMS`."""

    code: str
    severity: Severity
    params: Mapping[str, int] = field(default_factory=dict)

    def param(self, name: str) -> int:
        return self.params.get(name, DEFAULT_PARAMS[self.code][name])


#: Default parameters per rule (RULES.md §5 and issue #11).
DEFAULT_PARAMS: dict[str, dict[str, int]] = {
    "read_out_of_range": {},
    "missing_read": {},
    "reverse_running": {"rollover_drop_pct": 50},  # a drop > 50 % of the register range is a rollover
    "rollover": {},
    "zero_consumption": {"cycles": 3},
    "surge_previous": {"pct": 30, "floor_kwh": 100},
    "surge_last_year": {"pct": 30, "floor_kwh": 100},
    "tou_sum": {"tolerance_kwh": 1, "tolerance_permille": 5},
    "demand_over_capacity": {"factor_pct": 100},
    "energy_over_capacity": {"factor_pct": 100},
    "multiplier_change": {},
    "outside_window": {"days": 2},
    "estimated_new_remote": {"cycles": 3},
}

DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("read_out_of_range", "block"),
    Rule("missing_read", "block"),
    Rule("reverse_running", "block"),
    Rule("rollover", "warn"),
    Rule("zero_consumption", "warn"),
    Rule("surge_previous", "warn"),
    Rule("surge_last_year", "warn"),
    Rule("tou_sum", "block"),
    Rule("demand_over_capacity", "warn"),
    Rule("energy_over_capacity", "warn"),
    Rule("multiplier_change", "warn"),
    Rule("outside_window", "warn"),
    Rule("estimated_new_remote", "block"),
)

#: rule → (Chinese, English) message; ``{value}``/``{reference}`` are kWh (kW for demand), ``{days}`` days.
MESSAGES: dict[str, tuple[str, str]] = {
    "read_out_of_range": (
        "示数无效：为负或超出表计位数 {value}",
        "invalid reading: negative or more digits than the register {value}",
    ),
    "missing_read": ("缺抄：本期无示数", "missing read: no reading this period"),
    "reverse_running": (
        "倒走：本次示数低于上次，电量 {value} kWh",
        "reverse running: reading below the previous one, {value} kWh",
    ),
    "rollover": (
        "翻转：示数越过表计满量程，电量 {value} kWh",
        "rollover: register wrapped past its full scale, consumption {value} kWh",
    ),
    "zero_consumption": (
        "零电量：连续 {reference} 期为零，需现场核查",
        "zero consumption for {reference} cycles: on-site check",
    ),
    "surge_previous": (
        "电量突变：{value} kWh，上期 {reference} kWh",
        "surge/drop vs the previous period: {value} kWh, previous {reference} kWh",
    ),
    "surge_last_year": (
        "电量突变：{value} kWh，去年同期 {reference} kWh",
        "surge/drop vs the same month last year: {value} kWh, last year {reference} kWh",
    ),
    "tou_sum": (
        "分时不平：尖峰平谷之和 {value} kWh 与总电量 {reference} kWh 不符",
        "TOU registers sum {value} kWh differs from the total {reference} kWh",
    ),
    "demand_over_capacity": (
        "需量超容：最大需量 {value} kW 超过容量允许的 {reference} kW",
        "maximum demand {value} kW above what the capacity allows {reference} kW",
    ),
    "energy_over_capacity": (
        "电量超容：{value} kWh 超过容量×小时 {reference} kWh",
        "consumption {value} kWh above capacity × hours {reference} kWh",
    ),
    "multiplier_change": (
        "倍率变更：本期 {value}，上期 {reference}",
        "multiplier changed: {value}, previous {reference}",
    ),
    "outside_window": (
        "超期抄表：偏离抄表例日 {value} 天",
        "read outside the reading window: {value} days from the reading day",
    ),
    "estimated_new_remote": (
        "远程采集前 {reference} 期不得估抄",
        "estimated read on a route switched to remote reading {value} cycles ago",
    ),
}
_PLAIN_VALUES = frozenset({"multiplier_change", "outside_window", "estimated_new_remote", "zero_consumption"})

ESTIMATION_METHODS: tuple[str, ...] = ("same_period_last_year", "average_last_three", "interval")


@dataclass(frozen=True)
class Exceptions:
    """The result of :func:`validate`: ``frame`` (one row per failed rule, :data:`EXCEPTION_SCHEMA`;
    ``row`` indexes the batch) and ``consumption`` (the batch with ``quantity``, ``rolled_over``,
    ``reverse`` added)."""

    frame: pl.DataFrame
    consumption: pl.DataFrame

    def blocked_rows(self) -> pl.Series:
        """Batch rows that must not reach billing until their exception is resolved."""
        return self.frame.filter(pl.col("severity") == "block").get_column("row").unique().sort()

    def messages(self) -> list[str]:
        """Bilingual messages of every exception, in frame order (for the exception queue)."""
        return [
            message(rule, value, reference)
            for rule, value, reference in self.frame.select("rule", "value", "reference").iter_rows()
        ]


def message(rule: str, value: int | None = None, reference: int | None = None) -> str:
    """``"倒走：本次示数低于上次 … (reverse running: …)"`` — the Chinese text with the English in brackets."""
    zh, en = MESSAGES[rule]

    def shown(number: int | None) -> str:
        if number is None:
            return "—"
        if rule in _PLAIN_VALUES:
            return str(number)
        return f"{scaled_to_decimal(number, QTY_DEC).normalize():f}"

    fields = {"value": shown(value), "reference": shown(reference)}
    return f"{zh.format(**fields)} ({en.format(**fields)})"


def _conform(
    frame: pl.DataFrame, columns: Mapping[str, tuple[type[pl.DataType], object]], what: str
) -> pl.DataFrame:
    problem = column_problem(
        frame.columns, columns, [name for name, (_, default) in columns.items() if default is ...]
    )
    if problem:
        raise VeeError(f"{what}: {problem}")
    if "register" in frame.columns:
        strange = set(frame.get_column("register").drop_nulls().unique().to_list()) - set(REGISTERS)
        if strange or frame.get_column("register").null_count():
            shown = ", ".join(sorted(strange)) or "null"
            raise VeeError(
                f"{what}: 未知寄存器 (unknown registers): {shown}; expected {', '.join(REGISTERS)}"
            )
    try:
        return frame.select(
            _column(frame, name, dtype, default) for name, (dtype, default) in columns.items()
        )
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
        raise VeeError(f"{what}: 列类型无效 (column of the wrong type): {exc}") from exc


def _column(frame: pl.DataFrame, name: str, dtype: type[pl.DataType], default: object) -> pl.Expr:
    """A batch column cast to its type; absent or null cells take the column's default (when it has one)."""
    if name not in frame.columns:
        return pl.lit(default, dtype).alias(name)
    column = pl.col(name).cast(dtype, strict=True)
    return column if default is None or default is ... else column.fill_null(default)


def _rule_map(rules: Iterable[Rule]) -> dict[str, Rule]:
    chosen: dict[str, Rule] = {}
    for rule in rules:
        if rule.code not in DEFAULT_PARAMS:
            raise VeeError(f"未知规则 (unknown rule): {rule.code}")
        if rule.severity not in ("block", "warn"):
            raise VeeError(f"{rule.code}: 严重度须为 block 或 warn (severity must be block or warn)")
        unknown = set(rule.params) - set(DEFAULT_PARAMS[rule.code])
        if unknown:
            raise VeeError(f"{rule.code}: 未知参数 (unknown parameters): {', '.join(sorted(unknown))}")
        chosen[rule.code] = rule
    return chosen


def _reads(frame: pl.DataFrame) -> dict[str, np.ndarray]:
    """The batch's numeric columns as NumPy arrays; nulls become 0 and their presence ``has_<name>`` masks,
    the old meter's digits and multiplier default to the new one's."""
    arrays: dict[str, np.ndarray] = {
        name: frame.get_column(name).fill_null(0).to_numpy()
        for name in ("previous", "current", "digits", "multiplier", "old_final", "new_initial")
    }
    for name in ("previous", "current", "old_final", "new_initial"):
        arrays[f"has_{name}"] = frame.get_column(name).is_not_null().to_numpy()
    for name in ("digits", "multiplier"):
        arrays[f"old_{name}"] = frame.get_column(f"old_{name}").fill_null(frame.get_column(name)).to_numpy()
    arrays["exchanged"] = frame.get_column("exchanged").to_numpy()
    arrays["demand"] = (frame.get_column("register") == DEMAND).to_numpy()
    return arrays


def _invalid(reads: dict[str, np.ndarray]) -> BoolArray:
    """Rows :func:`consumption` would refuse: impossible digits or multipliers, readings outside the register,
    an exchange without its two readings — rejected per row (``read_out_of_range``) instead."""

    def impossible(digits: np.ndarray, multiplier: np.ndarray) -> BoolArray:
        bad: BoolArray = (digits < 1) | (digits > MAX_DIGITS) | (multiplier < 1)
        return bad

    exchanged = reads["exchanged"]
    invalid = impossible(reads["digits"], reads["multiplier"])
    invalid |= exchanged & impossible(reads["old_digits"], reads["old_multiplier"])
    digits = np.clip(reads["digits"], 1, MAX_DIGITS)
    old_digits = np.clip(reads["old_digits"], 1, MAX_DIGITS)
    invalid |= reads["has_current"] & reads_out_of_range(reads["current"], digits)
    previous_digits = np.where(exchanged, old_digits, digits)
    invalid |= (
        reads["has_previous"] & ~reads["demand"] & reads_out_of_range(reads["previous"], previous_digits)
    )
    invalid |= exchanged & ~(reads["has_old_final"] & reads["has_new_initial"])
    invalid |= exchanged & (
        reads_out_of_range(reads["old_final"], old_digits) | reads_out_of_range(reads["new_initial"], digits)
    )
    return invalid


def with_consumption(batch: pl.DataFrame, *, rollover_drop_pct: int = 50) -> pl.DataFrame:
    """The batch (conformed to :data:`BATCH_COLUMNS`) with ``row``, ``quantity``, ``rolled_over``, ``reverse``
    and ``invalid`` (a reading outside its register: rejected, no quantity) — the one consumption path."""
    frame = (
        _conform(batch, BATCH_COLUMNS, "batch")
        .with_row_index("row")
        .with_columns(pl.col("row").cast(pl.Int64))
    )
    reads = _reads(frame)
    invalid = _invalid(reads)
    usable = reads["has_current"] & ~invalid
    cumulative = np.flatnonzero(usable & reads["has_previous"] & ~reads["demand"])
    demand = np.flatnonzero(usable & reads["demand"])
    quantity = np.zeros(frame.height, dtype=np.int64)
    rolled = np.zeros(frame.height, dtype=np.bool_)
    reverse = np.zeros(frame.height, dtype=np.bool_)
    try:
        if cumulative.size:
            result = consumption(
                **{name: reads[name][cumulative] for name in ("previous", "current", "digits", "multiplier")},
                **{
                    name: reads[name][cumulative]
                    for name in ("exchanged", "old_final", "new_initial", "old_digits", "old_multiplier")
                },
                rollover_fraction=Fraction(rollover_drop_pct, 100),
            )
            quantity[cumulative] = result.quantity
            rolled[cumulative] = result.rolled_over
            reverse[cumulative] = result.reverse
        if demand.size:  # 最大需量 is reset each period: the reading itself × the multiplier
            quantity[demand] = consumption(
                np.zeros(demand.size, np.int64),
                reads["current"][demand],
                reads["digits"][demand],
                reads["multiplier"][demand],
            ).quantity
    except ConsumptionError as exc:  # only an int64 overflow is left: an absurd multiplier refuses the batch
        raise VeeError(str(exc)) from exc
    known = np.zeros(frame.height, dtype=np.bool_)
    known[cumulative] = True
    known[demand] = True
    missing = np.flatnonzero(~known)
    return frame.with_columns(
        pl.Series("quantity", quantity).scatter(missing, None),
        pl.Series("rolled_over", rolled),
        pl.Series("reverse", reverse),
        pl.Series("invalid", invalid),
    )


_MONTH = (pl.col("period").dt.year().cast(pl.Int64) * 12 + pl.col("period").dt.month() - 1).cast(pl.Int64)


def _register_code() -> pl.Expr:
    return pl.col("register").replace_strict(REGISTERS, range(len(REGISTERS)), return_dtype=pl.Int64)


@dataclass(frozen=True)
class _PackedKeys:
    """(account, register, month) packed into one sortable int64: ``key // months`` is the series, ``key % months``
    the month — so "the previous period" is a binary search instead of a join on a million groups."""

    account_base: int
    month_base: int
    months: int

    @classmethod
    def covering(cls, *frames: pl.DataFrame) -> _PackedKeys:
        spans = [
            f.select(
                pl.col("account").min().alias("lo_account"),
                pl.col("account").max().alias("hi_account"),
                _MONTH.min().alias("lo_month"),
                _MONTH.max().alias("hi_month"),
            ).row(0)
            for f in frames
            if f.height
        ]
        if not spans:
            return cls(0, 0, 13)
        lo_account, hi_account = min(s[0] for s in spans), max(s[1] for s in spans)
        lo_month, hi_month = min(s[2] for s in spans), max(s[3] for s in spans)
        months = hi_month - lo_month + 13  # room for "12 months earlier"
        if (hi_account - lo_account + 1) * len(REGISTERS) * months >= 2**62:
            raise VeeError("账户编号跨度过大 (account ids span too wide for one batch: split it)")
        return cls(lo_account, lo_month - 12, months)

    def of(self, frame: pl.DataFrame) -> Int64Array:
        packed: Int64Array = (
            frame.select(
                ((pl.col("account") - self.account_base) * len(REGISTERS) + _register_code()) * self.months
                + _MONTH
                - self.month_base
            )
            .to_series()
            .to_numpy()
        )
        return packed


def _history_arrays(history: pl.DataFrame, keys: _PackedKeys) -> tuple[Int64Array, pl.DataFrame]:
    """History sorted by packed key (one row per account-register-month, the last given wins) with ``zero_run``:
    how many periods in a row, up to and including that one, had zero consumption."""
    packed = keys.of(history)
    order = np.argsort(packed, kind="stable")
    packed = packed[order]
    last_of_key = np.ones(packed.size, dtype=np.bool_)
    last_of_key[:-1] = packed[1:] != packed[:-1]
    order, packed = order[last_of_key], packed[last_of_key]
    hist = history.select("quantity", "multiplier")[order]
    quantity = hist.get_column("quantity").to_numpy()
    series = packed // keys.months
    starts = np.ones(packed.size, dtype=np.bool_)
    starts[1:] = series[1:] != series[:-1]
    index = np.arange(packed.size)
    nonzero = quantity != 0
    breaks = np.where(nonzero, index, np.where(starts, index - 1, -1))
    last_break = np.maximum.accumulate(breaks) if breaks.size else breaks
    zero_run = np.where(nonzero, 0, index - last_break)
    return packed, hist.with_columns(zero_run=pl.Series(zero_run, dtype=pl.Int64))


def _lookup(found: BoolArray, position: Int64Array, column: pl.Series, name: str) -> pl.Series:
    values = (
        column.to_numpy()[np.where(found, position, 0)] if column.len() else np.zeros(found.size, np.int64)
    )
    return pl.Series(name, values, dtype=pl.Int64).scatter(np.flatnonzero(~found), None)


def _enrich(frame: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """Attach the previous validated period, the same month last year and the account's TOU sum to each row."""
    hist = _conform(history, {k: (v, ...) for k, v in HISTORY_COLUMNS.items()}, "history")
    keys = _PackedKeys.covering(frame, hist)
    hist_keys, past = _history_arrays(hist, keys)
    batch_keys = keys.of(frame)
    # previous period: the last history key below this one within the same series
    before = np.searchsorted(hist_keys, batch_keys, side="left") - 1
    safe = np.maximum(before, 0)
    has_previous = (
        (before >= 0) & (hist_keys[safe] // keys.months == batch_keys // keys.months)
        if hist_keys.size
        else np.zeros(batch_keys.size, np.bool_)
    )
    year_ago = np.searchsorted(hist_keys, batch_keys - 12, side="left")
    safe_year = np.minimum(year_ago, max(hist_keys.size - 1, 0))
    has_year = (
        (hist_keys[safe_year] == batch_keys - 12) if hist_keys.size else np.zeros(batch_keys.size, np.bool_)
    )
    enriched = frame.with_columns(
        _lookup(has_previous, safe, past.get_column("quantity"), "prev_quantity"),
        _lookup(has_previous, safe, past.get_column("multiplier"), "prev_multiplier"),
        _lookup(has_previous, safe, past.get_column("zero_run"), "prev_zero_run"),
        _lookup(has_year, safe_year, past.get_column("quantity"), "yoy_quantity"),
    )
    tou = (
        frame.filter(pl.col("register").is_in(PERIODS))
        .group_by("account", "period")
        .agg(
            pl.col("quantity").sum().alias("tou_quantity"),
            pl.col("quantity").null_count().alias("tou_missing"),
        )
        .with_columns(register=pl.lit(TOTAL))
    )
    return enriched.join(tou, on=["account", "register", "period"], how="left", maintain_order="left")


Check = Callable[[Rule], tuple[pl.Expr, pl.Expr, pl.Expr]]


def _surge(reference: str) -> Check:
    def check(rule: Rule) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
        q, ref = pl.col("quantity"), pl.col(reference)
        floor = rule.param("floor_kwh") * _QTY
        changed = (q - ref).abs() * 100 > ref.abs() * rule.param("pct")
        # a reverse-running read is the reverse rule's exception, not also a surge
        usable = _is_total() & q.is_not_null() & ref.is_not_null() & ~pl.col("reverse")
        mask = usable & changed & (pl.max_horizontal(q, ref) >= floor)
        return mask, q, ref

    return check


def _is_total() -> pl.Expr:
    return pl.col("register") == TOTAL


def _tou_sum(rule: Rule) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    total, tou = pl.col("quantity"), pl.col("tou_quantity")
    tolerance = pl.max_horizontal(
        pl.lit(rule.param("tolerance_kwh") * _QTY), total.abs() * rule.param("tolerance_permille") // 1000
    )
    mask = _is_total() & total.is_not_null() & tou.is_not_null() & (pl.col("tou_missing") == 0)
    return mask & ((tou - total).abs() > tolerance), tou, total


def _zero(rule: Rule) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    cycles = rule.param("cycles")
    mask = _is_total() & (pl.col("quantity") == 0) & (pl.col("prev_zero_run").fill_null(0) >= cycles - 1)
    return mask, pl.col("quantity"), pl.lit(cycles, pl.Int64)


def _demand(rule: Rule) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    allowed = pl.col("capacity") * rule.param("factor_pct") // 100
    mask = (pl.col("register") == DEMAND) & pl.col("quantity").is_not_null() & (pl.col("quantity") > allowed)
    return mask, pl.col("quantity"), allowed


def _energy(rule: Rule) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    allowed = pl.col("capacity") * pl.col("hours") * rule.param("factor_pct") // 100
    return _is_total() & (pl.col("quantity") > allowed), pl.col("quantity"), allowed


def _window(rule: Rule) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    offset = (pl.col("read_day") - pl.col("reading_day")).dt.total_days()
    return offset.abs() > rule.param("days"), offset, pl.lit(rule.param("days"), pl.Int64)


def _estimated_remote(rule: Rule) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    cycles = rule.param("cycles")
    mask = pl.col("estimated") & pl.col("remote_cycle").is_not_null() & (pl.col("remote_cycle") <= cycles)
    return mask, pl.col("remote_cycle"), pl.lit(cycles, pl.Int64)


_NULL = pl.lit(None, pl.Int64)
CHECKS: dict[str, Check] = {
    "read_out_of_range": lambda rule: (pl.col("invalid"), pl.col("current"), _NULL),
    "missing_read": lambda rule: (pl.col("current").is_null() & ~pl.col("invalid"), _NULL, _NULL),
    "reverse_running": lambda rule: (pl.col("reverse"), pl.col("quantity"), _NULL),
    "rollover": lambda rule: (pl.col("rolled_over"), pl.col("quantity"), _NULL),
    "zero_consumption": _zero,
    "surge_previous": _surge("prev_quantity"),
    "surge_last_year": _surge("yoy_quantity"),
    "tou_sum": _tou_sum,
    "demand_over_capacity": _demand,
    "energy_over_capacity": _energy,
    "multiplier_change": lambda rule: (
        _is_total() & (pl.col("multiplier") != pl.col("prev_multiplier")),
        pl.col("multiplier"),
        pl.col("prev_multiplier"),
    ),
    "outside_window": _window,
    "estimated_new_remote": _estimated_remote,
}


def validate(
    batch: pl.DataFrame, history: pl.DataFrame | None = None, rules: Sequence[Rule] = DEFAULT_RULES
) -> Exceptions:
    """Run ``rules`` over a batch of register reads against the accounts' validated ``history``.

    Returns every failed rule per batch row (``row``, account, register, period, rule, severity and the
    ``value``/``reference`` its message shows).  A malformed batch (unknown or missing column, unknown rule)
    raises :class:`VeeError`; a bad reading is an exception row (``read_out_of_range``), never a crash.
    """
    chosen = _rule_map(rules)
    reverse_rule = chosen.get("reverse_running", Rule("reverse_running", "block"))
    frame = with_consumption(batch, rollover_drop_pct=reverse_rule.param("rollover_drop_pct"))
    hist = history if history is not None else pl.DataFrame(schema=HISTORY_COLUMNS)
    enriched = _enrich(frame, hist)
    columns = ["row", "account", "register", "period"]
    parts = []
    for code, rule in chosen.items():
        mask, value, reference = CHECKS[code](rule)
        parts.append(
            enriched.lazy()
            .filter(mask.fill_null(False))
            .select(
                *columns,
                pl.lit(code).alias("rule"),
                pl.lit(rule.severity).alias("severity"),
                value.cast(pl.Int64).alias("value"),
                reference.cast(pl.Int64).alias("reference"),
            )
        )
    exceptions = (
        pl.concat(parts).collect().sort("row", maintain_order=True)
        if parts
        else pl.DataFrame(schema=EXCEPTION_SCHEMA)
    )
    return Exceptions(frame=exceptions, consumption=frame)


def estimate(
    keys: pl.DataFrame,
    history: pl.DataFrame,
    method: str,
    *,
    interval_totals: pl.DataFrame | None = None,
    periods: int = 3,
) -> pl.DataFrame:
    """Estimated consumption (估抄) for ``keys`` (account, register, period), flagged ``estimated``.

    ``same_period_last_year`` copies the same month a year earlier; ``average_last_three`` averages the last
    ``periods`` validated periods (half-up to 0.001); ``interval`` takes the interval store's total
    (``interval_totals``: account, register, period, quantity).  A key without the data gets a null quantity:
    the app must then ask for a re-read rather than bill a guess.
    """
    if method not in ESTIMATION_METHODS:
        raise VeeError(f"未知估算方法 (unknown estimation method): {method}")
    key_cols = ["account", "register", "period"]
    target = _conform(
        keys, {"account": (pl.Int64, ...), "register": (pl.String, ...), "period": (pl.Date, ...)}, "keys"
    )
    if method == "interval":
        if interval_totals is None:
            raise VeeError("interval 估算须提供 interval_totals (interval estimation needs interval_totals)")
        source = _conform(
            interval_totals,
            {**{k: (v, ...) for k, v in HISTORY_COLUMNS.items() if k != "multiplier"}},
            "interval_totals",
        )
        result = target.join(
            source.unique(key_cols, keep="last"), on=key_cols, how="left", maintain_order="left"
        )
    else:
        hist = _conform(history, {k: (v, ...) for k, v in HISTORY_COLUMNS.items()}, "history")
        if method == "same_period_last_year":
            shifted = hist.select("account", "register", pl.col("period").dt.offset_by("1y"), "quantity")
            result = target.join(
                shifted.unique(key_cols, keep="last"), on=key_cols, how="left", maintain_order="left"
            )
        else:
            if periods < 1:
                raise VeeError("periods 须为正 (periods must be positive)")
            recent = (
                target.join(hist.rename({"period": "past"}), on=["account", "register"], how="inner")
                .filter(pl.col("past") < pl.col("period"))
                .sort("past")
                .group_by(key_cols)
                .agg(
                    pl.col("quantity").tail(periods).sum().alias("total"),
                    pl.col("quantity").tail(periods).len().alias("n"),
                )
            )
            average = div_round_half_up_array(
                recent.get_column("total").to_numpy(), recent.get_column("n").to_numpy()
            )
            result = target.join(
                recent.select(*key_cols, pl.Series("quantity", average, dtype=pl.Int64)),
                on=key_cols,
                how="left",
                maintain_order="left",
            )
    return result.select(
        *key_cols, "quantity", pl.lit(True).alias("estimated"), pl.lit(method).alias("method")
    )
