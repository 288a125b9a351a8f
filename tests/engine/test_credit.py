"""The credit-score engine (信用评价): rules as data → score 0–100, grade and the points each rule took off."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridcare.engine.credit import CreditRules, RulesError, grade_of, reasons, score

RULES = {
    "base_score": 100,
    "rules": [
        {
            "code": "punctuality",
            "label": "按期缴费率低",
            "feature": "punctuality_pct",
            "direction": "below",
            "steps": [[95, 5], [90, 10], [80, 20]],
        },
        {"code": "overdue", "label": "最长延误天数", "feature": "max_days", "steps": [[30, 10], [90, 30]]},
        {
            "code": "violations",
            "label": "违约用电/窃电",
            "feature": "violations",
            "per_unit": 15,
            "threshold": 0,
            "max_points": 30,
        },
    ],
    "grades": [["A", 90], ["B", 75], ["C", 60], ["D", 0]],
}


def test_a_perfect_payer_keeps_every_point_and_is_grade_a() -> None:
    rules = CreditRules.from_data(RULES)
    result = score({"punctuality_pct": [100.0], "max_days": [0.0], "violations": [0.0]}, rules)
    assert result.score.tolist() == [100]
    assert result.grades(rules) == ["A"]
    assert result.deductions.tolist() == [[0, 0, 0]]


def test_steps_take_the_most_severe_step_crossed_and_per_unit_rules_are_capped() -> None:
    rules = CreditRules.from_data(RULES)
    result = score(
        {
            "punctuality_pct": [94.0, 85.0, 50.0, 95.0],
            "max_days": [31.0, 30.0, 120.0, 0.0],
            "violations": [1.0, 0.0, 5.0, 2.0],
        },
        rules,
    )
    # 94% → −5 (below 95 only); 85% → −10; 50% → −20; exactly 95% is not below 95
    assert result.deductions[:, 0].tolist() == [5, 10, 20, 0]
    # 31 days → −10; 30 days is not above 30; 120 → −30
    assert result.deductions[:, 1].tolist() == [10, 0, 30, 0]
    # each violation −15, at most −30
    assert result.deductions[:, 2].tolist() == [15, 0, 30, 30]
    assert result.score.tolist() == [70, 90, 20, 70]
    assert result.grades(rules) == ["C", "A", "D", "C"]


def test_weights_scale_the_points_and_the_score_never_goes_below_zero() -> None:
    data = {**RULES, "rules": [{**RULES["rules"][2], "weight": 2, "max_points": 100}]}
    rules = CreditRules.from_data(data)
    result = score({"violations": [1.0, 10.0]}, rules)
    assert result.deductions[:, 0].tolist() == [30, 200]
    assert result.score.tolist() == [70, 0]


def test_reasons_name_the_rules_that_took_points_off_with_the_figures() -> None:
    rules = CreditRules.from_data(RULES)
    found = reasons(rules, {"punctuality": 10, "overdue": 0, "violations": 15}, {"punctuality_pct": 85.0})
    assert [(r["label"], r["points"]) for r in found] == [("违约用电/窃电", 15), ("按期缴费率低", 10)]
    assert found[1]["value"] == 85.0


def test_grade_of_a_manual_score() -> None:
    rules = CreditRules.from_data(RULES)
    assert [grade_of(v, rules) for v in (100, 90, 89, 75, 74, 60, 59, 0)] == [
        "A",
        "A",
        "B",
        "B",
        "C",
        "C",
        "D",
        "D",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rules": []}, "至少需要一条"),
        ({"grades": [["A", 90], ["B", 95], ["D", 0]]}, "从高到低"),
        ({"grades": [["A", 90], ["B", 10]]}, "最低分须为 0"),
        ({"rules": [{"code": "x", "feature": "f", "steps": [[1, 200]]}]}, "0–100"),
        ({"rules": [{"code": "x", "feature": "f", "direction": "sideways", "steps": [[1, 2]]}]}, "direction"),
        (
            {
                "rules": [
                    {"code": "x", "feature": "f", "per_unit": 5},
                    {"code": "x", "feature": "g", "per_unit": 1},
                ]
            },
            "重复",
        ),
        ({"base_score": 0}, "base_score"),
    ],
)
def test_bad_rules_are_refused_with_the_rule_and_the_reason(change: dict, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        CreditRules.from_data({**RULES, **change})


def test_a_missing_feature_is_refused_not_taken_as_zero() -> None:
    with pytest.raises(RulesError, match="max_days"):
        score({"punctuality_pct": [1.0], "violations": [0.0]}, CreditRules.from_data(RULES))


def test_the_data_form_round_trips() -> None:
    rules = CreditRules.from_data(RULES)
    assert CreditRules.from_data(rules.to_data()) == rules


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 400), st.integers(0, 9)), min_size=1, max_size=20))
def test_scores_are_0_to_100_and_worse_figures_never_score_higher(rows) -> None:
    rules = CreditRules.from_data(RULES)
    base = {
        "punctuality_pct": np.array([r[0] for r in rows]),
        "max_days": np.array([r[1] for r in rows]),
        "violations": np.array([r[2] for r in rows], dtype=float),
    }
    worse = {**base, "max_days": base["max_days"] + 60, "violations": base["violations"] + 1}
    first, second = score(base, rules), score(worse, rules)
    assert ((first.score >= 0) & (first.score <= 100)).all()
    assert (second.score <= first.score).all()
    assert (first.score == 100 - first.deductions.sum(axis=1).clip(0, 100)).all()
