"""An account whose service points are on different tariffs (用电地址电价不一致): one bill, each tariff group rated by
its own tariff from its own registers, lines labelled with their tariff, and the tier year counting only the
tiered (residential) part (RULES §2)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from gridcare.billing.executors import start_run
from gridcare.billing.models import Bill, BillFinding
from gridcare.billing.selectors import explain
from gridcare.customers.actions import do_create_service_point
from gridcare.readings.models import MeterRead
from tests.billing.conftest import PERIOD
from tests.billing.test_run import explained

pytestmark = pytest.mark.django_db

TOU = "CN-SH-GIC-TOU"
SHOP = {"active_peak": "400", "active_flat": "350", "active_valley": "250"}


def summed(bill: Bill) -> dict[str, Decimal]:
    """The stored amount per line code, the tariffs' lines of one code added up."""
    out: dict[str, Decimal] = {}
    for line in bill.lines.all():
        out[line.code] = out.get(line.code, Decimal("0.00")) + line.amount
    return out


@pytest.fixture
def mixed(customer, system, make_meter) -> Any:
    """A household (Zhejiang annual tiers) whose account also has a shop on the Shanghai general TOU tariff."""

    def read(point: Any, meter: Any, period: str, quantities: dict[str, str]) -> None:
        year, month = (int(x) for x in period.split("-"))
        for register, quantity in quantities.items():
            MeterRead.objects.create(
                meter=meter,
                register=register,
                read_at=timezone.make_aware(dt.datetime(year, month, 1, 11)),
                value=Decimal(1000),
                source="headend",
                service_point=point,
                period=period,
                quantity=Decimal(quantity),
                status="valid",
            )

    def build(home: dict[str, str], period: str = PERIOD) -> Any:
        account = customer("CN-ZJ-RES-TIERED", home, period=period)
        shop = do_create_service_point(
            system,
            account=account,
            address="城关镇幸福路1号商铺",
            voltage_level="220V",
            customer_class="commercial",
            tariff_code=TOU,
            capacity_kva=Decimal(20),
            expected_monthly_kwh=Decimal(1000),
            valid_from=dt.date(2026, 1, 1),
        )
        meter = make_meter(registers=["active_total", *SHOP])
        read(shop, meter, period, SHOP)
        account.shop, account.shop_meter, account.read = shop, meter, read
        return account

    return build


def test_each_tariff_group_is_billed_by_its_own_tariff_in_one_bill(staff, mixed) -> None:
    account = mixed({"active_total": "300"})
    run = start_run(staff("billing"), period=PERIOD)
    assert run.not_billed == 0
    bill = Bill.objects.get(run=run, account=account)
    # both tariffs' lines, each labelled with its tariff, and the explain mode agrees to the fen
    assert bill.tariff_code == f"CN-ZJ-RES-TIERED/{TOU}"
    assert summed(bill) == explained(bill)
    assert explain(bill).matches
    codes = {ln.code: ln.label for ln in bill.lines.all()}
    assert codes["energy_tier1"].startswith("【") and "阶梯" in codes["energy_tier1"]
    assert {"energy_peak", "energy_flat", "energy_valley"} <= set(codes)
    assert bill.energy_kwh == Decimal("1300")
    assert bill.tier_kwh == Decimal("300")  # only the household's kWh count in the tier year
    assert [g["tariff"] for g in bill.inputs["groups"]] == ["CN-ZJ-RES-TIERED", TOU]
    # the residential part alone: 300 kWh in tier 1 at 0.538
    assert sum(ln.amount for ln in bill.lines.filter(code="energy_tier1")) == Decimal("161.40")
    # a mixed account is not a tariff change in the period
    assert not BillFinding.objects.filter(bill=bill, rule="tariff_change").exists()


def test_the_tier_year_counts_only_the_tiered_part(staff, mixed) -> None:
    account = mixed({"active_total": "2700"}, period="2026-10")
    october = Bill.objects.get(run=start_run(staff("billing"), period="2026-10"), account=account)
    assert (october.energy_kwh, october.tier_kwh) == (Decimal("3700"), Decimal("2700"))
    home = account.service_points.exclude(pk=account.shop.pk).get()
    home_meter = MeterRead.objects.filter(service_point=home).first().meter
    account.read(home, home_meter, PERIOD, {"active_total": "300"})
    account.read(account.shop, account.shop_meter, PERIOD, SHOP)
    bill = Bill.objects.get(run=start_run(staff("billing"), period=PERIOD), account=account)
    # 2,700 kWh of the household earlier in the year (the shop's 1,000 do not count): 60 in tier 1, 240 in tier 2
    assert bill.tier_ytd_kwh == Decimal("2700")
    lines = summed(bill)
    assert (lines["energy_tier1"], lines["energy_tier2"]) == (Decimal("32.28"), Decimal("141.12"))
    assert lines == explained(bill)
    assert explain(bill).tier_after == Decimal("3000")
