"""The survey sample (pure engine): proportional to the strata, every stratum heard from, reproducible from the
seed whatever the order of the population, never more than asked or than there is."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gridcare.engine.sampling import allocate, stratified_sample


def test_allocation_is_proportional_with_largest_remainders() -> None:
    assert allocate([600, 300, 100], 100) == [60, 30, 10]
    assert allocate([5, 5, 5], 7) == [3, 2, 2]  # a tie goes to the earlier stratum
    assert allocate([1000, 3], 10) == [9, 1]  # the small stratum still gets one
    assert allocate([10, 0, 5], 100) == [10, 0, 5]  # capped at the population
    assert allocate([10, 10], 0) == [0, 0]


@given(
    sizes=st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=8),
    total=st.integers(min_value=0, max_value=2000),
)
@settings(max_examples=200, deadline=None)
def test_allocation_never_exceeds_and_adds_up(sizes: list[int], total: int) -> None:
    counts = allocate(sizes, total)
    assert all(0 <= c <= s for c, s in zip(counts, sizes, strict=True))
    assert sum(counts) == min(total, sum(sizes))
    if total >= sum(1 for s in sizes if s):
        assert all(c >= 1 for c, s in zip(counts, sizes, strict=True) if s)


def test_the_sample_is_reproducible_and_independent_of_order() -> None:
    ids = np.arange(1, 1001)
    strata = ["CG|residential" if i % 4 else "HX|commercial" for i in ids]
    first = stratified_sample(ids, strata, 100, seed=7)
    shuffled = np.random.default_rng(1).permutation(len(ids))
    again = stratified_sample(ids[shuffled], [strata[i] for i in shuffled], 100, seed=7)
    other = stratified_sample(ids, strata, 100, seed=8)
    assert first.tolist() == again.tolist()
    assert first.tolist() != other.tolist()
    assert len(set(first.tolist())) == 100
    hx = sum(1 for i in first if i % 4 == 0)
    assert hx == 25  # 250 of 1000 are HX|commercial → 25 of 100
