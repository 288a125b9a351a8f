"""The billing app's part of the workbench registry (gridcare.web.workbench): the review queue as a to-do, the
on-time billing and reconciliation-difference KPIs, and its actions in words."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.billing.conf import conf
from gridcare.billing.models import Bill
from gridcare.billing.reports import reconciliation_difference
from gridcare.core.access import has_perm, restrict
from gridcare.customers.models import Account
from gridcare.engine.calendar import SHANGHAI
from gridcare.web.workbench import KPI, Month, Todo, Value, ratio

VERBS = {
    "billing.start_run": _("Started the billing run"),
    "billing.begin_run": _("Began rating the billing run"),
    "billing.rate_chunk": _("Rated the chunk"),
    "billing.chunk_failed": _("Recorded a failed chunk"),
    "billing.finish_run": _("Finished the billing run"),
    "billing.release": _("Released bills"),
    "billing.accept_finding": _("Accepted a finding of the bill review"),
    "billing.rerate": _("Re-rated the bill"),
    "billing.change_rule": _("Changed a plausibility rule of the bill review"),
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


def reconciliation(user: Any, unit: Any, month: Month) -> Value:
    """对账差异 — of the month's released bills, |Σ of their lines − Σ of their totals| in 元 (what the sales summary
    checks against the released bills); none when nothing is released."""
    bills = _bills(user, unit, month).filter(status=Bill.Status.RELEASED)
    if not bills.exists():
        return None
    return abs(reconciliation_difference(bills))


def _reports_link(user: Any, unit: Any, month: Month) -> str:
    return f"{reverse('billing:reports')}?{urlencode({'period': month.key})}"


TODOS = [bills_in_review]
KPIS = [
    KPI("on_time_billing", on_time_billing, _bills_link),
    KPI("reconciliation_difference", reconciliation, _reports_link),
]
