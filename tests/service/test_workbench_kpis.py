"""The service desk's KPIs on the workbench equal figures computed independently here, row by row in Python,
from a small October 2026 with known timings — for the person, for the unit, and never outside the data scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation

from gridcare.service import actions
from gridcare.service.models import Callback, Compensation, SLAClock, WorkOrder
from gridcare.web.workbench import Month, approvals_for, kpi_registry, kpi_rows, todos_for
from tests.service.conftest import sh

pytestmark = pytest.mark.django_db

OCTOBER = Month(2026, 10)


def value(code: str, user: Any, unit: Any, month: Month = OCTOBER) -> Any:
    return kpi_registry()[code].compute(user, unit, month)


def pct(part: int, whole: int) -> Decimal:
    return (Decimal(part * 100) / Decimal(whole)).quantize(Decimal("0.1"))


@pytest.fixture
def october(staff, place) -> dict[str, Any]:
    """At the CG station: three complaints (two by the same customer 4 days apart, answered after 5 h and 2 h,
    called back with 5 and 3 points), an enquiry resolved during the call, two repairs (arrival after 30 and
    80 minutes against 45), and one complaint at HX, outside the CG desk's scope."""
    desk, head = staff("cg_rep"), staff("cg_head")
    point = place("CG")
    first = actions.do_create_order(
        desk,
        order_type="complaint",
        sub_type="service",
        service_point=point.pk,
        at=sh(2026, 10, 8, 10),
        auto_dispatch=False,
    )
    second = actions.do_create_order(
        desk,
        order_type="complaint",
        sub_type="service",
        service_point=point.pk,
        at=sh(2026, 10, 12, 10),
        auto_dispatch=False,
    )
    actions.do_create_order(
        desk,
        order_type="complaint",
        sub_type="outage",
        service_point=place("CG").pk,
        at=sh(2026, 10, 20, 9),
        auto_dispatch=False,
    )
    for order, answered, score in ((first, sh(2026, 10, 8, 15), 5), (second, sh(2026, 10, 12, 12), 3)):
        actions.do_reply(desk, order, result="已处理", cause="staff_conduct", at=answered)
        actions.do_callback(
            desk,
            order,
            satisfaction=score,
            reason="一般",
            on_unsatisfied="escalate",
            at=answered + dt.timedelta(hours=1),
        )
    enquiry = actions.do_create_order(desk, order_type="enquiry", title="电价咨询", at=sh(2026, 10, 5, 9))
    actions.do_reply(desk, enquiry, result="已解答", at=sh(2026, 10, 5, 9, 5))
    repairs = [
        actions.do_create_order(
            desk,
            order_type="repair",
            service_point=place("CG").pk,
            area_text=f"城关线{n}",
            at=sh(2026, 10, 21, 9, n),
        )
        for n in (0, 10)
    ]
    for order, after in zip(repairs, (30, 80), strict=True):
        actions.do_take(head, order, at=sh(2026, 10, 21, 9, 20))
        actions.do_arrive(head, order, at=order.created_at + dt.timedelta(minutes=after))
    actions.do_create_order(
        staff("hx_rep"),
        order_type="complaint",
        sub_type="service",
        service_point=place("HX").pk,
        at=sh(2026, 10, 9, 10),
    )
    return {"desk": desk, "head": head, "unit": desk.org_unit}


def in_october(orders: Any, field: str = "created_at") -> list[WorkOrder]:
    return [o for o in orders if getattr(o, field) and sh(2026, 10, 1) <= getattr(o, field) < sh(2026, 11, 1)]


def cg_orders() -> list[WorkOrder]:
    return [o for o in WorkOrder.objects.filter(master__isnull=True) if o.unit.code == "CG"]


def test_complaint_figures_equal_independent_counts(october) -> None:
    desk, unit = october["desk"], october["unit"]
    complaints = [o for o in in_october(cg_orders()) if o.order_type == "complaint"]
    answered = [o for o in complaints if o.answered_at]
    hours = sum((o.answered_at - o.created_at).total_seconds() for o in answered) / 3600 / len(answered)
    assert hours == 3.5  # the fixture's own numbers: (5 h + 2 h) / 2
    assert value("complaint_handling_time", desk, unit) == Decimal("3.5")
    assert value("complaint_handling_time", desk, None) == Decimal("3.5")
    repeats = [
        o
        for o in complaints
        if any(
            p.customer_id == o.customer_id
            and o.created_at - dt.timedelta(days=30) <= p.created_at < o.created_at
            for p in complaints
        )
    ]
    assert len(complaints) == 3 and len(repeats) == 1
    assert value("repeat_complaint_rate", desk, unit) == pct(1, 3)
    scores = [c.satisfaction for c in Callback.objects.all() if c.order.unit.code == "CG"]
    assert value("satisfaction", desk, unit) == Decimal(sum(scores) / len(scores)).quantize(Decimal("0.01"))
    assert value("satisfaction", desk, unit) == Decimal("4.00")


