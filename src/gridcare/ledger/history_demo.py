"""A year of collection for the demo, replayed on the business clock (:func:`gridcare.core.clock.as_of`).

The billing demo releases each month's bills on its release day and then calls :func:`replay` for the weeks until
the next release (the last window ends now). Stateless: each window reads the released bills and the open cases
from the database and does, in the order of the moments they happen at, through the real actions:

- the customers' payments on their payment days — most pay on time, some late (with the late fee at payment),
  some stop paying (a realistic mix per class: residential, commercial, industry, key accounts; :func:`habit`);
  payers pay through the bank and the aggregator (set-based), a few each day at the station counters;
- the month-end late-fee job (23:00 of the last day) and the payment-plan check;
- the dunning job (09:00 on Mondays that are working days, every working day in the last window): reminders,
  settled cases closed;
- the collectors' steps in a few chosen windows: disconnection approval asked and given, 停电通知书 issued and
  delivered, the field disconnection once allowed (work order), the customer paying at the counter a few days
  later (the reconnection work order is made inside the payment); a late-fee waiver approved; a payment plan
  whose second instalment is missed (broken: dunning resumes); a bad-debt write-off approved.

Every moment is a working day at a fixed hour chosen here (never the hour the demo runs at), so the outcome does
not depend on when the demo or its tests run."""

from __future__ import annotations

import datetime as dt
import heapq
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TypeVar

from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from gridcare.billing.models import Bill
from gridcare.core import clock
from gridcare.core.access import restrict
from gridcare.core.calendar import is_working_day
from gridcare.core.errors import GridcareError
from gridcare.customers.models import Account, ServicePoint
from gridcare.ledger import dunning, latefees
from gridcare.ledger.actions import (
    do_decide_approval,
    do_request_approval,
    do_take_channel_payments,
    do_take_payment,
)
from gridcare.ledger.models import (
    ApprovalRequest,
    Channel,
    DunningCase,
    DunningStep,
    Entry,
    Method,
    PaymentPlan,
)
from gridcare.org.models import User

M = TypeVar("M", bound=Model)
ON_TIME, LATE, STOPS = "on_time", "late", "stops"
#: per mille of accounts per class that stop paying at some month, then that pay late (the rest pay on time)
HABITS: dict[str, tuple[int, int]] = {
    "residential": (30, 120),
    "commercial": (25, 150),
    "large_industry": (12, 80),
    "agriculture": (30, 100),
    "key": (12, 200),
}
#: days after the release an on-time payer pays; days after the due date a late payer pays
ON_TIME_DAYS = (3, 6, 9)
LATE_DAYS = (12, 26, 45)
#: the stations whose demo cashiers take counter payments (ledger.demo.CASHIERS)
COUNTER_STATIONS = ("CG", "HX", "SNS")
#: counter payments per station per payment day, on time and late alike (the others pay through the channels, in
#: one set-based batch per channel: a counter payment is one action each)
COUNTER_PER_DAY = 2
#: accounts taken through the disconnection ladder in each window so chosen (months before now)
CHAINS = {7: 2, 4: 2, 1: 1}
WAIVER_AGE, PLAN_AGE, WRITE_OFF_AGE = 5, 6, 3
METHODS = [Method.CASH, Method.POS, Method.WECHAT, Method.ALIPAY, Method.BANK_TRANSFER]


def _hash(account_id: int) -> int:
    return (account_id * 2654435761) % 1000


def habit(account_id: int, customer_class: str, key_account: bool) -> tuple[str, int]:
    """How the account pays (on time, late, stops) and, for one that stops, how many months before now it stopped
    (1–11: it left that many of the last bills unpaid)."""
    h = _hash(account_id)
    stops, late = HABITS["key" if key_account else customer_class] if customer_class in HABITS else (30, 120)
    if h < stops:
        return STOPS, 1 + (h * 7) % 11
    if h < stops + late:
        return LATE, 0
    return ON_TIME, 0


def _months_before(day: dt.date, now: dt.date) -> int:
    return (now.year - day.year) * 12 + now.month - day.month


