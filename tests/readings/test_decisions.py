"""The exception queue: accept, correct, re-read, estimate (approved by another person); billing determinants."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcare.core.errors import InvalidInput, PermissionRefused
from gridcare.readings.actions import (
    do_accept_exception,
    do_approve_estimate,
    do_correct_exception,
    do_estimate,
    do_generate_plan,
    do_order_reread,
)
from gridcare.readings.models import MeterRead, ReadException, ReadingTask
from gridcare.readings.selectors import billing_determinants
from tests.readings.conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def reversed_read(installed, route_for, capture, system):
    """A meter with three months of 100 kWh, then a November read below October's (reverse running, blocked)."""
    meter = installed(initial={"active_total": "0"})
    route_for(meter)
    do_generate_plan(system, period="2026-11")
    for day, value in (("2026-08-15", "100"), ("2026-09-15", "200"), ("2026-10-15", "300")):
        capture([{"meter": meter.asset_no, "register": "active_total", "read_at": at(day), "value": value}])
    capture(
        [{"meter": meter.asset_no, "register": "active_total", "read_at": at("2026-11-15"), "value": "250"}]
    )
    read = MeterRead.objects.get(period="2026-11")
    assert read.status == MeterRead.Status.HELD and read.task.status == ReadingTask.Status.EXCEPTION
    return read


def exception_of(read: MeterRead) -> ReadException:
    return ReadException.objects.get(read=read, rule="reverse_running")


def test_accept_releases_the_read(reversed_read, staff):
    exception = do_accept_exception(staff("manager"), exception_of(reversed_read), reason="现场核实表计正常")
    reversed_read.refresh_from_db()
    assert exception.status == "accepted" and exception.decided_by.username == "manager"
    assert reversed_read.status == MeterRead.Status.VALID
    assert ReadingTask.objects.get(pk=reversed_read.task_id).status == ReadingTask.Status.VALIDATED


def test_a_decision_needs_a_reason_and_changes_nothing_without_one(reversed_read, staff, counts):
    before = counts(MeterRead, ReadException)
    with pytest.raises(InvalidInput):
        do_accept_exception(staff("manager"), exception_of(reversed_read), reason=" ")
    assert counts(MeterRead, ReadException) == before


def test_correct_writes_a_new_manual_read_and_supersedes_the_old(reversed_read, staff):
    new = do_correct_exception(staff("manager"), exception_of(reversed_read), value="400", reason="抄错位")
    reversed_read.refresh_from_db()
    assert reversed_read.status == MeterRead.Status.SUPERSEDED
    assert new.source == "manual" and new.supersedes == reversed_read and new.status == MeterRead.Status.VALID
    assert new.quantity == Decimal("100.000")
    assert exception_of(reversed_read).status == "corrected"


def test_reread_sends_the_task_back_to_the_reader(reversed_read, staff):
    do_order_reread(staff("manager"), exception_of(reversed_read), reason="请复抄")
    task = ReadingTask.objects.get(pk=reversed_read.task_id)
    assert task.status == ReadingTask.Status.REREAD and task.reader.username == "cg_reader"
    reversed_read.refresh_from_db()
    assert reversed_read.status == MeterRead.Status.SUPERSEDED


def test_estimate_needs_approval_by_another_person(reversed_read, staff):
    """Given a blocked read, when the manager estimates it from the average of the last three periods, then the
    estimate (100 kWh) is flagged and kept from billing; the manager cannot approve their own estimate; once
    another approver (here the company-wide system account) approves it, it bills, flagged as estimated."""
    from gridcare.org.selectors import system_actor

    manager = staff("manager")
    exception = exception_of(reversed_read)
    estimate = do_estimate(
        manager, exception, method="average_last_three", reason="表计倒走，按近三月平均估抄"
    )
    assert estimate.source == "estimate" and estimate.status == MeterRead.Status.ESTIMATED
    assert estimate.quantity == Decimal("100.000") and estimate.value == Decimal("400.00")
    account = reversed_read.service_point.account_id
    assert billing_determinants(manager, period="2026-11", accounts=[account]) == []
    with pytest.raises(PermissionRefused):
        do_approve_estimate(manager, exception)
    do_approve_estimate(system_actor(), exception)
    estimate.refresh_from_db()
    assert estimate.status == MeterRead.Status.VALID and estimate.approved_by is not None
    (lines,) = billing_determinants(manager, period="2026-11", accounts=[account])
    line = lines.registers["active_total"]
    assert line.quantity == Decimal("100.000") and line.estimated and line.reads == [estimate.pk]


