"""Issue #11 point 5: the reader's and the billing accountant's KPIs and to-dos, computed from the reading tasks,
reads and exceptions of a small November, inside the viewer's data scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from gridcare.readings import workbench
from gridcare.readings.actions import do_estimate, do_generate_plan, do_order_reread
from gridcare.readings.models import MeterRead, ReadException, ReadingTask
from gridcare.web.workbench import Month, kpi_registry, todos_for
from tests.readings.conftest import at

pytestmark = pytest.mark.django_db

NOVEMBER = Month(2026, 11)
OCTOBER = Month(2026, 10)


@pytest.fixture
def today(monkeypatch) -> Any:
    """The clock of the KPIs: 2026-11-22 12:00 in Shanghai."""
    moment = at("2026-11-22", 12)
    monkeypatch.setattr(workbench, "_now", lambda: moment)
    return moment


def read(capture, meter, day: str, value: str, **extra: Any) -> None:
    (result,) = capture(
        [{"meter": meter.asset_no, "register": "active_total", "read_at": at(day), "value": value, **extra}],
        source="manual",
    )
    assert result["status"] in ("accepted", "no_access"), result


@pytest.fixture
def november(installed, route_for, capture, system, staff, today) -> dict[str, Any]:
    """cg_reader's route A (reading day 15, billing day 20) with five meters and route C (reading day 25,
    billing day 30) with one; reader's route B (day 15) with one, all at station CG.

    A: m1 read on the 15th (on time); m2 on the 18th (3 days late); m3 门闭 (no read); m4 read on the 14th
    running backwards, re-read ordered on the 16th; m7 read on the 15th running backwards, still open.
    C: m5 read early on the 21st running backwards, open (its billing day is ahead). B: m6 read on the 15th.
    """
    m1, m2, m3 = installed(), installed(), installed()
    m4, m7, m5 = (installed(initial={"active_total": "500"}) for _ in range(3))
    m6 = installed()
    route_for(m1, m2, m3, m4, m7)
    route_for(m5, reading_day=25)
    route_for(m6, reader="reader")
    do_generate_plan(system, period="2026-11")
    read(capture, m1, "2026-11-15", "120")
    read(capture, m2, "2026-11-18", "90")
    read(capture, m3, "2026-11-15", "", condition="no_access")
    read(capture, m4, "2026-11-14", "400")
    read(capture, m7, "2026-11-15", "400")
    read(capture, m5, "2026-11-21", "400")
    read(capture, m6, "2026-11-15", "80")
    # exceptions are raised when the read arrives
    for exception in ReadException.objects.select_related("read"):
        ReadException.objects.filter(pk=exception.pk).update(created_at=exception.read.read_at)
    m4_exception = ReadException.objects.get(read__meter=m4, rule="reverse_running")
    do_order_reread(staff("billing"), m4_exception, reason="示数低于上月，请补抄")
    ReadException.objects.filter(read__meter=m4).update(decided_at=at("2026-11-16"))
    return {"m1": m1, "m2": m2, "m3": m3, "m4": m4, "m5": m5, "m6": m6, "m7": m7}


def kpi(code: str, user: Any, unit: Any = None, month: Month = NOVEMBER) -> Any:
    return kpi_registry()[code].compute(user, unit, month)


def test_the_exceptions_of_the_fixture(november) -> None:
    """The fixture's exceptions are what the KPIs below count: three reverse-running reads (m4 decided) and the
    reads of m2 and m5 outside the reading window (warnings)."""
    found = sorted(
        (e.read.meter.asset_no, e.rule, e.status) for e in ReadException.objects.select_related("read__meter")
    )
    assert found == sorted(
        [
            (november["m4"].asset_no, "reverse_running", "reread_ordered"),
            (november["m7"].asset_no, "reverse_running", "open"),
            (november["m5"].asset_no, "reverse_running", "open"),
            (november["m5"].asset_no, "outside_window", "open"),
            (november["m2"].asset_no, "outside_window", "open"),
        ]
    )


def test_reader_kpis_count_their_own_routes(november, staff, unit) -> None:
    """Tasks due by the 22nd: m1, m2, m3, m4, m7 (m5's reading day, the 25th, is ahead).
    On time (±2 days of the 15th, not an estimate): m1, m4, m7 → 3/5. Actual read standing: m1, m2, m7 → 3/5
    (m3 门闭, m4 sent back). Reads found wrong: m4 of the month's five (m1, m2, m4, m5, m7) → 1/5. Follow-up within 3 days: of the
    exceptions due (m4 decided in 2 days; m7 and m2 open for more than 3 days; m5's two raised yesterday are not
    due yet) → 1/3."""
    cg_reader = staff("cg_reader")
    assert kpi("on_time_reading", cg_reader) == Decimal("60.0")
    assert kpi("actual_read_rate", cg_reader) == Decimal("60.0")
    assert kpi("reading_accuracy", cg_reader) == Decimal("20.0")
    assert kpi("anomaly_follow_up", cg_reader) == Decimal("33.3")
    # nothing was due in October
    assert kpi("on_time_reading", cg_reader, month=OCTOBER) is None


def test_a_station_reader_sees_only_own_routes(november, staff, unit) -> None:
    """The station's figure for cg_reader stays their own routes; the other reader's route on the same station
    counts for them and for the company-wide billing team."""
    station = unit("CG")
    assert kpi("on_time_reading", staff("cg_reader"), station) == Decimal("60.0")
    assert kpi("on_time_reading", staff("reader")) == Decimal("100.0")
    assert kpi("actual_read_rate", staff("reader")) == Decimal("100.0")
    assert kpi("on_time_reading", staff("billing"), station) == Decimal("66.7")  # 4 of 6


def test_billing_kpi_counts_exceptions_open_at_their_billing_day(november, staff, unit) -> None:
    """Blocking exceptions of November: m7 open past route A's billing day (the 20th), m5 open before route C's
    (the 30th); m4 was decided on the 16th. Warnings (m2 outside the window) do not hold billing."""
    company = unit("GC")
    assert kpi("exceptions_before_billing", staff("billing"), company) == 2
    assert kpi("exceptions_before_billing", staff("billing"), company, OCTOBER) == 0


def test_todos_of_the_reader_and_the_billing_accountant(november, staff, monkeypatch) -> None:
    """On the 15th cg_reader's route A is today's route (3 of its 5 tasks done); m4's re-read is back with
    them. On the 22nd the billing accountant has m5 to decide before the nearest billing day, the 30th."""
    monkeypatch.setattr(workbench, "_now", lambda: at("2026-11-15", 8))
    todos = {t.code: t for t in todos_for(staff("cg_reader"))}
    assert todos["readings.today"].count == 1
    (text, url, _due), *_ = todos["readings.today"].items
    # m1, m2, m7 read; m4 sent back for a re-read and m3 (门闭) still to do
    assert text.endswith("：已抄 3 / 5") and url.endswith("/read/?period=2026-11")
    assert todos["readings.reread"].count == 1
    assert november["m4"].service_point.number in todos["readings.reread"].items[0][0]
    assert {t.code for t in todos_for(staff("reader"))} >= {"readings.today"}
    assert {t.code: t.count for t in todos_for(staff("reader"))}["readings.reread"] == 0

    monkeypatch.setattr(workbench, "_now", lambda: at("2026-11-22", 12))
    billing = {t.code: t for t in todos_for(staff("billing"))}
    ahead = billing["readings.before_billing"]
    assert ahead.count == 1 and str(ahead.label) == "计费前待处理的抄表异常（最近计费日 2026-11-30）"
    assert ahead.items[0][2].date() == dt.date(2026, 11, 30)
    assert "status=open" in ahead.url and "severity=block" in ahead.url
    assert "readings.today" not in {t.code for t in todos_for(staff("billing"))}


def test_estimates_awaiting_approval(installed, route_for, capture, system, staff, today) -> None:
    """An estimate made on the 22nd by the manager waits for another person: one on the billing accountant's
    workbench (KPI and to-do), none once approved."""
    from gridcare.readings.actions import do_approve_estimate

    meter = installed(initial={"active_total": "0"})
    route_for(meter)
    do_generate_plan(system, period="2026-11")
    for day, value in (("2026-08-15", "100"), ("2026-09-15", "200"), ("2026-10-15", "300")):
        capture([{"meter": meter.asset_no, "register": "active_total", "read_at": at(day), "value": value}])
    capture(
        [{"meter": meter.asset_no, "register": "active_total", "read_at": at("2026-11-15"), "value": "250"}]
    )
    exception = ReadException.objects.get(rule="reverse_running")
    do_estimate(staff("manager"), exception, method="average_last_three", reason="倒走，按近三期平均估抄")
    ReadException.objects.filter(pk=exception.pk).update(decided_at=at("2026-11-22", 9))
    billing = staff("billing")
    assert kpi("estimates_awaiting_approval", billing, staff("billing").org_unit.parent.parent) == 1
    todo = {t.code: t for t in todos_for(billing)}["readings.estimates"]
    assert todo.count == 1 and todo.items[0][1].endswith(f"/exceptions/{exception.pk}/approve/")
    do_approve_estimate(billing, exception, reason="核对无误")
    assert kpi("estimates_awaiting_approval", billing, staff("billing").org_unit.parent.parent) == 0
    assert ReadingTask.objects.get(meter=meter, period="2026-11").status == ReadingTask.Status.VALIDATED
    exception.refresh_from_db()
    assert MeterRead.objects.get(pk=exception.estimate_id).status == MeterRead.Status.VALID