def _users() -> dict[str, User]:
    return {u.username: u for u in User.objects.filter(username__in=["collector", "manager", "billing"])}


def _cashiers() -> dict[str, User]:
    from gridcare.ledger.demo import CASHIERS

    users = {u.username: u for u in User.objects.filter(username__in=[c[0] for c in CASHIERS])}
    return {unit: users[name] for name, _full, unit in CASHIERS if name in users}


def _moment(day: dt.date, hour: int) -> dt.datetime:
    return clock.at_local(day, hour)


def _working_on_or_after(day: dt.date) -> dt.date:
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


class Window:
    """One replayed window [start, end): its events, run in the order of their moments."""

    def __init__(self, start: dt.datetime, end: dt.datetime, last: bool) -> None:
        self.start, self.end, self.last = start, end, last
        self.now = clock.real_now()
        self.age = _months_before(timezone.localdate(start), timezone.localdate(self.now))
        self.events: list[tuple[dt.datetime, int, int, Callable[[dt.datetime], Iterator[str]]]] = []
        self.users = _users()
        self.cashiers = _cashiers()
        self.station_staff = {
            u.org_unit.code: u
            for u in User.objects.filter(position__code="station_rep", org_unit__isnull=False)
            .select_related("org_unit")
            .order_by("pk")
            if u.org_unit is not None
        }
        self.channels = list(Channel.objects.filter(code__in=["ICBC", "ALIPAY"]).order_by("code"))
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, moment: dt.datetime, event: Callable[[dt.datetime], Iterator[str]], order: int = 0) -> None:
        """``event`` at ``moment`` (dropped outside the window); events may add later events while the window runs."""
        if self.start <= moment < self.end:
            heapq.heappush(self.events, (moment, order, self.counts["events"], event))
            self.counts["events"] += 1

    def run(self) -> Iterator[str]:
        while self.events:
            moment, _order, _n, event = heapq.heappop(self.events)
            with clock.as_of(moment):
                yield from event(moment)


def replay(start: dt.datetime, end: dt.datetime, last: bool = False) -> Iterator[str]:
    """The ledger's business between two releases (see the module docstring)."""
    from gridcare.ledger.demo import setup

    setup()
    window = Window(start, end, last)
    if not window.channels or "collector" not in window.users:
        return
    _schedule_payments(window)
    _schedule_jobs(window)
    _schedule_collection(window)
    yield from window.run()
    counts = window.counts
    yield (
        f"ledger: {timezone.localdate(start)} → {timezone.localdate(end)} — {counts['on_time']:,} payments on time, "
        f"{counts['late']:,} late, {counts['fees']:,} late fees at month end, {counts['reminders']:,} reminders"
        + "".join(
            f", {counts[k]} {k}"
            for k in ("disconnected", "reconnected", "waived", "plan", "written off")
            if counts[k]
        )
    )


# --- payments ------------------------------------------------------------------------------------------------


def account_classes(account_ids: list[int]) -> dict[int, str]:
    classes: dict[int, str] = {}
    for account, cls in (
        ServicePoint.objects.filter(account_id__in=account_ids)
        .order_by("account_id", "pk")
        .values_list("account_id", "customer_class")
    ):
        classes.setdefault(account, cls)
    return classes


