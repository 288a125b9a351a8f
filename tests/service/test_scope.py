"""Data scope: a service station sees its own orders; the desk sees what it took; a technician sees own orders;
orphan transfer moves only open orders of a leaver."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from gridcare.core.errors import NotFound
from gridcare.core.ownership import count_owned
from gridcare.org import actions as org_actions
from gridcare.service import actions
from gridcare.service.models import WorkOrder


def test_station_staff_see_their_own_station(api, staff, place) -> None:
    cg_order = actions.do_create_order(staff("cg_rep"), order_type="repair", service_point=place("CG").pk)
    hx_order = actions.do_create_order(staff("hx_rep"), order_type="repair", service_point=place("HX").pk)
    cg_list = {o["id"] for o in api("cg_rep").get("/api/service/orders/").data["results"]}
    hx_list = {o["id"] for o in api("hx_rep").get("/api/service/orders/").data["results"]}
    assert cg_order.pk in cg_list and hx_order.pk not in cg_list
    assert hx_order.pk in hx_list and cg_order.pk not in hx_list
    assert api("hx_rep").get(f"/api/service/orders/{cg_order.pk}/").status_code == 404
    assert api("hx_rep").post(f"/api/service/orders/{cg_order.pk}/take/").status_code == 404
    # Issue #10: the centre's hotline desk reads every customer of the company (its read scope), so it sees both
    # stations' orders to answer a caller — but it may act on neither (its write scope is its own unit and below)
    desk = {o["id"] for o in api("cs_rep").get("/api/service/orders/").data["results"]}
    assert {cg_order.pk, hx_order.pk} <= desk
    assert api("cs_rep").post(f"/api/service/orders/{cg_order.pk}/take/").status_code == 404
    assert WorkOrder.objects.get(pk=cg_order.pk).assignee_id is None
    assert api("manager").get(f"/api/service/orders/{hx_order.pk}/").status_code == 200


def test_technician_sees_only_own_orders(api, staff, place) -> None:
    mine = actions.do_create_order(staff("cs_rep"), order_type="repair", address="城郊", area_text="A线")
    actions.do_reassign(staff("cs_supervisor"), mine, assignee=staff("repair").pk, reason="派维修员")
    other = actions.do_create_order(staff("cs_rep"), order_type="repair", address="城郊", area_text="B线")
    seen = {o["id"] for o in api("repair").get("/api/service/orders/").data["results"]}
    assert seen == {mine.pk}
    assert api("repair").get(f"/api/service/orders/{other.pk}/").status_code == 404


def test_orphan_transfer_moves_open_orders_only(staff, place) -> None:
    leaver = staff("repair")
    open_order = actions.do_create_order(
        staff("cs_rep"), order_type="repair", address="城郊", area_text="C线"
    )
    actions.do_reassign(staff("cs_supervisor"), open_order, assignee=leaver.pk, reason="派维修员")
    done = actions.do_create_order(staff("cs_rep"), order_type="repair", address="城郊", area_text="D线")
    actions.do_reassign(staff("cs_supervisor"), done, assignee=leaver.pk, reason="派维修员")
    actions.do_take(leaver, done)
    actions.do_arrive(leaver, done)
    actions.do_restore(leaver, done)
    actions.do_reply(leaver, done, result="ok", cause="line_fault")
    actions.do_callback(staff("cs_rep"), done, satisfaction=5)
    actions.do_archive(staff("cs_rep"), done)
    assert count_owned(leaver)["service.openworkorder.assignee"] == 1

    org_actions.do_staff_leave(staff("admin"), leaver, left_on=dt.date(2026, 11, 30))

    open_order.refresh_from_db()
    done.refresh_from_db()
    assert open_order.assignee == staff("cs_supervisor")  # the head of the centre above 售后维修班
    assert done.assignee == leaver  # history keeps who handled it
    assert WorkOrder.objects.filter(assignee=leaver, status="dispatched").count() == 0


def test_an_order_out_of_scope_is_refused_in_one_language_per_half(staff, place) -> None:
    """Whatever language is active (the CLI's English, the web's Chinese), the refusal is Chinese with the
    English in brackets — never 未找到该work order."""
    order = actions.do_create_order(staff("cg_rep"), order_type="repair", service_point=place("CG").pk)
    for language in ("en", "zh-hans"):
        with translation.override(language), pytest.raises(NotFound) as refused:
            actions.do_take(staff("hx_rep"), order)
        assert refused.value.message == (
            "未找到该工单，或不在您的数据范围内。 (Work order not found or outside your data scope.)"
        ), language
