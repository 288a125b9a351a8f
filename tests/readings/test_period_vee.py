"""Period VEE (抄表期校核): the whole period validated set-based after the reading windows closed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from gridcare.core.errors import PermissionRefused
from gridcare.core.locks import JobBusy, job_lock
from gridcare.core.models import AuditEntry
from gridcare.readings.actions import (
    PeriodVeeResult,
    do_correct_exception,
    do_generate_plan,
    do_run_period_vee,
)
from gridcare.readings.models import MeterRead, ReadException, ReadingTask
from tests.concurrency import run_together, truly_concurrent
from tests.readings.conftest import at
from tests.service.test_concurrent_sweeps import in_other_connection

pytestmark = pytest.mark.django_db

AFTER_WINDOW = dt.date(2026, 12, 3)  # November's reading day is the 15th, the window closed on the 17th


def read(capture, meter, day: str, value: str, register: str = "active_total") -> None:
    result = capture([{"meter": meter.asset_no, "register": register, "read_at": at(day), "value": value}])
    assert result[0]["status"] == "accepted", result


@pytest.fixture
def november(installed, route_for, capture, system):
    """Three meters on one route, read Aug–Oct at 100 kWh a month; in November one reads normally, one surges
    (400 kWh) and one is not read at all."""
    meters = [installed(initial={"active_total": "0"}) for _ in range(3)]
    route = route_for(*meters)
    do_generate_plan(system, period="2026-11")
    for meter in meters:
        for day, value in (("2026-08-15", "100"), ("2026-09-15", "200"), ("2026-10-15", "300")):
            read(capture, meter, day, value)
    read(capture, meters[0], "2026-11-15", "400")
    read(capture, meters[1], "2026-11-15", "700")
    return route, meters


def test_missing_read_after_the_window_and_a_second_run_changes_nothing(november, system):
    """Given a route whose November window has closed with one task unread, when the period is validated, then
    a missing-read exception lands in the queue with the route, reader and rule, the surge raised at capture is
    not raised twice, and a second run raises, clears and updates nothing."""
    route, meters = november
    before = ReadException.objects.count()
    result = do_run_period_vee(system, "2026-11", today=AFTER_WINDOW)
    assert result.reads == 2 and result.missing == 1
    assert result.raised == {"missing_read": 1}
    missing = ReadException.objects.get(rule="missing_read")
    assert missing.read is None and missing.severity == "block" and missing.status == "open"
    assert missing.task.meter_id == meters[2].pk and missing.task.route == route
    assert missing.task.route.reader.username == "cg_reader"
    assert missing.task.status == ReadingTask.Status.PENDING  # still on the reader's list
    assert "缺抄" in missing.message
    assert ReadException.objects.count() == before + 1
    assert ReadException.objects.filter(rule="surge_previous").count() == 1

    again = do_run_period_vee(system, "2026-11", today=AFTER_WINDOW)
    assert again.raised == {} and again.cleared == 0 and again.reads_updated == 0 and again.tasks_updated == 0
    assert ReadException.objects.count() == before + 1


def test_no_missing_read_while_the_window_is_open(november, system):
    """Given the reading day plus the on-time tolerance (2 days) not yet past, then a pending task is no
    missing read."""
    result = do_run_period_vee(system, "2026-11", today=dt.date(2026, 11, 17))
    assert result.missing == 0 and "missing_read" not in result.raised
    assert do_run_period_vee(system, "2026-11", today=dt.date(2026, 11, 18)).raised == {"missing_read": 1}


def test_a_late_read_clears_the_missing_read(november, system, capture):
    route, meters = november
    do_run_period_vee(system, "2026-11", today=AFTER_WINDOW)
    read(capture, meters[2], "2026-11-25", "400")
    result = do_run_period_vee(system, "2026-11", today=AFTER_WINDOW)
    assert result.cleared == 1
    missing = ReadException.objects.get(rule="missing_read")
    assert missing.status == ReadException.Status.CLEARED and missing.decided_at is not None
    assert ReadException.objects.filter(rule="outside_window", read__meter=meters[2]).exists()


def test_revalidation_after_a_previous_period_correction(installed, route_for, capture, system, staff):
    """Given October read too high by mistake (900 instead of 300), November (400) runs backwards against it and
    is held. When October is corrected to 300, then the period run recomputes November's consumption from the
    corrected reading (100 kWh), clears its reverse-running exception and releases the read and its task."""
    meter = installed(initial={"active_total": "0"})
    route_for(meter)
    do_generate_plan(system, period="2026-11")
    for day, value in (
        ("2026-08-15", "100"),
        ("2026-09-15", "200"),
        ("2026-10-15", "900"),
        ("2026-11-15", "400"),
    ):
        read(capture, meter, day, value)
    november = MeterRead.objects.get(period="2026-11")
    assert november.status == MeterRead.Status.HELD
    october_surge = ReadException.objects.get(period="2026-10", rule="surge_previous")
    do_correct_exception(staff("manager"), october_surge, value="300", reason="抄错，按照片更正")

    result = do_run_period_vee(system, "2026-11", today=AFTER_WINDOW)
    november.refresh_from_db()
    assert november.quantity == Decimal("100.000") and november.status == MeterRead.Status.VALID
    assert november.task.status == ReadingTask.Status.VALIDATED
    reverse = ReadException.objects.get(period="2026-11", rule="reverse_running")
    assert reverse.status == ReadException.Status.CLEARED
    assert result.cleared == 1 and result.reads_updated == 1 and result.tasks_updated == 1
    assert AuditEntry.objects.filter(
        action="readings.run_period_vee", object_type="readings.meterread", object_id=str(november.pk)
    ).exists()


def test_exceptions_raised_by_the_period_run_land_in_the_queue(installed, route_for, capture, system):
    """Given November's TOU registers that do not add up to the total — sent in two batches, so capture could
    not compare them — when the period is validated, then one TOU-sum exception is raised on the total read,
    the read is held and its task moves to exception."""
    meter = installed(
        initial={"active_total": "0", "active_peak": "0", "active_valley": "0"},
        registers=["active_total", "active_peak", "active_valley"],
    )
    route_for(meter)
    do_generate_plan(system, period="2026-11")
    read(capture, meter, "2026-10-15", "100")
    read(capture, meter, "2026-10-15", "50", "active_peak")
    read(capture, meter, "2026-10-15", "50", "active_valley")
    read(capture, meter, "2026-11-15", "200")
    read(capture, meter, "2026-11-15", "60", "active_peak")
    read(capture, meter, "2026-11-15", "70", "active_valley")
    result = do_run_period_vee(system, "2026-11", today=AFTER_WINDOW)
    assert result.raised == {"tou_sum": 1}
    exception = ReadException.objects.get(rule="tou_sum")
    assert exception.read.register == "active_total" and exception.severity == "block"
    assert exception.task.route.reader.username == "cg_reader"
    total = exception.read
    assert total.status == MeterRead.Status.HELD and total.task.status == ReadingTask.Status.EXCEPTION


@pytest.mark.django_db(transaction=True)
def test_a_run_while_another_holds_the_lock_is_refused(november, system):
    """Given a run of the period holding its job lock, a second run is refused at once and writes nothing."""
    before = ReadException.objects.count()

    def second() -> object:
        try:
            return do_run_period_vee(system, "2026-11", today=AFTER_WINDOW)
        except JobBusy as busy:
            return busy

    with job_lock("readings.period_vee.2026-11"):
        outcome = in_other_connection(second) if truly_concurrent() else second()
    assert isinstance(outcome, JobBusy)
    assert ReadException.objects.count() == before
    assert not AuditEntry.objects.filter(action="readings.run_period_vee").exists()


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_one_does_the_work(november, system):
    """Given two runs of the period started together, then the missing read is raised once: one run does the
    work, the other is refused by the lock (or, run after it, finds nothing to do)."""
    results = run_together([lambda: do_run_period_vee(system, "2026-11", today=AFTER_WINDOW)] * 2)
    assert all(isinstance(r, (PeriodVeeResult, JobBusy)) for r in results), results
    assert sum(r.total_raised for r in results if isinstance(r, PeriodVeeResult)) == 1
    assert ReadException.objects.filter(rule="missing_read").count() == 1


def test_scope_and_permission(november, system, staff, unit):
    """A reader may not run it; a run limited to another station's unit checks nothing of CG."""
    with pytest.raises(PermissionRefused):
        do_run_period_vee(staff("cg_reader"), "2026-11", today=AFTER_WINDOW)
    elsewhere = [
        u
        for u in unit("CG").__class__.objects.exclude(path__startswith=unit("CG").path)
        if u.code != unit("CG").code
    ]
    other = next(u for u in elsewhere if not unit("CG").path.startswith(u.path))
    result = do_run_period_vee(system, "2026-11", org_unit=other, today=AFTER_WINDOW)
    assert result.reads == 0 and result.missing == 0 and result.raised == {}
    assert do_run_period_vee(system, "2026-11", org_unit=unit("CG"), today=AFTER_WINDOW).missing == 1