def _schedule_payments(window: Window) -> None:
    """Each released bill of the last months paid on its payer's day, if that day falls in the window."""
    since = window.start - dt.timedelta(days=max(LATE_DAYS) + 40)
    bills = list(
        Bill.objects.filter(
            kind=Bill.Kind.REGULAR, status=Bill.Status.RELEASED, total__gt=0, released_at__gte=since
        )
        .filter(released_at__lt=window.end)
        .values_list("pk", "account_id", "total", "released_at", "due_date", "period")
    )
    accounts = sorted({b[1] for b in bills})
    classes = account_classes(accounts)
    keys = set(Account.objects.filter(pk__in=accounts, is_key_account=True).values_list("pk", flat=True))
    units = dict(Account.objects.filter(pk__in=accounts).values_list("pk", "org_unit__code"))
    now = timezone.localdate(window.now)
    on_time: dict[dt.date, list[tuple[int, int, Decimal]]] = defaultdict(list)
    late: dict[dt.date, set[int]] = defaultdict(set)
    latest = max((b[5] for b in bills), default="")
    for pk, account_id, total, released_at, due_date, period in bills:
        kind, stopped = habit(account_id, classes.get(account_id, ""), account_id in keys)
        released = timezone.localdate(released_at)
        h = _hash(account_id)
        if kind == STOPS and _months_before(released, now) <= stopped:
            continue
        if kind == LATE and due_date is not None:
            late[due_date + dt.timedelta(days=LATE_DAYS[h % len(LATE_DAYS)])].add(account_id)
        elif not window.last or period != latest:  # the current bills: paid today (ledger.demo.build)
            on_time[released + dt.timedelta(days=ON_TIME_DAYS[h % len(ON_TIME_DAYS)])].append(
                (pk, account_id, total)
            )
    for day, rows in on_time.items():
        window.add(_moment(day, 11), _pay_on_time(window, rows, units))
    for day, ids in late.items():
        window.add(_moment(day, 10), _pay_late(window, sorted(ids), units))


def _hand_over(
    window: Window,
    day: dt.date,
    units: dict[int, str],
    payments: list[tuple[int, int, Decimal]],
    *,
    tag: str,
    method_of: Callable[[int, int], str],
    note: str = "",
) -> None:
    """``payments`` (key, account, amount): at the account's station counter while it takes more that day
    (``COUNTER_PER_DAY``; ``method_of(key, n)`` the way the n-th one pays), the rest through the channels, one batch
    per channel (transaction ids ``<channel><day><tag><key>``)."""
    numbers = dict(Account.objects.filter(pk__in=[p[1] for p in payments]).values_list("pk", "number"))
    batches: dict[str, list[dict[str, str]]] = {c.code: [] for c in window.channels}
    at_counter: dict[str, int] = defaultdict(int)
    for key, account_id, amount in payments:
        unit = units.get(account_id, "")
        cashier = window.cashiers.get(unit)
        if cashier is not None and at_counter[unit] < COUNTER_PER_DAY:
            method = method_of(key, at_counter[unit])
            do_take_payment(cashier, account=account_id, amount=amount, method=method, note=note)
            at_counter[unit] += 1
        else:
            channel = window.channels[account_id % len(window.channels)]
            batches[channel.code].append(
                {
                    "account": numbers[account_id],
                    "amount": str(amount),
                    "transaction_id": f"{channel.code}{day:%Y%m%d}{tag}{key:09d}",
                }
            )
    for channel in window.channels:
        if batches[channel.code]:
            do_take_channel_payments(channel.user, channel=channel, rows=batches[channel.code])


def _pay_on_time(
    window: Window, rows: list[tuple[int, int, Decimal]], units: dict[int, str]
) -> Callable[[dt.datetime], Iterator[str]]:
    def event(moment: dt.datetime) -> Iterator[str]:
        _hand_over(
            window,
            timezone.localdate(moment),
            units,
            sorted(rows),
            tag="B",
            method_of=lambda pk, n: METHODS[(pk + n) % len(METHODS)],
        )
        window.counts["on_time"] += len(rows)
        return iter(())

    return event


def overdue_owed(account_ids: list[int], moment: dt.datetime) -> dict[int, Decimal]:
    """What each account owes overdue at ``moment``, late fees included (the posted ones still open and the part the
    payment itself posts): what a late payer hands over to clear its arrears."""
    state = dunning.standing(account_ids, now=moment)
    owed = {a: d for a, d in zip(state.account_ids, state.arrears, strict=True) if d > 0}
    for accrual in latefees.accruals(timezone.localdate(moment), sorted(owed)):
        owed[accrual.account_id] += max(accrual.increment, Decimal("0.00"))
    return owed


def _pay_late(
    window: Window, account_ids: list[int], units: dict[int, str]
) -> Callable[[dt.datetime], Iterator[str]]:
    def event(moment: dt.datetime) -> Iterator[str]:
        owed = overdue_owed(account_ids, moment)
        _hand_over(
            window,
            timezone.localdate(moment),
            units,
            [(account_id, account_id, amount) for account_id, amount in sorted(owed.items())],
            tag="L",
            method_of=lambda _key, _n: Method.CASH,
            note="逾期缴费",
        )
        window.counts["late"] += len(owed)
        return iter(())

    return event


