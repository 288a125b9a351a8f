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


@pytest.mark.parametrize("station", ["CG", "HX", "SNS"])
def test_the_billing_accountant_decides_exceptions_of_every_station(installed, capture, staff, station):
    """Issue #11 / POSITIONS.md: the company's 电费核算班 decides the reading exceptions of every unit it accounts
    for (its data scope is the company), whichever station the service point belongs to."""
    from gridcare.core.errors import InvalidInput
    from gridcare.readings.actions import do_accept_exception, do_order_reread
    from gridcare.readings.models import ReadException

    meter = installed(station=station, initial={"active_total": "500"})
    capture(
        [{"meter": meter.asset_no, "register": "active_total", "read_at": at("2026-11-15"), "value": "400"}]
    )
    exception = ReadException.objects.get(rule="reverse_running")
    billing = staff("billing")
    assert restrict(ReadException.objects.all(), billing, write=True).filter(pk=exception.pk).exists()
    with pytest.raises(InvalidInput) as refused:  # no task: refused on its merits, not by the scope
        do_order_reread(billing, exception, reason="请补抄")
    assert "task" in refused.value.errors
    decided = do_accept_exception(billing, exception, reason="核实")
    assert decided.status == "accepted" and decided.decided_by == billing


def test_a_station_reader_cannot_act_on_another_stations_route(installed, route_for, staff, system, client):
    """cg_reader (城关供电所) neither opens nor posts to a route of 河西供电所, and cannot decide exceptions."""
    from gridcare.readings.actions import do_create_route
    from gridcare.readings.models import Route

    hx = installed(station="HX")
    route = do_create_route(
        system,
        number="HX-001",
        name="河西1段",
        org_unit=hx.service_point.org_unit,
        reader=staff("reader"),
        reading_day=15,
        service_points=[hx.service_point_id],
    )
    do_generate_plan(system, period="2026-11")
    client.force_login(staff("cg_reader"))
    assert client.get("/readings/exceptions/1/decide/").status_code == 403
    assert client.get(f"/readings/routes/{route.pk}/read/?period=2026-11").status_code == 404
    task = ReadingTask.objects.get(meter=hx)
    posted = client.post(
        f"/readings/routes/{route.pk}/read/", {"period": "2026-11", f"value-{task.pk}": "10"}
    )
    assert posted.status_code == 404 and not MeterRead.objects.filter(meter=hx).exists()
    assert Route.objects.filter(pk=route.pk).exists()
