"""The ledger's part of the workbench registry (gridcare.web.workbench): the cashier's day (today's takings, the
close still open), reversals and refunds waiting for an approver, the collection rate KPI, and the actions in
words."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.core.access import has_perm, restrict
from gridcare.ledger import reports
from gridcare.ledger.actions import day_figures
from gridcare.ledger.models import (
    Allocation,
    ApprovalRequest,
    DailyClose,
    DunningStep,
    Entry,
    PrepaidEstimate,
    PrepaidEvent,
)
from gridcare.ledger.posting import MoneySum
from gridcare.web.workbench import KPI, Approval, ApprovalSource, Month, Todo, Value, hours, ratio, scoped

VERBS = {
    "ledger.post_charge": _("Posted the bill to the ledger"),
    "ledger.post_charges": _("Posted released bills to the ledger"),
    "ledger.take_payment": _("Took a payment"),
    "ledger.take_payments": _("Posted a batch of channel payments"),
    "ledger.take_channel_payments": _("Posted channel payments"),
    "ledger.take_channel_posts": _("Took a group of channel posts"),
    "ledger.payment_repeated": _("Answered a repeated channel payment"),
    "ledger.reverse_payment": _("Reversed a payment"),
    "ledger.request_approval": _("Asked for an approval"),
    "ledger.decide_approval": _("Decided an approval"),
    "ledger.refund": _("Refunded a prepayment"),
    "ledger.close_day": _("Closed the day"),
    "ledger.register_channel": _("Registered a payment channel"),
    "ledger.import_channel_file": _("Reconciled a channel file"),
    "ledger.post_file_missing": _("Posted the missing payments of a channel file"),
    "ledger.resolve_difference": _("Resolved a reconciliation difference"),
    "ledger.post_late_fee": _("Posted a late fee"),
    "ledger.post_late_fees": _("Ran the late-fee job"),
    "ledger.waiver": _("Waived a late fee"),
    "ledger.write_off": _("Wrote off a bad debt"),
    "ledger.dunning": _("Ran the dunning job"),
    "ledger.dunning_reminder": _("Sent a dunning reminder"),
    "ledger.dunning_settled": _("Closed a settled dunning case"),
    "ledger.send_reminders": _("Sent dunning reminders"),
    "ledger.request_disconnection": _("Asked for a disconnection approval"),
    "ledger.decide_disconnection": _("Decided a disconnection"),
    "ledger.issue_notice": _("Issued a disconnection notice"),
    "ledger.record_delivery": _("Recorded the notice delivery"),
    "ledger.disconnect": _("Ordered a disconnection"),
    "ledger.dunning_approval_asked": _("Asked for a disconnection approval"),
    "ledger.dunning_approved": _("Approved a disconnection"),
    "ledger.dunning_rejected": _("Refused a disconnection"),
    "ledger.dunning_notice": _("Issued a disconnection notice"),
    "ledger.dunning_authority": _("Notified the authority"),
    "ledger.dunning_delivered": _("Recorded the notice delivery"),
    "ledger.dunning_pre_reminder": _("Sent the reminder before disconnection"),
    "ledger.dunning_disconnected": _("Ordered a disconnection"),
    "ledger.dunning_reconnected": _("Ordered a reconnection"),
    "ledger.set_payment_plan": _("Set a payment plan"),
    "ledger.decide_payment_plan": _("Decided a payment plan"),
    "ledger.check_plans": _("Checked the payment plans"),
    "ledger.plan_broken": _("A payment plan broke"),
    "ledger.plan_completed": _("A payment plan was completed"),
    "ledger.enrol_prepaid": _("Enrolled the account as prepaid"),
    "ledger.leave_prepaid": _("Ended the account's prepaid agreement"),
    "ledger.run_prepaid": _("Estimated the prepaid balances"),
    "ledger.prepaid_event": _("Recorded a prepaid alert or switching command"),
    "ledger.dispatch_prepaid": _("Sent prepaid alerts and switching commands"),
    "ledger.decide_prepaid_disconnect": _("Decided a prepaid disconnection"),
}


def todays_takings(user: Any) -> list[Todo]:
    """今日收费 — a cashier's payments of today, and the close (日结) while it is still open."""
    if not has_perm(user, "payment.post") or getattr(user, "payment_channel", None) is not None:
        return []
    today = timezone.localdate()
    figures = day_figures(user.pk, today)
    if not figures["payments"]:
        return []
    closed = DailyClose.objects.filter(cashier=user, day=today).exists()
    label = _("Today's takings (closed)") if closed else _("Today's takings — daily close open")
    text = f"{figures['payments']} 笔 · {figures['total']:,.2f} 元"
    return [
        Todo(
            "ledger.close",
            label,
            figures["payments"],
            reverse("ledger:close"),
            "secondary" if closed else "warning",
            ((text, reverse("ledger:close"), None),),
        )
    ]