# --- the jobs ------------------------------------------------------------------------------------------------


def _schedule_jobs(window: Window) -> None:
    """The month-end late-fee job and plan check (23:00 of the last day) and the dunning job at 09:00 on Mondays
    that are working days — on every working day of the last window, so that the workbench of today holds few cases
    settled since the job last ran (a weekly job keeps the replay's CPU time down)."""
    collector = window.users["collector"]
    day = timezone.localdate(window.start)
    while _moment(day, 0) < window.end:
        if (day + dt.timedelta(days=1)).day == 1:
            window.add(_moment(day, 23), _month_end(window, collector))
        if (day.weekday() == 0 or window.last) and is_working_day(day):
            window.add(_moment(day, 9), _dunning_job(window, collector))
        day += dt.timedelta(days=1)


def _month_end(window: Window, collector: User) -> Callable[[dt.datetime], Iterator[str]]:
    def event(moment: dt.datetime) -> Iterator[str]:
        from gridcare.ledger.latefees import do_post_late_fees
        from gridcare.ledger.plans import do_check_plans

        window.counts["fees"] += do_post_late_fees(collector, until=timezone.localdate(moment))
        manager = window.users.get("manager")
        if manager is not None:
            run = do_check_plans(manager)
            if run.broken:
                window.counts["plan broken"] += run.broken
                yield f"ledger: {timezone.localdate(moment)} payment plan check — {run.broken} broken (dunning resumes)"

    return event


def _dunning_job(window: Window, collector: User) -> Callable[[dt.datetime], Iterator[str]]:
    def event(moment: dt.datetime) -> Iterator[str]:
        run = dunning.do_run_dunning(collector)
        window.counts["reminders"] += run.reminders
        window.add(moment + dt.timedelta(hours=1), lambda at: _collectors_round(window, at))
        return iter(())

    return event


# --- the collectors' steps -----------------------------------------------------------------------------------


def _collectors_round(window: Window, moment: dt.datetime) -> Iterator[str]:
    """After the dunning job (10:00): the disconnections now allowed of the accounts notified, and the customers
    disconnected two days ago or more paying at the counter (reconnected inside the payment)."""
    collector = window.users["collector"]
    notified = list(
        DunningCase.objects.filter(
            status=DunningCase.Status.OPEN, last_step=dunning.engine.NOTICE
        ).values_list("pk", "account_id")
    )
    for case_id, account_id in notified:
        state = dunning.standing([account_id])
        if state.account_ids and state.steps.step[0] == dunning.engine.DISCONNECT and state.steps.due_now[0]:
            try:
                dunning.do_disconnect(collector, case_id, how="field")
            except GridcareError as error:
                yield f"ledger: disconnection of case {case_id} not ordered: {error.message}"
                continue
            window.counts["disconnected"] += 1
    cut = list(
        DunningCase.objects.filter(
            status=DunningCase.Status.OPEN,
            last_step=dunning.engine.DISCONNECT,
            last_step_at__lte=moment - dt.timedelta(days=2),
        ).select_related("account__org_unit")
    )
    for case in cut:
        cashier = window.cashiers.get(case.account.org_unit.code)
        owed = overdue_owed([case.account_id], moment).get(case.account_id)
        if cashier is None or owed is None:
            continue
        do_take_payment(
            cashier, account=case.account_id, amount=owed, method=Method.CASH, note="缴清欠费，申请复电"
        )
        case.refresh_from_db()
        if case.status == DunningCase.Status.CLOSED:
            window.counts["reconnected"] += 1
            step = DunningStep.objects.get(case=case, kind=DunningStep.Kind.RECONNECTED)
            if step.work_order_id is not None:  # the station puts the power back on a few hours later
                hours = 2 + case.pk % 7
                window.add(
                    moment + dt.timedelta(hours=hours),
                    _power_back(window, step.work_order_id, case.account.org_unit.code),
                )


