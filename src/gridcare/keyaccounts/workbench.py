"""Key accounts on the workbench: visit-plan completion (大客户经理), pipeline conversion (市场拓展专员), and the
to-dos — overdue and coming visits, prospects whose next action is due, disputes waiting for a manager."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.core.access import has_perm, restrict
from gridcare.keyaccounts.conf import conf
from gridcare.keyaccounts.models import Collision, Prospect, VisitPlanItem
from gridcare.keyaccounts.selectors import VIEW_ALL, visible_prospects
from gridcare.web.workbench import KPI, Month, Todo, Value, ratio, scoped

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


TODOS = [visits_due, prospects_due, disputes_open, won_to_convert]
KPIS = [
    KPI("visit_plan_completion", visit_plan_completion, _plan_link),
    KPI("pipeline_conversion", pipeline_conversion, _pipeline_link),
]
