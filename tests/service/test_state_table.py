"""The work-order state table (``TRANSITIONS``) is the single source of truth for where each step leads."""

from __future__ import annotations

from typing import Any

import pytest

from gridcare.service import actions
from gridcare.service.choices import INITIAL_STATUS, TRANSITIONS, Status, Transition, target_status
from gridcare.service.models import WorkOrder, WorkOrderTransition
from tests.service.conftest import sh


def _repair(staff: Any, place: Any) -> WorkOrder:
    return actions.do_create_order(
        staff("cg_rep"),
        order_type="repair",
        service_point=place("CG").pk,
        title="整栋楼停电",
        at=sh(2026, 11, 2, 9, 0),
    )


def test_target_status_reads_the_table() -> None:
    assert target_status(Transition.TAKE, Status.DISPATCHED) == TRANSITIONS[Transition.TAKE][1]
    # no target: the status stays
    assert target_status(Transition.CONTACT, Status.TAKEN) == Status.TAKEN
    # resume goes back to where the order was paused
    assert target_status(Transition.RESUME, Status.SUSPENDED, Status.TAKEN) == Status.TAKEN
    assert target_status(Transition.RESUME, Status.WAITING) == Status.PROCESSING


def test_every_step_of_a_lifecycle_ends_where_the_table_says(staff, place) -> None:
    # given a repair order walked through every kind of step
    head = staff("cg_head")
    order = _repair(staff, place)
    steps = [
        lambda: actions.do_take(head, order, at=sh(2026, 11, 2, 9, 5)),
        lambda: actions.do_contact(head, order, note="已联系", at=sh(2026, 11, 2, 9, 6)),
        lambda: actions.do_suspend(head, order, reason="等待材料", at=sh(2026, 11, 2, 9, 7)),
        lambda: actions.do_resume(head, order, at=sh(2026, 11, 2, 9, 8)),
        lambda: actions.do_start(head, order, at=sh(2026, 11, 2, 9, 9)),
        lambda: actions.do_arrive(head, order, at=sh(2026, 11, 2, 9, 20)),
        lambda: actions.do_restore(head, order, at=sh(2026, 11, 2, 9, 40)),
        lambda: actions.do_reply(
            head, order, result="更换熔丝", cause="equipment_fault", at=sh(2026, 11, 2, 9, 50)
        ),
        lambda: actions.do_reopen(head, order, reason="客户仍停电", at=sh(2026, 11, 2, 10, 0)),
    ]
    for step in steps:
        step()
    # then each recorded step's resulting status is the table's target from the status it started in
    history = list(WorkOrderTransition.objects.filter(order=order).order_by("at", "pk"))
    assert len(history) == 2 + len(steps)  # registered and dispatched on intake, then each step
    assert (history[0].action, history[0].to_status) == (Transition.CREATE, INITIAL_STATUS)
    paused_from = ""
    for row in history[1:]:
        assert row.to_status == target_status(row.action, row.from_status, paused_from), row.action
        if row.action in (Transition.SUSPEND, Transition.WAIT_CUSTOMER):
            paused_from = row.from_status
    order.refresh_from_db()
    assert order.status == TRANSITIONS[Transition.REOPEN][1]


@pytest.mark.parametrize(
    ("transition", "run"),
    [
        (Transition.TAKE, lambda head, order: actions.do_take(head, order)),
        (Transition.SUSPEND, lambda head, order: actions.do_suspend(head, order, reason="等待材料")),
        (
            Transition.REASSIGN,
            lambda head, order: actions.do_reassign(
                head, order, reason="换人", queue_unit=order.queue_unit_id
            ),
        ),
    ],
)
def test_changing_the_table_changes_where_the_action_leads(
    staff, place, monkeypatch: pytest.MonkeyPatch, transition: str, run: Any
) -> None:
    # given a state table whose target for a step was changed (to a status no action hard-codes for it)
    order = _repair(staff, place)
    if transition == Transition.SUSPEND:
        actions.do_take(staff("cg_head"), order)
    sources, _target = TRANSITIONS[transition]
    monkeypatch.setitem(TRANSITIONS, transition, (sources, Status.WAITING))
    # when the action runs
    run(staff("cg_head"), order)
    # then the order and its history follow the table
    order.refresh_from_db()
    assert order.status == Status.WAITING
    last = WorkOrderTransition.objects.filter(order=order).latest("at", "pk")
    assert (last.action, last.to_status) == (transition, Status.WAITING)