def _power_back(window: Window, order_id: int, unit_code: str) -> Callable[[dt.datetime], Iterator[str]]:
    """The station's staff take the reconnection order, go out and answer it: the 复电时长 KPI counts it."""

    def event(moment: dt.datetime) -> Iterator[str]:
        from gridcare.service.actions import do_reply, do_start, do_take
        from gridcare.service.models import WorkOrder

        station = window.station_staff.get(unit_code)
        if station is None:
            return iter(())
        if not WorkOrder.objects.filter(pk=order_id, status="accepted").exists():  # dispatched to the station
            do_take(station, order_id)
            do_start(station, order_id)
        do_reply(station, order_id, result="已到现场恢复送电，客户确认用电正常")
        window.counts["power back"] += 1
        return iter(())

    return event


def _schedule_collection(window: Window) -> None:
    """The collectors' one-off steps of the chosen windows, at 10:00 of a working day ten days in."""
    day = _working_on_or_after(timezone.localdate(window.start) + dt.timedelta(days=10))
    moment = _moment(day, 10)
    if window.age in CHAINS:
        window.add(moment, _start_chains(window, CHAINS[window.age]), order=1)
    if window.age == WAIVER_AGE:
        window.add(moment, _waiver(window), order=2)
    if window.age == PLAN_AGE:
        window.add(moment, _broken_plan(window), order=3)
    if window.age == WRITE_OFF_AGE:
        window.add(moment, _write_off(window), order=4)


def _in_scope(window: Window, queryset: QuerySet[M]) -> QuerySet[M]:
    """What both the collector and the manager may change (the steps are theirs)."""
    for username in ("collector", "manager"):
        queryset = restrict(queryset, window.users.get(username), write=True)
    return queryset


def _station_accounts(window: Window) -> Q:
    return Q(account__org_unit__code__in=list(window.cashiers), account__is_key_account=False)


def _start_chains(window: Window, count: int) -> Callable[[dt.datetime], Iterator[str]]:
    """Disconnection approval asked (collector) and given (manager), notice issued and delivered, for the accounts
    whose next step is the approval."""

    def event(moment: dt.datetime) -> Iterator[str]:
        collector, manager = window.users["collector"], window.users.get("manager")
        if manager is None:
            return
        cases = dict(
            _in_scope(
                window,
                DunningCase.objects.filter(status=DunningCase.Status.OPEN, last_step=dunning.engine.REMINDER),
            )
            .filter(_station_accounts(window))
            .values_list("account_id", "pk")
        )
        state = dunning.standing(sorted(cases))
        ready = [
            (-int(days), a)
            for a, step, due, days in zip(
                state.account_ids, state.steps.step, state.steps.due_now, state.overdue_days, strict=True
            )
            if step == dunning.engine.APPROVAL and due and a in cases
        ]
        for _days, account_id in sorted(ready)[:count]:
            case_id = cases[account_id]
            try:
                dunning.do_request_disconnection(collector, case_id, reason="欠费逾期超过30日，多次催缴未果")
                dunning.do_decide_disconnection(
                    manager, case_id, approve=True, note="同意，依法送达通知书后停电"
                )
                dunning.do_issue_notice(collector, case_id)
                dunning.do_record_delivery(
                    collector, case_id, how=DunningStep.Delivery.IN_PERSON, recipient="户主本人"
                )
            except GridcareError as error:
                yield f"ledger: disconnection ladder of case {case_id} stopped: {error.message}"
                continue
            window.counts["notices"] += 1

    return event


def _open_entry(kinds: tuple[str, ...], window: Window, order: str) -> Entry | None:
    for entry in (
        _in_scope(window, Entry.objects.filter(kind__in=kinds, amount__gt=0))
        .filter(_station_accounts(window))
        .exclude(
            account__dunning_cases__status=DunningCase.Status.OPEN, account__dunning_cases__last_step__gte=2
        )
        .order_by(order)[:50]
    ):
        if latefees_open(entry) > 0:
            return entry
    return None


def latefees_open(entry: Entry) -> Decimal:
    from gridcare.ledger.actions import _open_left

    return _open_left(entry)