def test_desk_figures_equal_independent_counts(october) -> None:
    desk, unit = october["desk"], october["unit"]
    registered = [o for o in in_october(cg_orders()) if o.created_by_id == desk.pk]
    solved = [o for o in registered if o.first_contact_resolution]
    assert len(solved) == 3  # the enquiry and the two complaints answered without dispatch
    assert value("first_contact_resolution", desk, None) == pct(len(solved), len(registered))
    answered = in_october(cg_orders(), "answered_at")
    called = [o for o in answered if o.callback_at]
    assert value("callback_completion", desk, unit) == pct(len(called), len(answered))
    dispatched = in_october([o for o in registered], "dispatched_at")
    average = sum((o.dispatched_at - o.created_at).total_seconds() for o in dispatched) / 60 / len(dispatched)
    assert value("intake_to_dispatch", desk, None) == Decimal(str(average)).quantize(Decimal("0.1"))
    complete = [o for o in registered if o.customer_id and o.contact_phone and o.address and o.title]
    assert value("record_completeness", desk, None) == pct(len(complete), len(registered))


def test_repair_figures_for_the_technician(october) -> None:
    head = october["head"]
    arrivals = [
        c
        for c in SLAClock.objects.filter(milestone="arrival", done_at__isnull=False)
        if c.order.assignee_id == head.pk
    ]
    met = [c for c in arrivals if c.breached is False]
    assert (len(met), len(arrivals)) == (1, 2)  # 30 minutes in time, 80 minutes late
    assert value("on_time_arrival", head, None) == Decimal("50.0")
    assert value("sla_compliance", head, None) == pct(
        len(
            [
                c
                for c in SLAClock.objects.filter(done_at__isnull=False)
                if c.order.assignee_id == head.pk and not c.breached
            ]
        ),
        len([c for c in SLAClock.objects.filter(done_at__isnull=False) if c.order.assignee_id == head.pk]),
    )
    assert value("repeat_repair_rate", head, None) == Decimal("0.0")


def test_figures_stay_inside_the_data_scope_and_month(october, staff) -> None:
    """The CG desk's figures never count HX's complaint; November is empty (—, not 0 %)."""
    desk = october["desk"]
    hx_desk = staff("hx_rep")
    assert value("repeat_complaint_rate", desk, desk.org_unit) == pct(1, 3)  # not 1 of 4
    assert value("complaint_handling_time", hx_desk, hx_desk.org_unit) is None  # HX's complaint is unanswered
    assert value("first_contact_resolution", desk, None, Month(2026, 11)) is None
    assert value("complaint_handling_time", desk, desk.org_unit, Month(2026, 9)) is None


def test_workbench_rows_show_this_and_last_month(october) -> None:
    desk = october["desk"]
    rows = {
        row.definition.code: row for row in kpi_rows(desk, desk.position.kpis.all(), dt.date(2026, 11, 15))
    }
    fcr = rows["first_contact_resolution"]
    assert fcr.computed and fcr.mine_before == value("first_contact_resolution", desk, None)
    assert fcr.mine_now is None and fcr.cells[0][0] == "—"
    assert fcr.cells[1][0].endswith("%") and fcr.cells[1][1].startswith("/service/orders/?")


def test_my_queue_and_approvals(october, staff) -> None:
    head, desk = october["head"], october["desk"]
    todos = {todo.code: todo for todo in todos_for(head)}
    mine = [
        o for o in WorkOrder.objects.filter(assignee=head) if o.status != "archived" and o.master_id is None
    ]
    assert todos["service.my"].count == len(mine) == 2
    assert [text for text, _url, _due in todos["service.my"].items] == [
        str(o) for o in sorted(mine, key=lambda o: o.due_at)
    ]
    order = WorkOrder.objects.filter(order_type="complaint", unit__code="CG").first()
    actions.do_propose_compensation(desk, order, amount="50.00", reason="超时答复", at=sh(2026, 10, 22, 9))
    supervisor = staff("cg_head")  # the station head approves within 2,000 元
    waiting = approvals_for(supervisor)
    assert [item.title for item in waiting] == [f"{order.number} 超时答复"]
    assert approvals_for(desk) == []  # cannot decide, let alone their own proposal
    from gridcare.core.models import AuditEntry
    from gridcare.web.workbench import describe_action

    proposed = AuditEntry.objects.get(action="service.propose_compensation")
    with translation.override("zh-hans"):
        assert (
            describe_action(proposed.action, proposed.object_repr)
            == f"提出补偿 {order.number} 50.00 元 待审批"
        )
    actions.do_approve_compensation(supervisor, Compensation.objects.get(), note="同意")
    assert approvals_for(supervisor) == []


