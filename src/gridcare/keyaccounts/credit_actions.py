"""Credit scores (信用评价): the rules as data, the monthly run and manual adjustments (调整) within authority."""

from __future__ import annotations

import io
import json
import time
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from gridcare.core import audit
from gridcare.core.access import check_limit, get_in_scope
from gridcare.core.actions import action
from gridcare.core.errors import Conflict, InvalidInput, InvalidTransition, LimitExceeded, PermissionRefused
from gridcare.core.frames import query_frame
from gridcare.core.locks import job_lock
from gridcare.core.rows import TableRef
from gridcare.customers.models import Account
from gridcare.engine import credit as engine
from gridcare.keyaccounts.conf import conf
from gridcare.keyaccounts.credit import compute_features, default_rules, parse_month, previous_month
from gridcare.keyaccounts.models import CreditAdjustment, CreditRuleSet, CreditScore
from gridcare.org.models import User

JOB = "keyaccounts.credit_scores"
ADJUSTMENT_FIELDS = ["score_before", "score_after", "grade_after", "reason", "status", "approvers"]


def check_rules(data: Any) -> engine.CreditRules:
    """The rules checked by the engine; any problem is refused as bad input on ``rules``."""
    try:
        return engine.CreditRules.from_data(data)
    except engine.RulesError as error:
        raise InvalidInput({"rules": str(error)}) from None


def current_rule_set() -> CreditRuleSet:
    found = CreditRuleSet.objects.order_by("-version").first()
    if found is None:
        raise InvalidInput(
            {"rules": "尚未设定信用评价规则（运行 gridcare load_defaults）。 (No credit-score rules yet.)"}
        )
    return found


@action("keyaccounts.set_credit_rules", permission="credit.manage_rules")
def do_set_credit_rules(actor: User, *, rules: Any, note: str = "") -> CreditRuleSet:
    """A new version of the credit-score rules (the next monthly run scores by it; past scores keep theirs)."""
    checked = check_rules(rules)
    latest = CreditRuleSet.objects.select_for_update().order_by("-version").first()
    rule_set = CreditRuleSet.objects.create(
        version=(latest.version + 1) if latest else 1,
        rules=checked.to_data(),
        note=(note or "").strip()[:200],
        created_by=actor,
    )
    audit.record(
        actor,
        "keyaccounts.set_credit_rules",
        rule_set,
        before={"version": latest.version} if latest else None,
        after={"version": rule_set.version, "rules": rule_set.rules},
    )
    return rule_set


@action("keyaccounts.load_credit_rule_defaults", permission=None)
def do_load_credit_rule_defaults(actor: User) -> int:
    """The shipped rules (``credit_rules.yaml``) as version 1 when there are no rules yet (idempotent)."""
    created = 0
    if not CreditRuleSet.objects.exists():
        CreditRuleSet.objects.create(
            version=1, rules=check_rules(default_rules()).to_data(), note="默认规则", created_by=actor
        )
        created = 1
    audit.record(
        actor,
        "keyaccounts.load_credit_rule_defaults",
        object_type="keyaccounts.creditruleset",
        object_id="*",
        after={"created": created},
    )
    return created


@action("keyaccounts.compute_credit_scores", permission="credit.manage_rules")
def do_compute_credit_scores(actor: User, *, month: str | None = None) -> dict[str, Any]:
    """信用评价月度计算 — every active account without a score for ``month`` (default: last month) is scored by
    the current rules, set-based: the features of all accounts from one query per source, the scores as arrays
    (:mod:`gridcare.engine.credit`), the rows in one COPY (PostgreSQL) or batched inserts. Two runs at once: the
    second skips (job lock); a re-run scores only the accounts still missing (one score per account and month)."""
    month = month or previous_month()
    year, number = parse_month(month)
    month = f"{year}-{number:02d}"
    today = timezone.localdate()
    if (year, number) > (today.year, today.month):
        raise InvalidInput({"month": f"{month} 尚未开始，不能评价。 (The month has not begun.)"})
    started = time.monotonic()
    with job_lock(JOB):
        rule_set = current_rule_set()
        rules = check_rules(rule_set.rules)
        ids = _unscored_accounts(month)
        features = compute_features(ids, month)
        result = engine.score(features, rules)
        written = _write(ids, month, rules, rule_set, features, result)
        grades = result.grades(rules)
        summary = {
            "month": month,
            "scored": written,
            "rules_version": rule_set.version,
            "by_grade": {g: grades.count(g) for g, _m in rules.grades},
            "seconds": round(time.monotonic() - started, 2),
        }
        audit.record(
            actor,
            "keyaccounts.compute_credit_scores",
            object_type="keyaccounts.creditscore",
            object_id=month,
            object_repr=f"{month} 信用评价",
            after=summary,
        )
    return summary


