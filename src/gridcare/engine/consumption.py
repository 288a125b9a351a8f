"""Consumption of a reading period per register (抄见电量 → 结算电量), exact, vectorised over reads.

Why one function: the reader's screen, the Excel import, the head-end API and the VEE batch must all
turn two register readings into the same number, so the three corrections live here and nowhere else:

* **rollover** (翻转): a register with ``digits`` integer digits counts modulo ``10**digits`` kWh; a
  drop of more than ``rollover_fraction`` of that range (default one half) is the register wrapping
  past 99999 → 00000, a smaller drop is a meter running backwards (倒走) and is kept negative so VEE
  blocks it rather than inventing 99,990 kWh;
* **meter exchange inside the period** (换表): ``(old final − previous) + (new current − new initial)``,
  each leg with its own meter's digits and multiplier;
* **multiplier** (倍率 = CT ratio × PT ratio) applied to the register advance.

Readings and results are scaled ``int64`` in 0.001 units (:data:`~gridcare.engine.money.QTY_DEC`),
never floats, so the sum of the registers of a bill is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from gridcare.engine.arrays import BoolArray, Int64Array
from gridcare.engine.money import QTY_DEC

__all__ = [
    "MAX_DIGITS",
    "Consumption",
    "ConsumptionError",
    "consumption",
    "register_range",
    "reads_out_of_range",
]

#: Registers have at most this many integer digits (10**12 kWh would not fit int64 after the multiplier).
MAX_DIGITS = 10
_INT64_MAX = int(np.iinfo(np.int64).max)
_POWERS_OF_TEN = np.array([10**k for k in range(MAX_DIGITS + QTY_DEC + 1)], dtype=np.int64)
_SHOWN_ROWS = 5


class ConsumptionError(ValueError):
    """Reads that cannot be turned into consumption; the message names the first offending rows."""


@dataclass(frozen=True)
class Consumption:
    """Per read: ``quantity`` (advance × multiplier, 0.001 units), ``advance`` (register units before the
    multiplier) and the flags VEE turns into exceptions."""

    quantity: Int64Array
    advance: Int64Array
    rolled_over: BoolArray
    reverse: BoolArray


def register_range(digits: np.ndarray | int) -> Int64Array:
    """``10**digits`` in 0.001 units: the value at which a register with ``digits`` integer digits wraps
    (``digits`` outside 0–:data:`MAX_DIGITS` are clipped: callers refuse them first)."""
    digits_array = np.asarray(digits, dtype=np.int64)
    result: Int64Array = _POWERS_OF_TEN[np.clip(digits_array, 0, MAX_DIGITS) + QTY_DEC]
    return result


def reads_out_of_range(reads: np.ndarray, digits: np.ndarray | int) -> BoolArray:
    """Reads that are negative or have more integer digits than the register shows (rejected per record)."""
    values = np.asarray(reads, dtype=np.int64)
    bad: BoolArray = (values < 0) | (values >= register_range(digits))
    return bad


def _as_int64(name: str, values: np.ndarray | int, size: int) -> Int64Array:
    array = np.asarray(values)
    if array.dtype.kind not in "iu":
        raise ConsumptionError(f"{name}: 示数须为整数定点值 (must be scaled integers, got {array.dtype})")
    result: Int64Array = np.broadcast_to(array.astype(np.int64, copy=False), (size,))
    return result


def _refuse(mask: BoolArray, what: str) -> None:
    if mask.any():
        rows = np.flatnonzero(mask)
        shown = ", ".join(str(r) for r in rows[:_SHOWN_ROWS])
        more = f" … (+{rows.size - _SHOWN_ROWS})" if rows.size > _SHOWN_ROWS else ""
        raise ConsumptionError(f"{what}: 第 {shown}{more} 行 (rows {shown}{more})")


def _advance(
    start: Int64Array, end: Int64Array, span: Int64Array, fraction: Fraction
) -> tuple[Int64Array, BoolArray, BoolArray]:
    """Register advance ``end − start`` with rollover; a drop within ``fraction`` of the range stays negative."""
    delta = end - start
    drop = delta < 0
    # a drop bigger than fraction × range: -delta · den > span · num, exact in int64 (span ≤ 1e13)
    rolled: BoolArray = drop & (-delta * fraction.denominator > span * fraction.numerator)
    advance: Int64Array = np.where(rolled, delta + span, delta)
    reverse: BoolArray = drop & ~rolled
    return advance, rolled, reverse


def consumption(
    previous: np.ndarray,
    current: np.ndarray,
    digits: np.ndarray | int,
    multiplier: np.ndarray | int,
    *,
    exchanged: np.ndarray | None = None,
    old_final: np.ndarray | None = None,
    new_initial: np.ndarray | None = None,
    old_digits: np.ndarray | int | None = None,
    old_multiplier: np.ndarray | int | None = None,
    rollover_fraction: Fraction = Fraction(1, 2),
) -> Consumption:
    """Consumption of each register over its period.

    ``previous``/``current`` are readings in 0.001 units (for an exchanged meter: ``previous`` is the old
    meter's last reading, ``current`` the new meter's); ``digits`` the register's integer digits;
    ``multiplier`` the installation's CT × PT ratio.  Rows with ``exchanged`` true use ``old_final`` (the old
    meter's reading at removal) and ``new_initial`` (the new meter's reading at installation), and
    ``old_digits``/``old_multiplier`` when the old meter differed (defaults: the same as the new one).
    Raises :class:`ConsumptionError` naming the rows when a reading is outside its register or a parameter
    is impossible; it never returns a silently wrong number.
    """
    if not 0 < rollover_fraction < 1:
        raise ConsumptionError("rollover_fraction 须在 0 与 1 之间 (must be between 0 and 1)")
    size = np.asarray(current).size
    prev = _as_int64("previous", previous, size)
    curr = _as_int64("current", current, size)
    digs = _as_int64("digits", digits, size)
    mult = _as_int64("multiplier", multiplier, size)
    _refuse((digs < 1) | (digs > MAX_DIGITS), f"位数须在 1–{MAX_DIGITS} 之间 (digits must be 1–{MAX_DIGITS})")
    _refuse(mult < 1, "倍率须为正整数 (multiplier must be a positive integer)")
    span = register_range(digs)
    exch: BoolArray = (
        np.zeros(size, dtype=np.bool_)
        if exchanged is None
        else np.broadcast_to(np.asarray(exchanged, bool), (size,))
    )
    _refuse(
        reads_out_of_range(curr, digs) | (~exch & reads_out_of_range(prev, digs)),
        "示数超出表计量程或为负 (reading negative or has more digits than the register)",
    )
    advance, rolled, reverse = _advance(prev, curr, span, rollover_fraction)
    quantity = advance
    if exch.any():
        if old_final is None or new_initial is None:
            raise ConsumptionError("换表须提供旧表止码与新表起码 (exchange needs old_final and new_initial)")
        o_digs = digs if old_digits is None else _as_int64("old_digits", old_digits, size)
        o_mult = mult if old_multiplier is None else _as_int64("old_multiplier", old_multiplier, size)
        final = _as_int64("old_final", old_final, size)
        initial = _as_int64("new_initial", new_initial, size)
        _refuse(
            exch & ((o_digs < 1) | (o_digs > MAX_DIGITS) | (o_mult < 1)),
            "旧表位数或倍率无效 (old meter digits or multiplier invalid)",
        )
        o_span = register_range(np.where(exch, o_digs, digs))
        _refuse(
            exch
            & (
                reads_out_of_range(final, o_digs)
                | reads_out_of_range(prev, o_digs)
                | reads_out_of_range(initial, digs)
            ),
            "换表示数超出表计量程或为负 (exchange reading negative or beyond the register)",
        )
        old_leg, old_rolled, old_reverse = _advance(prev, final, o_span, rollover_fraction)
        new_leg, new_rolled, new_reverse = _advance(initial, curr, span, rollover_fraction)
        _check_product(np.abs(old_leg), o_mult)
        _check_product(np.abs(new_leg), mult)
        exchanged_quantity = old_leg * o_mult + new_leg * mult
        advance = np.where(exch, old_leg + new_leg, advance)
        rolled = np.where(exch, old_rolled | new_rolled, rolled)
        reverse = np.where(exch, old_reverse | new_reverse, reverse)
        _check_product(np.abs(quantity), mult)
        quantity = np.where(exch, exchanged_quantity, quantity * mult)
    else:
        _check_product(np.abs(quantity), mult)
        quantity = quantity * mult
    return Consumption(quantity=quantity, advance=advance, rolled_over=rolled, reverse=reverse)


def _check_product(advance: Int64Array, multiplier: Int64Array) -> None:
    """NumPy wraps on int64 overflow: refuse an advance × multiplier that would not fit."""
    if advance.size and int(advance.max()) * int(multiplier.max()) > _INT64_MAX:
        _refuse(
            advance.astype(np.float64) * multiplier.astype(np.float64) >= 9.2e18,
            "电量 × 倍率 超出 int64 (advance × multiplier overflows int64)",
        )
