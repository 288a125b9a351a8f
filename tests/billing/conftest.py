"""Builders of the billing tests: the shipped tariffs, accounts on a tariff with validated reads for a period."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from tests.customers.conftest import counts, make_meter, make_point, system, unit  # noqa: F401
from tests.service.conftest import place, service_defaults  # noqa: F401

PERIOD = "2026-11"

#: real Celery workers and killed processes open the test database from other processes: PostgreSQL only (the
#: SQLite test database lives in this process's memory) — not collected on SQLite, never skipped
collect_ignore = (
    []
    if os.environ.get("DATABASE_URL", "").startswith("postgres")
    else ["test_workers.py", "test_chunk_overlap.py"]
)


@pytest.fixture
def tariffs(system):  # noqa: F811
    """The Chinese tariffs shipped with the engine, in the catalogue."""
    from gridcare.tariffs.defaults import load

    for _line in load(system):
        pass


@pytest.fixture
def customer(system, make_point, make_meter, tariffs) -> Callable[..., Any]:  # noqa: F811
    """An account billed on ``tariff`` (from 2026-01-02) with validated reads of ``registers`` in ``period``.

    The reads are written as VEE left them (valid, consumption set) — the readings tests cover how they get there.
    """
    from gridcare.customers.actions import do_change_tariff
    from gridcare.readings.models import MeterRead

    def build(
        tariff: str = "CN-ZJ-RES-TIERED",
        registers: dict[str, str] | None = None,
        *,
        period: str = PERIOD,
        station: str = "CG",
        capacity: str = "8",
        status: str = "valid",
        **point: Any,
    ) -> Any:
        sp = make_point(station, capacity=capacity, **point)
        do_change_tariff(system, sp, tariff_code=tariff, valid_from=dt.date(2026, 1, 2))
        quantities = registers if registers is not None else {"active_total": "300"}
        meter = make_meter(registers=list(dict.fromkeys(["active_total", *quantities])))
        year, month = (int(x) for x in period.split("-"))
        read_at = timezone.make_aware(dt.datetime(year, month, 1, 10))
        for register, quantity in quantities.items():
            MeterRead.objects.create(
                meter=meter,
                register=register,
                read_at=read_at,
                value=Decimal(1000),
                source="headend",
                service_point=sp,
                period=period,
                quantity=Decimal(quantity),
                status=status,
            )
        return sp.account

    return build
