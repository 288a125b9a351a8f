"""Demo: a year of work orders over the demo customers, every one registered and moved on through the actions (so
history, clocks and audit are real), with some orders open, near breach and overdue today.

Without customers (the customers app's demo not built) it still works: repair calls by address, anonymous
enquiries, reports and opinions.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from django.utils import timezone

from gridcare.core.errors import GridcareError
from gridcare.org.models import OrgUnit, User
from gridcare.service import actions
from gridcare.service.defaults import load_defaults
from gridcare.service.models import StockItem, WorkOrder

#: work orders per demo scale: a county takes a few thousand calls a year; the large scale stays within the
#: demo time budget because orders go through the real actions (SLA clocks, dispatch, audit).
SIZES = {"tiny": 40, "small": 400, "medium": 3000, "large": 3000}
#: who works each queue in the demo organisation (unit code → username)
HANDLERS = {
    "CG": "cg_head",
    "HX": "hx_rep",
    "SNS": "sn_rep",
    "WX": "repair",
    "KF": "cs_supervisor",
    "KFB": "cs_rep",
    "JC": "cs_supervisor",
    "JL": "metering",
    "DKH": "key_account",
}
TYPES = [
    ("repair", "", 34),
    ("enquiry", "", 24),
    ("complaint", "service", 3),
    ("complaint", "business", 2),
    ("complaint", "outage", 3),
    ("complaint", "power_quality", 2),
    ("complaint", "grid_construction", 1),
    ("application", "reconnection", 5),
    ("application", "appliance_damage", 2),
    ("application", "meter_fault", 3),
    ("application", "reading_anomaly", 2),
    ("application", "meter_test", 1),
    ("application", "other", 2),
    ("report", "", 3),
    ("opinion", "", 4),
    ("suggestion", "", 3),
    ("praise", "", 6),
]
CAUSES = {
    "repair": ["line_fault", "equipment_fault", "customer_side", "external_damage", "weather"],
    "complaint": ["staff_conduct", "business_process", "billing", "outage", "power_quality", "construction"],
}
FEEDERS = ["10kV 城关线", "10kV 河西线", "10kV 工业园线", "10kV 山南线", "0.4kV 幸福路台区", "0.4kV 新村台区"]
STOCK = [
    ("RD-10A", "熔断器 10A", "part", "12.50"),
    ("KG-63A", "空气开关 63A", "part", "45.00"),
    ("LB-40A", "漏电保护器 40A", "part", "68.00"),
    ("DX-16", "铜芯导线 16mm²（米）", "part", "9.80"),
    ("GJ-JYT", "绝缘梯", "tool", "0"),
    ("GJ-YDB", "验电笔", "tool", "0"),
]


def _people() -> dict[str, User]:
    return {
        u.username: u
        for u in User.objects.select_related("position").filter(
            username__in={*HANDLERS.values(), *STATION_DESKS.values(), "cs_rep", "cs_supervisor"}
        )
    }


def _handler(order: WorkOrder, people: dict[str, User], codes: dict[int, str], system: User) -> User:
    if order.assignee_id:
        return next((u for u in people.values() if u.pk == order.assignee_id), system)
    return people.get(HANDLERS.get(codes.get(order.queue_unit_id or 0, ""), ""), system)


def _intake_time(rng: random.Random, now: dt.datetime, days_back: float) -> dt.datetime:
    local = timezone.localtime(now - dt.timedelta(days=days_back))
    hour = rng.choices(
        range(24), weights=[1, 1, 1, 1, 1, 2, 3, 5, 9, 10, 10, 9, 7, 8, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    )[0]
    moment = local.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60), microsecond=0)
    return min(moment, now - dt.timedelta(minutes=1))


#: the desk that registers calls about a station's customers (each desk reaches only its own data scope);
#: calls without a customer go to the hotline (客服班)
STATION_DESKS = {"CG": "cg_rep", "HX": "hx_rep", "SNS": "sn_rep"}


def _register(
    desks: Callable[[str | None], User],
    rng: random.Random,
    points: list[tuple[int, str]],
    kind: tuple[str, str],
    at: dt.datetime,
) -> WorkOrder:
    order_type, sub_type = kind
    data: dict[str, Any] = {"order_type": order_type, "sub_type": sub_type, "at": at}
    point = (
        rng.choice(points)
        if points and (order_type not in {"enquiry", "report"} or rng.random() < 0.5)
        else None
    )
    actor = desks(point[1] if point is not None else None)
    if point is not None:
        data["service_point"] = point[0]
    elif order_type not in {"enquiry", "report", "opinion", "suggestion", "praise", "repair"}:
        data.update(order_type="enquiry", sub_type="")
    if data["order_type"] == "repair":
        data["area_text"] = rng.choice(FEEDERS) + f" #{rng.randrange(1, 30)}"
        data.setdefault(
            "address", f"示范县{rng.choice(['城关镇', '河西乡', '山南镇'])}{rng.randrange(1, 300)}号"
        )
        data["area_class"] = "" if point else rng.choice(["urban", "urban", "rural", "remote"])
    data["contact_phone"] = f"13{rng.randrange(100000000, 999999999)}"
    data["title"] = {
        "repair": "停电报修",
        "enquiry": rng.choice(["电价咨询", "办电咨询", "电费查询", "停电计划咨询"]),
        "complaint": "客户投诉",
        "application": "服务申请",
        "report": "举报",
        "opinion": "意见",
        "suggestion": "建议",
        "praise": "表扬",
    }[data["order_type"]]
    return actions.do_create_order(actor, **data)


def _work(
    order: WorkOrder,
    rng: random.Random,
    people: dict[str, User],
    codes: dict[int, str],
    system: User,
    desk: User,
    supervisor: User,
    stock: list[StockItem],
    until: dt.datetime,
) -> None:
    """Move one order as far as ``until`` allows, with realistic (sometimes late) times."""
    t = order.created_at
    step = lambda minutes: t + dt.timedelta(minutes=minutes)  # noqa: E731
    if order.master_id:
        return
    if order.status == "accepted":
        if order.order_type in {"enquiry", "praise"} or rng.random() < 0.1:
            if step(8) < until:
                cause = rng.choice(CAUSES.get(order.order_type, [""]))
                actions.do_reply(desk, order, result="当场答复客户", cause=cause, at=step(8))
                actions.do_archive(desk, order, at=step(9))
            return
        actions.do_dispatch(desk, order, queue_unit=OrgUnit.objects.get(code="KFB").pk, at=step(5))
        order.refresh_from_db()
    handler = _handler(order, people, codes, system)
    if handler.position and handler.position.data_scope == "own" and order.assignee_id is None:
        # technicians see only their own orders: the supervisor assigns the team queue's order first (派工)
        actions.do_reassign(supervisor, order, assignee=handler.pk, reason="派工", at=step(2))
        order.refresh_from_db()
    late = rng.random() < 0.12
    t = step(rng.randrange(3, 20))
    if t >= until:
        return
    actions.do_take(handler, order, at=t)
    if order.order_type == "complaint" and t + dt.timedelta(hours=2) < until:
        actions.do_contact(handler, order, at=t + dt.timedelta(hours=rng.choice([1, 2, 30 if late else 3])))
    if order.order_type == "repair" or order.sub_type == "appliance_damage":
        arrive = order.created_at + dt.timedelta(minutes=rng.randrange(20, 150 if late else 80))
        if arrive >= until:
            return
        actions.do_arrive(handler, order, at=max(arrive, t))
        if stock and rng.random() < 0.4:
            item = rng.choice(stock[:4])
            if item.quantity > 2:
                actions.do_issue_stock(handler, order, item=item, quantity=2, at=arrive)
                actions.do_return_stock(
                    handler, order, item=item, quantity=1, at=arrive + dt.timedelta(hours=1)
                )
                item.quantity -= 1
        restore = arrive + dt.timedelta(minutes=rng.randrange(30, 300 if late else 170))
        if restore >= until:
            return
        if order.order_type == "repair":
            actions.do_restore(handler, order, at=restore)
            cause = rng.choice(CAUSES["repair"])
            actions.do_record_repair(
                handler,
                order,
                cause=cause,
                fault="故障点查明",
                work_done="更换损坏元件并恢复供电",
                is_paid_service=cause == "customer_side",
                at=restore,
            )
            if cause == "customer_side":
                actions.do_record_fee(
                    handler, order, description="客户内部故障上门维修", amount=Decimal("50.00"), at=restore
                )
        t = restore
    else:
        actions.do_start(handler, order, at=t + dt.timedelta(minutes=5))
        t = t + dt.timedelta(days=rng.choice([0.2, 1, 2, 3, 6 if late else 3]))
        if t >= until:
            return
    cause = rng.choice(CAUSES.get(order.order_type, ["other"])) if order.order_type in CAUSES else ""
    actions.do_reply(handler, order, result="已处理完毕并告知客户", cause=cause, at=t)
    t = t + dt.timedelta(hours=rng.choice([2, 5, 20]))
    if t >= until:
        return
    order.refresh_from_db()
    if (
        order.status == "returned"
        and order.clocks.filter(milestone="callback", done_at__isnull=True).exists()
    ):
        satisfaction = rng.choices([5, 4, 3, 2, 1], weights=[60, 25, 8, 5, 2])[0]
        actions.do_callback(
            desk,
            order,
            satisfaction=satisfaction,
            reason="" if satisfaction > 2 else "处理太慢",
            on_unsatisfied=rng.choice(["reopen", "escalate"]),
            at=t,
        )
        order.refresh_from_db()
        if order.status == "dispatched":  # reopened: the second visit goes well
            return
    if t + dt.timedelta(minutes=10) < until and order.status in {"returned", "called_back"}:
        actions.do_archive(desk, order, at=t + dt.timedelta(minutes=10))


def build(actor: User, scale: str) -> Iterator[str]:
    if WorkOrder.objects.exists():
        yield "service: demo work orders already present"
        return
    counts = load_defaults(actor)
    yield f"service: {counts['sla_policies']} SLA policies, {counts['dispatch_rules']} dispatch rules"
    from gridcare.customers.models import ServicePoint

    rng = random.Random(2026)
    people = _people()
    desk = people.get("cs_rep", actor)
    supervisor = people.get("cs_supervisor", actor)
    codes = dict(OrgUnit.objects.values_list("id", "code"))
    store = OrgUnit.objects.filter(code="WX").first() or OrgUnit.objects.order_by("id").first()
    stock = (
        [
            StockItem.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "kind": kind,
                    "unit_price": Decimal(price),
                    "quantity": 5000,
                    "org_unit": store,
                },
            )[0]
            for code, name, kind, price in STOCK
        ]
        if store
        else []
    )
    points = list(ServicePoint.objects.order_by("?").values_list("pk", "org_unit__code")[:3000])

    def desks(station: str | None) -> User:
        return people.get(STATION_DESKS.get(station or "", ""), desk)

    now = timezone.now()
    total = SIZES.get(scale, SIZES["small"])
    kinds = [(t, s) for t, s, _w in TYPES]
    weights = [w for _t, _s, w in TYPES]
    made = skipped = 0
    first_error = ""
    for i in range(total):
        days_back = 365 * (1 - i / total) + rng.random()
        at = _intake_time(rng, now, days_back)
        try:
            order = _register(desks, rng, points, rng.choices(kinds, weights)[0], at)
            _work(order, rng, people, codes, actor, desks(codes.get(order.unit_id)), supervisor, stock, now)
            made += 1
        except GridcareError as exc:
            skipped += 1
            first_error = first_error or exc.message
    # today: open orders, some near breach and some overdue
    for minutes, kind in [
        (38, ("repair", "")),
        (40, ("repair", "")),
        (200, ("repair", "")),
        (300, ("repair", "")),
        (60 * 24 * 7, ("complaint", "service")),
        (60 * 24 * 9, ("complaint", "outage")),
        (60 * 24 * 16, ("report", "")),
        (60 * 20, ("application", "reconnection")),
    ]:
        try:
            _register(desks, rng, points, kind, now - dt.timedelta(minutes=minutes))
            made += 1
        except GridcareError:
            skipped += 1
    result = actions.do_sla_sweep(actor, now=now)
    yield (
        f"service: {made} work orders over a year ({WorkOrder.objects.exclude(status='archived').count()} open), "
        f"{result.warnings} warnings and {result.escalations} escalations sent"
        + (f", {skipped} skipped (e.g. {first_error})" if skipped else "")
    )
