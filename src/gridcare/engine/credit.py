"""Credit scores (信用评价) of accounts from feature arrays and rules as data — pure, vectorised; no Django.

A score starts at ``base_score`` points (100) and each rule takes points off when its feature crosses a threshold:

* a **step rule** (``steps``: ``[[threshold, points], …]``) takes the points of the most severe step crossed —
  ``direction: "below"``: the feature is below the threshold (payment punctuality under 90 % → −10, under 70 %
  → −25); ``"above"``: above it (maximum overdue days over 30 → −10, over 90 → −30);
* a **per-unit rule** (``per_unit``: points for each unit above ``threshold``, capped at ``max_points``) —
  every violation or theft case −15, at most −30.

Each rule's points are multiplied by its ``weight`` (1 by default) and rounded half-up to whole points; the
score is clipped to 0–100 and its grade is the first grade whose minimum it reaches (``grades``:
``[["A", 90], ["B", 75], ["C", 60], ["D", 0]]``). The reasons of a score are the rules that took points off,
with the feature's figure (:func:`reasons`).

Features are ``float64`` arrays, one element per account, all of the same length; a feature a rule names but
that is missing is refused (never silently zero).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["CreditRule", "CreditRules", "CreditScores", "RulesError", "grade_of", "reasons", "score"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class RulesError(ValueError):
    """Credit rules that cannot be used: the message says which rule and why."""


@dataclass(frozen=True)
class CreditRule:
    code: str
    label: str
    feature: str
    direction: str = "above"  # "above" | "below"
    steps: tuple[tuple[float, int], ...] = ()
    per_unit: int = 0
    threshold: float = 0.0
    max_points: int = 0
    weight: float = 1.0
    unit: str = ""

    def points(self, values: FloatArray) -> IntArray:
        """Points taken off each account (≥ 0, before clipping the score)."""
        raw = np.zeros(values.shape[0], dtype=np.float64)
        if self.steps:
            for threshold, points in self.steps:
                crossed = values < threshold if self.direction == "below" else values > threshold
                raw = np.where(crossed, np.maximum(raw, float(points)), raw)
        else:
            excess = values - self.threshold if self.direction == "above" else self.threshold - values
            units = np.ceil(np.clip(excess, 0.0, None) - 1e-9)
            raw = np.minimum(units * self.per_unit, float(self.max_points))
        return np.floor(raw * self.weight + 0.5).astype(np.int64)


@dataclass(frozen=True)
class CreditRules:
    rules: tuple[CreditRule, ...]
    grades: tuple[tuple[str, int], ...]
    start: int = 100

    @property
    def features(self) -> list[str]:
        return sorted({rule.feature for rule in self.rules})

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> CreditRules:
        """Rules from their data form (the YAML/JSON the marketing manager edits), checked: every problem is
        refused with the rule and the field named."""
        if not isinstance(data, Mapping):
            raise RulesError("规则必须是一个对象（rules 与 grades）。 (The rules must be a mapping.)")
        start = data.get("base_score", 100)
        if isinstance(start, bool) or not isinstance(start, int) or not 0 < start <= 100:
            raise RulesError("起始分 base_score 必须是 1–100 的整数。 (base_score must be an integer 1–100.)")
        rules = []
        seen: set[str] = set()
        for index, item in enumerate(data.get("rules") or []):
            rules.append(_rule(index, item, seen))
        if not rules:
            raise RulesError("至少需要一条扣分规则。 (At least one rule is needed.)")
        grades = _grades(data.get("grades"))
        return cls(rules=tuple(rules), grades=grades, start=start)

    def to_data(self) -> dict[str, Any]:
        rules = []
        for r in self.rules:
            item: dict[str, Any] = {"code": r.code, "label": r.label, "feature": r.feature}
            item["direction"] = r.direction
            if r.steps:
                item["steps"] = [[t, p] for t, p in r.steps]
            else:
                item.update(per_unit=r.per_unit, threshold=r.threshold, max_points=r.max_points)
            if r.weight != 1.0:
                item["weight"] = r.weight
            if r.unit:
                item["figure_unit"] = r.unit
            rules.append(item)
        return {"base_score": self.start, "rules": rules, "grades": [[g, m] for g, m in self.grades]}


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RulesError(f"{where} 必须是数字。 ({where} must be a number.)")
    return float(value)


def _points(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise RulesError(f"{where} 必须是 0–100 的整数分。 ({where} must be whole points 0–100.)")
    return value


def _rule(index: int, item: Any, seen: set[str]) -> CreditRule:
    where = f"第 {index + 1} 条规则"
    if not isinstance(item, Mapping):
        raise RulesError(f"{where}必须是一个对象。 (Rule {index + 1} must be a mapping.)")
    code, feature = str(item.get("code") or ""), str(item.get("feature") or "")
    if not code or not feature:
        raise RulesError(f"{where}缺少 code 或 feature。 (Rule {index + 1} needs a code and a feature.)")
    if code in seen:
        raise RulesError(f"规则代码「{code}」重复。 (Rule code '{code}' appears twice.)")
    seen.add(code)
    where = f"规则「{code}」"
    direction = item.get("direction", "above")
    if direction not in ("above", "below"):
        raise RulesError(f"{where}的 direction 只能是 above 或 below。 (direction must be above or below.)")
    weight = _number(item.get("weight", 1), f"{where} weight")
    if not 0 < weight <= 10:
        raise RulesError(f"{where}的权重须在 0–10 之间。 (weight must be in (0, 10].)")
    steps_data = item.get("steps")
    common = {
        "code": code,
        "label": str(item.get("label") or code),
        "feature": feature,
        "direction": direction,
        "weight": weight,
        "unit": str(item.get("figure_unit") or ""),
    }
    if steps_data:
        if not isinstance(steps_data, list):
            raise RulesError(f"{where}的 steps 必须是 [阈值, 扣分] 列表。 (steps must be a list.)")
        steps = []
        for step in steps_data:
            if not isinstance(step, list | tuple) or len(step) != 2:
                raise RulesError(f"{where}的每一档须为 [阈值, 扣分]。 (Each step is [threshold, points].)")
            steps.append((_number(step[0], f"{where} 阈值"), _points(step[1], f"{where} 扣分")))
        return CreditRule(**common, steps=tuple(steps))
    per_unit = _points(item.get("per_unit"), f"{where} per_unit")
    max_points = _points(item.get("max_points", 100), f"{where} max_points")
    threshold = _number(item.get("threshold", 0), f"{where} threshold")
    return CreditRule(**common, per_unit=per_unit, threshold=threshold, max_points=max_points)


def _grades(data: Any) -> tuple[tuple[str, int], ...]:
    if not isinstance(data, list) or not data:
        raise RulesError("需要等级划分 grades：[[等级, 最低分], …]。 (grades: [[grade, minimum], …] needed.)")
    grades = []
    for item in data:
        if not isinstance(item, list | tuple) or len(item) != 2 or not str(item[0]).strip():
            raise RulesError("每个等级须为 [等级, 最低分]。 (Each grade is [grade, minimum].)")
        grades.append((str(item[0]).strip()[:1], _points(item[1], f"等级「{item[0]}」最低分")))
    minimums = [m for _g, m in grades]
    if minimums != sorted(minimums, reverse=True) or len(set(minimums)) != len(minimums):
        raise RulesError("等级最低分须从高到低排列且不重复。 (Grade minimums must strictly decrease.)")
    if minimums[-1] != 0:
        raise RulesError("最后一个等级的最低分须为 0。 (The last grade must start at 0.)")
    if len({g for g, _m in grades}) != len(grades):
        raise RulesError("等级名称重复。 (A grade appears twice.)")
    return tuple(grades)


@dataclass(frozen=True)
class CreditScores:
    """Per account: the score (0–100), the grade's index in ``rules.grades`` and each rule's points taken off
    (``deductions[:, j]`` for ``rules.rules[j]``)."""

    score: IntArray
    grade_index: IntArray
    deductions: IntArray

    def grades(self, rules: CreditRules) -> list[str]:
        names = np.array([g for g, _m in rules.grades])
        return [str(name) for name in names[self.grade_index]]


def grade_index(scores: IntArray, rules: CreditRules) -> IntArray:
    minimums = np.array([m for _g, m in rules.grades], dtype=np.int64)
    # the first grade (highest minimum) reached: count the minimums above the score
    counted: IntArray = np.sum(scores[:, None] < minimums[None, :], axis=1).astype(np.int64)
    return counted


def grade_of(score_value: int, rules: CreditRules) -> str:
    clipped = max(0, min(100, int(score_value)))
    return rules.grades[int(grade_index(np.array([clipped], dtype=np.int64), rules)[0])][0]


def score(features: Mapping[str, Sequence[float] | FloatArray], rules: CreditRules) -> CreditScores:
    """Score every account: ``features`` maps each feature name the rules use to an array (one per account)."""
    missing = [name for name in rules.features if name not in features]
    if missing:
        raise RulesError(f"缺少特征：{', '.join(missing)}。 (Missing features: {', '.join(missing)}.)")
    arrays = {name: np.asarray(features[name], dtype=np.float64) for name in rules.features}
    lengths = {a.shape[0] for a in arrays.values()}
    if len(lengths) > 1:
        raise RulesError("各特征数组长度不一致。 (The feature arrays differ in length.)")
    n = lengths.pop() if lengths else 0
    deductions = np.zeros((n, len(rules.rules)), dtype=np.int64)
    for j, rule in enumerate(rules.rules):
        values = np.nan_to_num(arrays[rule.feature], nan=0.0)
        deductions[:, j] = rule.points(values)
    total = np.clip(rules.start - deductions.sum(axis=1), 0, 100).astype(np.int64)
    return CreditScores(score=total, grade_index=grade_index(total, rules), deductions=deductions)


def reasons(
    rules: CreditRules, deductions: Mapping[str, int], figures: Mapping[str, float]
) -> list[dict[str, Any]]:
    """The rules that took points off one account, most points first: code, label, the feature's figure, the
    points taken off."""
    found = []
    for rule in rules.rules:
        points = int(deductions.get(rule.code, 0))
        if points:
            found.append(
                {
                    "code": rule.code,
                    "label": rule.label,
                    "feature": rule.feature,
                    "value": figures.get(rule.feature),
                    "unit": rule.unit,
                    "points": points,
                }
            )
    return sorted(found, key=lambda r: -r["points"])