def _approve(window: Window, kind: str, entry: Entry, reason: str, note: str) -> ApprovalRequest:
    request = do_request_approval(window.users["collector"], kind=kind, reason=reason, entry_id=entry.pk)
    return do_decide_approval(window.users["manager"], request.pk, approve=True, note=note)


def _waiver(window: Window) -> Callable[[dt.datetime], Iterator[str]]:
    def event(moment: dt.datetime) -> Iterator[str]:
        entry = _open_entry((Entry.Kind.LATE_FEE,), window, "-amount")
        if entry is None or "manager" not in window.users:
            return
        _approve(window, ApprovalRequest.Kind.WAIVER, entry, "银行代扣失败致逾期，客户首次逾期", "同意减免")
        window.counts["waived"] += 1
        yield f"ledger: late fee of {entry.amount} 元 of account {entry.account_id} waived (approved by the manager)"

    return event


def _write_off(window: Window) -> Callable[[dt.datetime], Iterator[str]]:
    def event(moment: dt.datetime) -> Iterator[str]:
        entry = _open_entry((Entry.Kind.CHARGE,), window, "due_date")
        if entry is None or "manager" not in window.users:
            return
        _approve(
            window,
            ApprovalRequest.Kind.WRITE_OFF,
            entry,
            "用户已迁离，多次追缴无果，申请坏账核销",
            "同意核销",
        )
        window.counts["written off"] += 1
        yield f"ledger: bill charge of {entry.amount} 元 of account {entry.account_id} written off as a bad debt"

    return event


def two_halves_plan(
    manager: User, account_id: int, total: Decimal, day: dt.date, reason: str, due_in: tuple[int, int]
) -> tuple[PaymentPlan, Decimal]:
    """The demo's payment plans: ``total`` in two halves due ``due_in`` days after ``day``, set by ``manager``
    through the real action; the plan and its first instalment's amount."""
    from gridcare.ledger.plans import do_set_payment_plan

    first = (total / 2).quantize(Decimal("0.01"))
    plan = do_set_payment_plan(
        manager,
        account=account_id,
        reason=reason,
        instalments=[
            {"due_date": day + dt.timedelta(days=due_in[0]), "amount": str(first)},
            {"due_date": day + dt.timedelta(days=due_in[1]), "amount": str(total - first)},
        ],
    )
    return plan, first


def _broken_plan(window: Window) -> Callable[[dt.datetime], Iterator[str]]:
    """A plan of two instalments for an account in arrears: the first paid, the second missed — broken at the
    month-end check, dunning resumes."""

    def event(moment: dt.datetime) -> Iterator[str]:
        manager = window.users.get("manager")
        candidates = list(
            _in_scope(
                window,
                DunningCase.objects.filter(status=DunningCase.Status.OPEN, last_step=dunning.engine.REMINDER),
            )
            .filter(_station_accounts(window))
            .exclude(
                account__payment_plans__status__in=[PaymentPlan.Status.IN_FORCE, PaymentPlan.Status.PENDING]
            )
            .order_by("pk")
            .values_list("account_id", flat=True)[:20]
        )
        owed = overdue_owed(candidates, moment)
        if manager is None or not owed:
            return
        account_id, total = min(owed.items())
        try:
            plan, first = two_halves_plan(
                manager, account_id, total, timezone.localdate(moment), "家庭困难，申请分两期缴清", (10, 35)
            )
        except GridcareError as error:
            yield f"ledger: payment plan not set: {error.message}"
            return
        cashier = window.cashiers.get(Account.objects.get(pk=account_id).org_unit.code)
        if cashier is not None:

            def first_instalment(at: dt.datetime) -> Iterator[str]:
                do_take_payment(
                    cashier, account=account_id, amount=first, method=Method.CASH, note="付款方案第一期"
                )
                return iter(())

            window.add(moment + dt.timedelta(days=7), first_instalment)
        window.counts["plan"] += 1
        yield f"ledger: payment plan {plan.pk} of {plan.amount} 元 in two instalments; the first paid, the second will be missed"

    return event