def dunning_due(user: Any) -> list[Todo]:
    """催费 — the collector's accounts whose next dunning step is due now (reminder, approval, notice, delivery,
    disconnection), the most overdue first."""
    if not has_perm(user, "arrears.dun") or getattr(user, "payment_channel", None) is not None:
        return []
    from gridcare.ledger.dunning import worklist

    due = [r for r in worklist(user) if r.due_now or r.needs_delivery]
    if not due:
        return []
    url = reverse("ledger:dunning")
    return [
        Todo(
            "ledger.dunning",
            _("Dunning steps due"),
            len(due),
            url,
            "warning",
            tuple((f"{r.account.number} · {r.step_name} · {r.arrears:,.2f} 元", url, None) for r in due[:5]),
        )
    ]


def pending_disconnections(user: Any) -> list[Approval]:
    if not has_perm(user, "disconnection.approve"):
        return []
    from gridcare.ledger.models import DunningCase, DunningStep

    rows = restrict(
        DunningCase.objects.filter(status="open", approval_pending=True).select_related("account"), user
    )
    asked = {
        s.case_id: s
        for s in DunningStep.objects.filter(case__in=rows, kind=DunningStep.Kind.APPROVAL_ASKED).exclude(
            by=user
        )
    }
    return [
        Approval(
            _("Disconnection for arrears"),
            f"{c.account.number} · {asked[c.pk].note}",
            reverse("ledger:dunning"),
            asked[c.pk].at,
            asked[c.pk].arrears,
        )
        for c in rows.order_by("opened_at")[:20]
        if c.pk in asked
    ]


def pending_plans(user: Any) -> list[Approval]:
    if not has_perm(user, "payment_plan.set"):
        return []
    from gridcare.ledger.models import PaymentPlan

    rows = restrict(PaymentPlan.objects.filter(status="pending").select_related("account"), user).exclude(
        created_by=user
    )
    return [
        Approval(
            _("Payment plan"),
            f"{p.account.number} · {p.reason}",
            reverse("ledger:plans"),
            p.created_at,
            p.amount,
        )
        for p in rows.order_by("created_at")[:20]
    ]


def pending_approvals(user: Any) -> list[Approval]:
    if not has_perm(user, "payment.approve"):
        return []
    rows = restrict(ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING), user).exclude(
        requested_by=user
    )
    return [
        Approval(
            r.get_kind_display(),
            f"{r.account.number} · {r.reason}",
            reverse("ledger:approvals"),
            r.requested_at,
            r.amount,
        )
        for r in rows.select_related("account").order_by("requested_at")[:20]
    ]


def collection_rate(user: Any, unit: Any, month: Month) -> Value:
    """电费回收率 — of the bill charges posted in the month, the share (in 元) settled so far."""
    charges = restrict(Entry.objects.filter(kind=Entry.Kind.CHARGE, amount__gt=0), user).filter(
        month.date_range_q("day")
    )
    if unit is not None:
        charges = charges.filter(account__org_unit__path__startswith=unit.path)
    billed = charges.aggregate(total=MoneySum("amount"), n=Count("pk"))
    if not billed["n"]:
        return None
    settled = Allocation.objects.filter(debit__in=charges.values("pk")).aggregate(total=MoneySum("amount"))[
        "total"
    ]
    whole = billed["total"] or 0
    return ratio(int((settled or 0) * 100), int(whole * 100)) if whole else None


def _payments_link(user: Any, unit: Any, month: Month) -> str:
    return reverse("ledger:payment-list")


def _as_of(month: Month) -> dt.date:
    return min(month.last_day, timezone.localdate())


def arrears_aging(user: Any, unit: Any, month: Month) -> Value:
    """欠费账龄 — the average days overdue of the open arrears (weighted by amount) at the month's end."""
    return reports.weighted_overdue_days(user, _as_of(month), unit)


def _own(user: Any, unit: Any) -> dict[str, Any]:
    """The person's own figure (unit None): the key accounts they manage."""
    return {"manager": user} if unit is None else {}


def ka_collection_rate(user: Any, unit: Any, month: Month) -> Value:
    """大客户电费回收率 — of the key accounts' charges posted in the month, the share settled so far."""
    _rows, total = reports.collection(
        user, month.first_day, month.last_day, unit=unit, key_accounts=True, **_own(user, unit)
    )
    return total.rate