def test_new_capacity_counts_increases_and_new_connections(staff, place) -> None:
    """增容 100 → 160 kVA on 10 October and a new 50 kVA point on 15 October: 110 kVA added in October."""
    from gridcare.customers.models import CapacityPeriod

    grown, new = place("CG"), place("CG")
    CapacityPeriod.objects.create(
        service_point=grown, valid_from=dt.date(2026, 9, 1), valid_to=dt.date(2026, 10, 10), capacity_kva=100
    )
    CapacityPeriod.objects.create(service_point=grown, valid_from=dt.date(2026, 10, 10), capacity_kva=160)
    CapacityPeriod.objects.create(service_point=new, valid_from=dt.date(2026, 10, 15), capacity_kva=50)
    periods = {p.pk: p for p in CapacityPeriod.objects.all()}
    expected = sum(
        p.capacity_kva
        - next(
            (
                q.capacity_kva
                for q in periods.values()
                if q.service_point_id == p.service_point_id and q.valid_to == p.valid_from
            ),
            0,
        )
        for p in periods.values()
        if dt.date(2026, 10, 1) <= p.valid_from <= dt.date(2026, 10, 31)
    )
    head = staff("cg_head")
    assert expected == 110
    assert value("new_capacity", head, head.org_unit) == expected
    assert value("new_capacity", head, head.org_unit, Month(2026, 9)) == 100
    assert value("new_capacity", staff("hx_rep"), staff("hx_rep").org_unit) == 0  # CG's points are not HX's


def test_company_wide_positions_see_the_company_beside_themselves(october, staff) -> None:
    """The marketing manager reads the whole company: the unit column is the company, not his department."""
    from gridcare.customers.models import Customer
    from gridcare.web.workbench import kpi_unit

    manager = staff("manager")
    company = kpi_unit(manager)
    assert company.parent_id is None and manager.org_unit.path.startswith(company.path)
    complaints = WorkOrder.objects.filter(order_type="complaint", master__isnull=True).count()
    assert complaints == 4  # three at CG, one at HX
    expected = Decimal(complaints * 10000 / Customer.objects.count()).quantize(Decimal("0.01"))
    assert value("complaint_rate", manager, company) == expected
    assert kpi_unit(october["desk"]) == october["desk"].org_unit  # a station desk: its own station


def test_demo_workbenches_show_values(client, staff, place) -> None:
    """On the demo's year of orders the manager, the supervisor and the desk see numbers, not only dashes."""
    import re

    from gridcare.org.selectors import system_actor
    from gridcare.service import demo

    for station in ("CG", "HX", "SNS"):
        place(station)
    list(demo.build(system_actor(), "tiny"))
    for username in ("manager", "cs_supervisor", "cs_rep"):
        client.force_login(staff(username))
        html = client.get("/").content.decode()
        cells = re.findall(r"data-kpi-cell>(?:<a [^>]+>)?([^<]+)<", html)
        assert cells and "None" not in html
        assert any(re.fullmatch(r"[\d,.]+ ?\S*", cell) for cell in cells), (username, cells)


def test_overdue_orders_are_to_dos_only_for_positions_that_handle_orders(staff, place) -> None:
    """Given an overdue repair at 城关, it is a to-do of the heads who work the queue; the metering engineer
    (who processes only orders assigned to them) and the auditor (who only reads orders) do not get the
    company's overdue orders as their to-dos."""
    from django.utils import timezone

    late = actions.do_create_order(
        staff("cg_rep"),
        order_type="repair",
        service_point=place("CG").pk,
        at=timezone.now() - dt.timedelta(hours=6),
    )
    assert WorkOrder.objects.get(pk=late.pk).due_at < timezone.now()

    def todos(username: str) -> dict[str, Any]:
        return {todo.code: todo for todo in todos_for(staff(username)) if todo.code.startswith("service.")}

    for head in ("cg_head", "manager"):  # the station head and the department manager reassign
        overdue = todos(head)["service.overdue"]
        assert overdue.count == 1 and overdue.items[0][0] == str(late), head
    metering = todos("metering")
    assert set(metering) == {"service.my"} and metering["service.my"].count == 0
    assert todos("auditor") == {}
    assert todos("vp") == {}
