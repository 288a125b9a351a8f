"""The ledger's part of the workbench registry (gridcare.web.workbench): the cashier's day (today's takings, the
close still open), reversals and refunds waiting for an approver, the collection rate KPI, and the actions in
words."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.core.access import has_perm, restrict
from gridcare.ledger.actions import day_figures
from gridcare.ledger.models import Allocation, ApprovalRequest, DailyClose, Entry
from gridcare.web.workbench import KPI, Approval, ApprovalSource, Month, Todo, Value, ratio

VERBS = {
    "ledger.post_charge": _("Posted the bill to the ledger"),
    "ledger.post_charges": _("Posted released bills to the ledger"),
    "ledger.take_payment": _("Took a payment"),
    "ledger.take_channel_payments": _("Posted channel payments"),
    "ledger.payment_repeated": _("Answered a repeated channel payment"),
    "ledger.reverse_payment": _("Reversed a payment"),
    "ledger.request_approval": _("Asked for an approval"),
    "ledger.decide_approval": _("Decided an approval"),
    "ledger.refund": _("Refunded a prepayment"),
    "ledger.close_day": _("Closed the day"),
    "ledger.register_channel": _("Registered a payment channel"),
    "ledger.import_channel_file": _("Reconciled a channel file"),
    "ledger.resolve_difference": _("Resolved a reconciliation difference"),
    "ledger.post_late_fee": _("Posted a late fee"),
    "ledger.post_late_fees": _("Ran the late-fee job"),
    "ledger.waiver": _("Waived a late fee"),
    "ledger.write_off": _("Wrote off a bad debt"),
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
    billed = charges.aggregate(total=Sum("amount"), n=Count("pk"))
    if not billed["n"]:
        return None
    settled = Allocation.objects.filter(debit__in=charges.values("pk")).aggregate(total=Sum("amount"))[
        "total"
    ]
    whole = billed["total"] or 0
    return ratio(int((settled or 0) * 100), int(whole * 100)) if whole else None


def _payments_link(user: Any, unit: Any, month: Month) -> str:
    return reverse("ledger:payment-list")


TODOS = [todays_takings]
APPROVALS = [ApprovalSource("ledger.approvals", pending_approvals)]
KPIS = [KPI("collection_rate", collection_rate, _payments_link, per_person=False)]
