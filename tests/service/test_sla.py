"""SLA clocks on work orders: deadlines of both kinds from the policies (data), pauses, the sweep's warnings and
escalations — held back outside working hours for working-day rules, immediate for field repair."""

from __future__ import annotations

import datetime as dt

import pytest

from gridcare.core.models import AuditEntry
from gridcare.org.selectors import system_actor
from gridcare.service import actions
from gridcare.service.models import ServiceNotice, SLAClock, SLAPolicy, WorkOrder
from tests.service.conftest import sh


def clock(order: WorkOrder, milestone: str) -> SLAClock:
    return SLAClock.objects.get(order=order, milestone=milestone, done_at__isnull=True)


@pytest.mark.parametrize(("area", "minutes"), [("urban", 45), ("rural", 90), ("remote", 120)])
def test_repair_arrival_by_area_class(staff, place, area, minutes) -> None:
    order = actions.do_create_order(
        staff("cg_rep"),
        order_type="repair",
        service_point=place("CG", area_class=area).pk,
        at=sh(2026, 10, 2, 23, 30),
    )
    assert clock(order, "arrival").deadline == sh(2026, 10, 2, 23, 30) + dt.timedelta(minutes=minutes)
    assert order.due_at == clock(order, "arrival").deadline


@pytest.mark.parametrize(("area", "hours"), [("urban", 3), ("rural", 4)])
def test_restoration_counts_from_arrival(staff, place, area, hours) -> None:
    order = actions.do_create_order(
        staff("cg_rep"),
        order_type="repair",
        service_point=place("CG", area_class=area).pk,
        at=sh(2026, 11, 2, 9),
    )
    head = staff("cg_head")
    actions.do_take(head, order, at=sh(2026, 11, 2, 9, 5))
    actions.do_arrive(head, order, at=sh(2026, 11, 2, 9, 50))
    arrival = SLAClock.objects.get(order=order, milestone="arrival")
    assert arrival.breached is (area == "urban")  # 50 min: late in town, on time in the countryside
    assert clock(order, "restoration").deadline == sh(2026, 11, 2, 9, 50) + dt.timedelta(hours=hours)


def test_complaint_clocks_across_national_day_2026(staff, place) -> None:
    """Contact within 24 h (elapsed, through the holiday); answer within 4 working days (Oct 10 Sat works)."""
    order = actions.do_create_order(
        staff("cg_rep"),
        order_type="complaint",
        sub_type="service",
        service_point=place("CG").pk,
        at=sh(2026, 9, 30, 10),
    )
    assert clock(order, "first_response").deadline == sh(2026, 10, 1, 10)
    assert clock(order, "answer").deadline == sh(2026, 10, 13)


def test_service_application_targets_across_spring_festival(staff, place) -> None:
    rep = staff("cg_rep")
    cases = {
        "meter_fault": (4, sh(2026, 2, 27)),
        "reading_anomaly": (6, sh(2026, 3, 1)),
        "other": (5, sh(2026, 2, 28)),
    }
    for sub_type, (_n, expected) in cases.items():
        order = actions.do_create_order(
            rep,
            order_type="application",
            sub_type=sub_type,
            service_point=place("CG").pk,
            at=sh(2026, 2, 13, 16),
        )
        # Sat Feb 14 works, Feb 15–23 off, then 24, 25, 26, 27 and Sat 28 (make-up)
        assert clock(order, "answer").deadline == expected, sub_type
    reconnection = actions.do_create_order(
        rep,
        order_type="application",
        sub_type="reconnection",
        service_point=place("CG").pk,
        at=sh(2026, 2, 16, 9),
    )
    assert clock(reconnection, "answer").deadline == sh(2026, 2, 17, 9)  # 24 h, holiday or not


def test_report_takes_9_working_days(staff) -> None:
    order = actions.do_create_order(
        staff("cg_rep"), order_type="report", title="窃电举报", at=sh(2026, 9, 30, 15)
    )
    # Oct 8, 9, 10 (Sat), 12, 13, 14, 15, 16, 19
    assert clock(order, "answer").deadline == sh(2026, 10, 20)


def test_pause_moves_a_working_day_deadline_by_the_paused_time(staff, place) -> None:
    order = actions.do_create_order(
        staff("cg_rep"),
        order_type="complaint",
        sub_type="business",
        service_point=place("CG").pk,
        at=sh(2026, 9, 30, 10),
        auto_dispatch=False,
    )
    head = staff("cg_head")
    actions.do_dispatch(head, order, assignee=head.pk, at=sh(2026, 9, 30, 10, 5))
    actions.do_take(head, order, at=sh(2026, 9, 30, 11))
    actions.do_wait_customer(head, order, reason="客户出差，10月9日后联系", at=sh(2026, 10, 8, 9))
    actions.do_resume(head, order, at=sh(2026, 10, 9, 9))
    assert clock(order, "answer").deadline == sh(2026, 10, 14)


def test_policy_is_data(staff, place) -> None:
    policy = SLAPolicy.objects.get(order_type="repair", area_class="urban", milestone="arrival")
    actions.do_update_policy(staff("cs_supervisor"), policy, amount=30, warn_ratio="0.50")
    order = actions.do_create_order(
        staff("cg_rep"), order_type="repair", service_point=place("CG").pk, at=sh(2026, 11, 2, 9)
    )
    arrival = clock(order, "arrival")
    assert (arrival.deadline, arrival.warn_at) == (sh(2026, 11, 2, 9, 30), sh(2026, 11, 2, 9, 15))


