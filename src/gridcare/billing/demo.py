"""Demo billing: after the readings demo (a year of monthly reads of every demo meter), the billing accountant bills
the last :data:`MONTHS` closed periods, oldest first, each on its release day on the business clock
(:func:`release_moment`; between two releases the other apps replay their weeks: :func:`bill_the_year`), each
through the real run (the inline executor: the same chunk
code as the process pool and the Celery workers) — draft bills for every account with validated reads, the others
listed with the reason (a missing read, an open reading exception, a meter installed later) — then reviews it: the
findings of every other bill in review are accepted with a reason, and the month is released (numbered, with due
dates) before the next one is billed, so tier years and the month-on-month review rules see released history. In
the last period a few bills stay in review (the queue of the workbench).

At the scales whose readings demo reads only some meters (``readings.demo.MAX_POINTS``: medium, large) the runs
bill the accounts on the reading routes (a list of accounts), not the whole company — a million accounts listed
as not billed twelve times over would only slow the demo down.

The demo is a list of steps (:data:`STEPS`), each ``step(accountant, periods, accounts)`` yielding its report
lines (``accounts``: the accounts the demo bills, None = every one). After the twelve months, a few rebills (退补)
of each type on the last month's released bills, through the real actions: a correction, a meter error and
capacity overruns within the accountant's limit (posted), a theft above it approved by the department manager
(posted), and one theft left waiting for approval. Last, the department manager's sales plan (售电计划) of every
station for the billed months, through the real action: each month's plan is what the station sold divided by a
factor between 0.95 and 1.05 (fixed per station and month), so the completion rates on the manager's workbench
read 95–105 %.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from decimal import Decimal

from django.utils import timezone

from gridcare.billing.actions import do_accept_finding, do_release_bills, do_set_sales_plan
from gridcare.billing.executors import start_run
from gridcare.billing.models import Bill, BillFinding, BillingRun, Rebill
from gridcare.billing.rebill_actions import do_approve_rebill, do_post_rebill, do_propose_rebill
from gridcare.billing.reports import Selection, sold_by_unit
from gridcare.core import clock
from gridcare.core.discovery import app_modules
from gridcare.core.errors import GridcareError
from gridcare.org.models import OrgUnit, User
from gridcare.readings.demo import MAX_POINTS
from gridcare.readings.models import RouteStop
from gridcare.readings.periods import next_month

#: periods the demo bills: the last twelve closed months (the readings demo reads a year)
MONTHS = 12
#: bills the demo leaves in review in its last period (the accountant's queue on the workbench)
LEFT_IN_REVIEW = 3
#: the day of the month after the period on which the demo releases its bills (10:00)
RELEASE_DAY = 2
#: the demo's sales plan is the month's sales divided by a factor in this range (the completion rate, per station
#: and month)
PLAN_FACTORS = (Decimal("0.95"), Decimal("1.05"))
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


def release_moment(period: str) -> dt.datetime:
    """When the demo bills and releases ``period``: 10:00 on the :data:`RELEASE_DAY` of the next month (the reads
    of the period end are in), or now if that moment is still to come (the last period, early in the month)."""
    year, month = (int(x) for x in period.split("-"))
    day = next_month(dt.date(year, month, 1)).replace(day=RELEASE_DAY)
    return min(clock.at_local(day), timezone.now())


def _replayers() -> list[Replayer]:
    """The ``replay(start, end, last)`` of each app's demo that has one (the ledger: payments, late fees, dunning)."""
    return [module.replay for _config, module in app_modules("demo") if hasattr(module, "replay")]


def bill_the_year(accountant: User, periods: list[str], accounts: list[int] | None) -> Iterator[str]:
    """Twelve monthly runs on the business clock: each period is billed, reviewed and released on its release day
    (:func:`release_moment`, so the due dates of the older months are past), then each app with a demo
    ``replay(start, end, last)`` replays its business until the next release (the ledger: the customers' payments, the
    month-end late-fee job, the dunning job and the collectors' steps) — the bills, the payments and the arrears
    flow into each other month after month, through the real actions."""
    replayers = _replayers()
    moments = [release_moment(p) for p in periods]
    now = timezone.now()
    for i, period in enumerate(periods):
        last = period == periods[-1]
        start = moments[i]
        with clock.as_of(start):
            yield from bill_period(accountant, period, accounts, keep_in_review=LEFT_IN_REVIEW if last else 0)
        end = moments[i + 1] if i + 1 < len(moments) else now
        for replay in replayers:
            yield from replay(start, end, last)


def demo_accounts(scale: str) -> list[int] | None:
    """The accounts the demo bills: every one, or at the scales read only in part those on the reading routes."""
    if scale not in MAX_POINTS:
        return None
    return sorted(set(RouteStop.objects.values_list("service_point__account_id", flat=True)))


