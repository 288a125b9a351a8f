"""Money arithmetic of the rating engine: exact amounts, one rounding rule.

Why this module exists: a bill line (电费明细) is rounded **half-up to 0.01 元 (分)**, once, and
nowhere else.  :func:`round_yuan` is *the* rounding function of the project (the Django layer
re-exports it from ``gridcare.core.money``); :func:`div_round_half_up_array` is its vectorised
twin for the batch engine and is property-tested to give identical results.

"Half-up" means what :data:`decimal.ROUND_HALF_UP` means: ties go **away from zero**
(``0.005 → 0.01``, ``-0.005 → -0.01``), so a credit and the matching charge round symmetrically.

Scales (fixed-point integers, never float for money)
----------------------------------------------------
Chinese register billing (``rating`` / ``batch``):

* quantities — kWh, kvarh, kW, kVA — in **0.001** units (:data:`QTY_DEC` = 3, i.e. Wh);
* unit prices in **1e-6 元** (:data:`PRICE_DEC` = 6; published prices have at most 6 decimals);
* ``quantity × price`` is then an exact integer in **1e-9 元** (:data:`RAW_DEC` = 9), and a line
  amount is ``round_half_up(qty × price × num / (den × 10**7))`` 分, where ``num/den`` is an
  exact proration factor (days / days).  One division, one rounding, no intermediate loss.

  int64 headroom: a large industrial customer using 100 GWh a month at 1 元/kWh gives
  ``1e8 kWh → 1e11`` × ``1e6`` = ``1e17`` < 9.22e18 (92× headroom); proration numerators are
  day counts (≤ 31 for monthly charges), still < 9.22e18 for capacities up to 10⁵ kVA.

URDB interval billing (``urdb``): rates are binary floats with up to 17 significant digits, so
they are held at **1e-15 $/unit** (:data:`URDB_PRICE_DEC`) and quantities (summed from float kW
profiles) at **1e-9 kWh / kW** (:data:`URDB_QTY_DEC`); the quantisation then moves a line by less
than 1e-8 $ for realistic bills.  Their product would not fit in int64, so :func:`mul_trunc_shift`
multiplies in base-10⁹ limbs and returns ``floor(a·b / 10**15)`` exactly (amounts in 1e-9 $).  Flooring to 1e-9 and then rounding half-up to the cent is *exactly* the
same as rounding the exact product half-up, because a tie at the cent can only be decided by
digits at or above 1e-9 (see :func:`mul_trunc_shift`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

import numpy as np

from gridcare.engine.arrays import Int64Array

__all__ = [
    "FEN",
    "FEN_DEC",
    "PRICE_DEC",
    "QTY_DEC",
    "RAW_DEC",
    "URDB_PRICE_DEC",
    "URDB_QTY_DEC",
    "decimal_to_scaled",
    "div_round_half_up",
    "div_round_half_up_array",
    "fen_to_yuan",
    "mul_trunc_shift",
    "round_half_up_scaled",
    "round_yuan",
    "scaled_to_decimal",
]

QTY_DEC = 3
PRICE_DEC = 6
RAW_DEC = QTY_DEC + PRICE_DEC
FEN_DEC = 2
URDB_QTY_DEC = 9
URDB_PRICE_DEC = 15
FEN = Decimal("0.01")

_INT64_MAX = np.iinfo(np.int64).max


def decimal_exponent(value: Decimal) -> int:
    """The exponent of a finite Decimal: ``Decimal("1.25")`` → -2, ``Decimal("1E+3")`` → 3 (its places are
    ``-exponent``). Infinities and NaNs have none: ValueError."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"{value} has no exponent")
    return exponent


def round_yuan(value: Decimal | Fraction | int) -> Decimal:
    """Round an amount in 元 half-up (ties away from zero) to 0.01 元 — THE bill-line rounding.

    Accepts an exact :class:`~fractions.Fraction` too, because prorated amounts
    (``price × days / 30``) are not finite decimals; they are rounded here, once.
    """
    if isinstance(value, Fraction):
        fen = div_round_half_up(value.numerator * 100, value.denominator)
        return Decimal(fen).scaleb(-FEN_DEC)
    if isinstance(value, int):
        return Decimal(value).quantize(FEN)
    if not isinstance(value, Decimal):
        raise TypeError(
            f"round_yuan takes Decimal, Fraction or int, not {type(value).__name__} (never float)"
        )
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def div_round_half_up(num: int, den: int) -> int:
    """``num / den`` rounded half-up (ties away from zero) with Python integers (exact)."""
    if den <= 0:
        raise ValueError("denominator must be positive")
    q, r = divmod(abs(num), den)
    if 2 * r >= den:
        q += 1
    return q if num >= 0 else -q


