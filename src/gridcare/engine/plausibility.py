"""Plausibility rules of the billing review (异常电费审核) — pure and vectorised over a chunk's bills.

Each rule takes the chunk's bills as arrays (amounts in fen, int64; power factor in hundredths, -1 = not
assessed) and answers a boolean mask: the bills it sends to review. The parameters are data (the billing app
stores them per rule, these are the defaults). No Django here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

#: an amount that is not known (no bill last month / last year): never compared
MISSING = np.iinfo(np.int64).min


@dataclass
class Bills:
    """The chunk's bills as columns (one row per bill)."""

    total_fen: np.ndarray  # int64, amount due
    previous_fen: np.ndarray  # int64, last month's regular bill, MISSING if none
    last_year_fen: np.ndarray  # int64, the same month last year, MISSING if none
    pf_hundredths: np.ndarray  # int64, -1 = no PF assessment
    estimated: np.ndarray  # bool, a determinant was estimated
    tariff_changed: np.ndarray  # bool, the tariff changed in the period (several parts)
    multiplier_changed: np.ndarray  # bool, the meter's multiplier changed in the period

    def __len__(self) -> int:
        return int(self.total_fen.shape[0])


#: rule code → default parameters (percent, 元, hundredths of PF)
DEFAULT_PARAMS: dict[str, dict[str, int]] = {
    "change_vs_last_month": {"percent": 30, "floor_yuan": 50},
    "change_vs_last_year": {"percent": 30, "floor_yuan": 50},
    "zero_bill": {},
    "negative_amount": {},
    "large_amount": {"threshold_yuan": 100_000},
    "estimated": {},
    "tariff_change": {},
    "multiplier_change": {},
    "low_power_factor": {"minimum_hundredths": 60},
}

FEN_PER_YUAN = 100
PERCENT = 100


@dataclass(frozen=True)
class Rule:
    code: str
    params: Mapping[str, int] = field(default_factory=dict)

    def param(self, name: str) -> int:
        return int(self.params.get(name, DEFAULT_PARAMS[self.code][name]))


DEFAULT_RULES: tuple[Rule, ...] = tuple(Rule(code) for code in DEFAULT_PARAMS)


def _change(total: np.ndarray, before: np.ndarray, rule: Rule) -> np.ndarray:
    """|total − before| beyond ``percent`` % of |before| and beyond the floor (small bills do not swing)."""
    known = before != MISSING
    base = np.where(known, before, 0)
    diff = np.abs(total - base)
    beyond = diff * PERCENT > np.abs(base) * rule.param("percent")
    mask: np.ndarray = known & beyond & (diff > rule.param("floor_yuan") * FEN_PER_YUAN)
    return mask


CHECKS: dict[str, Callable[[Bills, Rule], np.ndarray]] = {
    "change_vs_last_month": lambda b, r: _change(b.total_fen, b.previous_fen, r),
    "change_vs_last_year": lambda b, r: _change(b.total_fen, b.last_year_fen, r),
    "zero_bill": lambda b, r: b.total_fen == 0,
    "negative_amount": lambda b, r: b.total_fen < 0,
    "large_amount": lambda b, r: b.total_fen > r.param("threshold_yuan") * FEN_PER_YUAN,
    "estimated": lambda b, r: b.estimated.astype(bool),
    "tariff_change": lambda b, r: b.tariff_changed.astype(bool),
    "multiplier_change": lambda b, r: b.multiplier_changed.astype(bool),
    "low_power_factor": lambda b, r: (
        (b.pf_hundredths >= 0) & (b.pf_hundredths < r.param("minimum_hundredths"))
    ),
}


def evaluate(bills: Bills, rules: tuple[Rule, ...] | list[Rule] = DEFAULT_RULES) -> dict[str, np.ndarray]:
    """Per rule, the mask of the bills it flags (only rules that flag at least one bill are returned)."""
    out: dict[str, np.ndarray] = {}
    for rule in rules:
        mask = CHECKS[rule.code](bills, rule)
        if mask.any():
            out[rule.code] = mask
    return out
