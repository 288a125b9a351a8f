"""The readings app's part of the workbench registry (gridcare.web.workbench): the reader's and the billing
accountant's KPIs computed from the reading tasks, reads and exceptions (POSITIONS.md), their to-dos, and the
app's actions in words. Every figure counts rows inside the viewer's data scope (a reader: their own routes).

Definitions (docs/readings.md, "KPIs"):

- 抄表及时率 ``on_time_reading``: of the tasks due in the month (reading day in the month, not after today), the
  share with a read (not an estimate) taken within ±N days of the reading day — N is the ``outside_window``
  rule's ``days`` (:func:`gridcare.readings.conf.on_time_days`).
- 实抄率 ``actual_read_rate``: of the same tasks, the share with an actual read standing — not estimated, not
  门闭 (no read), not sent back for a re-read.
- 抄表差错率 ``reading_accuracy``: of the reads taken in the month on the routes, the share found wrong —
  corrected or sent back for a re-read from the exception queue.
- 异常处理及时率 ``anomaly_follow_up``: of the exceptions raised in the month that are decided or older than
  the follow-up days (:func:`gridcare.readings.conf.follow_up_days`), the share decided within them.
- 计费前未处理异常 ``exceptions_before_billing``: blocking exceptions of the month's period open at their
  billing day (reading day + :func:`gridcare.readings.conf.billing_lead_days`), or open now while it is ahead.
- 待审批估抄 ``estimates_awaiting_approval``: estimates made in the month still waiting for approval.
- 采集成功率 ``data_collection_rate`` (load manager): 15-minute intervals received ÷ expected in the month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.core.access import has_perm, restrict
from gridcare.customers.models import ServicePoint
from gridcare.engine.calendar import SHANGHAI
from gridcare.readings.conf import billing_lead_days, follow_up_days, on_time_days
from gridcare.readings.interval_selectors import collection_rate, problem_days
from gridcare.readings.models import MeterRead, ReadException, ReadingTask, Route
from gridcare.readings.periods import parse_period
from gridcare.readings.selectors import OPEN_TASKS
from gridcare.readings.store import interval_conf
from gridcare.web.workbench import KPI, Month, Todo, Value, ratio, scoped

#: a task, exception or read counts for the reader of its route
READER = "route__reader"
LIVE = (MeterRead.Status.VALID, MeterRead.Status.HELD)
#: decisions that say the reader's read was wrong
FOUND_WRONG = (ReadException.Status.CORRECTED, ReadException.Status.REREAD_ORDERED)


def _local_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI)


def _now() -> dt.datetime:
    return timezone.now()


def _today() -> dt.date:
    return timezone.localdate(_now())


def tasks_due(user: Any, unit: Any, month: Month) -> QuerySet[ReadingTask]:
    """The reading tasks whose reading day falls in the month and is not after today."""
    last = min(month.last_day, _today())
    return scoped(ReadingTask.objects.all(), user, unit, person=READER).filter(
        due_date__gte=month.first_day, due_date__lte=last
    )


def _actual_reads() -> QuerySet[MeterRead]:
    return MeterRead.objects.filter(task=OuterRef("pk")).exclude(source=MeterRead.Source.ESTIMATE)


def on_time_q(due_dates: Iterable[dt.date], days: int) -> Q:
    """A task read (not estimated) within ±``days`` of its reading day; one subquery per reading day, so the
    window stays plain timestamps on every database."""
    condition = Q(pk__in=[])
    for due in sorted(set(due_dates)):
        window = _actual_reads().filter(
            read_at__gte=_local_start(due - dt.timedelta(days=days)),
            read_at__lt=_local_start(due + dt.timedelta(days=days + 1)),
        )
        condition |= Q(due_date=due) & Q(Exists(window))
    return condition


def on_time_reading(user: Any, unit: Any, month: Month) -> Value:
    """抄表及时率."""
    due = tasks_due(user, unit, month)
    days = due.values_list("due_date", flat=True).distinct().order_by()
    row = due.aggregate(n=Count("id"), on_time=Count("id", filter=on_time_q(days, on_time_days())))
    return ratio(row["on_time"], row["n"])


def actual_read_rate(user: Any, unit: Any, month: Month) -> Value:
    """实抄率."""
    standing = _actual_reads().filter(status__in=LIVE)
    row = tasks_due(user, unit, month).aggregate(
        n=Count("id"), actual=Count("id", filter=Q(Exists(standing)))
    )
    return ratio(row["actual"], row["n"])


def reading_accuracy(user: Any, unit: Any, month: Month) -> Value:
    """抄表差错率 — reads of the route's tasks taken in the month that the exception queue found wrong."""
    reads = (
        scoped(MeterRead.objects.filter(task__isnull=False), user, unit, person=f"task__{READER}")
        .exclude(source=MeterRead.Source.ESTIMATE)
        .filter(month.range_q("read_at"))
    )
    wrong = ReadException.objects.filter(read=OuterRef("pk"), status__in=FOUND_WRONG)
    row = reads.aggregate(n=Count("id"), wrong=Count("id", filter=Q(Exists(wrong))))
    return ratio(row["wrong"], row["n"])


