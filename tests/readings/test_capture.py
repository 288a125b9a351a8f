"""The one capture path: per-record rejection of bad input, replays, consumption through the app."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gridcare.readings.models import MeterRead, ReadException
from tests.readings.conftest import at

pytestmark = pytest.mark.django_db


def test_bad_records_are_rejected_one_by_one_and_good_ones_kept(
    installed, capture, counts, system, make_meter
):
    """Given a batch mixing a good read with every kind of bad input, when it is captured, then each bad record
    is rejected with its reason, the good one is accepted, and only it is stored."""
    meter = installed(register_digits=6)
    stock = make_meter()  # registered, never installed
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    good = {
        "meter": meter.asset_no,
        "register": "active_total",
        "read_at": at("2026-10-15"),
        "value": "120.5",
    }
    records = [
        good,
        {**good, "meter": "NO-SUCH"},
        {**good, "meter": stock.asset_no},
        {**good, "register": "active_peak"},
        {**good, "read_at": future},
        {**good, "value": "abc"},
        {**good, "value": "-1"},
        {**good, "value": "1234567"},
        {**good, "read_at": "yesterday"},
    ]
    results = capture(records)
    assert [r["status"] for r in results] == ["accepted"] + ["rejected"] * 8
    reasons = [r["reason"] for r in results[1:]]
    assert "Unknown meter" in reasons[0]
    assert "not installed" in reasons[1]
    assert "no such register" in reasons[2]
    assert "future" in reasons[3]
    assert "not a number" in reasons[4]
    assert "negative" in reasons[5]
    assert "More digits" in reasons[6]
    assert "Invalid read time" in reasons[7]
    assert MeterRead.objects.count() == 1
    read = MeterRead.objects.get()
    assert read.value == Decimal("120.50") and read.quantity == Decimal("120.500")


def test_replay_with_same_value_is_a_duplicate_and_with_another_value_a_conflict(installed, capture):
    """Given a read already received, when the same key is sent again with the same value, then it is a harmless
    duplicate; with another value it is a conflict: an exception to review, the stored value unchanged."""
    meter = installed()
    record = {
        "meter": meter.asset_no,
        "register": "active_total",
        "read_at": at("2026-10-15"),
        "value": "200",
    }
    assert capture([record])[0]["status"] == "accepted"
    assert capture([record])[0]["status"] == "duplicate"
    conflict = capture([{**record, "value": "250"}])[0]
    assert conflict["status"] == "conflict" and conflict["exceptions"] == ["conflicting_replay"]
    read = MeterRead.objects.get()
    assert read.value == Decimal("200.00") and read.status == MeterRead.Status.HELD
    exception = ReadException.objects.get(rule="conflicting_replay")
    assert exception.proposed_value == Decimal("250.00") and exception.read == read


def test_same_key_twice_in_one_batch(installed, capture):
    meter = installed()
    record = {"meter": meter.asset_no, "register": "active_total", "read_at": at("2026-10-15"), "value": "10"}
    results = capture([record, record, {**record, "value": "11"}])
    assert [r["status"] for r in results] == ["accepted", "duplicate", "conflict"]
    assert MeterRead.objects.count() == 1


def test_rollover_at_the_registers_digits_with_the_multiplier(installed, capture):
    """Given a 4-digit register at 9990 and CT ratio 5, when 0010 is read, then the advance is 20 kWh × 5 = 100
    and a rollover warning is queued while the read stays billable."""
    meter = installed(register_digits=4, ct_ratio=5, initial={"active_total": "9990"})
    result = capture(
        [{"meter": meter.asset_no, "register": "active_total", "read_at": at("2026-10-15"), "value": "10"}]
    )
    assert result[0]["exceptions"] == ["rollover"]
    read = MeterRead.objects.get()
    assert read.quantity == Decimal("100.000") and read.status == MeterRead.Status.VALID


def test_reverse_running_blocks_the_read(installed, capture):
    meter = installed(initial={"active_total": "500"})
    result = capture(
        [{"meter": meter.asset_no, "register": "active_total", "read_at": at("2026-10-15"), "value": "400"}]
    )
    assert "reverse_running" in result[0]["exceptions"]
    assert MeterRead.objects.get().status == MeterRead.Status.HELD


def test_exchange_mid_period_counts_both_meters(installed, capture, system, make_meter):
    """Given a meter read at 500 in October and replaced on 10 November (old final 600, new initial 0, new CT 2),
    when the new meter reads 50 in November, then consumption = (600 − 500) × 1 + (50 − 0) × 2 = 200."""
    from gridcare.metering.actions import do_replace_meter

    old = installed(initial={"active_total": "100"})
    capture(
        [{"meter": old.asset_no, "register": "active_total", "read_at": at("2026-10-15"), "value": "500"}]
    )
    new = make_meter(ct_ratio=2)
    do_replace_meter(
        system,
        old,
        new,
        replaced_on=dt.date(2026, 11, 10),
        final_reads={"active_total": "600"},
        initial_reads={"active_total": "0"},
    )
    capture([{"meter": new.asset_no, "register": "active_total", "read_at": at("2026-11-25"), "value": "50"}])
    read = MeterRead.objects.get(meter=new)
    assert read.quantity == Decimal("200.000") and read.period == "2026-11"
    assert read.multiplier == 2


def test_field_condition_raises_a_meter_fault_work_order(installed, capture, staff, route_for):
    """Given a reader who finds a burnt meter on their route, when the read is captured with 烧表, then a
    meter-fault service application is registered for the service point."""
    from gridcare.service.models import WorkOrder

    meter = installed()
    route_for(meter)
    capture(
        [
            {
                "meter": meter.asset_no,
                "register": "active_total",
                "read_at": at("2026-10-15"),
                "value": "5",
                "condition": "烧表",
            }
        ],
        source="manual",
        actor=staff("cg_reader"),
    )
    order = WorkOrder.objects.get(service_point_id=meter.service_point_id)
    assert order.order_type == "application" and order.sub_type == "meter_fault"
    assert "烧表" in order.title


def test_door_closed_stores_nothing(installed, capture):
    meter = installed()
    result = capture(
        [
            {
                "meter": meter.asset_no,
                "register": "active_total",
                "read_at": at("2026-10-15"),
                "condition": "门闭无法抄表",
            }
        ]
    )
    assert result[0]["status"] == "no_access"
    assert not MeterRead.objects.exists()


def test_batch_limit(capture):
    from gridcare.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        capture([{}] * 5001)
