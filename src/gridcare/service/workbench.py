"""What the service desk shows on the workbench: its KPIs (POSITIONS.md), the compensations waiting for the
person's decision, and its audit actions in words. Every figure is one aggregate query over the user's scope."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.db.models import Avg, Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.core.access import authority_limit, has_perm, restrict
from gridcare.customers.models import Customer
from gridcare.service.choices import Milestone, OrderType
from gridcare.service.models import Callback, Compensation, SLAClock, WorkOrder
from gridcare.service.selectors import queue
from gridcare.web.workbench import (
    KPI,
    Approval,
    ApprovalSource,
    Month,
    Todo,
    Value,
    hours,
    mean,
    minutes,
    ratio,
    scoped,
)

#: An order counts for the person who registered it or who is (or was last) assigned to it.
HANDLED = ("created_by", "assignee")
#: A repeat: the same customer called about the same kind of matter within this many days before.
REPEAT_WINDOW = dt.timedelta(days=30)


def orders(user: Any, unit: Any, person: str | tuple[str, ...] = HANDLED) -> QuerySet[WorkOrder]:
    """Master orders (linked duplicate calls are not counted twice) of the unit or the person."""
    return scoped(WorkOrder.objects.filter(master__isnull=True), user, unit, person=person)


def received(
    user: Any, unit: Any, month: Month, person: str | tuple[str, ...] = HANDLED
) -> QuerySet[WorkOrder]:
    return orders(user, unit, person).filter(month.range_q("created_at"))


def orders_link(month: Month, **filters: str) -> str:
    """The order list behind a figure: orders registered in the month (and of a type)."""
    query = {"created_from": month.first_day.isoformat(), "created_to": month.last_day.isoformat(), **filters}
    return f"{reverse('service:all-queue')}?{urlencode(query)}"


def _clock_compliance(milestone: str | None, order_type: str | None = None, person: Any = HANDLED) -> Any:
    def compute(user: Any, unit: Any, month: Month) -> Value:
        subset = orders(user, unit, person)
        if order_type:
            subset = subset.filter(order_type=order_type)
        clocks = SLAClock.objects.filter(order__in=subset, done_at__isnull=False).filter(
            month.range_q("done_at")
        )
        if milestone:
            clocks = clocks.filter(milestone=milestone)
        row = clocks.aggregate(n=Count("id"), met=Count("id", filter=Q(breached=False)))
        return ratio(row["met"], row["n"])

    return compute


def _type_link(order_type: str | None = None) -> Any:
    def link(user: Any, unit: Any, month: Month) -> str:
        return orders_link(month, order_type=order_type) if order_type else orders_link(month)

    return link


def complaint_handling_time(user: Any, unit: Any, month: Month) -> Value:
    """投诉平均处理时长 — hours from intake to the answer, complaints answered in the month."""
    answered = orders(user, unit).filter(order_type=OrderType.COMPLAINT).filter(month.range_q("answered_at"))
    spent = ExpressionWrapper(F("answered_at") - F("created_at"), output_field=DurationField())
    return hours(answered.aggregate(avg=Avg(spent))["avg"])


def _repeat_rate(order_type: str, person: Any = HANDLED) -> Any:
    """重复投诉率 / 重复报修率 — of the month's orders of the type, the share whose customer had one of the same
    type in the 30 days before it."""

    def compute(user: Any, unit: Any, month: Month) -> Value:
        earlier = WorkOrder.objects.filter(
            order_type=order_type,
            master__isnull=True,
            customer=OuterRef("customer"),
            created_at__lt=OuterRef("created_at"),
            created_at__gte=OuterRef("created_at") - REPEAT_WINDOW,
        )
        row = (
            received(user, unit, month, person)
            .filter(order_type=order_type)
            .aggregate(n=Count("id"), repeat=Count("id", filter=Q(Exists(earlier), customer__isnull=False)))
        )
        return ratio(row["repeat"], row["n"])

    return compute


def first_contact_resolution(user: Any, unit: Any, month: Month) -> Value:
    """一次解决率 — orders registered in the month resolved during the first call."""
    row = received(user, unit, month, "created_by").aggregate(
        n=Count("id"), solved=Count("id", filter=Q(first_contact_resolution=True))
    )
    return ratio(row["solved"], row["n"])


def intake_to_dispatch(user: Any, unit: Any, month: Month) -> Value:
    """受理至派发时长 — minutes from intake to dispatch, orders dispatched in the month."""
    dispatched = orders(user, unit, "created_by").filter(month.range_q("dispatched_at"))
    spent = ExpressionWrapper(F("dispatched_at") - F("created_at"), output_field=DurationField())
    return minutes(dispatched.aggregate(avg=Avg(spent))["avg"])


def callback_completion(user: Any, unit: Any, month: Month) -> Value:
    """回访完成率 — of the orders answered (回单) in the month, the share called back."""
    row = (
        orders(user, unit)
        .filter(month.range_q("answered_at"))
        .aggregate(n=Count("id"), called=Count("id", filter=Q(callback_at__isnull=False)))
    )
    return ratio(row["called"], row["n"])


def satisfaction(user: Any, unit: Any, month: Month) -> Value:
    """客户满意度 — the average score (1–5) given in the month's callbacks."""
    callbacks = Callback.objects.filter(order__in=orders(user, unit), satisfaction__isnull=False)
    return mean(callbacks.filter(month.range_q("at")).aggregate(avg=Avg("satisfaction"))["avg"], "0.01")


def complaint_rate(user: Any, unit: Any, month: Month) -> Value:
    """投诉率 — complaints registered in the month per 10,000 customers of the scope."""
    customers = scoped(Customer.objects.all(), user, unit, person="accounts__account_manager").count()
    if not customers:
        return None
    complaints = received(user, unit, month).filter(order_type=OrderType.COMPLAINT).count()
    return mean(complaints * 10000 / customers, "0.01")


