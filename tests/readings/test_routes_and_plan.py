"""Routes (抄表段) and the monthly plan: one task per register, meters exchanged in the period, idempotent."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from gridcare.core.errors import InvalidInput
from gridcare.readings.actions import (
    do_generate_plan,
    do_merge_routes,
    do_reorder_route,
    do_split_route,
)
from gridcare.readings.models import ReadingTask, Route, RouteStop

pytestmark = pytest.mark.django_db


def test_plan_has_one_task_per_register_and_a_second_run_creates_nothing(installed, route_for, system):
    """Given a route with a three-register meter and a one-register meter, when the November plan is generated,
    then there are four tasks due on the reading day, assigned to the reader; a second run creates none."""
    tou = installed(registers=["active_total", "active_peak", "active_valley"])
    plain = installed()
    route = route_for(tou, plain, reading_day=12)
    assert do_generate_plan(system, period="2026-11") == 4
    tasks = ReadingTask.objects.filter(route=route)
    assert tasks.count() == 4
    assert {t.due_date for t in tasks} == {dt.date(2026, 11, 12)}
    assert {t.reader.username for t in tasks} == {"cg_reader"}
    assert list(tasks.filter(meter=plain).values_list("sequence", flat=True)) == [2]
    assert do_generate_plan(system, period="2026-11") == 0
    assert ReadingTask.objects.count() == 4


def test_plan_covers_meters_exchanged_or_removed_in_the_period(installed, route_for, system, make_meter):
    """Given a meter replaced on 10 November and another removed on 5 November, when the plan for November is
    generated, then the old, the new and the removed meter each get a task; a meter removed in October none."""
    from gridcare.metering.actions import do_remove_meter, do_replace_meter

    old = installed()
    removed = installed()
    gone = installed()
    route = route_for(old, removed, gone)
    new = make_meter()
    do_replace_meter(
        system,
        old,
        new,
        replaced_on=dt.date(2026, 11, 10),
        final_reads={"active_total": "10"},
        initial_reads={"active_total": "0"},
    )
    do_remove_meter(system, removed, removed_on=dt.date(2026, 11, 5), final_reads={"active_total": "5"})
    do_remove_meter(system, gone, removed_on=dt.date(2026, 10, 5), final_reads={"active_total": "5"})
    do_generate_plan(system, period="2026-11")
    planned = dict(ReadingTask.objects.filter(route=route).values_list("meter_id", "status"))
    assert planned == {old.pk: "validated", new.pk: "pending", removed.pk: "validated"}  # removal reads count


def test_bimonthly_routes_are_read_in_even_months(installed, route_for, system):
    route_for(installed(), frequency=Route.Frequency.BIMONTHLY)
    assert do_generate_plan(system, period="2026-11") == 0
    assert do_generate_plan(system, period="2026-12") == 1


def test_bad_period_is_refused(system):
    with pytest.raises(InvalidInput):
        do_generate_plan(system, period="2026-13")


@pytest.mark.django_db(transaction=True)
def test_two_plan_runs_at_once_create_each_task_once(installed, route_for, system):
    """Given two plan runs started together, then each (period, meter, register) task exists exactly once."""
    from django.db import connection

    meters = [installed() for _ in range(3)]
    route_for(*meters)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            do_generate_plan(system, period="2026-11")
        except Exception as exc:  # the busy lock is an expected outcome of a concurrent run
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ReadingTask.objects.count() == 3
    assert all(type(e).__name__ in {"JobBusy", "OperationalError"} for e in errors)


def test_reorder_split_and_merge(installed, route_for, system):
    """Routes are re-ordered (walking order), split (some stops and their open tasks to a new route) and merged
    (the other route's stops appended, the other route retired)."""
    a, b, c = installed(), installed(), installed()
    route = route_for(a, b, c)
    do_generate_plan(system, period="2026-11")
    do_reorder_route(
        system, route, service_points=[c.service_point_id, a.service_point_id, b.service_point_id]
    )
    order = list(RouteStop.objects.filter(route=route).values_list("service_point_id", flat=True))
    assert order == [c.service_point_id, a.service_point_id, b.service_point_id]
    assert ReadingTask.objects.get(meter=c).sequence == 1
    with pytest.raises(InvalidInput):
        do_reorder_route(system, route, service_points=[a.service_point_id])
    new = do_split_route(system, route, service_points=[a.service_point_id], number="CG-900", name="拆出段")
    assert list(new.stops.values_list("service_point_id", flat=True)) == [a.service_point_id]
    assert ReadingTask.objects.get(meter=a).route == new
    assert list(route.stops.order_by("sequence").values_list("sequence", flat=True)) == [1, 2]
    do_merge_routes(system, route, new)
    new.refresh_from_db()
    assert not new.active
    assert list(route.stops.order_by("sequence").values_list("service_point_id", flat=True)) == [
        c.service_point_id,
        b.service_point_id,
        a.service_point_id,
    ]
    assert ReadingTask.objects.get(meter=a).route == route


def test_a_service_point_is_on_one_route_only(installed, route_for):
    meter = installed()
    route_for(meter)
    with pytest.raises(InvalidInput):
        route_for(meter)


def test_reader_leave_hands_routes_to_the_successor(installed, route_for, system, staff):
    """Given cg_reader's route, when cg_reader leaves with reader as successor, then the route is reader's."""
    from gridcare.org.actions import do_staff_leave

    route = route_for(installed())
    do_staff_leave(system, staff("cg_reader"), successor=staff("reader"), left_on=dt.date(2026, 12, 1))
    route.refresh_from_db()
    assert route.reader.username == "reader"