def sweep(at: dt.datetime):
    return actions.do_sla_sweep(system_actor(), now=at)


def test_sweep_warns_and_escalates_repairs_at_night(staff, place) -> None:
    order = actions.do_create_order(
        staff("cg_rep"), order_type="repair", service_point=place("CG").pk, at=sh(2026, 10, 3, 2)
    )
    assert sweep(sh(2026, 10, 3, 2, 30)).warnings == 0
    first = sweep(sh(2026, 10, 3, 2, 37))  # 80% of 45 min = 36 min
    assert (first.warnings, first.escalations) == (1, 0)
    notice = ServiceNotice.objects.get(order=order, kind="warning")
    assert notice.recipient == staff("cg_head")  # unassigned: the head of the station queue
    assert sweep(sh(2026, 10, 3, 2, 40)).warnings == 0  # sent once
    breach = sweep(sh(2026, 10, 3, 2, 46))
    assert breach.escalations == 1
    order.refresh_from_db()
    assert (order.sla_state, order.escalation_level) == ("breached", 1)
    escalation = ServiceNotice.objects.get(order=order, kind="escalation")
    assert escalation.recipient == staff("cg_head")
    assert AuditEntry.objects.filter(action="service.sla_sweep").count() == 4


def test_the_notices_bar_lists_an_escalated_order_once(staff, place) -> None:
    """Given an order warned, escalated by the sweep and escalated by hand, and another only warned, the head's
    notices bar lists each order once: the first by its escalation."""
    from django.test import Client

    from gridcare.service.selectors import unread_notices

    head = staff("cg_head")
    escalated, warned = (
        actions.do_create_order(
            staff("cg_rep"), order_type="repair", service_point=place("CG").pk, at=sh(2026, 10, 3, 2, minute)
        )
        for minute in (0, 5)
    )
    sweep(sh(2026, 10, 3, 2, 40))
    sweep(sh(2026, 10, 3, 2, 46))
    actions.do_escalate(staff("manager"), escalated, reason="客户再次来电", to=head.pk)
    assert ServiceNotice.objects.filter(order=escalated, recipient=head).count() == 3
    notices = unread_notices(head)
    assert sorted((n.order_id, n.kind) for n in notices) == sorted(
        [(escalated.pk, "escalation"), (warned.pk, "warning")]
    )
    client = Client()
    client.force_login(head)
    bar = client.get("/service/").content.decode().split('id="notices"', 1)[1].split("</div>", 1)[0]
    assert bar.count(escalated.number) == 1 and bar.count(warned.number) == 1


def test_sweep_holds_working_day_notices_until_working_hours(staff, place) -> None:
    order = actions.do_create_order(
        staff("cg_rep"),
        order_type="complaint",
        sub_type="service",
        service_point=place("CG").pk,
        at=sh(2026, 9, 30, 10),
        auto_dispatch=False,
    )
    actions.do_contact(staff("cg_rep"), order, at=sh(2026, 9, 30, 11))  # first contact in time
    night = sweep(sh(2026, 10, 12, 5))  # past 80% (04:48) but before office hours
    assert night.warnings == 0 and night.held_back
    holiday = sweep(sh(2026, 10, 5, 10))
    assert holiday.warnings == 0
    morning = sweep(sh(2026, 10, 12, 8, 30))
    assert morning.warnings == 1
    sent = ServiceNotice.objects.get(order=order, kind="warning")
    assert sent.sent_at == sh(2026, 10, 12, 8, 30)
    assert sweep(sh(2026, 10, 13, 0, 5)).escalations == 0  # breached at midnight: not sent at night
    assert sweep(sh(2026, 10, 13, 8, 30)).escalations == 1
    for notice in ServiceNotice.objects.filter(order=order):
        local = notice.sent_at.astimezone(sh(2026, 1, 1).tzinfo)
        assert dt.time(8, 30) <= local.time() < dt.time(17, 30)


def test_paused_orders_are_not_escalated(staff, place) -> None:
    order = actions.do_create_order(
        staff("cg_rep"), order_type="repair", service_point=place("CG").pk, at=sh(2026, 11, 2, 9)
    )
    head = staff("cg_head")
    actions.do_take(head, order, at=sh(2026, 11, 2, 9, 1))
    actions.do_suspend(head, order, reason="暴雨，暂停户外作业", at=sh(2026, 11, 2, 9, 10))
    assert sweep(sh(2026, 11, 2, 15)).escalations == 0
    actions.do_resume(head, order, at=sh(2026, 11, 2, 15))
    assert clock(order, "arrival").deadline == sh(2026, 11, 2, 15, 35)


def test_sweep_refreshes_deadlines_after_a_calendar_override(staff, place) -> None:
    from gridcare.core.actions import do_set_calendar_override
    from gridcare.core.calendar import forget_calendar

    order = actions.do_create_order(staff("cg_rep"), order_type="report", title="举报", at=sh(2026, 12, 1, 9))
    before = clock(order, "answer").deadline
    do_set_calendar_override(staff("admin"), day=dt.date(2026, 12, 2), is_working_day=False, reason="县庆")
    forget_calendar()
    result = sweep(sh(2026, 12, 1, 10))
    assert result.refreshed == 1
    assert clock(order, "answer").deadline == before + dt.timedelta(days=1)
    order.refresh_from_db()
    assert order.due_at == before + dt.timedelta(days=1)
