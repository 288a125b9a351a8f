"""Payment plans (灵活付款方案): set by the key account manager (``payment_plan.set``) for an account's arrears, in
instalments with due dates summing to the amount covered. Within the setter's ``payment_plan_amount`` limit the plan
is in force at once; above it, it waits for someone else with ``payment_plan.set`` whose limit covers it.

In force, the plan suspends dunning (:func:`gridcare.ledger.dunning.plans_in_force`) and a disconnected account is
reconnected (the engine's PLAN_AGREED). Instalments are ordinary payments — allocation does not change; the plan
compares what the account paid since the plan started with what was due by each due date. The daily job
(:func:`do_check_plans`, ``gridcare ledger check-plans``) breaks a plan whose instalment was missed (dunning resumes
where it was) and completes a plan paid in full.

The collector (催费员) does not set plans: POSITIONS.md gives the authority "限额内设定分期缴费计划" to the key account
manager (and the managers above), none to the collector.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from gridcare.core import audit
from gridcare.core.access import authority_limit, check_limit, get_in_scope, restrict
from gridcare.core.actions import action
from gridcare.core.errors import Conflict, InvalidInput, PermissionRefused
from gridcare.core.locks import job_lock
from gridcare.customers.models import Account
from gridcare.ledger import posting
from gridcare.ledger.actions import parse_amount
from gridcare.ledger.models import Entry, Instalment, PaymentPlan
from gridcare.ledger.posting import MoneySum
from gridcare.org.models import User

JOB = "ledger.check_plans"
MAX_INSTALMENTS = 24


def _instalments(rows: list[dict[str, Any]], today: dt.date) -> list[tuple[dt.date, Decimal]]:
    if not rows:
        raise InvalidInput({"instalments": "请至少填写一期。 (At least one instalment.)"})
    if len(rows) > MAX_INSTALMENTS:
        raise InvalidInput({"instalments": f"最多 {MAX_INSTALMENTS} 期。 (At most {MAX_INSTALMENTS}.)"})
    found: list[tuple[dt.date, Decimal]] = []
    errors: dict[str, str] = {}
    for i, row in enumerate(rows, start=1):
        raw = row.get("due_date")
        try:
            day = raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw))
        except ValueError:
            errors[f"instalments[{i}].due_date"] = f"第 {i} 期日期「{raw}」无效。 (Not a date.)"
            continue
        try:
            amount = parse_amount(row.get("amount"), f"instalments[{i}].amount")
        except InvalidInput as error:
            errors.update({k: v[0] if isinstance(v, list) else v for k, v in error.errors.items()})
            continue
        if day < today:
            errors[f"instalments[{i}].due_date"] = f"第 {i} 期日期 {day} 早于今天。 (In the past.)"
        if found and day <= found[-1][0]:
            errors[f"instalments[{i}].due_date"] = f"第 {i} 期日期须晚于上一期。 (Dates must increase.)"
        found.append((day, amount))
    if errors:
        raise InvalidInput(errors)
    return found


@action("ledger.set_payment_plan", permission="payment_plan.set")
def do_set_payment_plan(
    actor: User, *, account: Account | int, instalments: list[dict[str, Any]], reason: str
) -> PaymentPlan:
    """设定付款方案 — instalments (due date, amount) summing to the arrears covered, at most what the account owes.
    Within the actor's ``payment_plan_amount`` limit: in force at once; above it: pending approval."""
    text = (reason or "").strip()
    if not text:
        raise InvalidInput({"reason": "请填写原因。 (A reason is required.)"})
    target = get_in_scope(
        Account.objects.all(), actor, write=True, pk=account.pk if isinstance(account, Account) else account
    )
    today = timezone.localdate()
    rows = _instalments(instalments, today)
    total = sum((a for _, a in rows), posting.ZERO)
    posting.lock_accounts([target.pk])
    owed = sum((d.left for d in posting.open_debits(target.pk)), posting.ZERO)
    if total > owed:
        raise InvalidInput(
            {
                "instalments": f"分期合计 {total} 元超过该户欠费 {owed} 元。 (Above what the account owes: {owed}.)"
            }
        )
    if PaymentPlan.objects.filter(account=target, status__in=["pending", "in_force"]).exists():
        raise Conflict(f"户号 {target.number} 已有执行中或待审批的付款方案。 (A plan exists already.)")
    limit = authority_limit(actor, "payment_plan_amount")
    within = limit is None or total <= limit
    now = timezone.now()
    plan = PaymentPlan.objects.create(
        account=target,
        amount=total,
        reason=text[:200],
        start_day=today,
        created_by=actor,
        status=PaymentPlan.Status.IN_FORCE if within else PaymentPlan.Status.PENDING,
        decided_by=actor if within else None,
        decided_at=now if within else None,
    )
    Instalment.objects.bulk_create(
        [Instalment(plan=plan, number=i, due_date=d, amount=a) for i, (d, a) in enumerate(rows, start=1)]
    )
    audit.record(
        actor,
        "ledger.set_payment_plan",
        plan,
        after={"account": target.number, "amount": total, "instalments": len(rows), "status": plan.status},
        note=text,
    )
    if within:
        _in_force(actor, plan)
    return plan


