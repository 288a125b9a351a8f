"""Demo billing: after the readings demo (a year of monthly reads of every demo meter), the billing accountant bills
the last :data:`MONTHS` closed periods, oldest first, each through the real run (the inline executor: the same chunk
code as the process pool and the Celery workers) — draft bills for every account with validated reads, the others
listed with the reason (a missing read, an open reading exception, a meter installed later) — then reviews it: the
findings of every other bill in review are accepted with a reason, and the month is released (numbered, with due
dates) before the next one is billed, so tier years and the month-on-month review rules see released history. In
the last period a few bills stay in review (the queue of the workbench).

At the scales whose readings demo reads only some meters (``readings.demo.MAX_POINTS``: medium, large) the runs
bill the accounts on the reading routes (a list of accounts), not the whole company — a million accounts listed
as not billed twelve times over would only slow the demo down.

The demo is a list of steps (:data:`STEPS`), each ``step(accountant, periods, accounts)`` yielding its report
lines (``accounts``: the accounts the demo bills, None = every one); a later step (rebills of released bills, …)
is appended to the list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

from django.utils import timezone

from gridcare.billing.actions import do_accept_finding, do_release_bills
from gridcare.billing.executors import start_run
from gridcare.billing.models import Bill, BillFinding, BillingRun
from gridcare.org.models import User
from gridcare.readings.demo import MAX_POINTS
from gridcare.readings.models import RouteStop
from gridcare.readings.periods import next_month

#: periods the demo bills: the last twelve closed months (the readings demo reads a year)
MONTHS = 12
#: bills the demo leaves in review in its last period (the accountant's queue on the workbench)
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


def last_closed_period(today: dt.date) -> str:
    return f"{today.replace(day=1) - dt.timedelta(days=1):%Y-%m}"


def demo_periods(today: dt.date, months: int = MONTHS) -> list[str]:
    """The ``months`` closed periods up to the month before ``today``, oldest first."""
    last = today.replace(day=1) - dt.timedelta(days=1)
    month = dt.date(last.year - (1 if last.month < months else 0), (last.month - months) % 12 + 1, 1)
    periods: list[str] = []
    while len(periods) < months:
        periods.append(f"{month:%Y-%m}")
        month = next_month(month)
    return periods


def bill_period(
    accountant: User, period: str, accounts: list[int] | None, *, keep_in_review: int
) -> Iterator[str]:
    """One month: the real run, the review (every other bill in review has its findings accepted), the release of
    everything but ``keep_in_review`` bills in review."""
    run = start_run(accountant, period=period, accounts=accounts)
    in_review = list(
        Bill.objects.filter(run=run, status=Bill.Status.REVIEW).order_by("pk").values_list("pk", flat=True)
    )
    left = min(keep_in_review, len(in_review) // 2)  # at most half of them: the others are reviewed
    kept = set(in_review[:left])
    accepted = 0
    for finding in BillFinding.objects.filter(bill_id__in=in_review[left::2]).order_by("pk"):
        do_accept_finding(accountant, finding.pk, ACCEPT_REASONS.get(finding.rule, "已核实，电费无误"))
        accepted += 1
    released = do_release_bills(accountant, Bill.objects.filter(run=run).exclude(pk__in=kept))
    yield (
        f"billing: run {run.pk} of {period} — {run.bills:,} bills ({released:,} released, {len(kept)} left in "
        f"review, {len(in_review):,} reviewed with {accepted:,} findings accepted), {run.not_billed:,} accounts "
        f"not billed, {run.total:,} 元 in {run.seconds or 0:.1f} s"
    )


def bill_the_year(accountant: User, periods: list[str], accounts: list[int] | None) -> Iterator[str]:
    """Twelve monthly runs, each reviewed and released before the next."""
    for period in periods:
        last = period == periods[-1]
        yield from bill_period(accountant, period, accounts, keep_in_review=LEFT_IN_REVIEW if last else 0)


def demo_accounts(scale: str) -> list[int] | None:
    """The accounts the demo bills: every one, or at the scales read only in part those on the reading routes."""
    if scale not in MAX_POINTS:
        return None
    return sorted(set(RouteStop.objects.values_list("service_point__account_id", flat=True)))


Step = Callable[[User, list[str], list[int] | None], Iterator[str]]
#: the demo's billing steps, in order (a step appended here runs after the twelve months are billed)
STEPS: list[Step] = [bill_the_year]


def build(actor: User, scale: str) -> Iterator[str]:
    periods = demo_periods(timezone.localdate())
    if BillingRun.objects.filter(period__in=periods).exists():
        yield f"billing: runs of {periods[0]}…{periods[-1]} are already present (use --reset to rebuild)"
        return
    accountant = User.objects.filter(username="billing").first() or actor
    accounts = demo_accounts(scale)
    for step in STEPS:
        yield from step(accountant, periods, accounts)