def anomaly_follow_up(user: Any, unit: Any, month: Month) -> Value:
    """异常处理及时率."""
    limit = dt.timedelta(days=follow_up_days())
    raised = scoped(ReadException.objects.all(), user, unit, person=f"task__{READER}").filter(
        month.range_q("created_at")
    )
    due = Q(decided_at__isnull=False) | Q(created_at__lt=_now() - limit)
    row = raised.filter(due).aggregate(
        n=Count("id"), in_time=Count("id", filter=Q(decided_at__lte=F("created_at") + limit))
    )
    return ratio(row["in_time"], row["n"])


def billing_day(period: str, reading_day: int) -> dt.date:
    """The day the bills of a route's period are computed: its reading day plus the billing lead."""
    return parse_period(period).replace(day=reading_day) + dt.timedelta(days=billing_lead_days())


def _blocking(user: Any, unit: Any) -> QuerySet[ReadException]:
    return scoped(ReadException.objects.all(), user, unit, person=f"task__{READER}").filter(
        severity=ReadException.Severity.BLOCK
    )


def _billing_days(exceptions: QuerySet[ReadException]) -> list[tuple[int, dt.date, dt.datetime | None]]:
    """(exception id, billing day, decided at) — the billing day from the task's route, or from the route the
    service point is on for an exception without a task (a conflicting replay, a head-end read)."""
    rows = exceptions.values_list(
        "pk",
        "period",
        "task__route__reading_day",
        "service_point__route_stop__route__reading_day",
        "decided_at",
    )
    return [
        (pk, billing_day(period, task_day or point_day), decided)
        for pk, period, task_day, point_day, decided in rows
        if task_day or point_day
    ]


def exceptions_before_billing(user: Any, unit: Any, month: Month) -> Value:
    """计费前未处理异常."""
    today = _today()
    count = 0
    for _pk, day, decided in _billing_days(_blocking(user, unit).filter(period=month.key)):
        if day >= today:
            count += decided is None
        else:
            count += decided is None or decided >= _local_start(day + dt.timedelta(days=1))
    return count


def estimates_awaiting_approval(user: Any, unit: Any, month: Month) -> Value:
    """待审批估抄."""
    waiting = scoped(ReadException.objects.all(), user, unit, person=f"task__{READER}")
    return waiting.filter(status=ReadException.Status.ESTIMATED).filter(month.range_q("decided_at")).count()


def _link(name: str, **query: Any) -> str:
    return f"{reverse(name)}?{urlencode(query)}" if query else str(reverse(name))


def _tasks_link(user: Any, unit: Any, month: Month) -> str:
    return _link("readings:task-list", period=month.key)


def _exceptions_link(user: Any, unit: Any, month: Month) -> str:
    return _link("readings:exception-list", period=month.key)


def _blocking_link(user: Any, unit: Any, month: Month) -> str:
    return _link("readings:exception-list", period=month.key, status="open", severity="block")