def test_cli_prints_what_it_did(november, monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: AFTER_WINDOW)
    out = StringIO()
    call_command("readings", "vee", "--period", "2026-11", "--unit", "CG", stdout=out)
    text = out.getvalue()
    assert "2026-11" in text and "校核示数 2 条" in text
    assert "缺抄 1 条" in text and "新增异常 1 条" in text and "秒" in text
    out = StringIO()
    call_command("readings", "vee", "--period", "2026-11", stdout=out)
    assert "新增异常 0 条" in out.getvalue()


def test_cli_refuses_a_bad_period_and_an_unknown_unit():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("readings", "vee", "--period", "2026-13")
    with pytest.raises(CommandError, match="NOPE"):
        call_command("readings", "vee", "--period", "2026-11", "--unit", "NOPE")


@pytest.mark.django_db(transaction=True)
def test_nightly_job_validates_the_routes_whose_window_closed_yesterday(november, system):
    """Given a route read on the 15th and a tolerance of 2 days, the window closes on the 17th: the job of the
    18th validates that route's November (the missing read lands), the job of the 17th does nothing, and a copy
    started while another holds the lock is skipped."""
    from celery import current_app

    from gridcare.readings.tasks import PERIOD_VEE, beat_schedule, closed_yesterday, run_closed_windows

    route, _meters = november
    assert beat_schedule()["readings-period-vee"]["task"] == PERIOD_VEE
    assert "readings-period-vee" in current_app.conf.beat_schedule
    assert closed_yesterday(dt.date(2026, 11, 18)) == ("2026-11", [route])
    assert run_closed_windows(dt.date(2026, 11, 17)) is None
    with job_lock("readings.period_vee.2026-11"):
        copy = lambda: run_closed_windows(dt.date(2026, 11, 18))  # noqa: E731
        assert (in_other_connection(copy) if truly_concurrent() else copy()) is None
    assert not ReadException.objects.filter(rule="missing_read").exists()
    result = run_closed_windows(dt.date(2026, 11, 18))
    assert result is not None and result.raised == {"missing_read": 1} and result.routes == 1


