"""Interval aggregates for billing and screens on a known fixture, collection rate, the interval-based estimate and
the screens (Chinese, with units)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from django.test import Client

from gridcare.core.errors import InvalidInput
from gridcare.customers.models import ServicePoint
from gridcare.readings import interval_selectors as iv
from gridcare.readings.actions import do_approve_estimate, do_estimate
from gridcare.readings.actions.intervals import do_ingest_intervals
from gridcare.readings.models import MeterRead, ReadException
from gridcare.readings.workbench import data_collection_rate, failing_meter_days
from gridcare.web.workbench import Month
from tests.readings.conftest import at

pytestmark = pytest.mark.django_db

TUESDAY = dt.date(2026, 11, 10)
SATURDAY = dt.date(2026, 11, 14)
TOU = "CN-SH-GIC-TOU"  # November: valley 22–06, flat 06–08 11–18 21–22, peak 08–11 18–21


def quarters(day: dt.date, values: list[str], meter: str) -> pl.DataFrame:
    start = dt.datetime.combine(day, dt.time())
    return pl.DataFrame(
        {
            "meter": [meter] * len(values),
            "ts": [start + dt.timedelta(minutes=15 * n) for n in range(len(values))],
            "kwh": values,
        }
    )


@pytest.fixture
def tou_tariff(system) -> str:
    from gridcare.tariffs.actions import do_import_tariff
    from gridcare.tariffs.defaults import shipped_documents

    do_import_tariff(system, next(d for d in shipped_documents() if d["code"] == TOU))
    return TOU


@pytest.fixture
def known(installed, system, tou_tariff) -> Any:
    """Tuesday: 1 kWh every quarter-hour but 3 kWh at 10:00; Saturday: 0.5 kWh every quarter-hour."""
    meter = installed()
    ServicePoint.objects.filter(pk=meter.service_point_id).update(tariff_code=tou_tariff)
    tuesday = ["1"] * 96
    tuesday[40] = "3"
    frame = pl.concat(
        [quarters(TUESDAY, tuesday, meter.asset_no), quarters(SATURDAY, ["0.5"] * 96, meter.asset_no)]
    )
    do_ingest_intervals(system, frame, source="file")
    return meter


def test_aggregates_are_exact_on_a_known_fixture(known):
    account = known.service_point.account_id
    assert iv.daily_kwh(account, "2026-11") == [(TUESDAY, Decimal("98.000")), (SATURDAY, Decimal("48.000"))]
    assert iv.monthly_kwh([account], ["2026-11"]) == {(account, "2026-11"): Decimal("146.000")}
    assert iv.monthly_max_demand([account], ["2026-11"]) == {(account, "2026-11"): Decimal("12.000")}
    month = iv.account_month_quantities([account], "2026-11")[account]
    assert month.kwh == Decimal("146.000") and month.max_demand_kw == Decimal("12.000")
    assert month.max_demand_at == dt.datetime(2026, 11, 10, 2, 0, tzinfo=dt.UTC)  # 10:00 local
    assert month.tou_kwh == {
        "valley": Decimal("48.000"),
        "flat": Decimal("60.000"),
        "peak": Decimal("38.000"),
    }
    assert sum(month.tou_kwh.values()) == month.kwh
    assert month.load_factor == Decimal("25.3")  # (146 / 192) / 3
    assert (month.received, month.expected) == (192, 30 * 96)


def test_curves_for_the_screens(known):
    account = known.service_point.account_id
    curve = iv.day_curve(account, TUESDAY)
    assert len(curve) == 96 and curve[0] == Decimal("4.000") and curve[40] == Decimal("12.000")
    typical = iv.typical_curves(account, "2026-11")
    assert typical["weekday"][40] == Decimal("12.00") and typical["weekend"][40] == Decimal("2.00")
    assert iv.day_curve(account, dt.date(2026, 11, 11)) == [None] * 96


def test_collection_rate_per_unit_and_day_counts_silent_meters(installed, system, staff, unit):
    """Meter A sends two full days, meter B half of the first day and nothing on the second: 75 % and 50 %."""
    a, b = installed(), installed()
    following = TUESDAY + dt.timedelta(days=1)
    do_ingest_intervals(
        system,
        pl.concat(
            [
                quarters(TUESDAY, ["1"] * 96, a.asset_no),
                quarters(following, ["1"] * 96, a.asset_no),
                quarters(TUESDAY, ["1"] * 48, b.asset_no),
            ]
        ),
        source="api",
    )
    rows = iv.collection_rates(staff("load"), TUESDAY, following, unit=unit("CG"))
    assert [(r.unit.code, r.day, r.meters, r.rate) for r in rows] == [
        ("CG", TUESDAY, 2, Decimal("75.0")),
        ("CG", following, 2, Decimal("50.0")),
    ]
    assert iv.collection_rates(staff("key_account"), TUESDAY, following) == []  # none of its accounts
    # the KPI of November (days from the first data to the 30th): 240 of 21 × 2 × 96 intervals
    assert data_collection_rate(staff("load"), unit("CG"), Month(2026, 11)) == Decimal("6.0")
    # the load team (负荷管理班) holds no service points: its figure covers every point it reads
    assert data_collection_rate(staff("load"), unit("FH"), Month(2026, 11)) == Decimal("6.0")
    assert data_collection_rate(staff("load"), unit("CG"), Month(2026, 10)) is None  # nothing expected yet


def test_failing_meter_days_are_the_load_managers_todo(installed, system, staff):
    meter = installed()
    yesterday = dt.date.today() - dt.timedelta(days=1)
    do_ingest_intervals(system, quarters(yesterday, ["1"] * 90, meter.asset_no), source="api")
    (todo,) = failing_meter_days(staff("load"))
    assert todo.count == 1 and meter.asset_no in todo.items[0][0]
    assert failing_meter_days(staff("metering")) == []  # reads interval data, does not follow up collection


# ------------------------------------------------------------------------------------------------ estimate
@pytest.fixture
def reversed_with_intervals(installed, capture, system) -> MeterRead:
    """October 15 reads 100, November 15 reads 50 (reverse running); the month between has 0.25 kWh a quarter."""
    meter = installed(initial={"active_total": "0"})
    for day, value in (("2026-10-15", "100"), ("2026-11-15", "50")):
        capture([{"meter": meter.asset_no, "register": "active_total", "read_at": at(day), "value": value}])
    start = dt.datetime(2026, 10, 15, 10)
    count = 31 * 96
    do_ingest_intervals(
        system,
        pl.DataFrame(
            {
                "meter": [meter.asset_no] * count,
                "ts": [start + dt.timedelta(minutes=15 * n) for n in range(count)],
                "kwh": ["0.25"] * count,
            }
        ),
        source="file",
    )
    return MeterRead.objects.get(meter=meter, period="2026-11")


def test_interval_estimate_sums_the_periods_intervals_and_needs_approval(reversed_with_intervals, staff):
    from gridcare.org.selectors import system_actor

    exception = ReadException.objects.get(read=reversed_with_intervals, rule="reverse_running")
    estimate = do_estimate(
        staff("manager"), exception, method="interval_data", reason="表计倒走，按负荷曲线估抄"
    )
    assert estimate.quantity == Decimal("744.000")  # 31 days × 96 × 0.25 kWh
    assert estimate.value == Decimal("844.00") and estimate.status == MeterRead.Status.ESTIMATED
    assert estimate.source == MeterRead.Source.ESTIMATE
    do_approve_estimate(system_actor(), exception)
    estimate.refresh_from_db()
    assert estimate.status == MeterRead.Status.VALID


def test_interval_estimate_refused_without_enough_intervals(installed, capture, system, staff):
    meter = installed(initial={"active_total": "0"})
    for day, value in (("2026-10-15", "100"), ("2026-11-15", "50")):
        capture([{"meter": meter.asset_no, "register": "active_total", "read_at": at(day), "value": value}])
    do_ingest_intervals(system, quarters(dt.date(2026, 10, 20), ["1"] * 96, meter.asset_no), source="api")
    exception = ReadException.objects.get(read__period="2026-11", rule="reverse_running")
    with pytest.raises(InvalidInput, match="Not enough interval data"):
        do_estimate(staff("manager"), exception, method="interval_data", reason="试估")
    exception.refresh_from_db()
    assert exception.status == ReadException.Status.OPEN


# ------------------------------------------------------------------------------------------------ screens
def client_for(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def test_customer_tab_shows_the_curves_in_chinese_with_units(known, staff):
    customer = known.service_point.account.customer_id
    page = (
        client_for(staff("load")).get(f"/customers/{customer}/tab/intervals/?day=2026-11-10").content.decode()
    )
    for text in (
        "146.000 kWh",
        "12.000 kW",
        "25.3 %",
        "高峰",
        "平段",
        "低谷",
        "38.000 kWh",
        "26.0 %",
        "日负荷曲线",
        "典型日负荷曲线",
    ):
        assert text in page, text
    assert 'data-interval-chart="day"' in page and 'id="interval-data"' in page
    full = client_for(staff("load")).get(f"/customers/{customer}/?tab=intervals").content.decode()
    assert "用电曲线/负荷" in full and "146.000 kWh" in full
    # a position without interval.view has no such tab
    assert "用电曲线/负荷" not in client_for(staff("cg_rep")).get(f"/customers/{customer}/").content.decode()


def test_load_managers_screens(installed, system, staff):
    meter = installed()
    do_ingest_intervals(system, quarters(TUESDAY, ["1"] * 48, meter.asset_no), source="api")
    client = client_for(staff("load"))
    page = client.get("/readings/intervals/?day_from=2026-11-10&day_to=2026-11-11").content.decode()
    assert "采集监测" in page and "城关供电所" in page and "50.0 %" in page and "0.0 %" in page
    assert 'id="collection-data"' in page
    listing = client.get("/readings/intervals/days/?problem=gaps").content.decode()
    assert meter.asset_no in listing and "50.0 %" in listing and "48 / 96" in listing
    assert client.get("/readings/intervals/?day_from=2026-11-10&day_to=2026-01-01").status_code == 200
    assert client_for(staff("cg_rep")).get("/readings/intervals/").status_code == 403