def div_round_half_up_array(num: np.ndarray, den: np.ndarray | int) -> np.ndarray:
    """Vectorised :func:`div_round_half_up` on int64 arrays (same rule as :func:`round_yuan`)."""
    num = np.asarray(num, dtype=np.int64)
    den = np.asarray(den, dtype=np.int64)
    if (den <= 0).any() if den.ndim else den <= 0:
        raise ValueError("denominator must be positive")
    negative = num.size > 0 and num.min() < 0
    mag = np.abs(num) if negative else num
    q, r = np.divmod(mag, den)
    # 2r >= den  <=>  r >= den - r  (no overflow for r < den)
    q += r >= den - r
    return np.where(num >= 0, q, -q) if negative else q


def round_half_up_scaled(values: np.ndarray, from_dec: int, to_dec: int) -> np.ndarray:
    """Re-scale int64 fixed-point ``values`` from ``from_dec`` to ``to_dec`` decimals, half-up.

    Example: amounts in 1e-9 元 (``from_dec=9``) to 分 (``to_dec=2``).
    """
    if to_dec > from_dec:
        factor = 10 ** (to_dec - from_dec)
        values = np.asarray(values, dtype=np.int64)
        if np.any(np.abs(values) > _INT64_MAX // factor):
            raise OverflowError("re-scaling would overflow int64")
        scaled: Int64Array = values * factor
        return scaled
    return div_round_half_up_array(values, 10 ** (from_dec - to_dec))


def mul_trunc_shift(a: np.ndarray, b: np.ndarray, shift: int = 9) -> np.ndarray:
    """``a · b / 10**shift`` truncated toward zero, for int64 arrays (broadcast), exact, no int128.

    Why: URDB quantities (1e-9 kWh) times rates (1e-15 $) overflow int64, yet the money must be
    exact.  With ``B = 10**9``, ``|a| = a1·B + a0`` and ``|b| = b1·B + b0`` (``0 ≤ a0, b0 < B``)::

        |a·b| = a1·b1·B² + (a1·b0 + a0·b1)·B + a0·b0

    and each term is divided by ``10**shift`` separately, the remainders being recombined in a
    last small division; every intermediate fits in int64 whenever the result does
    (``shift`` ≤ 18).  Truncating to 1e-9 and then rounding half-up (ties away from zero) to
    1e-2 equals rounding the exact value: the tie is decided on the magnitude, and for an
    integer count ``m`` of 1e-9 units ``floor(|x|) ≥ m ⇔ |x| ≥ m``.
    """
    if not 0 <= shift <= 18:
        raise ValueError("shift must be between 0 and 18")
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if a.size == 0 or b.size == 0:
        return np.zeros(np.broadcast_shapes(a.shape, b.shape), dtype=np.int64)
    a_lo, a_hi = int(a.min()), int(a.max())
    b_lo, b_hi = int(b.min()), int(b.max())
    # integer overflow wraps silently in NumPy: bound the result first (every term is <= it);
    # the exact bound max|a|·max|b| settles almost every call, the elementwise one the rest
    if max(a_hi, -a_lo) * max(b_hi, -b_lo) >= 9 * 10 ** (18 + shift) and np.any(
        np.abs(a.astype(np.float64) * b.astype(np.float64)) / 10.0**shift >= 9.2e18
    ):
        raise OverflowError("product does not fit in int64")
    negative = a_lo < 0 or b_lo < 0
    if negative:
        sign = np.sign(a) * np.sign(b)
        a, b = np.abs(a), np.abs(b)
    base = np.int64(10**9)
    a1, a0 = np.divmod(a, base)
    b1, b0 = np.divmod(b, base)
    if shift <= 9:
        up = np.int64(10 ** (9 - shift))
        out = a1 * b1 * (base * up) + (a1 * b0 + a0 * b1) * up + (a0 * b0) // np.int64(10**shift)
    else:
        dj = np.int64(10 ** (shift - 9))
        ds = np.int64(10**shift)
        q1, r1 = np.divmod(a1 * b0, dj)
        q2, r2 = np.divmod(a0 * b1, dj)
        q3, r3 = np.divmod(a0 * b0, ds)
        out = a1 * b1 * np.int64(10 ** (18 - shift)) + q1 + q2 + q3 + ((r1 + r2) * base + r3) // ds
    product: Int64Array = out * sign if negative else out
    return product


def decimal_to_scaled(value: Decimal | int | str, dec: int, *, exact: bool = True) -> int:
    """Decimal → fixed-point integer with ``dec`` decimals.

    ``exact=True`` refuses values with more decimals than the scale (a price of 0.1234567 元
    would silently change otherwise); ``exact=False`` rounds half-up (used for URDB rates,
    which are binary floats anyway).
    """
    try:
        d = Decimal(value) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not d.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    scaled = d.scaleb(dec)
    integral = scaled.to_integral_value(rounding=ROUND_HALF_UP)
    if exact and integral != scaled:
        raise ValueError(f"{value} has more than {dec} decimals")
    return int(integral)


def scaled_to_decimal(value: int, dec: int) -> Decimal:
    """Fixed-point integer → Decimal (exact)."""
    return Decimal(int(value)).scaleb(-dec)


def fen_to_yuan(fen: int) -> Decimal:
    """Integer 分 → Decimal 元 with two decimals."""
    return Decimal(int(fen)).scaleb(-FEN_DEC).quantize(FEN)