def test_bimonthly_route_takes_the_previous_reading_two_months_back(
    installed, route_for, capture, system, monkeypatch
):
    """Given a bi-monthly route read in June, August and October (200 kWh each time), when October is
    validated, then its previous reading is August's — found by the set-based load, not read by read — and
    nothing is raised."""
    from gridcare.readings import periodvee

    meter = installed(initial={"active_total": "0"})
    route_for(meter, frequency="bimonthly")
    do_generate_plan(system, period="2026-10")
    for day, value in (("2026-06-15", "200"), ("2026-08-15", "400"), ("2026-10-15", "600")):
        read(capture, meter, day, value)
    one_by_one: list[list[int]] = []
    original = periodvee._fallback_legs
    monkeypatch.setattr(periodvee, "_fallback_legs", lambda ids: one_by_one.append(ids) or original(ids))
    result = do_run_period_vee(system, "2026-10", today=dt.date(2026, 11, 5))
    assert one_by_one == [[]]
    assert result.reads == 1 and result.raised == {} and result.reads_updated == 0
    assert MeterRead.objects.get(period="2026-10").quantity == Decimal("200.000")


def test_first_read_of_a_new_meter_starts_from_its_installation_read(installed, route_for, capture, system):
    """Given a meter installed on 1 November at 50 kWh and first read on the 15th at 170, when November is
    validated, then its consumption is 120 kWh — the capture path's own start (the installation read), taken read
    by read for a read with no previous reading — and nothing changes."""
    meter = installed(on="2026-11-01", initial={"active_total": "50"})
    route_for(meter)
    do_generate_plan(system, period="2026-11")
    read(capture, meter, "2026-11-15", "170")
    result = do_run_period_vee(system, "2026-11", today=AFTER_WINDOW)
    assert result.reads == 1 and result.reads_updated == 0 and result.raised == {}
    assert MeterRead.objects.get(period="2026-11").quantity == Decimal("120.000")


