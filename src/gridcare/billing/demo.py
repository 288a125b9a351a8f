"""Demo billing: after the readings demo, the billing accountant runs the last closed period (the month before
today) through the real run — draft bills for every account with validated reads, the others listed with the
reason — then reviews it: some findings are accepted with a reason, a few bills stay in review (the queue of the
workbench) and the rest is released (numbered, with due dates)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.utils import timezone

from gridcare.billing.actions import do_accept_finding, do_release_bills
from gridcare.billing.executors import start_run
from gridcare.billing.models import Bill, BillFinding, BillingRun
from gridcare.org.models import User


def last_closed_period(today: dt.date) -> str:
    return f"{today.replace(day=1) - dt.timedelta(days=1):%Y-%m}"


def build(actor: User, scale: str) -> Iterator[str]:
    period = last_closed_period(timezone.localdate())
    if BillingRun.objects.filter(period=period).exists():
        yield f"billing: a run of {period} is already present (use --reset to rebuild)"
        return
    accountant = User.objects.filter(username="billing").first() or actor
    run = start_run(accountant, period=period)
    yield (
        f"billing: run {run.pk} of {period} — {run.bills:,} draft bills, {run.not_billed:,} accounts not billed, "
        f"{run.total:,} 元 in {run.seconds or 0:.1f} s"
    )
    in_review = list(
        Bill.objects.filter(run=run, status=Bill.Status.REVIEW).order_by("pk").values_list("pk", flat=True)
    )
    left = min(LEFT_IN_REVIEW, len(in_review) // 2)  # at most half of them: the others are reviewed
    kept = set(in_review[:left])
    accepted = 0
    for finding in BillFinding.objects.filter(bill_id__in=in_review[left::2]).order_by("pk"):
        do_accept_finding(accountant, finding.pk, ACCEPT_REASONS.get(finding.rule, "已核实，电费无误"))
        accepted += 1
    released = do_release_bills(accountant, Bill.objects.filter(run=run).exclude(pk__in=kept))
    yield (
        f"billing: review — {len(in_review):,} bills in review, {accepted:,} findings accepted, "
        f"{released:,} bills released, {len(kept)} left in review"
    )


#: bills the demo leaves in review (the accountant's queue on the workbench)
LEFT_IN_REVIEW = 3
#: the reasons the demo accountant gives when accepting a finding
ACCEPT_REASONS = {
    "zero_bill": "用户空置，已电话核实",
    "change_vs_last_month": "季节性用电变化，已核对示数",
    "change_vs_last_year": "用电结构变化，已核对示数",
    "estimated": "估抄已审批，下期实抄冲正",
    "tariff_change": "电价变更已核对",
    "multiplier_change": "换表倍率已核对",
}
