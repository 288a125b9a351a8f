"""The 费控 estimate over arrays agrees with a plain Decimal computation (half-up to the fen, days left to a tenth)
for any credit, energy, price and daily use."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gridcare.engine import prepaid as engine

ROW = st.tuples(
    st.integers(-(10**9), 10**10),  # credit, fen
    st.integers(0, 10**9),  # used, 0.001 kWh
    st.integers(1, 5 * 10**6),  # price, 1e-6 元/kWh
    st.integers(0, 10**7),  # daily, 0.001 kWh
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(ROW, min_size=1, max_size=30),
    st.integers(0, 10**6),
    st.integers(-(10**5), 0),
    st.integers(0, 30),
)
def test_engine_matches_decimal_reference(rows, low, zero, days) -> None:
    credit, used, price, daily = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    result = engine.estimate(credit, used, price, daily, low_fen=low, zero_fen=zero, low_days=days)
    for i, (c, u, p, d) in enumerate(rows):
        consumed = (Decimal(u) / 1000 * Decimal(p) / 10**6).quantize(Decimal("0.01"), ROUND_HALF_UP)
        remaining = Decimal(c) / 100 - consumed
        assert result.consumed_fen[i] == int(consumed * 100)
        assert result.remaining_fen[i] == int(remaining * 100)
        daily_cost = Decimal(d) / 1000 * Decimal(p) / 10**6
        if remaining <= 0:
            expected_days = 0
        elif daily_cost == 0:
            expected_days = engine.NO_DAYS
        else:
            expected_days = int((remaining / daily_cost * 10).quantize(Decimal("1"), ROUND_HALF_UP))
        assert result.days_left_tenths[i] == expected_days
        if remaining * 100 <= zero:
            assert engine.STATUS_CODES[result.status[i]] == "zero"
        elif remaining * 100 < low or (expected_days != engine.NO_DAYS and expected_days < days * 10):
            assert engine.STATUS_CODES[result.status[i]] == "low"
        else:
            assert engine.STATUS_CODES[result.status[i]] == "ok"