def _estimates_link(user: Any, unit: Any, month: Month) -> str:
    return _link("readings:exception-list", status=ReadException.Status.ESTIMATED)


#: who follows up data collection (负荷管理专责): failing meter-days are their to-do
COLLECTION_FOLLOW_UP = "loadcontrol.notice"


def _month_span(month: Month) -> tuple[dt.date, dt.date]:
    """The month's days up to yesterday (today's data are still arriving)."""
    return month.first_day, min(month.last_day, timezone.localdate() - dt.timedelta(days=1))


def data_collection_rate(user: Any, unit: Any, month: Month) -> Value:
    """采集成功率 — 15-minute intervals received ÷ expected from the interval meters of the unit, in the month."""
    first, last = _month_span(month)
    if last < first:
        return None
    if unit is not None and not ServicePoint.objects.filter(org_unit__path__startswith=unit.path).exists():
        unit = None  # a team holding no service points (负荷管理班) follows every metering point it reads
    return collection_rate(user, first, last, unit=unit)


def collection_link(user: Any, unit: Any, month: Month) -> str:
    first, last = _month_span(month)
    query = {"day_from": first.isoformat(), "day_to": max(first, last).isoformat()}
    return f"{reverse('readings:interval-quality')}?{urlencode(query)}"


def failing_meter_days(user: Any) -> list[Todo]:
    """采集异常 — meter-days with gaps, spikes, conflicting or rejected values in the last days."""
    if not has_perm(user, COLLECTION_FOLLOW_UP) or not has_perm(user, "interval.view"):
        return []
    since = timezone.localdate() - dt.timedelta(days=int(interval_conf("LOOKBACK_DAYS")))
    rows = problem_days(user).filter(day__gte=since).select_related("meter")
    first = [
        (
            f"{d.meter.asset_no} {d.day:%Y-%m-%d}",
            f"{reverse('readings:interval-days')}?meter_asset_no={d.meter.asset_no}",
            None,
        )
        for d in rows[:5]
    ]
    url = (
        f"{reverse('readings:interval-days')}?{urlencode({'problem': 'any', 'day_from': since.isoformat()})}"
    )
    return [
        Todo(
            "readings.interval_problems",
            _("Meter-days with collection problems"),
            rows.count(),
            url,
            "warning",
            tuple(first),
        )
    ]


KPIS = [
    KPI("data_collection_rate", data_collection_rate, collection_link, per_person=False),
    KPI("on_time_reading", on_time_reading, _tasks_link),
    KPI("actual_read_rate", actual_read_rate, _tasks_link),
    KPI("reading_accuracy", reading_accuracy, _exceptions_link),
    KPI("anomaly_follow_up", anomaly_follow_up, _exceptions_link),
    KPI("exceptions_before_billing", exceptions_before_billing, _blocking_link, per_person=False),
    KPI("estimates_awaiting_approval", estimates_awaiting_approval, _estimates_link, per_person=False),
]


# ------------------------------------------------------------------------------------------------ to-dos


def todays_routes(user: Any) -> list[Todo]:
    """A reader's routes whose reading day is today, with the progress of this period's tasks; and the tasks
    sent back to them for a re-read."""
    if not has_perm(user, "reading.enter"):
        return []
    today = _today()
    period = f"{today:%Y-%m}"
    routes = (
        restrict(Route.objects.filter(active=True, reading_day=today.day), user, write=True)
        .filter(reader=user)
        .annotate(
            total=Count("tasks", filter=Q(tasks__period=period)),
            done=Count(
                "tasks",
                filter=Q(tasks__period=period) & ~Q(tasks__status__in=OPEN_TASKS),
            ),
        )
        .order_by("number")
    )
    items = tuple(
        (
            str(_("%(route)s: %(done)d of %(total)d read") % {"route": r, "done": r.done, "total": r.total}),
            f"{r.get_absolute_url()}?period={period}",
            None,
        )
        for r in routes[:5]
    )
    rereads = (
        restrict(ReadingTask.objects.filter(status=ReadingTask.Status.REREAD), user, write=True)
        .filter(Q(reader=user) | Q(reader__isnull=True, route__reader=user))
        .select_related("route", "service_point")
        .order_by("due_date", "route__number", "sequence")
    )
    reread_items = tuple(
        (
            f"{t.period} {t.route.number} {t.service_point.number} {t.get_register_display()}",
            f"{t.route.get_absolute_url()}?period={t.period}",
            None,
        )
        for t in rereads[:5]
    )
    return [
        Todo(
            "readings.today",
            _("My routes to read today"),
            len(routes),
            _link("readings:route-list", reader=user.pk),
            "primary",
            items,
        ),
        Todo(
            "readings.reread",
            _("Re-reads ordered back to me"),
            rereads.count(),
            _link("readings:task-list", status=ReadingTask.Status.REREAD),
            "warning",
            reread_items,
        ),
    ]