def test_estimate_approval_needs_the_permission(reversed_read, staff):
    exception = exception_of(reversed_read)
    with pytest.raises(PermissionRefused):
        do_approve_estimate(staff("cg_reader"), exception)


def test_estimate_without_history_is_refused(installed, capture, staff):
    meter = installed(initial={"active_total": "500"})
    capture(
        [{"meter": meter.asset_no, "register": "active_total", "read_at": at("2026-11-15"), "value": "400"}]
    )
    exception = ReadException.objects.get(rule="reverse_running")
    with pytest.raises(InvalidInput):
        do_estimate(staff("manager"), exception, method="same_period_last_year", reason="无去年数据")
    assert exception.read.status == MeterRead.Status.HELD


def test_determinants_return_only_validated_quantities(installed, capture, staff):
    """Given two accounts read in November, one valid and one held by reverse running, then the billing
    determinants hold the valid one with its read ids and leave the held one out."""
    good = installed(initial={"active_total": "0"})
    bad = installed(initial={"active_total": "500"})
    results = capture(
        [
            {"meter": good.asset_no, "register": "active_total", "read_at": at("2026-11-15"), "value": "150"},
            {"meter": bad.asset_no, "register": "active_total", "read_at": at("2026-11-15"), "value": "400"},
        ]
    )
    found = billing_determinants(staff("billing"), period="2026-11")
    assert [d.account for d in found] == [good.service_point.account_id]
    line = found[0].registers["active_total"]
    assert line.quantity == Decimal("150.000") and line.reads == [results[0]["read"]] and not line.estimated


def test_accepting_reverse_running_makes_a_zero_baseline_and_a_meter_fault_order(
    reversed_read, installed, capture, staff
):
    """倒走 is a metering fault, not consumption. Given October at 300 and November read at 250, when the billing
    accountant accepts it, then the read is the register's new baseline with zero consumption (the −50 kWh is
    withheld and recorded for back-billing), a meter-fault work order asks for a test or an exchange, billing
    gets 0 kWh for November, and December is measured from 250."""
    from gridcare.core.models import AuditEntry
    from gridcare.service.models import WorkOrder

    assert reversed_read.quantity == Decimal("-50.000")
    exception = do_accept_exception(staff("billing"), exception_of(reversed_read), reason="现场核实表计倒走")
    reversed_read.refresh_from_db()
    assert reversed_read.status == MeterRead.Status.VALID and reversed_read.quantity == Decimal(0)
    assert exception.reason == "倒走，按零电量确认为新起度，待退补：现场核实表计倒走"
    entry = AuditEntry.objects.get(action="readings.accept_exception")
    assert entry.after["baseline"] is True and Decimal(entry.after["withheld_quantity"]) == Decimal("-50")
    (order,) = WorkOrder.objects.filter(service_point_id=reversed_read.service_point_id)
    assert order.sub_type == "meter_fault" and reversed_read.meter.asset_no in order.title
    account = reversed_read.service_point.account_id
    (lines,) = billing_determinants(staff("billing"), period="2026-11", accounts=[account])
    assert lines.registers["active_total"].quantity == Decimal(0)
    (december,) = capture(
        [
            {
                "meter": reversed_read.meter.asset_no,
                "register": "active_total",
                "read_at": at("2026-12-01"),
                "value": "340",
            }
        ]
    )
    assert MeterRead.objects.get(pk=december["read"]).quantity == Decimal("90.000")


def test_determinants_never_return_a_negative_quantity(reversed_read, staff):
    """Even a read that is valid but carries a negative consumption (e.g. released by an older rule) keeps its
    register out of billing instead of crediting the customer."""
    MeterRead.objects.filter(pk=reversed_read.pk).update(status=MeterRead.Status.VALID)
    ReadException.objects.filter(read=reversed_read).update(status=ReadException.Status.ACCEPTED)
    assert billing_determinants(staff("billing"), period="2026-11") == []
