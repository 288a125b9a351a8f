"""Stratified random sampling (分层抽样) for satisfaction surveys: pure NumPy, reproducible from a seed.

The sample is allocated to the strata in proportion to their size (largest remainders, ties to the larger
stratum then the earlier one), every non-empty stratum getting at least one when the sample is large enough to
give each one; within a stratum the members are drawn without replacement by a generator seeded with the
survey's seed. The same population (in any order), size and seed always give the same sample.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def allocate(sizes: Sequence[int], total: int) -> list[int]:
    """How many to draw from each stratum of ``sizes`` for a sample of ``total`` (capped at the population):
    the proportional share, rounded by largest remainders; then a non-empty stratum left with none takes one from
    the stratum drawn most (when the sample has room for every stratum)."""
    counts = [int(c) for c in sizes]
    population = sum(counts)
    if total <= 0 or population == 0:
        return [0] * len(counts)
    if total >= population:
        return counts
    exact = [c * total / population for c in counts]
    drawn = [int(e) for e in exact]
    order = sorted(range(len(counts)), key=lambda i: (-(exact[i] - drawn[i]), -counts[i], i))
    for i in order[: total - sum(drawn)]:
        drawn[i] += 1
    if total >= sum(1 for c in counts if c):
        for i, count in enumerate(counts):
            if count and not drawn[i]:
                donor = max(range(len(counts)), key=lambda j: (drawn[j], -j))
                drawn[donor] -= 1
                drawn[i] = 1
    return drawn


def stratified_sample(
    ids: npt.ArrayLike, strata: Sequence[str], total: int, seed: int
) -> npt.NDArray[np.int64]:
    """The ids drawn: ``total`` of ``ids`` (one stratum key per id), proportionally by stratum, sorted."""
    members = np.asarray(ids, dtype=np.int64)
    keys = np.asarray(strata, dtype=object)
    if members.shape[0] != keys.shape[0]:
        raise ValueError("ids and strata differ in length")
    order = np.argsort(members, kind="stable")  # the input order never matters
    members, keys = members[order], keys[order]
    names = sorted(set(keys.tolist()))
    groups = [members[keys == name] for name in names]
    counts = allocate([len(g) for g in groups], total)
    rng = np.random.default_rng(seed)
    drawn = [
        rng.choice(group, size=count, replace=False) if count else np.empty(0, dtype=np.int64)
        for group, count in zip(groups, counts, strict=True)
    ]
    if not drawn:
        return np.empty(0, dtype=np.int64)
    return np.sort(np.concatenate(drawn)).astype(np.int64)
