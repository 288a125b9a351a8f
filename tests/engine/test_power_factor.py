"""Power-factor adjustment (力调电费): the 1983 tables and the exact PF rounding."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridcare.engine.power_factor import adjustment_pct, pf_hundredths, pf_hundredths_array


@pytest.mark.parametrize(
    ("pf", "standard", "pct"),
    [
        # RULES.md §2 spot checks (pct in 0.01 % units)
        (60, 90, 2500),
        (60, 85, 1500),
        (60, 80, 1000),
        (30, 90, 8500),
        (30, 85, 7500),
        (30, 80, 6500),
        # caps of the reward
        (95, 90, -75),
        (100, 90, -75),
        (94, 85, -110),
        (99, 85, -110),
        (92, 80, -130),
        (100, 80, -130),
        # steps around the standard
        (90, 90, 0),
        (91, 90, -15),
        (89, 90, 50),
        (70, 90, 1000),  # 20 steps × 0.5 %
        (69, 90, 1100),  # then 1 % per step
        (65, 90, 1500),
        (64, 90, 1700),  # then 2 % per step
        (86, 85, -10),
        (90, 85, -50),
        (91, 85, -65),
        (90, 80, -100),
        (91, 80, -115),
    ],
)
def test_table(pf: int, standard: int, pct: int) -> None:
    assert adjustment_pct(pf, standard) == pct


@pytest.mark.parametrize("standard", [80, 85, 90])
def test_table_is_monotonic(standard: int) -> None:
    """A better power factor never costs more."""
    pcts = [adjustment_pct(k, standard) for k in range(101)]
    assert all(a >= b for a, b in zip(pcts, pcts[1:], strict=False))


@pytest.mark.parametrize(
    ("p", "q", "k"),
    [
        (3, 4, 60),  # 3/5 exactly
        (800_000, 500_000, 85),  # 0.8480 → 0.85
        (1, 0, 100),
        (0, 5, 0),
        (100, 62, 85),  # 0.84988 → 0.85
        (100, 63, 85),  # 0.84612 → 0.85
        (100, 64, 84),  # 0.84227 → 0.84
    ],
)
def test_pf_rounding(p: int, q: int, k: int) -> None:
    assert pf_hundredths(p, q) == k


def test_pf_undefined_without_energy() -> None:
    assert pf_hundredths(0, 0) is None
    assert pf_hundredths_array(np.array([0]), np.array([0]))[0] == -1


@given(st.integers(0, 10**12), st.integers(0, 10**12))
def test_pf_is_half_up_of_exact_ratio(p: int, q: int) -> None:
    """k is the exact half-up rounding of 100·P/√(P²+Q²) (checked against the definition)."""
    k = pf_hundredths(p, q)
    if p == 0 and q == 0:
        assert k is None
        return
    assert k is not None
    s = p * p + q * q
    # (k - ½)/100 <= P/√s < (k + ½)/100, in integers
    assert k == 0 or (2 * k - 1) ** 2 * s <= 40000 * p * p
    assert k == 100 or 40000 * p * p < (2 * k + 1) ** 2 * s
    assert abs(k - 100 * p / math.sqrt(s)) <= 0.5 + 1e-9


@given(st.lists(st.tuples(st.integers(0, 10**11), st.integers(0, 10**11)), min_size=1, max_size=50))
def test_vectorised_pf_equals_scalar(pairs: list[tuple[int, int]]) -> None:
    p = np.array([a for a, _ in pairs], dtype=np.int64)
    q = np.array([b for _, b in pairs], dtype=np.int64)
    got = pf_hundredths_array(p, q)
    assert got.tolist() == [(-1 if (k := pf_hundredths(a, b)) is None else k) for a, b in pairs]
