"""Reads of the service desk that need care: queues by position, dashboard figures, monthly statistics.

The monthly reports (客户投诉处理月报表, 售后服务(维修)月统计表, 月工作报告) are built here from direct aggregate
queries, so their numbers are the data's numbers; :mod:`gridcare.service.reports` only renders them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Case, Count, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from gridcare.core.access import has_perm, restrict
from gridcare.engine.calendar import SHANGHAI
from gridcare.org.models import OrgUnit
from gridcare.service.choices import (
    ACTIVE_STATUSES,
    OPEN_STATUSES,
    SUB_TYPES,
    Cause,
    Milestone,
    OrderType,
    Status,
    SubType,
)
from gridcare.service.models import (
    Callback,
    ServiceFee,
    ServiceNotice,
    SLAClock,
    StockMovement,
    WorkOrder,
)
from gridcare.service.sla import near_breach_q, overdue_q

QUEUES = ("my", "team", "near", "overdue", "all")


def can_view_orders(user: Any) -> bool:
    """Work orders are read with ``workorder.view`` (the API's ``view_permission`` too)."""
    return has_perm(user, "workorder.view")


def queues_for(user: Any) -> list[str]:
    """The desk tabs a position works with: technicians their own orders; the desk its team; supervisors all."""
    tabs = ["my"]
    if has_perm(user, "workorder.create") or has_perm(user, "workorder.reassign"):
        tabs.append("team")
    tabs += ["near", "overdue", "all"]
    return tabs


def team_unit_ids(user: Any) -> list[int]:
    """The user's unit, its parent (the centre a team belongs to) and the units below it."""
    unit = user.org_unit
    if unit is None:
        return []
    ids = list(OrgUnit.objects.filter(path__startswith=unit.path).values_list("id", flat=True))
    if unit.parent_id:
        ids.append(unit.parent_id)
    return ids


def queue(user: Any, name: str, now: dt.datetime | None = None) -> QuerySet[WorkOrder]:
    """The orders of one desk tab, already limited to the user's data scope."""
    now = now or timezone.now()
    orders = restrict(WorkOrder.objects.select_related("unit", "queue_unit", "assignee", "customer"), user)
    open_orders = orders.filter(status__in=OPEN_STATUSES, master__isnull=True)
    if name == "my":
        return open_orders.filter(assignee=user).order_by("due_at", "created_at")
    if name == "team":
        units = team_unit_ids(user)
        return open_orders.filter(
            Q(queue_unit_id__in=units) | Q(status=Status.ACCEPTED, intake_unit_id__in=units)
        ).order_by("due_at", "created_at")
    if name == "near":
        return open_orders.filter(near_breach_q(now)).order_by("due_at")
    if name == "overdue":
        return open_orders.filter(overdue_q(now)).order_by("due_at")
    return orders


#: The notices bar of the desk lists at most this many orders.
NOTICES_SHOWN = 10


def unread_notices(user: Any, limit: int = NOTICES_SHOWN) -> list[ServiceNotice]:
    """The person's unread warnings and escalations (预警/升级), one per order — an order whose two clocks (or a
    sweep and a hand escalation) each sent a notice is listed once: its escalation over its warning, then the
    latest — newest first."""
    unread = ServiceNotice.objects.filter(recipient=user, read_at__isnull=True)
    severity = Case(When(kind=ServiceNotice.Kind.ESCALATION, then=Value(0)), default=Value(1))
    first_of_order = (
        unread.filter(order=OuterRef("order"))
        .annotate(severity=severity)
        .order_by("severity", "-sent_at", "-id")
        .values("pk")[:1]
    )
    return list(
        unread.filter(pk=Subquery(first_of_order)).select_related("order").order_by("-sent_at", "-id")[:limit]
    )


# ------------------------------------------------------------------------------------------------ months


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a month ``YYYY-MM`` in Asia/Shanghai."""
    year, number = (int(part) for part in month.split("-"))
    if not 1 <= number <= 12:
        raise ValueError(f"invalid month {month!r}")
    start = dt.datetime(year, number, 1, tzinfo=SHANGHAI)
    end = dt.datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=SHANGHAI)
    return start, end


def previous_month(today: dt.date | None = None) -> str:
    today = today or timezone.localdate()
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first:%Y-%m}"


@dataclass
class Section:
    title: str
    headers: list[str]
    rows: list[list[Any]]


@dataclass
class MonthlyReport:
    code: str
    title: str
    month: str
    sections: list[Section] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)


def _pct(part: int, whole: int) -> Decimal | None:
    return (Decimal(part * 100) / Decimal(whole)).quantize(Decimal("0.1")) if whole else None


def _avg(value: Any) -> Decimal | None:
    return Decimal(str(value)).quantize(Decimal("0.01")) if value is not None else None


def _label(choices: Any, value: str) -> str:
    return str(dict(choices.choices).get(value, value or "—"))


def _received(month: str, **filters: Any) -> QuerySet[WorkOrder]:
    start, end = month_bounds(month)
    return WorkOrder.objects.filter(created_at__gte=start, created_at__lt=end, **filters)


def _clock_compliance(orders: QuerySet[WorkOrder], milestone: str) -> tuple[int, int]:
    """(met, finished) of a milestone's clocks of these orders."""
    row = SLAClock.objects.filter(order__in=orders, milestone=milestone, done_at__isnull=False).aggregate(
        finished=Count("id"), met=Count("id", filter=Q(breached=False))
    )
    return row["met"], row["finished"]


def complaint_report(month: str) -> MonthlyReport:
    """客户投诉处理月报表 — complaints received in the month by class (sub-type), area (station) and cause."""
    orders = _received(month, order_type=OrderType.COMPLAINT)
    report = MonthlyReport("complaints", _("Monthly customer complaint report"), month)
    rows = []
    for sub_type in SUB_TYPES[OrderType.COMPLAINT]:
        subset = orders.filter(sub_type=sub_type)
        counts = subset.aggregate(
            received=Count("id"),
            answered=Count("id", filter=Q(answered_at__isnull=False)),
            archived=Count("id", filter=Q(status=Status.ARCHIVED)),
        )
        met, finished = _clock_compliance(subset, "answer")
        satisfaction = Callback.objects.filter(order__in=subset, satisfaction__isnull=False).aggregate(
            a=Avg("satisfaction")
        )["a"]
        rows.append(
            [
                _label(SubType, sub_type),
                counts["received"],
                counts["answered"],
                counts["archived"],
                met,
                finished - met,
                _pct(met, finished),
                _avg(satisfaction),
            ]
        )
    report.sections.append(
        Section(
            _("By complaint class"),
            [
                _("Class"),
                _("Received"),
                _("Answered"),
                _("Archived"),
                _("Answered on time"),
                _("Answered late"),
                _("On-time rate (%)"),
                _("Average satisfaction"),
            ],
            rows,
        )
    )
    by_area = orders.values("unit__name").annotate(n=Count("id")).order_by("-n", "unit__name")
    report.sections.append(
        Section(_("By area"), [_("Unit"), _("Received")], [[r["unit__name"], r["n"]] for r in by_area])
    )
    by_cause = orders.values("cause").annotate(n=Count("id")).order_by("-n", "cause")
    report.sections.append(
        Section(
            _("By cause"),
            [_("Cause"), _("Received")],
            [[_label(Cause, r["cause"]), r["n"]] for r in by_cause],
        )
    )
    report.totals = {"received": orders.count(), "repeat_customers": _repeat_customers(orders)}
    return report


def _repeat_customers(orders: QuerySet[WorkOrder]) -> int:
    """Customers with two or more orders of the set (重复投诉/重复报修)."""
    return (
        orders.exclude(customer__isnull=True)
        .values("customer")
        .annotate(n=Count("id"))
        .filter(n__gte=2)
        .count()
    )


def repair_report(month: str) -> MonthlyReport:
    """售后服务(维修)月统计表 — repairs by station: arrival and restoration on time, causes, parts and fees."""
    calls = _received(month, order_type=OrderType.REPAIR)
    masters = calls.filter(master__isnull=True)
    report = MonthlyReport("repairs", _("Monthly after-sales (repair) statistics"), month)
    rows = []
    for unit_id, name in masters.values_list("unit_id", "unit__name").distinct().order_by("unit__name"):
        subset = masters.filter(unit_id=unit_id)
        arrival_met, arrival_done = _clock_compliance(subset, "arrival")
        restore_met, restore_done = _clock_compliance(subset, "restoration")
        rows.append(
            [
                name,
                subset.count(),
                calls.filter(unit_id=unit_id, master__isnull=False).count(),
                arrival_done,
                _pct(arrival_met, arrival_done),
                restore_done,
                _pct(restore_met, restore_done),
                subset.filter(status=Status.ARCHIVED).count(),
            ]
        )
    report.sections.append(
        Section(
            _("By service station"),
            [
                _("Unit"),
                _("Repair orders"),
                _("Linked repeat calls"),
                _("Arrivals"),
                _("Arrival on time (%)"),
                _("Restorations"),
                _("Restoration on time (%)"),
                _("Archived"),
            ],
            rows,
        )
    )
    by_cause = masters.values("cause").annotate(n=Count("id")).order_by("-n", "cause")
    report.sections.append(
        Section(
            _("By fault cause"),
            [_("Cause"), _("Repair orders")],
            [[_label(Cause, r["cause"]), r["n"]] for r in by_cause],
        )
    )
    start, end = month_bounds(month)
    moves = (
        StockMovement.objects.filter(at__gte=start, at__lt=end)
        .values("item__code", "item__name", "kind")
        .annotate(q=Sum("quantity"))
    )
    stock: dict[tuple[str, str], dict[str, int]] = {}
    for m in moves:
        stock.setdefault((m["item__code"], m["item__name"]), {})[m["kind"]] = m["q"]
    report.sections.append(
        Section(
            _("Parts and tools"),
            [_("Code"), _("Name"), _("Issued"), _("Returned"), _("Consumed")],
            [
                [code, name, q.get("issue", 0), q.get("return", 0), q.get("issue", 0) - q.get("return", 0)]
                for (code, name), q in sorted(stock.items())
            ],
        )
    )
    fees = ServiceFee.objects.filter(recorded_at__gte=start, recorded_at__lt=end).aggregate(
        n=Count("id"), total=Sum("amount")
    )
    report.sections.append(
        Section(
            _("Paid services"),
            [_("Fees recorded"), _("Total (元)")],
            [[fees["n"], fees["total"] or Decimal("0.00")]],
        )
    )
    report.totals = {
        "repair_orders": masters.count(),
        "calls": calls.count(),
        "fees": fees["total"] or Decimal("0.00"),
    }
    return report


def work_report(month: str) -> MonthlyReport:
    """月工作报告 — every type: received, answered, archived, still open at month end; SLA; callbacks."""
    start, end = month_bounds(month)
    orders = _received(month, master__isnull=True)
    report = MonthlyReport("work", _("Monthly work report"), month)
    rows = []
    for order_type in OrderType.values:
        subset = orders.filter(order_type=order_type)
        counts = subset.aggregate(
            received=Count("id"),
            answered=Count("id", filter=Q(answered_at__isnull=False, answered_at__lt=end)),
            first_contact=Count("id", filter=Q(first_contact_resolution=True)),
            archived=Count("id", filter=Q(closed_at__isnull=False, closed_at__lt=end)),
        )
        rows.append(
            [
                _label(OrderType, order_type),
                counts["received"],
                counts["answered"],
                counts["first_contact"],
                counts["archived"],
                counts["received"] - counts["archived"],
            ]
        )
    report.sections.append(
        Section(
            _("Work orders by type"),
            [
                _("Type"),
                _("Received"),
                _("Answered"),
                _("Resolved at first contact"),
                _("Archived"),
                _("Open at month end"),
            ],
            rows,
        )
    )
    clocks = SLAClock.objects.filter(done_at__gte=start, done_at__lt=end)
    sla_rows = []
    for milestone, count, met in (
        clocks.values_list("milestone")
        .annotate(n=Count("id"), met=Count("id", filter=Q(breached=False)))
        .order_by("milestone")
    ):
        sla_rows.append([str(Milestone(milestone).label), count, met, count - met, _pct(met, count)])
    report.sections.append(
        Section(
            _("Service commitments (SLA)"),
            [_("Milestone"), _("Reached"), _("On time"), _("Late"), _("Compliance (%)")],
            sla_rows,
        )
    )
    callbacks = Callback.objects.filter(at__gte=start, at__lt=end).aggregate(
        n=Count("id"),
        reached=Count("id", filter=Q(reached=True)),
        avg=Avg("satisfaction"),
        unsatisfied=Count("id", filter=Q(outcome__in=("reopened", "escalated"))),
    )
    escalations = ServiceNotice.objects.filter(
        kind=ServiceNotice.Kind.ESCALATION, sent_at__gte=start, sent_at__lt=end
    ).count()
    report.sections.append(
        Section(
            _("Callbacks and escalations"),
            [
                _("Callbacks"),
                _("Customers reached"),
                _("Average satisfaction"),
                _("Unsatisfied"),
                _("Escalations"),
            ],
            [
                [
                    callbacks["n"],
                    callbacks["reached"],
                    _avg(callbacks["avg"]),
                    callbacks["unsatisfied"],
                    escalations,
                ]
            ],
        )
    )
    report.totals = {"received": orders.count(), "callbacks": callbacks["n"], "escalations": escalations}
    return report


REPORTS = {"complaints": complaint_report, "repairs": repair_report, "work": work_report}


# ------------------------------------------------------------------------------------------------ dashboard


def dashboard(user: Any, now: dt.datetime | None = None, months: int = 12) -> dict[str, Any]:
    """Supervisor dashboard: backlog by status and unit, near breach / overdue, monthly SLA compliance."""
    now = now or timezone.now()
    orders = restrict(WorkOrder.objects.all(), user).filter(master__isnull=True)
    open_orders = orders.filter(status__in=OPEN_STATUSES)
    backlog = dict(open_orders.values_list("status").annotate(n=Count("id")))
    by_unit = list(
        open_orders.filter(status__in=ACTIVE_STATUSES)
        .values("queue_unit__name")
        .annotate(n=Count("id"))
        .order_by("-n")[:10]
    )
    local_now = timezone.localtime(now)
    labels, compliance, volumes = [], [], []
    for back in range(months - 1, -1, -1):
        year, month = local_now.year, local_now.month - back
        while month <= 0:
            month += 12
            year -= 1
        key = f"{year}-{month:02d}"
        start, end = month_bounds(key)
        row = SLAClock.objects.filter(order__in=orders, done_at__gte=start, done_at__lt=end).aggregate(
            n=Count("id"), met=Count("id", filter=Q(breached=False))
        )
        labels.append(key)
        compliance.append(float(_pct(row["met"], row["n"]) or 0))
        volumes.append(orders.filter(created_at__gte=start, created_at__lt=end).count())
    return {
        "backlog": [{"status": str(Status(s).label), "count": backlog.get(s, 0)} for s in OPEN_STATUSES],
        "by_unit": [{"unit": r["queue_unit__name"] or "—", "count": r["n"]} for r in by_unit],
        "near": open_orders.filter(near_breach_q(now)).count(),
        "overdue": open_orders.filter(overdue_q(now)).count(),
        "escalated": open_orders.filter(escalation_level__gt=0).count(),
        "open": open_orders.count(),
        "months": labels,
        "compliance": compliance,
        "volumes": volumes,
    }