def rebills(accountant: User, periods: list[str], accounts: list[int] | None) -> Iterator[str]:
    """A few rebills of each type on the last month's released bills, by the real actions."""
    manager = User.objects.filter(username="manager").first()
    released = Bill.objects.filter(
        period=periods[-1], kind=Bill.Kind.REGULAR, status=Bill.Status.RELEASED
    ).order_by("pk")
    residential = list(released.filter(tariff_code="CN-ZJ-RES-TIERED", energy_kwh__gt=50)[:6])
    commercial = list(released.filter(tariff_code="CN-SH-GIC-TOU")[:1])
    plans: list[tuple[Bill, str, str, dict[str, object], bool]] = []
    if len(residential) >= 5:
        first, second, third, fourth, fifth = residential[:5]
        verified = first.period_start - dt.timedelta(days=300)
        plans = [
            (
                first,
                "correction",
                "抄表员误抄示数，核实后更正",
                {"registers": {"active_total": str(first.energy_kwh - 20)}},
                True,
            ),
            (
                second,
                "meter_error",
                "现场校验电能表误差 +4%",
                {
                    "error_pct": "4",
                    "verified_on": verified.isoformat(),
                    "corrected_on": second.period_end.isoformat(),
                },
                True,
            ),
            (
                third,
                "violation",
                "私自增加用电容量 3 kW",
                {"violation": "capacity", "overrun_kva": "3"},
                True,
            ),
            (
                fourth,
                "theft",
                "绕越电能表窃电，窃电时间无法查明",
                {"period_unknown": True, "rated_kw": "4"},
                True,
            ),
            (fifth, "theft", "私拉电线窃电，查实窃电量", {"stolen_kwh": "3000"}, False),
        ]
    if commercial:
        plans.append(
            (
                commercial[0],
                "violation",
                "私增容量 10 kVA",
                {"violation": "capacity", "overrun_kva": "10"},
                True,
            )
        )
    made: dict[str, int] = {}
    for bill, kind, reason, params, approve in plans:
        try:
            case = do_propose_rebill(
                accountant,
                kind=kind,
                reason=reason,
                account=bill.account_id if params.get("period_unknown") else None,
                bills=None if params.get("period_unknown") else [bill.pk],
                params=params,
                submit=True,
            )
            if case.status == Rebill.Status.PENDING and approve and manager is not None:
                case = do_approve_rebill(manager, case.pk, note="已核实现场取证材料")
            if case.status == Rebill.Status.APPROVED:
                case = do_post_rebill(accountant, case.pk)
        except GridcareError as error:
            yield f"billing: rebill ({kind}) of {bill.period} {bill.account_id} not made: {error.message}"
            continue
        made[case.status] = made.get(case.status, 0) + 1
    shown = ", ".join(f"{count} {status}" for status, count in sorted(made.items())) or "none"
    yield f"billing: rebills (退补) — {shown}"


def plan_factor(station: str, period: str) -> Decimal:
    """The demo's completion rate of a station's month: fixed per station and month, within :data:`PLAN_FACTORS`."""
    low, high = PLAN_FACTORS
    share = Decimal(random.Random(f"{station}:{period}").randint(0, 1000)) / 1000  # noqa: S311 - demo figures
    return (low + (high - low) * share).quantize(Decimal("0.001"))


def sales_plans(accountant: User, periods: list[str], accounts: list[int] | None) -> Iterator[str]:
    """售电计划 — the manager sets each station's plan of the billed months (those it sold in), one call of the real
    action per station and year."""
    manager = User.objects.filter(username="manager").first()
    if manager is None:
        yield "billing: no department manager in the demo organisation — no sales plan"
        return
    stations = list(OrgUnit.objects.filter(kind=OrgUnit.Kind.STATION, is_active=True).order_by("path"))
    wanted: dict[tuple[OrgUnit, int], dict[int, tuple[Decimal, Decimal]]] = {}
    for period in periods:
        sold = sold_by_unit(Selection(period), manager)
        year, month = (int(x) for x in period.split("-"))
        for station in stations:
            kwh = sum((v.kwh for k, v in sold.items() if k.startswith(station.path)), Decimal(0))
            revenue = sum((v.revenue for k, v in sold.items() if k.startswith(station.path)), Decimal(0))
            if not kwh or not revenue:
                continue
            factor = plan_factor(station.code, period)
            plan = ((kwh / factor).quantize(Decimal(1)), (revenue / factor).quantize(Decimal("0.01")))
            wanted.setdefault((station, year), {})[month] = plan
    for (station, year), months in wanted.items():
        do_set_sales_plan(manager, station, year, months)
    units = len({station for station, _year in wanted})
    months_set = sum(len(m) for m in wanted.values())
    yield f"billing: sales plans (售电计划) of {units} stations, {months_set} station-months"


Replayer = Callable[[dt.datetime, dt.datetime, bool], Iterator[str]]
Step = Callable[[User, list[str], list[int] | None], Iterator[str]]
#: the demo's billing steps, in order
STEPS: list[Step] = [bill_the_year, rebills, sales_plans]


def build(actor: User, scale: str) -> Iterator[str]:
    periods = demo_periods(timezone.localdate())
    if BillingRun.objects.filter(period__in=periods).exists():
        yield f"billing: runs of {periods[0]}…{periods[-1]} are already present (use --reset to rebuild)"
        return
    accountant = User.objects.filter(username="billing").first() or actor
    accounts = demo_accounts(scale)
    for step in STEPS:
        yield from step(accountant, periods, accounts)
