"""Worked examples for every shipped Chinese tariff; expected numbers computed by hand (given/when/then)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gridcare.engine.rating import Bill, Usage, rate
from gridcare.engine.tariff import TariffError, load_shipped_tariff

D = Decimal


def amounts(bill: Bill) -> dict[str, Decimal]:
    return bill.by_code()


# ------------------------------------------------------------------ 浙江居民 年阶梯


def test_zhejiang_tiered_december_crosses_tier_1() -> None:
    """Given 2700 kWh billed January–November (tiers 2760 / 4800 kWh a year, 0.538 / 0.588 / 0.838),
    when December uses 500 kWh,
    then 60 kWh are left in tier 1: 60 × 0.538 = 32.28, and 440 kWh fall in tier 2:
    440 × 0.588 = 258.72; total 291.00.
    """
    t = load_shipped_tariff("zhejiang_residential_tiered")
    bill = rate(t, Usage(date(2025, 12, 1), date(2026, 1, 1), {"total": 500}, tier_ytd_kwh=2700))
    assert amounts(bill) == {"energy_tier1": D("32.28"), "energy_tier2": D("258.72")}
    assert [ln.quantity for ln in bill.lines] == [D("60.000"), D("440.000")]
    assert bill.total == D("291.00")


def test_zhejiang_tiered_crosses_into_tier_3() -> None:
    """Given 4700 kWh already billed in the tier year, when a month uses 300 kWh,
    then 100 kWh × 0.588 = 58.80 and 200 kWh × 0.838 = 167.60; total 226.40.
    """
    t = load_shipped_tariff("zhejiang_residential_tiered")
    bill = rate(t, Usage(date(2025, 10, 1), date(2025, 11, 1), {"total": 300}, tier_ytd_kwh=4700))
    assert amounts(bill) == {
        "energy_tier1": D("0.00"),
        "energy_tier2": D("58.80"),
        "energy_tier3": D("167.60"),
    }
    assert bill.total == D("226.40")


def test_zhejiang_tiered_move_in_prorates_annual_thresholds() -> None:
    """Given a move-in on 1 July 2025: active 184 of 365 days in the tier year, so the thresholds are
    2760 × 184 / 365 = 1391.3424… → 1391.342 kWh and 4800 × 184 / 365 = 2419.7260… → 2419.726 kWh
    (half-up to 0.001 kWh); 1300 kWh were billed July–October,
    when November uses 200 kWh,
    then tier 1 takes 1391.342 − 1300 = 91.342 kWh × 0.538 = 49.141996 → 49.14,
    tier 2 takes 108.658 kWh × 0.588 = 63.890904 → 63.89; total 113.03.
    """
    t = load_shipped_tariff("zhejiang_residential_tiered")
    usage = Usage(
        date(2025, 11, 1),
        date(2025, 12, 1),
        {"total": 200},
        tier_ytd_kwh=1300,
        tier_year_days=365,
        tier_active_days=184,
    )
    bill = rate(t, usage)
    assert [ln.quantity for ln in bill.lines] == [D("91.342"), D("108.658")]
    assert amounts(bill) == {"energy_tier1": D("49.14"), "energy_tier2": D("63.89")}
    assert bill.total == D("113.03")


# ------------------------------------------------------------------ 浙江居民 峰谷 + 年阶梯


def test_zhejiang_tou_then_tiers() -> None:
    """先峰谷后阶梯. Given 2600 kWh already billed in the tier year,
    when a month uses 300 kWh peak and 200 kWh valley (500 kWh; cumulative 3100),
    then the TOU lines are 300 × 0.568 = 170.40 and 200 × 0.288 = 57.60, and the 340 kWh above
    2760 carry the tier-2 surcharge 340 × 0.05 = 17.00; total 245.00
    (= the published tier prices: the same as pricing tier-2 kWh at 0.618 peak / 0.338 valley).
    """
    t = load_shipped_tariff("zhejiang_residential_tou_tiered")
    bill = rate(
        t, Usage(date(2025, 12, 1), date(2026, 1, 1), {"peak": 300, "valley": 200}, tier_ytd_kwh=2600)
    )
    assert amounts(bill) == {
        "energy_peak": D("170.40"),
        "energy_valley": D("57.60"),
        "tier_surcharge2": D("17.00"),
    }
    assert bill.total == D("245.00")


def test_zhejiang_tou_tier_3_surcharge() -> None:
    """Given 5000 kWh already billed (all further kWh in tier 3), when 100 kWh peak are used,
    then 100 × 0.568 = 56.80 plus the tier-3 surcharge 100 × 0.30 = 30.00 = 86.80 (= 100 × 0.868).
    """
    t = load_shipped_tariff("zhejiang_residential_tou_tiered")
    bill = rate(t, Usage(date(2025, 12, 1), date(2026, 1, 1), {"peak": 100}, tier_ytd_kwh=5000))
    assert amounts(bill) == {"energy_peak": D("56.80"), "tier_surcharge3": D("30.00")}
    assert bill.total == D("86.80")


# ------------------------------------------------------------------ 四川居民 月阶梯（分季）


def test_sichuan_summer_and_winter_thresholds() -> None:
    """Given tier 1 ≤ 260 kWh in July–September and ≤ 180 kWh otherwise (tier 2 ≤ 360 / 280),
    when July uses 300 kWh, then 260 × 0.5224 = 135.824 → 135.82 and 40 × 0.5724 = 22.896 → 22.90
    (total 158.72); when December uses 300 kWh, then 180 × 0.5224 = 94.032 → 94.03,
    100 × 0.5724 = 57.24 and 20 × 0.8224 = 16.448 → 16.45 (total 167.72).
    """
    t = load_shipped_tariff("sichuan_residential_seasonal")
    july = rate(t, Usage(date(2025, 7, 1), date(2025, 8, 1), {"total": 300}))
    assert amounts(july) == {"energy_tier1": D("135.82"), "energy_tier2": D("22.90")}
    assert july.total == D("158.72")
    december = rate(t, Usage(date(2025, 12, 1), date(2026, 1, 1), {"total": 300}))
    assert amounts(december) == {
        "energy_tier1": D("94.03"),
        "energy_tier2": D("57.24"),
        "energy_tier3": D("16.45"),
    }
    assert december.total == D("167.72")


def test_sichuan_partial_cycle_prorates_monthly_thresholds() -> None:
    """Given a move-in on 20 July (12 of the cycle's 31 days): thresholds 260 × 12/31 = 100.645161…
    → 100.645 kWh and 360 × 12/31 = 139.354838… → 139.355 kWh,
    when 150 kWh are used,
    then 100.645 × 0.5224 = 52.576948 → 52.58; 38.710 × 0.5724 = 22.157604 → 22.16;
    10.645 × 0.8224 = 8.754448 → 8.75; total 83.49.
    """
    t = load_shipped_tariff("sichuan_residential_seasonal")
    bill = rate(t, Usage(date(2025, 7, 20), date(2025, 8, 1), {"total": 150}, cycle_days=31))
    assert [ln.quantity for ln in bill.lines] == [D("100.645"), D("38.710"), D("10.645")]
    assert bill.total == D("83.49")


# ------------------------------------------------------------------ 一般工商业 峰谷 (Shanghai-style)


def test_shanghai_general_ic_july() -> None:
    """Given the 2025 prices (flat 0.68; critical 1.275, peak 1.02, valley 0.34) and a 50 kVA
    customer (below 100 kVA: no power-factor adjustment),
    when July uses 100 kWh critical, 1000 peak, 1500 flat, 2000 valley (4600 kWh),
    then energy = 127.50 + 1020.00 + 1020.00 + 680.00 = 2847.50 and the funds per kWh are
    4600 × 0.02 = 92.00, × 0.019 = 87.40, × 0.003 = 13.80, × 0.0062 = 28.52 (221.72); total 3069.22.
    """
    t = load_shipped_tariff("shanghai_general_ic_tou")
    usage = Usage(
        date(2025, 7, 1),
        date(2025, 8, 1),
        {"critical": 100, "peak": 1000, "flat": 1500, "valley": 2000},
        capacity_kva=50,
    )
    bill = rate(t, usage)
    assert amounts(bill) == {
        "energy_critical": D("127.50"),
        "energy_peak": D("1020.00"),
        "energy_flat": D("1020.00"),
        "energy_valley": D("680.00"),
        "fund:rural_grid_loan": D("92.00"),
        "fund:renewable_surcharge": D("87.40"),
        "fund:water_project_fund": D("13.80"),
        "fund:reservoir_resettlement_fund": D("28.52"),
    }
    assert bill.funds_total == D("221.72")
    assert bill.total == D("3069.22")
    assert bill.power_factor is None


def test_shanghai_price_change_splits_the_period_by_days() -> None:
    """Given prices change on 1 January 2025 (flat 0.70 → 0.68, valley 0.35 → 0.34),
    when a bill runs 16 December 2024 – 15 January 2025 (31 days: 16 old, 15 new) with 3100 kWh
    flat and 1550 kWh valley,
    then consumption splits by days: flat 1600 + 1500, valley 800 + 750; old part
    1600 × 0.70 = 1120.00, 800 × 0.35 = 280.00; new part 1500 × 0.68 = 1020.00, 750 × 0.34 = 255.00;
    funds on 2400 kWh: 48.00 + 45.60 + 7.20 + 14.88 and on 2250 kWh: 45.00 + 42.75 + 6.75 + 13.95;
    total 2675.00 + 224.13 = 2899.13.
    """
    t = load_shipped_tariff("shanghai_general_ic_tou")
    bill = rate(
        t, Usage(date(2024, 12, 16), date(2025, 1, 16), {"flat": 3100, "valley": 1550}, capacity_kva=50)
    )
    energy = [
        (ln.version_from, ln.code, ln.quantity, ln.amount)
        for ln in bill.lines
        if ln.code.startswith("energy")
    ]
    assert energy == [
        (date(2024, 1, 1), "energy_flat", D("1600.000"), D("1120.00")),
        (date(2024, 1, 1), "energy_valley", D("800.000"), D("280.00")),
        (date(2025, 1, 1), "energy_flat", D("1500.000"), D("1020.00")),
        (date(2025, 1, 1), "energy_valley", D("750.000"), D("255.00")),
    ]
    assert bill.funds_total == D("224.13")
    assert bill.total == D("2899.13")


def test_shanghai_pf_applies_from_100_kva() -> None:
    """Given a 200 kVA customer (standard 0.85), when July uses 4000 kWh flat with 2500 kvarh,
    then PF = 4000 / √(4000² + 2500²) = 0.8480 → 0.85: adjustment 0 % (a line of 0.00);
    with 3000 kvarh PF = 0.80 → +2.5 % of 2720.00 = 68.00.
    """
    t = load_shipped_tariff("shanghai_general_ic_tou")
    base = dict(
        period_start=date(2025, 7, 1),
        period_end=date(2025, 8, 1),
        energy_kwh={"flat": 4000},
        capacity_kva=200,
    )
    assert amounts(rate(t, Usage(**base, reactive_kvarh=2500)))["power_factor"] == D("0.00")  # type: ignore[arg-type]
    bill = rate(t, Usage(**base, reactive_kvarh=3000))  # type: ignore[arg-type]
    assert bill.power_factor == D("0.80")
    assert amounts(bill)["power_factor"] == D("68.00")
    with pytest.raises(TariffError, match="reactive_kvarh is needed"):
        rate(t, Usage(**base))  # type: ignore[arg-type]


# ------------------------------------------------------------------ 大工业 两部制


LARGE_ENERGY = {"critical": 20_000, "peak": 200_000, "flat": 300_000, "valley": 280_000}


def test_large_industrial_by_capacity_with_pf_penalty() -> None:
    """Given 2000 kVA billed by capacity (23 元/kVA·月), PF standard 0.90,
    when July uses 20 000 kWh critical, 200 000 peak, 300 000 flat, 280 000 valley (800 000 kWh)
    and 500 000 kvarh,
    then basic = 2000 × 23 = 46 000.00; energy = 20 000 × 1.21875 = 24 375.00 + 200 000 × 0.975
    = 195 000.00 + 300 000 × 0.65 = 195 000.00 + 280 000 × 0.325 = 91 000.00 (505 375.00);
    PF = 800 000 / √(800 000² + 500 000²) = 0.8480 → 0.85, +2.5 % (5 steps × 0.5 %) on
    46 000 + 505 375 = 551 375.00 → 13 784.375 → 13 784.38 (half-up);
    funds 800 000 × (0.02 + 0.019 + 0.003 + 0.0062) = 16 000 + 15 200 + 2 400 + 4 960 = 38 560.00
    (not in the PF base); total 603 719.38.
    """
    t = load_shipped_tariff("large_industrial_two_part_tou")
    usage = Usage(
        date(2025, 7, 1),
        date(2025, 8, 1),
        LARGE_ENERGY,
        reactive_kvarh=500_000,
        capacity_kva=2000,
        basic_basis="capacity",
    )
    bill = rate(t, usage)
    got = amounts(bill)
    assert got["basic_capacity"] == D("46000.00")
    assert got["energy_critical"] + got["energy_peak"] + got["energy_flat"] + got["energy_valley"] == D(
        "505375.00"
    )
    assert bill.power_factor == D("0.85")
    assert got["power_factor"] == D("13784.38")
    assert bill.funds_total == D("38560.00")
    assert bill.total == D("603719.38")


def test_large_industrial_by_demand_floor_and_105_percent_rule() -> None:
    """Given 2000 kVA billed by demand (32 元/kW·月) with a contracted demand of 700 kW — below the
    40 % floor, so 800 kW is billed — and a measured maximum demand of 900 kW,
    when July uses the same energy and reactive energy as above,
    then basic = 800 × 32 = 25 600.00, and the 60 kW above 105 % × 800 = 840 kW are charged double:
    60 × 64 = 3 840.00; PF +2.5 % on 25 600 + 3 840 + 505 375 = 534 815.00 → 13 370.375 → 13 370.38;
    total 534 815.00 + 13 370.38 + 38 560.00 = 586 745.38.
    """
    t = load_shipped_tariff("large_industrial_two_part_tou")
    usage = Usage(
        date(2025, 7, 1),
        date(2025, 8, 1),
        LARGE_ENERGY,
        reactive_kvarh=500_000,
        capacity_kva=2000,
        contracted_demand_kw=700,
        max_demand_kw=900,
        basic_basis="demand",
    )
    bill = rate(t, usage)
    got = amounts(bill)
    assert got["basic_demand"] == D("25600.00")
    assert got["basic_demand_excess"] == D("3840.00")
    assert got["power_factor"] == D("13370.38")
    assert bill.total == D("586745.38")


def test_large_industrial_new_connection_pays_basic_per_day() -> None:
    """Given a new 2000 kVA connection on 19 July (13 days of a 31-day cycle) billed by capacity,
    when it uses 10 000 kWh flat and 3000 kvarh,
    then basic = 2000 × 23 × 13/30 = 19 933.333… → 19 933.33 (1/30 per day);
    energy 10 000 × 0.65 = 6 500.00; PF = 10 000 / √(10 000² + 3000²) = 0.9578 → 0.96 → −0.75 %
    (the reward is capped from 0.95): (19 933.33 + 6 500.00) × −0.0075 = −198.249975 → −198.25;
    funds 10 000 × 0.0482 = 482.00; total 26 433.33 − 198.25 + 482.00 = 26 717.08.
    """
    t = load_shipped_tariff("large_industrial_two_part_tou")
    usage = Usage(
        date(2025, 7, 19),
        date(2025, 8, 1),
        {"flat": 10_000},
        reactive_kvarh=3000,
        capacity_kva=2000,
        basic_basis="capacity",
        cycle_days=31,
    )
    bill = rate(t, usage)
    got = amounts(bill)
    assert got["basic_capacity"] == D("19933.33")
    assert bill.power_factor == D("0.96")
    assert got["power_factor"] == D("-198.25")
    assert bill.total == D("26717.08")


def test_large_industrial_needs_a_basis_when_both_are_offered() -> None:
    t = load_shipped_tariff("large_industrial_two_part_tou")
    with pytest.raises(TariffError, match="give basic_basis"):
        rate(t, Usage(date(2025, 7, 1), date(2025, 8, 1), {"flat": 1}, reactive_kvarh=0, capacity_kva=2000))


# ------------------------------------------------------------------ fixed charge and minimum (synthetic)


def test_minimum_charge_tops_up_excluding_funds() -> None:
    """Given a fixed charge of 12.50 元/month, energy at 0.612345 元/kWh, a fund of 0.02 元/kWh and a
    minimum of 30 元/month,
    when a full month uses 10 kWh,
    then fixed 12.50 + energy 10 × 0.612345 = 6.12345 → 6.12 = 18.62 < 30: minimum top-up 11.38;
    the fund 10 × 0.02 = 0.20 is itemised outside the minimum; total 30.20.
    A 15-day partial cycle of a 30-day month halves the fixed charge (6.25) and the floor (15.00).
    """
    from gridcare.engine.tariff import parse_tariff

    t = parse_tariff(
        {
            "code": "T-MIN",
            "name": "minimum example",
            "versions": [
                {
                    "valid_from": "2025-01-01",
                    "components": [
                        {"kind": "fixed", "price": "12.5", "per": "month"},
                        {"kind": "energy_flat", "price": "0.612345"},
                        {"kind": "fund", "code": "rural_grid_loan", "label": "农网还贷资金", "price": "0.02"},
                        {"kind": "minimum", "amount": "30"},
                    ],
                }
            ],
        }
    )
    bill = rate(t, Usage(date(2025, 6, 1), date(2025, 7, 1), {"total": 10}))
    assert amounts(bill) == {
        "fixed": D("12.50"),
        "energy": D("6.12"),
        "fund:rural_grid_loan": D("0.20"),
        "minimum": D("11.38"),
    }
    assert bill.total == D("30.20")
    partial = rate(t, Usage(date(2025, 6, 16), date(2025, 7, 1), {"total": 10}, cycle_days=30))
    assert amounts(partial)["fixed"] == D("6.25")
    assert amounts(partial)["minimum"] == D("15.00") - D("6.25") - D("6.12")
