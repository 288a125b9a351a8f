"""Periodic jobs run twice at once send nothing twice (issue #9, defect 10).

Given overdue repair orders, when two SLA sweeps run at the same time (PostgreSQL: two threads with their own
connections; SQLite: one after the other, see ``tests/concurrency.py``), then every warning and escalation
exists once, each order's escalation level went up by one, and each escalated order has one audit row.
"""

from __future__ import annotations

import threading
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connections, transaction

from gridcare.core.locks import JobBusy, job_lock, lock_key
from gridcare.core.models import AuditEntry
from gridcare.org.selectors import system_actor
from gridcare.service import actions
from gridcare.service import sla as clocks
from gridcare.service.models import ServiceNotice, WorkOrder
from tests.concurrency import run_together
from tests.service.conftest import sh

BREACH = sh(2026, 10, 3, 2, 50)
# repairs taken in at night: at 02:00 → breached at 02:45 (escalation); at 02:10 → past 80 % at 02:46 (warning)
TAKEN_IN = [sh(2026, 10, 3, 2), sh(2026, 10, 3, 2, 10)]


def night_orders(staff: Any, place: Any, n: int = 4) -> list[WorkOrder]:
    return [
        actions.do_create_order(
            staff("cg_rep"), order_type="repair", service_point=place("CG").pk, at=TAKEN_IN[i % 2]
        )
        for i in range(n)
    ]


def assert_sent_once(orders: list[WorkOrder]) -> None:
    ids = [o.pk for o in orders]
    notices = list(ServiceNotice.objects.filter(order_id__in=ids).values_list("clock_id", "kind"))
    assert notices, "the sweep sent nothing"
    assert len(notices) == len(set(notices)), notices  # each (clock, kind) once
    assert {kind for _, kind in notices} == {"warning", "escalation"}
    escalated = {
        o
        for o, kind in ServiceNotice.objects.filter(order_id__in=ids).values_list("order", "kind")
        if kind == "escalation"
    }
    assert escalated == {o.pk for o in orders if o.created_at == TAKEN_IN[0]}
    for order in WorkOrder.objects.filter(id__in=escalated):
        assert (order.escalation_level, order.sla_state) == (1, "breached")
        assert AuditEntry.objects.filter(action="service.escalate", object_id=str(order.pk)).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_notice_once(staff, place) -> None:
    orders = night_orders(staff, place)

    def sweep() -> Any:
        return actions.do_sla_sweep(system_actor(), now=BREACH)

    results = run_together([sweep, sweep])
    assert all(isinstance(r, (clocks.SweepResult, JobBusy)) for r in results), results
    ran = [r for r in results if isinstance(r, clocks.SweepResult)]
    assert ran, results
    assert_sent_once(orders)
    # what the runs report adds up to what was sent: nothing counted twice
    assert sum(r.warnings + r.escalations for r in ran) == ServiceNotice.objects.count()


@pytest.mark.django_db(transaction=True)
def test_without_the_lock_the_database_still_claims_each_notice_once(staff, place) -> None:
    """Two sweeps that bypass the job lock (two workers of an old release, a lock lost): the conditional
    claim of each clock and the unique (clock, kind) constraint still let one of them send each notice."""
    orders = night_orders(staff, place)

    def bare_sweep() -> Any:
        with transaction.atomic():
            result = clocks.sweep(BREACH)
            if result.escalated_orders:
                from gridcare.core import audit

                audit.bulk_record(system_actor(), "service.escalate", result.escalated_orders)
            return result

    results = run_together([bare_sweep, bare_sweep])
    assert all(isinstance(r, clocks.SweepResult) for r in results), results
    assert_sent_once(orders)
    assert sum(r.escalations for r in results) == ServiceNotice.objects.filter(kind="escalation").count()


def test_the_database_refuses_a_second_notice_of_a_clock(staff, place) -> None:
    (order,) = night_orders(staff, place, 1)  # taken in at 02:00: escalated at 02:50
    actions.do_sla_sweep(system_actor(), now=BREACH)
    sent = ServiceNotice.objects.filter(order=order, kind="escalation").first()
    assert sent is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceNotice.objects.create(order=order, clock_id=sent.clock_id, kind="escalation", text="again")
    # notices without a clock (a manual escalation) are not limited
    actions.do_escalate(staff("cg_head"), order, reason="客户催办", to=staff("manager").pk)
    actions.do_escalate(staff("cg_head"), order, reason="再次催办", to=staff("manager").pk)
    assert ServiceNotice.objects.filter(order=order, kind="escalation", clock__isnull=True).count() == 2


def in_other_connection(fn: Any) -> Any:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(fn())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    return out[0]


@pytest.mark.django_db(transaction=True)
def test_job_lock_lets_one_run_in_and_tells_the_other(org) -> None:
    def try_it() -> str:
        try:
            with job_lock("test.job"):
                return "ran"
        except JobBusy:
            return "busy"

    with job_lock("test.job"):
        assert in_other_connection(try_it) == "busy"
        out = StringIO()
        with job_lock("service.sla_sweep"):
            in_other_connection(lambda: call_command("sla_sweep", stdout=out))
        assert "already running" in out.getvalue()
        assert not AuditEntry.objects.filter(action="service.sla_sweep").exists()
    assert in_other_connection(try_it) == "ran"  # released on leaving the block
    assert lock_key("test.job") == lock_key("test.job") != lock_key("service.sla_sweep")
