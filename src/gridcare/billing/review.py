"""异常电费审核 — the chunk's bills checked against the plausibility rules at once (no database: the chunk's
loaded inputs and its rated bills → per bill the findings in words). A bill with findings is written in review."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from django.utils.translation import gettext_lazy as _

from gridcare.billing.rating import BillRow, RatedChunk
from gridcare.billing.selectors import AccountInput, ChunkData
from gridcare.engine.plausibility import MISSING, Bills, Rule, evaluate

RULE_LABELS = {
    "change_vs_last_month": _("Change against last month"),
    "change_vs_last_year": _("Change against the same month last year"),
    "zero_bill": _("Zero bill of an active account"),
    "negative_amount": _("Negative amount"),
    "large_amount": _("Very large amount"),
    "estimated": _("Estimated determinants"),
    "tariff_change": _("Tariff changed in the period"),
    "multiplier_change": _("Multiplier changed in the period"),
    "low_power_factor": _("Power factor below the minimum"),
}


#: the parameters of the rules in words, with the values a utility may set (the rule-editing screen checks them)
PARAM_LABELS = {
    "percent": (_("Change beyond (%)"), 1, 1000),
    "floor_yuan": (_("and beyond (元)"), 0, 10_000_000),
    "threshold_yuan": (_("Amount due above (元)"), 1, 1_000_000_000),
    "minimum_hundredths": (_("Power factor below (hundredths, 60 = 0.60)"), 1, 100),
}


def rule_label(code: str) -> str:
    return str(RULE_LABELS.get(code, code))


def _fen(value: Decimal | None) -> int:
    return MISSING if value is None else int(value * 100)


def _yuan(value: Decimal | None) -> str:
    return f"{value:,.2f} 元" if value is not None else "—"


def _detail(code: str, bill: BillRow, entry: AccountInput, rule: Rule) -> str:
    """The finding in words (Chinese, as the screens show it)."""
    if code in ("change_vs_last_month", "change_vs_last_year"):
        before = entry.previous_total if code == "change_vs_last_month" else entry.last_year_total
        when = "上月" if code == "change_vs_last_month" else "去年同期"
        change = (bill.total - before) * 100 / abs(before) if before else None
        shown = f"{change:+.1f} %" if change is not None else "由零变化"
        return (
            f"本月电费 {_yuan(bill.total)}，{when} {_yuan(before)}，变化 {shown}"
            f"（阈值 ±{rule.param('percent')} %，且超过 {rule.param('floor_yuan')} 元）"
        )
    if code == "zero_bill":
        return f"在用户头电费为零（电量 {bill.energy_kwh} kWh）"
    if code == "negative_amount":
        return f"应收电费为负：{_yuan(bill.total)}"
    if code == "large_amount":
        return f"应收电费 {_yuan(bill.total)} 超过 {rule.param('threshold_yuan'):,} 元"
    if code == "estimated":
        return "本期计费电量含估算示数"
    if code == "tariff_change":
        return f"本期电价变更，按天分段计费：{bill.tariff_code}"
    if code == "multiplier_change":
        return "本期计量装置倍率变更（换表或变比变更）"
    return f"功率因数 {bill.power_factor} 低于 {rule.param('minimum_hundredths') / 100:.2f}"


def review_chunk(data: ChunkData, rated: RatedChunk) -> None:
    """Check the chunk's bills against the enabled rules at once and record the findings on each bill: on the
    general path's row objects, and by position for the lane's columns."""
    if not rated.count or not data.rules:
        return
    general, lane = rated.general, rated.lane
    entries = {e.account: e for e in data.accounts}
    inputs = [entries[b.account] for b in general] + (lane.entries if lane is not None else [])
    empty = np.zeros(0, dtype=np.int64)
    lane_pf = np.where(lane.power_factor >= 0, lane.power_factor, -1) if lane is not None else empty
    columns = Bills(
        total_fen=np.concatenate(
            [np.array([_fen(b.total) for b in general], dtype=np.int64), lane.total_fen if lane else empty]
        ),
        previous_fen=np.array([_fen(e.previous_total) for e in inputs], dtype=np.int64),
        last_year_fen=np.array([_fen(e.last_year_total) for e in inputs], dtype=np.int64),
        pf_hundredths=np.concatenate(
            [
                np.array(
                    [-1 if b.power_factor is None else int(b.power_factor * 100) for b in general],
                    dtype=np.int64,
                ),
                lane_pf,
            ]
        ),
        estimated=np.array([e.estimated for e in inputs], dtype=bool),
        tariff_changed=np.array(
            [b.tariff_changed for b in general] + [False] * (lane.size if lane else 0), dtype=bool
        ),
        multiplier_changed=np.array([e.multiplier_changed for e in inputs], dtype=bool),
    )
    rules = [Rule(code, params) for code, params in data.rules]
    by_code = {r.code: r for r in rules}
    for code, mask in evaluate(columns, rules).items():
        for i in np.flatnonzero(mask).tolist():
            if i < len(general):
                bill = general[i]
                bill.findings.append((code, _detail(code, bill, inputs[i], by_code[code])[:300]))
            elif lane is not None:
                k = i - len(general)
                text = _detail(code, lane.row(k), inputs[i], by_code[code])[:300]
                lane.findings.setdefault(k, []).append((code, text))
