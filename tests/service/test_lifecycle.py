"""Lifecycle of a work order: 受理 → 派发 → 接单 → 处理中 → 回单 → 回访 → 归档, pauses, reopening; every refused
step answers 409 with the steps the current status allows; history in a transition table and the audit log."""

from __future__ import annotations

import pytest

from gridcare.core.errors import InvalidInput, InvalidTransition, NotFound, PermissionRefused
from gridcare.core.models import AuditEntry
from gridcare.service import actions
from gridcare.service.choices import TRANSITIONS, Status, allowed_transitions
from gridcare.service.models import Callback, SLAClock, WorkOrder, WorkOrderTransition
from tests.service.conftest import sh


def new_repair(staff, place, **extra):  # type: ignore[no-untyped-def]
    point = place("CG")
    return actions.do_create_order(
        staff("cg_rep"),
        order_type="repair",
        service_point=point.pk,
        title="整栋楼停电",
        at=sh(2026, 11, 2, 9, 0),
        **extra,
    )


def test_full_repair_lifecycle_through_the_api(api, staff, place) -> None:
    point = place("CG")
    rep, head = api("cg_rep"), api("cg_head")
    created = rep.post(
        "/api/service/orders/",
        {
            "order_type": "repair",
            "service_point": point.pk,
            "title": "家里停电",
            "contact_phone": "13900001111",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    order = created.data
    assert order["number"].startswith("GD") and len(order["number"]) >= 14
    assert order["status"] == "dispatched"  # rule: repair with a station → the station's queue
    assert order["queue_unit"] == point.org_unit_id
    pk = order["id"]
    url = f"/api/service/orders/{pk}"
    assert head.post(f"{url}/take/").data["status"] == "taken"
    assert head.post(f"{url}/arrive/").data["status"] == "processing"
    assert head.post(f"{url}/restore/").data["restoration_at"] is not None
    replied = head.post(
        f"{url}/reply/", {"result": "更换熔丝后恢复供电", "cause": "equipment_fault"}, format="json"
    )
    assert replied.status_code == 200, replied.content
    assert replied.data["status"] == "returned"
    called = rep.post(f"{url}/callback/", {"satisfaction": 5}, format="json")
    assert called.data["status"] == "called_back", called.content
    archived = rep.post(f"{url}/archive/")
    assert archived.data["status"] == "archived"
    steps = list(WorkOrderTransition.objects.filter(order_id=pk).values_list("action", "to_status"))
    assert steps == [
        ("create", "accepted"),
        ("dispatch", "dispatched"),
        ("take", "taken"),
        ("arrive", "processing"),
        ("restore", "processing"),
        ("reply", "returned"),
        ("callback", "called_back"),
        ("archive", "archived"),
    ]
    audited = AuditEntry.objects.filter(object_type="service.workorder", object_id=str(pk)).values_list(
        "action", flat=True
    )
    assert set(audited) >= {
        "service.create_order",
        "service.take",
        "service.reply",
        "service.callback",
        "service.archive",
    }
    assert not SLAClock.objects.filter(order_id=pk, done_at__isnull=True).exists()
    history = rep.get(f"{url}/history/").data
    assert [t["action"] for t in history["transitions"]][-1] == "archive"


@pytest.mark.parametrize("status", [s for s in Status.values])
def test_every_refused_step_answers_409_with_the_allowed_ones(api, staff, place, status) -> None:
    order = new_repair(staff, place)
    WorkOrder.objects.filter(pk=order.pk).update(status=status, assignee=staff("cg_head"))
    refused = [code for code, (sources, _t) in TRANSITIONS.items() if status not in sources]
    checked = 0
    for step in refused:
        path = {"dispatch": "dispatch", "wait_customer": "wait-customer"}.get(step, step)
        response = api("cg_head").post(
            f"/api/service/orders/{order.pk}/{path}/", {"reason": "x"}, format="json"
        )
        assert response.status_code in (409, 403), (step, response.content)
        if response.status_code == 409:
            assert response.data["current"] == status
            assert response.data["allowed"] == sorted(allowed_transitions(status))
            checked += 1
    assert checked >= 1
    order.refresh_from_db()
    assert order.status == status  # nothing moved


def test_take_twice_is_409_and_changes_nothing(staff, place) -> None:
    order = new_repair(staff, place)
    actions.do_take(staff("cg_head"), order)
    before = WorkOrderTransition.objects.count(), AuditEntry.objects.count()
    with pytest.raises(InvalidTransition) as refused:
        actions.do_take(staff("cg_head"), order)
    assert refused.value.allowed == sorted(
        ["arrive", "start", "suspend", "wait_customer", "reassign", "contact", "escalate"]
    )
    assert (WorkOrderTransition.objects.count(), AuditEntry.objects.count()) == before


def test_suspend_needs_a_reason_and_resume_returns_to_the_previous_status(staff, place) -> None:
    order = new_repair(staff, place)
    head = staff("cg_head")
    actions.do_take(head, order, at=sh(2026, 11, 2, 9, 5))
    with pytest.raises(InvalidInput) as missing:
        actions.do_suspend(head, order, reason="  ", at=sh(2026, 11, 2, 9, 10))
    assert "reason" in missing.value.errors
    actions.do_suspend(head, order, reason="道路封闭，等待交警放行", at=sh(2026, 11, 2, 9, 10))
    order.refresh_from_db()
    assert (order.status, order.paused_from) == ("suspended", "taken")
    assert SLAClock.objects.filter(order=order, paused_since__isnull=False).count() == 1
    actions.do_resume(head, order, at=sh(2026, 11, 2, 9, 40))
    order.refresh_from_db()
    assert order.status == "taken" and order.pause_reason == ""
    clock = SLAClock.objects.get(order=order, milestone="arrival")
    assert clock.paused_seconds == 30 * 60
    assert clock.deadline == sh(2026, 11, 2, 10, 15)


def test_wait_customer_and_reopen_after_archive(staff, place) -> None:
    order = new_repair(staff, place)
    head, rep = staff("cg_head"), staff("cg_rep")
    actions.do_take(head, order, at=sh(2026, 11, 2, 9, 5))
    actions.do_arrive(head, order, at=sh(2026, 11, 2, 9, 30))
    actions.do_wait_customer(head, order, reason="客户不在家，约定下午", at=sh(2026, 11, 2, 9, 35))
    actions.do_resume(head, order, at=sh(2026, 11, 2, 14, 0))
    actions.do_restore(head, order, at=sh(2026, 11, 2, 14, 30))
    actions.do_reply(head, order, result="已修复", cause="customer_side", at=sh(2026, 11, 2, 14, 40))
    actions.do_callback(rep, order, satisfaction=4, at=sh(2026, 11, 2, 16, 0))
    actions.do_archive(rep, order, at=sh(2026, 11, 2, 16, 1))
    with pytest.raises(InvalidInput):
        actions.do_reopen(rep, order, reason="", at=sh(2026, 11, 3, 9, 0))
    actions.do_reopen(rep, order, reason="客户再次来电：又停电了", at=sh(2026, 11, 3, 9, 0))
    order.refresh_from_db()
    assert (order.status, order.reopen_count, order.arrival_at) == ("dispatched", 1, None)
    assert SLAClock.objects.filter(
        order=order, milestone="arrival", done_at__isnull=True
    ).get().start_at == sh(2026, 11, 3, 9, 0)


def test_unsatisfied_callback_reopens_or_escalates(staff, place) -> None:
    rep, head = staff("cg_rep"), staff("cg_head")
    for outcome in ("reopen", "escalate"):
        order = actions.do_create_order(
            rep, order_type="enquiry", service_point=place("CG").pk, title="电价咨询"
        )
        actions.do_reply(rep, order, result="已解释")
        # enquiries have no callback rule: archive straight away is allowed; use a complaint for the callback
        complaint = actions.do_create_order(
            rep,
            order_type="complaint",
            sub_type="service",
            service_point=place("CG").pk,
            title="营业员态度差",
        )
        actions.do_take(head, complaint)
        actions.do_start(head, complaint)
        actions.do_reply(head, complaint, result="已批评教育并道歉", cause="staff_conduct")
        with pytest.raises(InvalidInput) as no_reason:
            actions.do_callback(rep, complaint, satisfaction=2, on_unsatisfied=outcome)
        assert "reason" in no_reason.value.errors
        actions.do_callback(rep, complaint, satisfaction=2, reason="仍不满意", on_unsatisfied=outcome)
        complaint.refresh_from_db()
        callback = Callback.objects.get(order=complaint)
        if outcome == "reopen":
            assert (complaint.status, complaint.reopen_count, callback.outcome) == (
                "dispatched",
                1,
                "reopened",
            )
        else:
            assert (complaint.status, complaint.escalation_level, callback.outcome) == (
                "called_back",
                1,
                "escalated",
            )
            assert complaint.notices.filter(kind="escalation").exists()


def test_callback_satisfaction_must_be_1_to_5(staff, place) -> None:
    rep = staff("cg_rep")
    order = actions.do_create_order(
        rep, order_type="complaint", sub_type="business", service_point=place("CG").pk, auto_dispatch=False
    )
    actions.do_reply(rep, order, result="当场解释清楚", cause="business_process")
    for bad in (0, 6, None):
        with pytest.raises(InvalidInput) as refused:
            actions.do_callback(rep, order, satisfaction=bad)
        assert "satisfaction" in refused.value.errors
    assert not Callback.objects.filter(order=order).exists()


def test_archive_before_callback_is_refused_when_a_callback_rule_exists(staff, place) -> None:
    rep = staff("cg_rep")
    order = actions.do_create_order(
        rep, order_type="complaint", sub_type="outage", service_point=place("CG").pk, auto_dispatch=False
    )
    actions.do_reply(rep, order, result="已解释停电原因", cause="outage")
    with pytest.raises(InvalidTransition) as refused:
        actions.do_archive(rep, order)
    assert "callback" in refused.value.allowed
    enquiry = actions.do_create_order(rep, order_type="enquiry", title="如何办理过户")
    actions.do_reply(rep, enquiry, result="告知所需材料")
    assert actions.do_archive(rep, enquiry).status == "archived"
    enquiry.refresh_from_db()
    assert enquiry.first_contact_resolution


def test_repair_reply_needs_arrival_and_restoration(staff, place) -> None:
    order = new_repair(staff, place)
    head = staff("cg_head")
    actions.do_take(head, order)
    actions.do_start(head, order)
    with pytest.raises(InvalidInput) as refused:
        actions.do_reply(head, order, result="好了", cause="line_fault")
    assert "arrival_at" in refused.value.errors


def test_only_the_assignee_handles_an_assigned_order(staff, place) -> None:
    order = new_repair(staff, place)
    actions.do_take(staff("cg_head"), order)
    with pytest.raises(PermissionRefused):
        actions.do_start(staff("cg_rep"), order)  # sees the order (station), but it is cg_head's
    with pytest.raises(NotFound):
        actions.do_start(staff("repair"), order)  # own-records scope: someone else's order does not exist