def _in_force(actor: User, plan: PaymentPlan) -> None:
    from gridcare.ledger.dunning import reconnect_paid

    reconnect_paid(actor, [plan.account_id])  # a disconnected account with an agreed plan: 复电


@action("ledger.decide_payment_plan", permission="payment_plan.set")
def do_decide_payment_plan(actor: User, plan_id: int, *, approve: bool, note: str = "") -> PaymentPlan:
    """审批付款方案 — by someone else than the one who set it, within their ``payment_plan_amount`` limit."""
    plan = get_in_scope(PaymentPlan.objects.select_for_update(of=("self",)), actor, write=True, pk=plan_id)
    if plan.status != PaymentPlan.Status.PENDING:
        raise Conflict(f"该方案已{plan.get_status_display()}。 (The plan is decided already.)")
    if plan.created_by_id == actor.pk:
        raise PermissionRefused("不能审批自己设定的方案。 (You cannot approve your own plan.)")
    if approve:
        check_limit(actor, "payment_plan_amount", plan.amount)
    plan.status = PaymentPlan.Status.IN_FORCE if approve else PaymentPlan.Status.REJECTED
    plan.decided_by, plan.decided_at = actor, timezone.now()
    plan.save(update_fields=["status", "decided_by", "decided_at"])
    audit.record(actor, "ledger.decide_payment_plan", plan, after={"status": plan.status}, note=note)
    if approve:
        _in_force(actor, plan)
    return plan


@dataclass
class Progress:
    """What a plan has received: paid since its start, and per instalment what was due and paid by its date."""

    paid: Decimal
    lines: list[tuple[Instalment, Decimal, Decimal, bool]]  # instalment, due so far, paid by its date, missed

    @property
    def missed(self) -> bool:
        return any(missed for *_, missed in self.lines)


def progress(plan: PaymentPlan, today: dt.date | None = None) -> Progress:
    """Payments of the account since the plan started (net of reversals) against the cumulative instalments."""
    today = today or timezone.localdate()
    rows = (
        Entry.objects.filter(account_id=plan.account_id, day__gte=plan.start_day, payment__isnull=False)
        .filter(kind__in=[Entry.Kind.PAYMENT, Entry.Kind.PREPAYMENT, Entry.Kind.REVERSAL])
        .values("day")
        .annotate(total=MoneySum("amount"))
        .order_by("day")
    )
    by_day = [(r["day"], -Decimal(str(r["total"])).quantize(posting.CENT)) for r in rows]
    due = posting.ZERO
    lines = []
    for item in plan.instalments.order_by("number"):
        due += item.amount
        paid = sum((a for d, a in by_day if d <= item.due_date), posting.ZERO)
        lines.append((item, due, paid, item.due_date < today and paid < due))
    return Progress(sum((a for _, a in by_day), posting.ZERO), lines)


@dataclass
class PlanRun:
    broken: int = 0
    completed: int = 0


@action(JOB, permission="payment_plan.set")
def do_check_plans(actor: User, today: dt.date | None = None) -> PlanRun:
    """付款方案检查 — each plan in force: an instalment missed by its date breaks it (dunning resumes where it was);
    paid in full completes it. Two copies at once: the second is refused (job lock)."""
    today = today or timezone.localdate()
    run = PlanRun()
    now = timezone.now()
    with job_lock(JOB):
        for plan in restrict(
            PaymentPlan.objects.filter(status=PaymentPlan.Status.IN_FORCE), actor, write=True
        ):
            state = progress(plan, today)
            if state.missed:
                plan.status, run.broken = PaymentPlan.Status.BROKEN, run.broken + 1
            elif state.paid >= plan.amount:
                plan.status, run.completed = PaymentPlan.Status.COMPLETED, run.completed + 1
            else:
                continue
            plan.ended_at = now
            plan.save(update_fields=["status", "ended_at"])
            code = (
                "ledger.plan_broken" if plan.status == PaymentPlan.Status.BROKEN else "ledger.plan_completed"
            )
            audit.record(actor, code, plan, after={"paid": state.paid})
    audit.record(
        actor,
        JOB,
        object_type="ledger.paymentplan",
        object_id="*",
        object_repr=f"付款方案 违约 {run.broken}，完成 {run.completed}",
        after=run.__dict__,
    )
    return run
