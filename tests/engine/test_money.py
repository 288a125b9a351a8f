"""Money: one half-up rounding rule, exact fixed-point arithmetic, no int64 overflow."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gridcare.engine.money import (
    decimal_to_scaled,
    div_round_half_up,
    div_round_half_up_array,
    fen_to_yuan,
    mul_trunc_shift,
    round_half_up_scaled,
    round_yuan,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),
        ("0.004999", "0.00"),
        ("1.015", "1.02"),
        ("2.675", "2.68"),  # a float would give 2.67; Decimal is exact
        ("-0.005", "-0.01"),  # ties away from zero, as Decimal ROUND_HALF_UP
        ("-1.234", "-1.23"),
        ("13784.375", "13784.38"),
    ],
)
def test_round_yuan_half_up(value: str, expected: str) -> None:
    assert round_yuan(Decimal(value)) == Decimal(expected)
    assert str(round_yuan(Decimal(value))) == expected


def test_round_yuan_fraction_and_int() -> None:
    # 23 元/kVA·月 × 2000 kVA × 12/30 days = 18400 exactly; 10 元 × 15/31 = 4.8387… → 4.84
    assert round_yuan(Fraction(23 * 2000 * 12, 30)) == Decimal("18400.00")
    assert round_yuan(Fraction(10 * 15, 31)) == Decimal("4.84")
    assert round_yuan(Fraction(1, 200)) == Decimal("0.01")
    assert round_yuan(Fraction(-1, 200)) == Decimal("-0.01")
    assert round_yuan(7) == Decimal("7.00")


def test_round_yuan_refuses_float() -> None:
    with pytest.raises(TypeError, match="never float"):
        round_yuan(0.1)  # type: ignore[arg-type]


@given(st.integers(-(10**17), 10**17), st.integers(1, 10**9))
def test_vectorised_rounding_equals_round_yuan(num: int, den: int) -> None:
    """The batch engine's rounding is the same rule as round_yuan (amounts in 分 = num/den)."""
    expected = round_yuan(Fraction(num, den * 100))
    got = div_round_half_up_array(np.array([num]), np.array([den]))[0]
    assert fen_to_yuan(int(got)) == expected
    assert div_round_half_up(num, den) == int(got)


@given(st.integers(-(10**15), 10**15))
def test_round_half_up_scaled_nano_to_fen(nano: int) -> None:
    got = round_half_up_scaled(np.array([nano]), 9, 2)[0]
    assert fen_to_yuan(int(got)) == round_yuan(Decimal(nano).scaleb(-9))


@given(st.integers(-(10**17), 10**17), st.integers(-(10**16), 10**16), st.integers(0, 18))
@example(2_439_205_060, 3_689_726_685, 0)  # 9.0e18: fits in int64 and is computed exactly, not refused
def test_mul_trunc_shift_is_exact(a: int, b: int, shift: int) -> None:
    """1e-9 kWh × 1e-15 $ products beyond int64 are still exact (truncated to 1e-9 $)."""
    magnitude = abs(a * b) // 10**shift
    exact = magnitude if a * b >= 0 else -magnitude
    if magnitude >= 9_210_000_000_000_000_000:  # above the refusal bound (9.2e18, checked in float64)
        with pytest.raises(OverflowError):
            mul_trunc_shift(np.array([a]), np.array([b]), shift)
        return
    if magnitude >= 9_190_000_000_000_000_000:  # at the bound float64 may round either way: refused or exact
        try:
            got = int(mul_trunc_shift(np.array([a]), np.array([b]), shift)[0])
        except OverflowError:
            return
        assert got == exact
        return
    assert int(mul_trunc_shift(np.array([a]), np.array([b]), shift)[0]) == exact


@given(st.integers(0, 10**16), st.integers(-(10**15), 10**15))
def test_truncate_then_round_equals_exact_round(a: int, b: int) -> None:
    """Truncating to 1e-9 then rounding half-up to the cent = rounding the exact product (credits too)."""
    nano = mul_trunc_shift(np.array([a]), np.array([b]), 15)
    cents = round_half_up_scaled(nano, 9, 2)[0]
    assert fen_to_yuan(int(cents)) == round_yuan(Fraction(a * b, 10**24))


def test_mul_trunc_shift_broadcasts() -> None:
    q = np.array([[10**9, 2 * 10**9], [0, 5 * 10**8]])  # kWh in 1e-9
    rates = np.array([10**14, 2 * 10**14])  # 0.1 and 0.2 $/kWh in 1e-15
    assert mul_trunc_shift(q, rates, 15).tolist() == [[10**8, 4 * 10**8], [0, 10**8]]


def test_large_industrial_month_fits_int64() -> None:
    """100 GWh in a month at 1 元/kWh: 1e11 (0.001 kWh) × 1e6 (1e-6 元) = 1e17 < 9.22e18."""
    qty = np.array([10**11], dtype=np.int64)  # 1e8 kWh in 0.001 kWh
    price = 1_000_000  # 1 元/kWh in 1e-6 元
    amount = div_round_half_up_array(qty * price, 10**7)  # → 分
    assert fen_to_yuan(int(amount[0])) == Decimal("100000000.00")
    assert 10**11 * price * 31 < np.iinfo(np.int64).max  # even × a 31-day proration numerator


def test_decimal_to_scaled_refuses_extra_decimals() -> None:
    assert decimal_to_scaled(Decimal("0.538"), 6) == 538_000
    with pytest.raises(ValueError, match="more than 6 decimals"):
        decimal_to_scaled(Decimal("0.5380001"), 6)
    assert decimal_to_scaled(Decimal("0.07076899707317352"), 15, exact=False) == 70_768_997_073_174
