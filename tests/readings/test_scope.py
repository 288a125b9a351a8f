"""Data scope: a reader sees and reads only their own routes; a station sees its own service points' reads."""

from __future__ import annotations

import pytest

from gridcare.core.access import restrict
from gridcare.readings.actions import do_generate_plan
from gridcare.readings.models import MeterRead, ReadingTask
from gridcare.readings.selectors import reader_tasks
from tests.readings.conftest import at

pytestmark = pytest.mark.django_db


def test_a_reader_sees_and_captures_only_their_own_routes(installed, route_for, capture, staff, system):
    mine, theirs = installed(), installed()
    route_for(mine, reader="cg_reader")
    route_for(theirs, reader="reader")
    do_generate_plan(system, period="2026-11")
    cg_reader = staff("cg_reader")
    assert set(reader_tasks(cg_reader, period="2026-11").values_list("meter_id", flat=True)) == {mine.pk}
    assert set(reader_tasks(staff("reader"), period="2026-11").values_list("meter_id", flat=True)) == {
        theirs.pk
    }
    other_task = ReadingTask.objects.get(meter=theirs)
    results = capture(
        [
            {"meter": mine.asset_no, "register": "active_total", "read_at": at("2026-11-15"), "value": "10"},
            {
                "meter": theirs.asset_no,
                "register": "active_total",
                "read_at": at("2026-11-15"),
                "value": "10",
            },
            {"task": other_task.pk, "read_at": at("2026-11-15"), "value": "10"},
        ],
        source="manual",
        actor=cg_reader,
    )
    assert [r["status"] for r in results] == ["accepted", "rejected", "rejected"]
    assert "outside your scope" in results[1]["reason"] and "outside your scope" in results[2]["reason"]
    assert ReadingTask.objects.get(meter=mine).status == ReadingTask.Status.VALIDATED


def test_a_reader_captures_by_task(installed, route_for, capture, staff, system):
    meter = installed(registers=["active_total", "active_peak"])
    route_for(meter)
    do_generate_plan(system, period="2026-11")
    task = ReadingTask.objects.get(meter=meter, register="active_peak")
    (result,) = capture(
        [{"task": task.pk, "read_at": at("2026-11-15"), "value": "7"}], actor=staff("cg_reader")
    )
    assert result["status"] == "accepted"
    assert MeterRead.objects.get().task == task


def test_station_scope_on_reads(installed, capture, staff):
    """Given reads at stations CG and HX, the CG station head sees only CG's; the billing team reads all."""
    cg, hx = installed(station="CG"), installed(station="HX")
    capture(
        [
            {"meter": m.asset_no, "register": "active_total", "read_at": at("2026-11-15"), "value": "10"}
            for m in (cg, hx)
        ]
    )
    assert set(restrict(MeterRead.objects.all(), staff("cg_head")).values_list("meter_id", flat=True)) == {
        cg.pk
    }
    assert set(restrict(MeterRead.objects.all(), staff("billing")).values_list("meter_id", flat=True)) == {
        cg.pk,
        hx.pk,
    }
