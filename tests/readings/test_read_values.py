"""The capture path's read value rule (parse_value): a number, not negative, within the register's digits, at
most two decimals as written — the decimals counted from the text where that is exact, else from the exponent."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridcare.readings.actions.capture import parse_value

TWO_DECIMALS = "示数最多两位小数。 (At most two decimals.)"


def _by_the_exponent(raw: Any, digits: int) -> tuple[Decimal | None, bool]:
    """The rule as a plain reading of Decimal: (the value to two places, or None; whether too many decimals)."""
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        return None, False
    if not value.is_finite() or value < 0 or value >= Decimal(10) ** digits:
        return None, False
    if int(value.as_tuple().exponent) < -2:
        return None, True
    return value.quantize(Decimal("0.01")), False


texts = st.one_of(
    st.from_regex(r"\A[+-]?[0-9_]{0,7}(\.[0-9_]{0,5})?([eE][+-]?[0-9]{1,2})?\Z"),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
    st.text(alphabet="0123456789.eE+-_ ١٢٣٤", max_size=10),
)


@settings(max_examples=500, deadline=None)
@given(texts)
def test_decimals_counted_from_the_text_equal_the_exponent_rule(text: str) -> None:
    """Given any text a reader or a head-end might send, then the value and the two-decimals rejection are
    exactly those of the exponent rule."""
    value, problem = parse_value(text, 8)
    expected, too_many = _by_the_exponent(text, 8) if text.strip() else (None, False)
    assert value == expected
    assert (problem == TWO_DECIMALS) == too_many


@pytest.mark.parametrize(
    ("raw", "value", "problem"),
    [
        ("12345.67", Decimal("12345.67"), ""),
        ("12.", Decimal("12.00"), ""),
        ("1.000", None, TWO_DECIMALS),  # written with three decimals, even if they are zeros
        ("1.55e-1", None, TWO_DECIMALS),
        ("15E-2", Decimal("0.15"), ""),
        ("1_000.5", Decimal("1000.50"), ""),
        (1.5, Decimal("1.50"), ""),
    ],
)
def test_worked_examples(raw: Any, value: Decimal | None, problem: str) -> None:
    assert parse_value(raw, 8) == (value, problem)
