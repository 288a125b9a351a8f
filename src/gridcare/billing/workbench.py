"""The billing app's part of the workbench registry (gridcare.web.workbench): open runs with their progress, the
review queue, the accounts not billed and my rebills as to-dos, the rebills waiting for my approval, the on-time
billing, rebill-rate, reconciliation-difference and sales-plan completion (售电量/售电收入完成率) KPIs, and its
actions in words."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.billing.conf import conf
from gridcare.billing.executors import run_progress
from gridcare.billing.models import Bill, BillingRun, NotBilled, Rebill, RebillItem, SalesPlan
from gridcare.billing.reports import Selection, Sold, reconciliation_difference, sold_by_unit
from gridcare.core.access import authority_limit, has_perm, restrict
from gridcare.customers.models import Account
from gridcare.engine.calendar import SHANGHAI
from gridcare.web.workbench import KPI, Approval, ApprovalSource, Month, Todo, Value, ratio

VERBS = {
    "billing.start_run": _("Started the billing run"),
    "billing.begin_run": _("Began rating the billing run"),
    "billing.rate_chunk": _("Rated the chunk"),
    "billing.chunk_failed": _("Recorded a failed chunk"),
    "billing.finish_run": _("Finished the billing run"),
    "billing.release": _("Released bills"),
    "billing.accept_finding": _("Accepted a finding of the bill review"),
    "billing.rerate": _("Re-rated the bill"),
    "billing.propose_rebill": _("Proposed the rebill"),
    "billing.submit_rebill": _("Submitted the rebill"),
    "billing.approve_rebill": _("Approved the rebill"),
    "billing.reject_rebill": _("Rejected the rebill"),
    "billing.withdraw_rebill": _("Withdrew the rebill"),
    "billing.post_rebill": _("Posted the rebill"),
    "billing.change_rule": _("Changed a plausibility rule of the bill review"),
    "billing.set_sales_plan": _("Set the sales plan"),
}


def bills_in_review(user: Any) -> list[Todo]:
    """异常电费待审核 — the bills the plausibility rules sent to review, for whoever releases bills."""
    if not has_perm(user, "billing.release"):
        return []
    bills = restrict(Bill.objects.filter(status=Bill.Status.REVIEW), user).select_related("account")
    count = bills.count()
    if not count:
        return []
    first = tuple(
        (f"{b.period} {b.account.number} {b.total:,.2f} 元", b.get_absolute_url(), None)
        for b in bills.order_by("period", "pk")[:5]
    )
    return [Todo("billing.review", _("Bills in review"), count, reverse("billing:review"), "warning", first)]


def release_deadline(period_end: dt.date) -> dt.datetime:
    """A bill is released on time before the end of the day ``RELEASE_DAYS`` days after its period's end (the
    reading day): midnight Asia/Shanghai."""
    day = period_end + dt.timedelta(days=int(conf("RELEASE_DAYS")) + 1)
    return dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def _bills(user: Any, unit: Any, month: Month) -> Any:
    bills = restrict(Bill.objects.filter(period=month.key, kind=Bill.Kind.REGULAR), user).exclude(
        status=Bill.Status.CANCELLED
    )
    if unit is None:
        return bills.filter(Q(released_by=user) | Q(run__created_by=user))
    if Account.objects.filter(org_unit__path__startswith=unit.path).exists():
        return bills.filter(account__org_unit__path__startswith=unit.path)
    return (
        bills  # the company's billing team (集中核算) holds no accounts: it answers for every bill it reads
    )


def on_time_billing(user: Any, unit: Any, month: Month) -> Value:
    """电费按时发行率 — of the month's regular bills (period = the month), the share released by the period's end
    plus ``RELEASE_DAYS`` days; a bill still unreleased after its deadline counts as late, one not yet due is
    not counted."""
    bills = _bills(user, unit, month)
    ends = list(bills.order_by().values_list("period_end", flat=True).distinct())
    if not ends:
        return None
    now = timezone.now()
    on_time = Q()
    due = Q()
    for end in ends:
        deadline = release_deadline(end)
        on_time |= Q(period_end=end, status=Bill.Status.RELEASED, released_at__lt=deadline)
        if deadline <= now:
            due |= Q(period_end=end)
        else:  # not yet due: only the bills already released count (on time)
            due |= Q(period_end=end, status=Bill.Status.RELEASED)
    counts = bills.aggregate(whole=Count("pk", filter=due), part=Count("pk", filter=on_time))
    return ratio(counts["part"], counts["whole"])


def _bills_link(user: Any, unit: Any, month: Month) -> str:
    return f"{reverse('billing:bill-list')}?{urlencode({'period': month.key})}"


def open_runs(user: Any) -> list[Todo]:
    """电费计算进行中 — runs waiting, running or finished with failed chunks (to resume), with their progress."""
    if not has_perm(user, "billing.run"):
        return []
    runs = restrict(
        BillingRun.objects.filter(
            status__in=[BillingRun.Status.PENDING, BillingRun.Status.RUNNING, BillingRun.Status.FAILED]
        ),
        user,
    )
    count = runs.count()
    if not count:
        return []
    first = []
    for run in runs.order_by("-pk")[:5]:
        progress = run_progress(run)
        text = _(
            "%(period)s #%(run)s %(status)s: %(done)s/%(chunks)s chunks (%(percent)s%%), %(bills)s bills"
        ) % {
            "period": run.period,
            "run": run.pk,
            "status": run.get_status_display(),
            "done": progress.chunks_done,
            "chunks": progress.chunks,
            "percent": progress.percent,
            "bills": f"{progress.bills:,}",
        }
        first.append((str(text), run.get_absolute_url(), None))
    tone = "danger" if runs.filter(status=BillingRun.Status.FAILED).exists() else "info"
    return [
        Todo(
            "billing.open_runs",
            _("Open billing runs"),
            count,
            reverse("billing:run-list"),
            tone,
            tuple(first),
        )
    ]


def accounts_not_billed(user: Any) -> list[Todo]:
    """未出账户 — of the latest period the user's runs billed, the accounts a run listed as not billed (with the
    reason) that still have no bill of the period: each to be fixed (a read, an exception, a tariff) and billed."""
    if not has_perm(user, "billing.run"):
        return []
    latest = (
        restrict(BillingRun.objects.all(), user).order_by("-period").values_list("period", flat=True).first()
    )
    if latest is None:
        return []
    billed = Bill.objects.filter(period=latest, kind=Bill.Kind.REGULAR).exclude(status=Bill.Status.CANCELLED)
    rows = (
        restrict(NotBilled.objects.filter(run__period=latest), user)
        .exclude(reason=NotBilled.Reason.ALREADY_BILLED)
        .exclude(account_id__in=billed.values("account_id"))
        .select_related("account", "run")
    )
    count = rows.values("account_id").distinct().count()
    if not count:
        return []
    first = tuple(
        (
            f"{latest} {n.account.number} {n.account.name}: {n.get_reason_display()}",
            n.account.get_absolute_url(),
            None,
        )
        for n in rows.order_by("account__number", "-run_id")[:5]
    )
    newest = rows.order_by("-run_id").first()
    url = f"{newest.run.get_absolute_url()}#not-billed" if newest is not None else reverse("billing:run-list")
    label = _("Accounts not billed")
    return [Todo("billing.not_billed", label, count, url, "warning", first)]


def my_rebills(user: Any) -> list[Todo]:
    """我的退补 — my cases still to submit (draft) or to post (approved)."""
    if not has_perm(user, "billing.propose_adjustment"):
        return []
    cases = restrict(
        Rebill.objects.filter(proposed_by=user, status__in=[Rebill.Status.DRAFT, Rebill.Status.APPROVED]),
        user,
    ).order_by("proposed_at")
    count = cases.count()
    if not count:
        return []
    first = tuple(
        (
            f"{c.number} {c.get_kind_display()} {c.get_status_display()} {c.total:,.2f} 元",
            c.get_absolute_url(),
            None,
        )
        for c in cases[:5]
    )
    url = reverse("billing:rebill-list")
    return [Todo("billing.my_rebills", _("My rebills to submit or post"), count, url, "primary", first)]


def rebills_to_decide(user: Any) -> list[Approval]:
    """退补审批 — cases in my scope waiting for approval that I may decide: not mine, within my limit."""
    if not has_perm(user, "billing.approve_adjustment"):
        return []
    waiting = (
        restrict(Rebill.objects.filter(status=Rebill.Status.PENDING), user, write=True)
        .exclude(proposed_by=user)
        .order_by("submitted_at")
    )
    limit = authority_limit(user, "bill_adjustment")
    if limit is not None:
        waiting = waiting.filter(authority_amount__lte=limit)
    return [
        Approval(
            kind=_("Rebill"),
            title=f"{c.number} {c.get_kind_display()} {c.reason}"[:120],
            url=c.get_absolute_url(),
            since=c.submitted_at,
            amount=c.total,
        )
        for c in waiting[:20]
    ]


def rebill_rate(user: Any, unit: Any, month: Month) -> Value:
    """退补率（电费差错率） — bills corrected by the rebills posted in the month, of the regular bills released in the
    month (a bill corrected twice counts once). Person: the bills they released and the rebills they proposed."""
    released = restrict(
        Bill.objects.filter(kind=Bill.Kind.REGULAR).filter(month.range_q("released_at")), user
    )
    corrected = restrict(
        RebillItem.objects.filter(rebill__status=Rebill.Status.POSTED, correcting_bill__isnull=False).filter(
            month.range_q("rebill__posted_at")
        ),
        user,
    )
    if unit is None:
        released = released.filter(released_by=user)
        corrected = corrected.filter(rebill__proposed_by=user)
    elif Account.objects.filter(org_unit__path__startswith=unit.path).exists():
        released = released.filter(account__org_unit__path__startswith=unit.path)
        corrected = corrected.filter(bill__account__org_unit__path__startswith=unit.path)
    whole = released.count()
    if not whole:
        return None
    return ratio(corrected.values("bill_id").distinct().count(), whole)


def _rebills_link(user: Any, unit: Any, month: Month) -> str:
    return f"{reverse('billing:rebill-list')}?{urlencode({'status': Rebill.Status.POSTED})}"


def reconciliation(user: Any, unit: Any, month: Month) -> Value:
    """对账差异 — of the month's released bills, |Σ of their lines − Σ of their totals| in 元 (what the sales summary
    checks against the released bills); none when nothing is released."""
    bills = _bills(user, unit, month).filter(status=Bill.Status.RELEASED)
    if not bills.exists():
        return None
    return abs(reconciliation_difference(bills))


def _reports_link(user: Any, unit: Any, month: Month) -> str:
    return f"{reverse('billing:reports')}?{urlencode({'period': month.key})}"


def planned(user: Any, unit: Any, month: Month) -> Sold | None:
    """售电计划 of ``unit``'s subtree for the month: the sum of the plans of the units in it (in the user's scope);
    ``None`` when none of them has a plan for the month."""
    plans = restrict(SalesPlan.objects.filter(month=month.first_day), user).filter(
        org_unit__path__startswith=unit.path
    )
    found = plans.aggregate(n=Count("pk"), kwh=Sum("kwh"), revenue=Sum("revenue"))
    if not found["n"]:
        return None
    return Sold(Decimal(found["kwh"]), Decimal(found["revenue"]))


def sold(user: Any, unit: Any, month: Month) -> Sold:
    """What the released bills of the month's period sold in ``unit``'s subtree (the sales summary's bills)."""
    return sum(sold_by_unit(Selection(month.key, unit), user).values(), Sold())


def sales_kwh_vs_plan(user: Any, unit: Any, month: Month) -> Value:
    """售电量完成率 — kWh of the month's released bills in the unit's subtree ÷ the subtree's planned kWh × 100."""
    plan = planned(user, unit, month) if unit is not None else None
    if plan is None:
        return None
    return ratio(sold(user, unit, month).kwh, plan.kwh)  # 完成率: one decimal, none for a plan of 0


def revenue_vs_plan(user: Any, unit: Any, month: Month) -> Value:
    """售电收入完成率 — amounts due of the month's released bills in the unit's subtree ÷ planned revenue × 100."""
    plan = planned(user, unit, month) if unit is not None else None
    if plan is None:
        return None
    return ratio(sold(user, unit, month).revenue, plan.revenue)


def _plan_link(user: Any, unit: Any, month: Month) -> str:
    if has_perm(user, "sales_plan.set"):
        return f"{reverse('billing:sales-plan')}?{urlencode({'year': month.year})}"
    return _reports_link(user, unit, month)


TODOS = [open_runs, bills_in_review, accounts_not_billed, my_rebills]
APPROVALS = [ApprovalSource("billing.rebill", rebills_to_decide)]
KPIS = [
    KPI("on_time_billing", on_time_billing, _bills_link),
    KPI("rebill_rate", rebill_rate, _rebills_link),
    KPI("reconciliation_difference", reconciliation, _reports_link),
    KPI("sales_kwh_vs_plan", sales_kwh_vs_plan, _plan_link, per_person=False),
    KPI("revenue_vs_plan", revenue_vs_plan, _plan_link, per_person=False),
]
