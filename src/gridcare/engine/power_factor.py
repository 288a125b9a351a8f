"""Power-factor adjustment (功率因数调整电费, 力调电费) per the 1983 rules (水电部 / 物价局 1983).

Why: two-part and larger single-part customers are rewarded or penalised on the month's average
power factor, as a percentage of (basic + energy charges, excluding government funds).

* PF = P / √(P² + Q²) from active energy P (kWh) and reactive energy Q (kvarh), **rounded half-up
  to two decimals**; computed exactly with integers (no float near a rounding boundary).
* Table for standard *s* (0.90, 0.85, 0.80), in steps of 0.01:

  - above *s*: −0.1 % per step up to PF 0.90, then −0.15 % per step, capped at the published
    maximum reward (0.90: −0.75 % from PF 0.95; 0.85: −1.1 % from 0.94; 0.80: −1.3 % from 0.92);
  - below *s*: +0.5 % per step down to *s* − 0.20, then +1 % per step for the next 0.05, then
    +2 % per step below that.

Percentages are integers in **0.01 %** units (``-75`` = −0.75 %, ``2500`` = +25 %), so the
adjustment ``base_fen × pct / 10000`` is exact before its single rounding.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "DEFAULT_REWARD_CAP_PF",
    "adjustment_pct",
    "pf_hundredths",
    "pf_hundredths_array",
]

#: PF (hundredths) from which the reward stops growing, per standard (hundredths).
DEFAULT_REWARD_CAP_PF: dict[int, int] = {90: 95, 85: 94, 80: 92}


def adjustment_pct(pf: int, standard: int, reward_cap_pf: int | None = None) -> int:
    """Adjustment in 0.01 % units for a PF and a standard, both in hundredths (e.g. 85, 90).

    Positive = surcharge (增收), negative = reward (减收).
    """
    if not 0 <= pf <= 100 or not 1 <= standard <= 100:
        raise ValueError("pf and standard are hundredths between 0 and 100")
    cap = reward_cap_pf if reward_cap_pf is not None else DEFAULT_REWARD_CAP_PF.get(standard)
    if cap is None:
        raise ValueError(f"no default reward cap for standard 0.{standard:02d}; give reward_cap_pf")
    if pf >= standard:
        pct = 0
        for step in range(standard + 1, min(pf, cap) + 1):
            pct -= 10 if step <= 90 else 15
        return pct
    below = standard - pf
    first = min(below, 20)
    second = min(max(below - 20, 0), 5)
    third = max(below - 25, 0)
    return first * 50 + second * 100 + third * 200


def pf_hundredths(active: int, reactive: int) -> int | None:
    """PF rounded half-up to 0.01, as an integer 0..100, from exact integer energies.

    ``None`` when there is no energy at all (PF undefined, no adjustment).  Exact: ``k`` is the
    largest integer with ``(2k − 1)² (P² + Q²) ≤ (200 P)²``, i.e. ``P/√(P²+Q²) ≥ (k − ½)/100``.
    """
    if active < 0 or reactive < 0:
        raise ValueError("energies must be non-negative")
    if active == 0 and reactive == 0:
        return None
    s = active * active + reactive * reactive
    target = 40000 * active * active
    k = min(100, max(0, round(100 * active / math.sqrt(s))))
    while k < 100 and (2 * k + 1) ** 2 * s <= target:
        k += 1
    while k > 0 and (2 * k - 1) ** 2 * s > target:
        k -= 1
    return k


def pf_hundredths_array(active: np.ndarray, reactive: np.ndarray) -> np.ndarray:
    """Vectorised :func:`pf_hundredths`; ``-1`` where undefined (no energy).

    Float64 gives the answer except within 1e-7 of a rounding boundary; those few rows are
    settled with the exact integer test, so the result always equals the scalar function.
    """
    p = np.asarray(active, dtype=np.int64)
    q = np.asarray(reactive, dtype=np.int64)
    pf = p.astype(np.float64)
    qf = q.astype(np.float64)
    hyp = np.hypot(pf, qf)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = 100.0 * pf / hyp + 0.5
    none = (p == 0) & (q == 0)
    x = np.where(none, 0.0, x)
    near = np.abs(x - np.rint(x)) < 1e-7
    out = np.clip(np.floor(x), 0, 100).astype(np.int64)
    out[none] = -1
    for i in np.flatnonzero(near & ~none):
        exact = pf_hundredths(int(p[i]), int(q[i]))
        assert exact is not None  # rows without energy were set aside above
        out[i] = exact
    return out
