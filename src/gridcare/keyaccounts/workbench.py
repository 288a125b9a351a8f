"""Key accounts on the workbench: visit-plan completion, key-account revenue, collection, overdue days and bad-debt
rate (大客户经理, 营销服务部经理), pipeline conversion (市场拓展专员), budget variance (市场部经理, and each owner of a
budget line); the to-dos — overdue and coming visits, prospects whose next action is due, disputes waiting for a
manager; the approvals — credit-score adjustments and expenses over budget above their requester's authority."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.core.access import has_perm, restrict
from gridcare.keyaccounts.conf import conf
from gridcare.keyaccounts.models import Collision, Prospect, VisitPlanItem
from gridcare.keyaccounts.selectors import VIEW_ALL, visible_prospects
from gridcare.web.workbench import KPI, Approval, ApprovalSource, Month, Todo, Value, ratio, scoped

MONEY = DecimalField(max_digits=16, decimal_places=2)

VERBS = {
    "keyaccounts.classify": _("Classified the key accounts"),
    "keyaccounts.classify_account": _("Classified the key account"),
    "keyaccounts.designate": _("Designated the key account"),
    "keyaccounts.load_rule_defaults": _("Loaded the key-account rules"),
    "keyaccounts.generate_plan": _("Generated the visit plan"),
    "keyaccounts.change_plan": _("Changed the planned visit"),
    "keyaccounts.record_visit": _("Recorded the visit"),
    "keyaccounts.register_prospect": _("Registered the prospect"),
    "keyaccounts.collision_refused": _("Was refused a registration already held"),
    "keyaccounts.update_prospect": _("Updated the prospect"),
    "keyaccounts.view_contact": _("Viewed the contact of"),
    "keyaccounts.convert_prospect": _("Converted the prospect into a customer"),
    "keyaccounts.decide_collision": _("Decided the registration dispute"),
    "keyaccounts.transfer_prospect": _("Handed over the prospect"),
    "keyaccounts.expire_registrations": _("Freed idle registrations"),
    "keyaccounts.expire_registration": _("Freed the idle registration"),
    "keyaccounts.set_credit_rules": _("Changed the credit-score rules"),
    "keyaccounts.load_credit_rule_defaults": _("Loaded the credit-score rules"),
    "keyaccounts.compute_credit_scores": _("Computed the credit scores"),
    "keyaccounts.adjust_credit_score": _("Adjusted the credit score"),
    "keyaccounts.decide_credit_adjustment": _("Decided the credit-score adjustment"),
    "keyaccounts.set_budget": _("Set the sales expense budget"),
    "keyaccounts.record_expense": _("Recorded the sales expense"),
    "keyaccounts.decide_expense": _("Decided the expense over budget"),
}


def visit_plan_completion(user: Any, unit: Any, month: Month) -> Value:
    """回访计划完成率 — of the visits planned in the month (not cancelled), the share done."""
    items = (
        scoped(VisitPlanItem.objects.all(), user, unit, person="manager")
        .filter(month.date_range_q("planned_on"))
        .exclude(status=VisitPlanItem.Status.CANCELLED)
    )
    figures = items.aggregate(due=Count("pk"), done=Count("pk", filter=Q(status=VisitPlanItem.Status.DONE)))
    return ratio(figures["done"], figures["due"])


def pipeline_conversion(user: Any, unit: Any, month: Month) -> Value:
    """备案转化率 — of the prospects decided in the month (won or lost, by their last activity), the share won."""
    decided = scoped(Prospect.objects.all(), user, unit, person="owner").filter(
        month.range_q("last_activity_at"), stage__in=[Prospect.Stage.WON, Prospect.Stage.LOST]
    )
    figures = decided.aggregate(whole=Count("pk"), won=Count("pk", filter=Q(stage=Prospect.Stage.WON)))
    return ratio(figures["won"], figures["whole"])


def _plan_link(user: Any, unit: Any, month: Month) -> str:
    return reverse("keyaccounts:plan-list")


def _pipeline_link(user: Any, unit: Any, month: Month) -> str:
    return reverse("keyaccounts:pipeline")


def visits_due(user: Any) -> list[Todo]:
    """Planned visits overdue (red) and coming within ``VISIT_NEAR_DAYS`` (the manager's own)."""
    if not has_perm(user, "keyaccount.manage"):
        return []
    today = timezone.localdate()
    mine = VisitPlanItem.objects.filter(manager=user, status=VisitPlanItem.Status.PLANNED).select_related(
        "account"
    )
    todos = []
    for code, label, rows, tone in (
        (
            "keyaccounts.visits_overdue",
            _("Overdue key-account visits"),
            mine.filter(planned_on__lt=today),
            "danger",
        ),
        (
            "keyaccounts.visits_near",
            _("Key-account visits coming up"),
            mine.filter(
                planned_on__gte=today, planned_on__lte=today + dt.timedelta(days=int(conf("VISIT_NEAR_DAYS")))
            ),
            "warning",
        ),
    ):
        count = rows.count()
        if count:
            first = tuple(
                (
                    f"{i.planned_on} {i.account.name}",
                    f"{reverse('keyaccounts:visit-create')}?account={i.account_id}",
                    None,
                )
                for i in rows.order_by("planned_on")[:5]
            )
            todos.append(
                Todo(code, label, count, reverse("keyaccounts:plan-list") + "?status=planned", tone, first)
            )
    return todos


def prospects_due(user: Any) -> list[Todo]:
    """One's held prospects whose next action is due."""
    if not has_perm(user, "prospect.register"):
        return []
    rows = (
        visible_prospects(user)
        .filter(owner=user, status=Prospect.Status.HELD, next_action_on__lte=timezone.localdate())
        .exclude(stage__in=[Prospect.Stage.WON, Prospect.Stage.LOST])
    )
    count = rows.count()
    if not count:
        return []
    first = tuple(
        (f"{p.name}：{p.next_action}", p.get_absolute_url(), None)
        for p in rows.order_by("next_action_on")[:5]
    )
    return [
        Todo(
            "keyaccounts.prospects_due",
            _("Prospects: next action due"),
            count,
            reverse("keyaccounts:prospect-list"),
            "warning",
            first,
        )
    ]


def disputes_open(user: Any) -> list[Todo]:
    """Registration collisions waiting for a manager's decision."""
    if not has_perm(user, VIEW_ALL):
        return []
    rows = restrict(Collision.objects.filter(decision=Collision.Decision.OPEN, prospect__isnull=False), user)
    count = rows.count()
    if not count:
        return []
    first = tuple((f"{c.name}（{c.get_reason_display()}）", c.get_absolute_url(), None) for c in rows[:5])
    return [
        Todo(
            "keyaccounts.disputes",
            _("Registration disputes to decide"),
            count,
            reverse("keyaccounts:collision-list") + "?decision=open",
            "secondary",
            first,
        )
    ]


def won_to_convert(user: Any) -> list[Todo]:
    """Won prospects (签约) not yet customers, for whoever may convert them — the owner cannot, so the step
    waits here for the manager instead of in the owner's memory."""
    if not has_perm(user, "prospect.convert"):
        return []
    rows = visible_prospects(user).filter(stage=Prospect.Stage.WON, customer__isnull=True)
    count = rows.count()
    if not count:
        return []
    first = tuple((p.name, p.get_absolute_url(), None) for p in rows.order_by("last_activity_at", "pk")[:5])
    return [
        Todo(
            "keyaccounts.won_to_convert",
            _("Won prospects to convert into customers"),
            count,
            reverse("keyaccounts:prospect-list") + "?stage=won",
            "primary",
            first,
        )
    ]


# ---------------------------------------------------------------------------------- key-account ledger KPIs


def _evaluation_day(month: Month) -> dt.date:
    """The day a month's stock figures (arrears, overdue days) are taken: its last day, or today while it runs."""
    return min(month.last_day, timezone.localdate())


def _key_entries(user: Any, unit: Any) -> QuerySet[Any]:
    from gridcare.ledger.models import Entry

    return scoped(
        Entry.objects.filter(account__is_key_account=True), user, unit, person="account__account_manager"
    )


def ka_revenue(user: Any, unit: Any, month: Month) -> Value:
    """大客户售电收入 — the key accounts' bill charges (and correcting bills) posted in the month, in 元."""
    total = (
        _key_entries(user, unit)
        .filter(month.date_range_q("day"), kind__in=["charge", "correction"])
        .aggregate(total=Sum("amount"))["total"]
    )
    return Decimal(total).quantize(Decimal("0.01")) if total is not None else None


def budget_variance(user: Any, unit: Any, month: Month) -> Value:
    """预算偏差率 — |spent − budget prorated to the month's end| ÷ prorated budget, over the budget lines of the
    month's year (a person: the lines they own), in %."""
    from gridcare.keyaccounts.budget import elapsed_share, spent_by_line
    from gridcare.keyaccounts.models import SalesBudget

    day = _evaluation_day(month)
    lines = spent_by_line(
        scoped(SalesBudget.objects.filter(year=month.year), user, unit, person="owner"), until=day
    )
    totals = lines.aggregate(budget=Sum("amount"))
    budget = totals["budget"]
    if not budget:
        return None
    spent = sum((line.spent for line in lines), Decimal(0))  # type: ignore[attr-defined]
    plan = budget * elapsed_share(month.year, day)
    if not plan:
        return None
    return (Decimal(100) * abs(spent - plan) / plan).quantize(Decimal("0.1"))


def _ledger_link(user: Any, unit: Any, month: Month) -> str:
    return reverse("keyaccounts:account-list")


def _budget_link(user: Any, unit: Any, month: Month) -> str:
    return reverse("keyaccounts:budget-list") + f"?year={month.year}"


# ------------------------------------------------------------------------------------------------ approvals


def credit_approvals(user: Any) -> list[Approval]:
    """Credit-score adjustments above their requester's limit that this person may decide."""
    from gridcare.core.access import authority_limit
    from gridcare.keyaccounts.models import CreditAdjustment

    if not has_perm(user, "credit.adjust"):
        return []
    limit = authority_limit(user, "credit_score_change")
    rows = (
        restrict(CreditAdjustment.objects.filter(status=CreditAdjustment.Status.PENDING), user)
        .exclude(requested_by=user)
        .select_related("account", "score")
        .order_by("requested_at")[:50]
    )
    return [
        Approval(
            _("Credit-score adjustment"),
            f"{a.account.number} {a.account.name}：{a.score_before}→{a.score_after}（{a.reason}）",
            reverse("keyaccounts:credit-adjustments") + "?status=pending",
            a.requested_at,
        )
        for a in rows
        if limit is None or abs(a.score_after - a.score.score) <= limit
    ][:20]


def expense_approvals(user: Any) -> list[Approval]:
    """Sales expenses over budget waiting for a decision this person may take."""
    from gridcare.core.access import authority_limit
    from gridcare.keyaccounts.models import SalesExpense

    if not has_perm(user, "budget.approve"):
        return []
    limit = authority_limit(user, "budget_amount")
    rows = (
        restrict(SalesExpense.objects.filter(status=SalesExpense.Status.PENDING), user)
        .exclude(recorded_by=user)
        .select_related("budget", "budget__owner")
        .order_by("recorded_at")[:50]
    )
    return [
        Approval(
            _("Sales expense over budget"),
            f"{e.budget.owner.display_name} · {e.description}（超出 {e.overrun:,.2f} 元）",
            reverse("keyaccounts:expense-list") + "?status=pending",
            e.recorded_at,
            e.amount,
        )
        for e in rows
        if limit is None or e.overrun <= limit
    ][:20]


TODOS = [visits_due, prospects_due, disputes_open, won_to_convert]
APPROVALS = [
    ApprovalSource("keyaccounts.credit_adjustments", credit_approvals),
    ApprovalSource("keyaccounts.expenses", expense_approvals),
]
KPIS = [
    KPI("visit_plan_completion", visit_plan_completion, _plan_link),
    KPI("pipeline_conversion", pipeline_conversion, _pipeline_link),
    KPI("ka_revenue", ka_revenue, _ledger_link),
    KPI("budget_variance", budget_variance, _budget_link),
]