def _unscored_accounts(month: str) -> np.ndarray:
    a, s = TableRef(Account, "a"), TableRef(CreditScore, "s")
    frame = query_frame(
        f"SELECT {a.id} FROM {a} WHERE {a.status} = %s AND NOT EXISTS "
        f"(SELECT 1 FROM {s} WHERE {s.account} = {a.id} AND {s.month} = %s) ORDER BY {a.id}",
        [Account.Status.ACTIVE, month],
        {"id": pl.Int64},
    )
    return frame["id"].to_numpy().astype(np.int64)


#: score rows formatted and sent per COPY message batch: PostgreSQL takes in one batch while the next is formatted
WRITE_BATCH = 100_000


def _write(
    ids: np.ndarray,
    month: str,
    rules: engine.CreditRules,
    rule_set: CreditRuleSet,
    features: dict[str, np.ndarray],
    result: engine.CreditScores,
) -> int:
    """The score rows: figures as a list in the order of ``rules.features``, points in the order of the rules.
    PostgreSQL: one COPY, fed batch by batch so that formatting the rows here and storing them there overlap."""
    if ids.shape[0] == 0:
        return 0
    names = rules.features
    frame = pl.DataFrame(
        {
            "account_id": ids,
            "score": result.score,
            "grade_index": result.grade_index,
            **{f"f{i}": np.round(features[name], 2) for i, name in enumerate(names)},
            **{f"d{j}": result.deductions[:, j] for j in range(len(rules.rules))},
        }
    )
    grade_names = [g for g, _m in rules.grades]

    def listed(prefix: str, count: int) -> pl.Expr:
        """``[a,b,…]`` — JSON text of the columns ``{prefix}0`` …"""
        return pl.concat_str(
            [
                pl.lit("["),
                pl.concat_str([pl.col(f"{prefix}{i}") for i in range(count)], separator=","),
                pl.lit("]"),
            ]
        )

    rows = frame.lazy().select(
        "account_id",
        "score",
        grade=pl.col("grade_index").replace_strict(
            list(range(len(grade_names))), grade_names, return_dtype=pl.String
        ),
        features=listed("f", len(names)),
        deductions=listed("d", len(rules.rules)),
    )
    now = timezone.now()
    if connection.vendor == "postgresql":
        s = TableRef(CreditScore)
        columns = ", ".join(
            [s.account, s.score, s.grade, s.features, s.deductions, s.month, s.rule_set, s.computed_at]
        )
        rows = rows.with_columns(
            month=pl.lit(month), rule_set=pl.lit(rule_set.pk), computed_at=pl.lit(now.isoformat())
        )
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {s} ({columns}) FROM STDIN (FORMAT csv)") as copy,
        ):
            for offset in range(0, frame.height, WRITE_BATCH):
                buffer = io.BytesIO()
                rows.slice(offset, WRITE_BATCH).collect().write_csv(buffer, include_header=False)
                copy.write(buffer.getvalue())
        return frame.height
    batch = int(conf("CREDIT_INSERT_BATCH"))
    objects = [
        CreditScore(
            account_id=account_id,
            month=month,
            score=score_value,
            grade=grade,
            features=json.loads(figures),
            deductions=json.loads(points),
            rule_set=rule_set,
            computed_at=now,
        )
        for account_id, score_value, grade, figures, points in rows.collect().iter_rows()
    ]
    CreditScore.objects.bulk_create(objects, batch_size=batch)
    return len(objects)


# ---------------------------------------------------------------------------------------------- adjustments


def rules_of(score: CreditScore) -> engine.CreditRules:
    return engine.CreditRules.from_data(score.rule_set.rules)


def figures_of(score: CreditScore) -> dict[str, float]:
    """The score's features by name (stored as a list in the order of its rules' features)."""
    names = rules_of(score).features
    return dict(zip(names, score.features, strict=False))


def reasons_of(score: CreditScore) -> list[dict[str, Any]]:
    """Why the score lost points: the rules that took points off, with the figure and the points, most first."""
    rules = rules_of(score)
    points = {rule.code: int(p) for rule, p in zip(rules.rules, score.deductions, strict=False)}
    return engine.reasons(rules, points, figures_of(score))


def effective(score: CreditScore) -> tuple[int, str]:
    """The score and grade in force for a month: the last approved adjustment's, else the computed ones."""
    latest = score.adjustments.filter(status=CreditAdjustment.Status.APPROVED).order_by("-decided_at", "-pk")
    found = latest.first()
    if found is None:
        return score.score, score.grade
    return found.score_after, found.grade_after


