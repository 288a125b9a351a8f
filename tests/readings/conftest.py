"""Builders of the readings tests: installed meters at service points and a route read by cg_reader."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from tests.customers.conftest import counts, make_meter, make_point, system, unit  # noqa: F401


def at(day: str, hour: int = 10) -> dt.datetime:
    """A local (Asia/Shanghai) read time on ``day`` (YYYY-MM-DD)."""
    return timezone.make_aware(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour)))


@pytest.fixture
def installed(system, make_point, make_meter) -> Callable[..., Any]:  # noqa: F811
    """A meter installed at a new service point (station CG) with its initial reads."""
    from gridcare.metering.actions import do_install_meter

    def build(
        *,
        on: str = "2026-06-01",
        initial: dict[str, str] | None = None,
        station: str = "CG",
        **meter: Any,
    ) -> Any:
        registers = meter.pop("registers", None) or ["active_total"]
        point = make_point(station)
        device = make_meter(registers=registers, **meter)
        reads = initial or {r: "0" for r in registers}
        do_install_meter(system, device, point, installed_on=dt.date.fromisoformat(on), initial_reads=reads)
        device.refresh_from_db()
        return device

    return build


@pytest.fixture
def route_for(system, unit, staff) -> Callable[..., Any]:  # noqa: F811
    """A route at station CG read by cg_reader, with the given meters' service points in that order."""
    from gridcare.readings.actions import do_create_route

    counter = iter(range(1, 1000))

    def build(*meters: Any, reader: str = "cg_reader", **extra: Any) -> Any:
        n = next(counter)
        return do_create_route(
            system,
            number=f"CG-{n:03d}",
            name=f"城关{n}段",
            org_unit=unit("CG"),
            reader=staff(reader),
            reading_day=extra.pop("reading_day", 15),
            service_points=[m.service_point_id for m in meters],
            **extra,
        )

    return build


@pytest.fixture
def capture(system) -> Callable[..., Any]:  # noqa: F811
    """Capture records as ``actor`` (default: the system account) and return the results as dicts."""
    from gridcare.readings.actions import capture_reads

    def run(
        records: list[dict[str, Any]], *, source: str = "headend", actor: Any = None
    ) -> list[dict[str, Any]]:
        return [r.as_dict() for r in capture_reads(actor or system, records, source=source)]

    return run


@pytest.fixture(autouse=True)
def interval_store_dir(settings, tmp_path) -> Any:
    """Every readings test writes interval data to its own empty store."""
    settings.GRIDCARE_INTERVAL_STORE = tmp_path / "intervals"
    return settings.GRIDCARE_INTERVAL_STORE