def record_completeness(user: Any, unit: Any, month: Month) -> Value:
    """资料整理规范性 — orders registered in the month with the customer, call-back number and address filled in."""
    row = received(user, unit, month, "created_by").aggregate(
        n=Count("id"),
        complete=Count(
            "id", filter=Q(customer__isnull=False) & ~Q(contact_phone="") & ~Q(address="") & ~Q(title="")
        ),
    )
    return ratio(row["complete"], row["n"])


KPIS = [
    KPI("sla_compliance", _clock_compliance(None), _type_link()),
    KPI("complaint_handling_time", complaint_handling_time, _type_link(OrderType.COMPLAINT)),
    KPI("repeat_complaint_rate", _repeat_rate(OrderType.COMPLAINT), _type_link(OrderType.COMPLAINT)),
    KPI("first_contact_resolution", first_contact_resolution, _type_link()),
    KPI("intake_to_dispatch", intake_to_dispatch, _type_link()),
    KPI("callback_completion", callback_completion, _type_link()),
    KPI("record_completeness", record_completeness, _type_link()),
    KPI("satisfaction", satisfaction, _type_link()),
    KPI("complaint_rate", complaint_rate, _type_link(OrderType.COMPLAINT), per_person=False),
    KPI(
        "on_time_arrival",
        _clock_compliance(Milestone.ARRIVAL, OrderType.REPAIR),
        _type_link(OrderType.REPAIR),
    ),
    KPI(
        "on_time_restoration",
        _clock_compliance(Milestone.RESTORATION, OrderType.REPAIR),
        _type_link(OrderType.REPAIR),
    ),
    KPI("repeat_repair_rate", _repeat_rate(OrderType.REPAIR), _type_link(OrderType.REPAIR)),
]


def compensations_to_decide(user: Any) -> list[Approval]:
    """Proposed compensations in the user's scope that they may approve: not their own, within their limit."""
    if not has_perm(user, "compensation.approve"):
        return []
    waiting = (
        restrict(Compensation.objects.filter(status=Compensation.Status.PROPOSED), user)
        .exclude(proposed_by=user)
        .select_related("order")
        .order_by("proposed_at")
    )
    limit = authority_limit(user, "service_compensation")
    if limit is not None:
        waiting = waiting.filter(amount__lte=limit)
    return [
        Approval(
            kind=_("Service compensation"),
            title=f"{c.order.number} {c.reason}",
            url=c.order.get_absolute_url(),
            since=c.proposed_at,
            amount=c.amount,
        )
        for c in waiting[:20]
    ]


#: Who works the scope's queue (the desk dispatches, supervisors reassign): its near-breach and overdue orders are
#: their to-dos.
QUEUE_WORKERS = ("workorder.dispatch", "workorder.reassign")
#: Who handles orders at all: the orders assigned to them are their to-dos. Readers of orders (the auditor, the
#: managers) have none — they see the orders on the desk and dashboard, not as work of their own.
HANDLERS = (*QUEUE_WORKERS, "workorder.create", "workorder.process", "workorder.close")


def my_queue(user: Any) -> list[Todo]:
    """My orders, and for those who work the queue, of my scope those near breach and overdue (the desk tabs of
    the same names)."""
    if not any(has_perm(user, code) for code in HANDLERS):
        return []
    now = timezone.now()
    tabs = [("my", _("Work orders assigned to me"), "service:my-queue", "primary")]
    if any(has_perm(user, code) for code in QUEUE_WORKERS):
        tabs += [
            ("near", _("Work orders near breach"), "service:near-queue", "warning"),
            ("overdue", _("Overdue work orders"), "service:overdue-queue", "danger"),
        ]
    todos = []
    for name, label, url_name, tone in tabs:
        rows = queue(user, name, now)
        first = [(str(o), o.get_absolute_url(), o.due_at) for o in rows[:5]]
        todos.append(Todo(f"service.{name}", label, rows.count(), reverse(url_name), tone, tuple(first)))
    return todos


TODOS = [my_queue]

APPROVALS = [ApprovalSource("service.compensation", compensations_to_decide)]

VERBS = {
    "service.create_order": _("Registered work order"),
    "service.dispatch": _("Dispatched work order"),
    "service.reassign": _("Reassigned work order"),
    "service.escalate": _("Escalated work order"),
    "service.take": _("Took work order"),
    "service.start": _("Started work order"),
    "service.arrive": _("Arrived on site for"),
    "service.restore": _("Restored supply for"),
    "service.contact": _("Contacted the customer of"),
    "service.suspend": _("Suspended work order"),
    "service.wait_customer": _("Waiting for the customer on"),
    "service.resume": _("Resumed work order"),
    "service.reply": _("Returned work order"),
    "service.callback": _("Called back on"),
    "service.archive": _("Archived work order"),
    "service.reopen": _("Reopened work order"),
    "service.record_repair": _("Recorded the repair of"),
    "service.issue_stock": _("Issued parts for"),
    "service.return_stock": _("Returned parts for"),
    "service.record_fee": _("Recorded a fee for"),
    "service.propose_compensation": _("Proposed a compensation for"),
    "service.approve_compensation": _("Approved a compensation for"),
    "service.reject_compensation": _("Rejected a compensation for"),
    "service.update_policy": _("Changed SLA policy"),
    "service.load_defaults": _("Loaded the service defaults"),
    "service.sla_sweep": _("Checked service deadlines"),
    "service.close_duplicate": _("Closed as a duplicate: work order"),
}
