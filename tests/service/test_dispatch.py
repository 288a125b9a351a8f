"""Dispatch rules as data (派单规则), repeated outage calls linked to one master (重复来电并单), reassignment and
escalation by supervisors."""

from __future__ import annotations

import datetime as dt

import pytest

from gridcare.core.errors import InvalidInput, PermissionRefused
from gridcare.customers.models import ServicePoint
from gridcare.org.models import OrgUnit
from gridcare.service import actions
from gridcare.service.models import DispatchRule, ServiceNotice, WorkOrder
from gridcare.service.rules import forget_rules
from tests.service.conftest import STATION_DESK, sh


def unit(code: str) -> OrgUnit:
    return OrgUnit.objects.get(code=code)


def test_rules_route_by_type_station_and_key_account(staff, place) -> None:
    rep = staff("cs_rep")
    manager = staff("key_account")
    cases = [
        ({"order_type": "repair", "service_point": place("HX").pk}, "HX", None),
        ({"order_type": "repair", "address": "城郊公路旁", "area_text": "10kV 城郊线"}, "WX", None),
        (
            {"order_type": "complaint", "sub_type": "power_quality", "service_point": place("CG").pk},
            "KF",
            None,
        ),
        ({"order_type": "report", "title": "疑似窃电"}, "JC", None),
        (
            {"order_type": "application", "sub_type": "meter_fault", "service_point": place("SNS").pk},
            "JL",
            None,
        ),
        (
            {"order_type": "application", "sub_type": "reconnection", "service_point": place("SNS").pk},
            "SNS",
            None,
        ),
        ({"order_type": "repair", "service_point": place("CG", key_manager=manager).pk}, "DKH", manager),
    ]
    for data, queue, person in cases:
        point = data.get("service_point")
        station = ServicePoint.objects.get(pk=point).org_unit.code if point else ""
        # each call is taken by the desk whose data scope holds the customer (the hotline for anonymous calls)
        order = actions.do_create_order(staff(STATION_DESK[station]) if station else rep, **data)
        assert order.status == "dispatched", data
        assert order.queue_unit == unit(queue), data
        assert order.assignee == person, data


def test_enquiries_stay_with_the_desk(staff) -> None:
    order = actions.do_create_order(staff("cs_rep"), order_type="enquiry", title="峰谷电价怎么算")
    assert (order.status, order.queue_unit_id, order.assignee_id) == ("accepted", None, None)
    assert order.unit == staff("cs_rep").org_unit


def test_a_new_rule_changes_routing_without_code(staff, place) -> None:
    DispatchRule.objects.create(
        priority=5,
        name="城关报修直接派何伟",
        order_type="repair",
        station=unit("CG"),
        target="person",
        target_user=staff("cg_head"),
    )
    forget_rules()
    order = actions.do_create_order(staff("cg_rep"), order_type="repair", service_point=place("CG").pk)
    assert order.assignee == staff("cg_head") and order.queue_unit == unit("CG")


def test_manual_dispatch_and_no_rule(staff) -> None:
    rep = staff("cs_rep")
    enquiry = actions.do_create_order(rep, order_type="enquiry", title="复杂咨询需转专业")
    with pytest.raises(InvalidInput) as refused:
        actions.do_dispatch(rep, enquiry)
    assert "queue_unit" in refused.value.errors
    actions.do_dispatch(rep, enquiry, queue_unit=unit("HS").pk, note="转电费核算班")
    enquiry.refresh_from_db()
    assert (enquiry.status, enquiry.queue_unit.code) == ("dispatched", "HS")


def test_reassign_and_escalate_need_a_supervisor(staff, place) -> None:
    order = actions.do_create_order(staff("cg_rep"), order_type="repair", service_point=place("CG").pk)
    with pytest.raises(PermissionRefused):
        actions.do_reassign(staff("cg_rep"), order, queue_unit=unit("WX").pk, reason="x")
    with pytest.raises(InvalidInput):
        actions.do_reassign(staff("cg_head"), order, queue_unit=unit("WX").pk, reason="")
    # the station's supervisor hands it to the centre's repair team; from there the centre supervisor sees it
    actions.do_reassign(staff("cg_head"), order, assignee=staff("repair").pk, reason="城关所人手不足")
    order.refresh_from_db()
    assert (order.assignee, order.queue_unit.code, order.status) == (staff("repair"), "WX", "dispatched")
    actions.do_escalate(staff("cs_supervisor"), order, reason="重要用户停电")
    order.refresh_from_db()
    assert order.escalation_level == 1
    assert ServiceNotice.objects.get(order=order, kind="escalation").recipient == staff("manager")


def test_repeated_outage_calls_link_to_one_master(staff, place) -> None:
    rep = staff("cg_rep")
    first = actions.do_create_order(
        rep,
        order_type="repair",
        service_point=place("CG").pk,
        area_text="10kV 城关线 #12",
        at=sh(2026, 11, 2, 20),
    )
    calls = [
        actions.do_create_order(
            rep,
            order_type="repair",
            service_point=place("CG").pk,
            area_text="10KV城关线#12",
            at=sh(2026, 11, 2, 20) + dt.timedelta(minutes=10 * i),
        )
        for i in range(1, 4)
    ]
    assert all(c.master_id == first.pk and c.status == "accepted" for c in calls)
    assert not any(c.clocks.exists() for c in calls)
    other_area = actions.do_create_order(
        rep,
        order_type="repair",
        service_point=place("CG").pk,
        area_text="10kV 河西线",
        at=sh(2026, 11, 2, 20, 30),
    )
    other_station = actions.do_create_order(
        staff("hx_rep"),
        order_type="repair",
        service_point=place("HX").pk,
        area_text="10kV 城关线 #12",
        at=sh(2026, 11, 2, 20, 30),
    )
    too_late = actions.do_create_order(
        rep,
        order_type="repair",
        service_point=place("CG").pk,
        area_text="10kV 城关线 #12",
        at=sh(2026, 11, 2, 23),
    )
    assert other_area.master_id is None and other_station.master_id is None and too_late.master_id is None
    # the master's 回单 closes the linked calls with its result
    head = staff("cg_head")
    actions.do_take(head, first, at=sh(2026, 11, 2, 20, 5))
    actions.do_arrive(head, first, at=sh(2026, 11, 2, 20, 40))
    actions.do_restore(head, first, at=sh(2026, 11, 2, 22))
    actions.do_reply(head, first, result="线路跳闸，已恢复", cause="line_fault", at=sh(2026, 11, 2, 22, 10))
    for call in calls:
        call.refresh_from_db()
        assert (call.status, call.result, call.restoration_at) == (
            "archived",
            "线路跳闸，已恢复",
            sh(2026, 11, 2, 22),
        )
    assert WorkOrder.objects.filter(master=first).count() == 3
