"""The plausibility rules of the billing review: each fires beyond its threshold and not at or below it."""

from __future__ import annotations

import numpy as np
import pytest

from gridcare.engine.plausibility import MISSING, Bills, Rule, evaluate


def bills(total: list[int], **columns: list) -> Bills:
    n = len(total)
    return Bills(
        total_fen=np.array(total, dtype=np.int64),
        previous_fen=np.array(columns.get("previous", [MISSING] * n), dtype=np.int64),
        last_year_fen=np.array(columns.get("last_year", [MISSING] * n), dtype=np.int64),
        pf_hundredths=np.array(columns.get("pf", [-1] * n), dtype=np.int64),
        estimated=np.array(columns.get("estimated", [False] * n), dtype=bool),
        tariff_changed=np.array(columns.get("tariff", [False] * n), dtype=bool),
        multiplier_changed=np.array(columns.get("multiplier", [False] * n), dtype=bool),
    )


def flagged(data: Bills, rule: Rule) -> list[int]:
    return [int(i) for i in np.flatnonzero(evaluate(data, [rule]).get(rule.code, np.zeros(len(data), bool)))]


@pytest.mark.parametrize(
    ("code", "column"), [("change_vs_last_month", "previous"), ("change_vs_last_year", "last_year")]
)
def test_change_beyond_percent_and_floor(code: str, column: str) -> None:
    # 1,000 元 before: +30 % exactly is not flagged, +30.01 % is; −40 % is; no earlier bill is never compared;
    # a small bill (40 元 → 80 元, +100 %) stays below the 50 元 floor
    data = bills(
        [130_000, 130_001, 60_000, 500_000, 8_000],
        **{column: [100_000, 100_000, 100_000, MISSING, 4_000]},
    )
    assert flagged(data, Rule(code)) == [1, 2]
    assert flagged(data, Rule(code, {"percent": 50, "floor_yuan": 10})) == [4]


def test_zero_negative_and_large_amounts() -> None:
    data = bills([0, -1, 1, 10_000_000, 10_000_001])
    assert flagged(data, Rule("zero_bill")) == [0]
    assert flagged(data, Rule("negative_amount")) == [1]
    assert flagged(data, Rule("large_amount")) == [4]  # above 100,000 元, not at it
    assert flagged(data, Rule("large_amount", {"threshold_yuan": 0})) == [2, 3, 4]


def test_flags_and_power_factor() -> None:
    data = bills(
        [100, 100, 100, 100],
        estimated=[True, False, False, False],
        tariff=[False, True, False, False],
        multiplier=[False, False, True, False],
        pf=[59, 60, -1, 95],
    )
    assert flagged(data, Rule("estimated")) == [0]
    assert flagged(data, Rule("tariff_change")) == [1]
    assert flagged(data, Rule("multiplier_change")) == [2]
    assert flagged(data, Rule("low_power_factor")) == [0]  # 0.60 itself passes, no PF assessed passes
    assert flagged(data, Rule("low_power_factor", {"minimum_hundredths": 90})) == [0, 1]