def test_load_reads_the_live_reads_on_routes_in_scope_with_their_meter_route_and_capacity(
    november, installed, capture, system, unit
):
    """The set-based load (reads, stops, meters joined in Polars) equals the ORM's answer read by read; a read
    of a service point on no route is not loaded, in company scope as in a unit's."""
    from gridcare.customers.models import ServicePoint
    from gridcare.readings import periodvee
    from gridcare.readings.models import Route

    route, meters = november
    ServicePoint.objects.filter(pk=meters[0].service_point_id).update(capacity_kva=Decimal("12.5"))
    ServicePoint.objects.filter(pk=meters[1].service_point_id).update(capacity_kva=Decimal("0"))
    stray = installed(initial={"active_total": "0"})  # on no route
    read(capture, stray, "2026-11-15", "50")
    expected = sorted(
        (
            r.pk,
            r.service_point_id,
            r.meter_id,
            r.register,
            r.meter.register_digits,
            route.pk,
            int(r.value * 1000),
            int(r.service_point.capacity_kva * 1000) or None,  # 0: not recorded
        )
        for r in MeterRead.objects.filter(period="2026-11", meter__in=meters).select_related(
            "meter", "service_point"
        )
    )
    assert len(expected) == 2
    assert {row[-1] for row in expected} == {12_500, None}
    for routes in (Route.objects.all(), Route.objects.filter(org_unit=unit("CG"))):
        data = periodvee.load("2026-11", routes, missing_before=AFTER_WINDOW)
        loaded = sorted(
            data.reads.select(
                "read", "account", "meter", "register", "digits", "route", "value", "capacity"
            ).rows()
        )
        assert loaded == expected
        assert set(data.reads.columns) == set(periodvee.READ_SCHEMA)


def test_history_adds_up_an_exchange_months_two_meters_and_keeps_the_larger_multiplier():
    """One row per service point and period for the engine, whatever the order the rows came in."""
    import polars as pl

    from gridcare.readings import periodvee

    empty = pl.DataFrame()
    history = pl.DataFrame(
        {
            "account": [7, 3, 7, 3, 7],
            "period": ["2026-10", "2026-10", "2026-09", "2026-09", "2026-10"],
            "quantity": [100_000, 5_000, 90_000, 4_000, 20_000],
            "multiplier": [1, 1, 1, 2, 40],
        },
        schema=periodvee.HISTORY_SCHEMA,
    ).with_columns(pl.col("quantity").cast(pl.Int64))
    data = periodvee.PeriodData("2026-11", empty, empty, history, empty, empty, empty)
    rows = periodvee._history(data).sort("account", "period").rows()
    total = periodvee.TOTAL
    assert rows == [
        (3, total, dt.date(2026, 9, 1), 4_000, 2),
        (3, total, dt.date(2026, 10, 1), 5_000, 1),
        (7, total, dt.date(2026, 9, 1), 90_000, 1),
        (7, total, dt.date(2026, 10, 1), 120_000, 40),
    ]
    assert periodvee._history(
        periodvee.PeriodData("2026-11", empty, empty, history.clear(), empty, empty, empty)
    ).is_empty()
