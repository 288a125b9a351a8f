"""Basic charge by demand (两部制按需量): the bill period's maximum demand from the interval store (real Parquet
files written by the ingest action), the 105 % overrun charged double, the provenance in the bill's inputs, and
the accounts without enough interval data listed with the reason."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from gridcare.billing.executors import start_run
from gridcare.billing.models import Bill, NotBilled
from gridcare.metering.actions import do_install_meter
from gridcare.metering.models import Meter
from gridcare.readings.actions.intervals import do_ingest_intervals
from tests.billing.conftest import PERIOD
from tests.billing.test_run import explained, stored
from tests.billing.test_screens_api import client_for
from tests.readings.conftest import interval_store_dir  # noqa: F401

pytestmark = pytest.mark.django_db

TWO_PART = "CN-LI-2PART-TOU"
#: the bill period of 2026-11 for an account on no route: the calendar month before (reading day 1)
START, END = dt.date(2026, 10, 1), dt.date(2026, 11, 1)
REGISTERS = {"active_peak": "400", "active_flat": "300", "active_valley": "200", "reactive_total": "100"}


@pytest.fixture
def two_part(customer, system, interval_store_dir) -> Any:  # noqa: F811
    """A large-industry account (400 kVA, contracted demand 200 kW) whose meter sends 15-minute data for ``days``
    of the bill period: 40 kWh per quarter-hour (160 kW) with one quarter of ``peak_kwh``."""

    def build(days: int, peak_kwh: str = "60", demand: str | None = "200") -> Any:
        account = customer(
            TWO_PART,
            REGISTERS,
            capacity="400",
            demand=demand,
            voltage="10kV",
            customer_class="large_industry",
        )
        meter = Meter.objects.get(reads__service_point__account=account, reads__register="active_peak")
        do_install_meter(
            system,
            meter,
            account.service_points.get(),
            installed_on=dt.date(2026, 1, 2),
            initial_reads={r: "0" for r in meter.registers},
        )
        if days:
            start = dt.datetime.combine(START, dt.time())
            stamps = [start + dt.timedelta(minutes=15 * n) for n in range(days * 96)]
            values = ["40"] * len(stamps)
            values[len(values) // 2] = peak_kwh
            frame = pl.DataFrame({"meter": [meter.asset_no] * len(stamps), "ts": stamps, "kwh": values})
            do_ingest_intervals(system, frame, source="file")
        return account

    return build


def test_the_demand_basic_charge_comes_from_the_interval_store(staff, two_part) -> None:
    # given a full month of intervals with one quarter at 60 kWh = 240 kW: above 105 % of 200 kW by 30 kW
    account = two_part(days=31)
    # when the period is billed
    run = start_run(staff("billing"), period=PERIOD)
    # then the basic charge is the contracted 200 kW × 32 元 plus the 30 kW overrun at double price
    bill = Bill.objects.get(run=run, account=account)
    lines = stored(bill)
    assert lines["basic_demand"] == Decimal("6400.00")
    assert lines["basic_demand_excess"] == Decimal("1920.00")
    assert lines == explained(bill)  # the explain mode (the independent oracle) agrees to the fen
    assert bill.inputs["max_demand"] == {
        "kw": "240.000",
        "source": "interval",
        "at": bill.inputs["max_demand"]["at"],
        "coverage_pct": "100.0",
    }
    assert bill.inputs["usages"][0]["max_demand_kw"] == "240.000"
    excess = bill.lines.get(code="basic_demand_excess")
    assert excess.unit_price == Decimal("64.000000") and excess.unit == "kW"
    # the bill page says where the demand comes from, in Chinese
    page = client_for(staff("billing")).get(f"/billing/bills/{bill.pk}/").content.decode()
    assert "最大需量" in page and "240.000 kW（取自负荷曲线，数据覆盖率 100.0 %）" in page


def test_a_demand_within_the_contract_has_no_overrun(staff, two_part) -> None:
    account = two_part(days=31, peak_kwh="52")  # 208 kW ≤ 210 kW
    run = start_run(staff("billing"), period=PERIOD)
    bill = Bill.objects.get(run=run, account=account)
    assert bill.inputs["max_demand"]["kw"] == "208.000", bill.inputs
    assert "basic_demand_excess" not in stored(bill)
    assert stored(bill)["basic_demand"] == Decimal("6400.00")
    assert stored(bill) == explained(bill)


def test_accounts_without_enough_interval_data_are_not_billed_with_the_reason(staff, two_part) -> None:
    none = two_part(days=0)
    few = two_part(days=3)
    run = start_run(staff("billing"), period=PERIOD)
    reasons = {n.account_id: n for n in NotBilled.objects.filter(run=run)}
    assert reasons[none.pk].reason == NotBilled.Reason.MISSING_DEMAND
    assert "没有负荷曲线数据" in reasons[none.pk].detail
    assert reasons[few.pk].reason == NotBilled.Reason.MISSING_DEMAND
    assert "9.7%" in reasons[few.pk].detail and "90" in reasons[few.pk].detail
    assert not Bill.objects.filter(run=run).exists()


def test_the_coverage_needed_is_a_setting(staff, two_part, settings) -> None:
    settings.GRIDCARE_BILLING = {"DEMAND_MIN_COVERAGE_PCT": 5}
    few = two_part(days=3)
    run = start_run(staff("billing"), period=PERIOD)
    bill = Bill.objects.get(run=run, account=few)
    assert bill.inputs["max_demand"]["coverage_pct"] == "9.7"
    assert stored(bill) == explained(bill)


def test_capacity_billing_needs_no_interval_data(staff, two_part) -> None:
    account = two_part(days=0, demand=None)  # no contracted demand: the basic charge is by capacity
    run = start_run(staff("billing"), period=PERIOD)
    bill = Bill.objects.get(run=run, account=account)
    assert stored(bill)["basic_capacity"] == Decimal("9200.00")
    assert "max_demand" not in bill.inputs