def reconnection_time(user: Any, unit: Any, month: Month) -> Value:
    """复电时长 — hours from the payment that cleared the arrears (the reconnection ordered) to the power back on
    (the field order answered), over the month's reconnections after a disconnection for arrears; a remote
    reconnection the head-end accepted counts 0 h, one it refused goes to the field like the others."""
    steps = scoped(DunningStep.objects.filter(kind=DunningStep.Kind.RECONNECTED), user, unit, person=())
    field = steps.filter(work_order__isnull=False).filter(month.range_q("work_order__answered_at"))
    spent = ExpressionWrapper(F("work_order__answered_at") - F("at"), output_field=DurationField())
    done = field.aggregate(total=Sum(spent), n=Count("pk"))
    remote = steps.filter(work_order__isnull=True).filter(month.range_q("at")).count()
    count = done["n"] + remote
    if not count:
        return None
    return hours((done["total"] or dt.timedelta()) / count)


def overdue_days(user: Any, unit: Any, month: Month) -> Value:
    """延误天数 — the key accounts' average days overdue (weighted by amount) at the month's end."""
    return reports.weighted_overdue_days(user, _as_of(month), unit, key_accounts=True, **_own(user, unit))


def bad_debt_rate(user: Any, unit: Any, month: Month) -> Value:
    """坏账率 — key accounts: (written off + arrears > BAD_DEBT_DAYS overdue) ÷ billed, at the month's end."""
    return reports.bad_debt_rate(user, _as_of(month), unit, **_own(user, unit))


def _report_link(name: str) -> Any:
    def link(user: Any, unit: Any, month: Month) -> str:
        return f"{reverse(name)}?day={_as_of(month):%Y-%m-%d}"

    return link


def long_overdue(user: Any) -> list[Todo]:
    """欠费超 30 天 — a collector's accounts with arrears more than 30 days overdue (the disconnection threshold)."""
    if not has_perm(user, "arrears.dun") or not has_perm(user, "report.view"):
        return []
    count, amount = reports.overdue_accounts(user, timezone.localdate(), 30)
    if not count:
        return []
    url = reverse("ledger:aging")
    return [
        Todo(
            "ledger.long_overdue",
            _("Accounts more than 30 days overdue"),
            count,
            url,
            "danger",
            ((f"{count} 户 · {amount:,.2f} 元", url, None),),
        )
    ]


def prepaid_todos(user: Any) -> list[Todo]:
    """费控 — prepaid accounts at zero or low, and commands the gateway refused."""
    if not has_perm(user, "prepaid.manage"):
        return []
    day = PrepaidEstimate.objects.order_by("-day").values_list("day", flat=True).first()
    if day is None:
        return []
    rows = restrict(PrepaidEstimate.objects.filter(day=day, status__in=("low", "zero")), user)
    failed = restrict(PrepaidEvent.objects.filter(status=PrepaidEvent.Status.FAILED), user).count()
    count = rows.count() + failed
    if not count:
        return []
    url = reverse("ledger:prepaid")
    return [
        Todo("ledger.prepaid", _("Prepaid accounts low, exhausted or not switched"), count, url, "warning")
    ]


def prepaid_approvals(user: Any) -> list[Approval]:
    if not has_perm(user, "disconnection.approve_important"):
        return []
    rows = restrict(
        PrepaidEvent.objects.filter(kind="disconnect", status=PrepaidEvent.Status.AWAITING_APPROVAL), user
    ).select_related("account")
    return [
        Approval(
            _("Prepaid disconnection of an important customer"),
            f"{e.account.number} {e.account.name} · {e.remaining} 元",
            reverse("ledger:prepaid-account", args=[e.account_id]),
            e.created_at,
            e.remaining,
        )
        for e in rows.order_by("created_at")[:20]
    ]


TODOS = [todays_takings, dunning_due, long_overdue, prepaid_todos]
APPROVALS = [
    ApprovalSource("ledger.approvals", pending_approvals),
    ApprovalSource("ledger.disconnections", pending_disconnections),
    ApprovalSource("ledger.plans", pending_plans),
    ApprovalSource("ledger.prepaid_disconnect", prepaid_approvals),
]
KPIS = [
    KPI("collection_rate", collection_rate, _payments_link, per_person=False),
    KPI("arrears_aging", arrears_aging, _report_link("ledger:aging"), per_person=False),
    KPI("ka_revenue_collection", ka_collection_rate, _report_link("ledger:collection")),
    KPI("overdue_days", overdue_days, _report_link("ledger:aging")),
    KPI("bad_debt_rate", bad_debt_rate, _report_link("ledger:bad-debt")),
    KPI("reconnection_time", reconnection_time, _report_link("ledger:dunning"), per_person=False),
]