def before_billing(user: Any) -> list[Todo]:
    """For those who decide the queue: blocking exceptions whose billing day is still ahead (nearest first, the
    billing day as their deadline); for those who approve: the estimates awaiting approval."""
    todos = []
    if has_perm(user, "reading.review"):
        open_blocking = restrict(ReadException.objects.all(), user, write=True).filter(
            severity=ReadException.Severity.BLOCK, status=ReadException.Status.OPEN
        )
        today = _today()
        ahead = sorted((day, pk) for pk, day, _decided in _billing_days(open_blocking) if day >= today)
        shown = {
            e.pk: e
            for e in ReadException.objects.filter(pk__in=[pk for _day, pk in ahead[:5]]).select_related(
                "service_point"
            )
        }
        items = tuple(
            (
                f"{shown[pk].period} {shown[pk].service_point.number} {shown[pk].get_message_display()}",
                shown[pk].get_absolute_url(),
                _local_start(day),
            )
            for day, pk in ahead[:5]
        )
        label: Any = _("Reading exceptions to decide before billing")
        if ahead:
            label = _("Reading exceptions to decide before billing (nearest billing day %(day)s)") % {
                "day": f"{ahead[0][0]:%Y-%m-%d}"
            }
        todos.append(
            Todo(
                "readings.before_billing",
                label,
                len(ahead),
                _link("readings:exception-list", status="open", severity="block"),
                "danger",
                items,
            )
        )
    if has_perm(user, "reading.approve_estimate"):
        waiting = (
            restrict(ReadException.objects.all(), user, write=True)
            .filter(status=ReadException.Status.ESTIMATED)
            .select_related("service_point")
            .order_by("decided_at")
        )
        todos.append(
            Todo(
                "readings.estimates",
                _("Estimates awaiting approval"),
                waiting.count(),
                _link("readings:exception-list", status=ReadException.Status.ESTIMATED),
                "warning",
                tuple(
                    (
                        f"{e.period} {e.service_point.number} {e.get_message_display()}",
                        e.get_absolute_url(),
                        None,
                    )
                    for e in waiting[:5]
                ),
            )
        )
    return todos


TODOS = [todays_routes, before_billing, failing_meter_days]

VERBS = {
    "readings.create_route": _("Created reading route"),
    "readings.reorder_route": _("Reordered reading route"),
    "readings.split_route": _("Split reading route"),
    "readings.merge_routes": _("Merged reading routes into"),
    "readings.generate_plan": _("Generated the reading plan of"),
    "readings.load_vee_defaults": _("Loaded the validation rules"),
    "readings.accept_exception": _("Accepted the reading exception"),
    "readings.correct_exception": _("Corrected the reading of"),
    "readings.order_reread": _("Ordered a re-read of"),
    "readings.estimate": _("Estimated the reading of"),
    "readings.approve_estimate": _("Approved the estimate of"),
    "readings.capture": _("Received"),
    "readings.capture_read": _("Entered reading"),
    "readings.ingest_intervals": _("Received interval data"),
    "readings.run_period_vee": _("Validated the reading period"),
    "readings.receive": _("Received head-end reads"),
    "readings.settle": _("Settled head-end reads"),
}