@action("keyaccounts.adjust_credit_score", permission="credit.adjust")
def do_adjust_credit_score(
    actor: User, account: Account | int, *, points: int, reason: str
) -> CreditAdjustment:
    """调整信用分 — change the account's latest score by ``points`` (±), with a reason. Within the actor's
    authority limit (``credit_score_change``: how far the result lies from the computed score) it is in force at
    once; above it, it waits for a position whose limit covers it (named on the request)."""
    pk = account.pk if isinstance(account, Account) else account
    found = get_in_scope(Account.objects.all(), actor, write=True, pk=pk)
    errors: dict[str, str] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = "调整信用分须填写原因。 (A reason is required to change a credit score.)"
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        errors["points"] = "调整分数须为非零整数。 (The change must be a whole number of points, not 0.)"
    if errors:
        raise InvalidInput(errors)
    score = (
        CreditScore.objects.select_for_update()
        .select_related("rule_set")
        .filter(account=found)
        .order_by("-month")
        .first()
    )
    if score is None:
        raise InvalidInput(
            {
                "account": f"户号 {found.number} 尚无信用评价，无法调整。 (The account has no credit score yet.)"
            }
        )
    if score.adjustments.filter(status=CreditAdjustment.Status.PENDING).exists():
        raise Conflict(
            f"户号 {found.number} 已有待审批的信用分调整。 (An adjustment of this score waits for approval.)"
        )
    before, _grade = effective(score)
    after = before + points
    if not 0 <= after <= 100:
        raise InvalidInput(
            {"points": f"调整后分数 {after} 超出 0–100。 (The score would be {after}, outside 0–100.)"}
        )
    adjustment = CreditAdjustment(
        score=score,
        account=found,
        score_before=before,
        score_after=after,
        grade_after=engine.grade_of(after, rules_of(score)),
        reason=reason[:300],
        requested_by=actor,
    )
    try:
        check_limit(actor, "credit_score_change", Decimal(abs(after - score.score)))
    except LimitExceeded as exc:
        adjustment.status = CreditAdjustment.Status.PENDING
        adjustment.approvers = "、".join(exc.approvers)[:300]
    else:
        adjustment.status = CreditAdjustment.Status.APPROVED
        adjustment.decided_by, adjustment.decided_at = actor, timezone.now()
        adjustment.decision_note = "在本人权限额度内。"
    adjustment.save()
    audit.record(
        actor,
        "keyaccounts.adjust_credit_score",
        adjustment,
        object_repr=f"{found.number} {score.month} {before}→{after}",
        after={**audit.snapshot(adjustment, ADJUSTMENT_FIELDS), "computed": score.score},
        note=reason,
    )
    return adjustment


@action("keyaccounts.decide_credit_adjustment", permission="credit.adjust")
def do_decide_credit_adjustment(actor: User, pk: int, *, approve: bool, note: str = "") -> CreditAdjustment:
    """审批信用分调整 — by a position whose limit covers how far it moves the computed score, never the
    requester; a rejection needs its reason."""
    adjustment = get_in_scope(
        CreditAdjustment.objects.select_for_update(of=("self",)).select_related("score", "account"),
        actor,
        write=True,
        pk=pk,
    )
    if adjustment.status != CreditAdjustment.Status.PENDING:
        raise InvalidTransition(
            adjustment.get_status_display(),
            str(
                CreditAdjustment.Status.APPROVED.label if approve else CreditAdjustment.Status.REJECTED.label
            ),
            [str(CreditAdjustment.Status.PENDING.label)],
        )
    if adjustment.requested_by_id == actor.pk:
        raise PermissionRefused("不能审批自己提出的调整。 (You cannot decide your own adjustment.)")
    note = (note or "").strip()
    if approve:
        check_limit(
            actor, "credit_score_change", Decimal(abs(adjustment.score_after - adjustment.score.score))
        )
    elif not note:
        raise InvalidInput({"note": "请填写驳回理由。 (Give the reason for rejecting.)"})
    adjustment.status = CreditAdjustment.Status.APPROVED if approve else CreditAdjustment.Status.REJECTED
    adjustment.decided_by, adjustment.decided_at = actor, timezone.now()
    adjustment.decision_note = note[:300]
    adjustment.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(
        actor,
        "keyaccounts.decide_credit_adjustment",
        adjustment,
        object_repr=f"{adjustment.account.number} {adjustment.score.month}",
        before={"status": CreditAdjustment.Status.PENDING},
        after={"status": adjustment.status},
        note=note,
    )
    return adjustment


def latest_month() -> str | None:
    value: str | None = CreditScore.objects.aggregate(m=Max("month"))["m"]
    return value
