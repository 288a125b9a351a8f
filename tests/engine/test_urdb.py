"""URDB tariffs: energy and demand charges equal to NREL PySAM Utilityrate5 within half a cent per
bill line; fixed and minimum charges billed as a real bill; broken tariffs refused by name."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from gridcare.engine.urdb import (
    DAYS_IN_MONTH,
    UrdbError,
    bill_urdb,
    bill_urdb_many,
    load_urdb,
    parse_urdb,
)

from .conftest import URDB_DIR, run_pysam, urdb_doc

#: Half a cent: our lines are rounded to the cent, PySAM's are not.  The 1e-7 absorbs the float
#: noise of PySAM's double arithmetic (ours is exact), i.e. ≈ 1e-12 of the amounts compared.
HALF_CENT = 0.005 + 1e-7

DEV_TARIFFS = [
    "pysam_tests_urdbv7",
    "reoptjl_entergy_lps_tou",
    "reoptjl_leap_year",
    "reoptjl_tiered_energy_demand",
]
COMPARED = {
    "energy": "charge_wo_sys_ec_ym",
    "demand_flat": "charge_wo_sys_dc_fixed_ym",
    "demand_tou": "charge_wo_sys_dc_tou_ym",
}


def quarter_hourly(load: np.ndarray, seed: int) -> np.ndarray:
    """A 35040-step year from an hourly one, varying within each hour (so peaks differ)."""
    rng = np.random.default_rng(seed)
    return np.repeat(load, 4) * rng.uniform(0.8, 1.2, size=load.size * 4)


def assert_matches_pysam(doc: dict[str, Any], load: np.ndarray, tariff: Any = None) -> float:
    """Compare every month's energy / flat demand / TOU demand line with PySAM; return the worst gap."""
    ours = bill_urdb_many(tariff or parse_urdb(doc), load[None, :])
    ref = run_pysam(doc, load)
    worst = 0.0
    for component, key in COMPARED.items():
        got = ours.cents[component][0] / 100 if component in ours.cents else np.zeros(12)
        gap = np.abs(got - ref[key])
        assert gap.max() <= HALF_CENT, (component, got, ref[key])
        worst = max(worst, float(gap.max()))
    return worst


@pytest.mark.parametrize("name", DEV_TARIFFS)
@pytest.mark.parametrize("resolution", ["hourly", "15min"])
def test_energy_and_demand_match_pysam(name: str, resolution: str, loads: dict[str, np.ndarray]) -> None:
    doc = urdb_doc(name)
    tariff = load_urdb(URDB_DIR / f"{name}.json")
    for seed, load in enumerate(loads.values()):
        year = load if resolution == "hourly" else quarter_hourly(load, seed)
        assert_matches_pysam(doc, year, tariff)


def test_nonzero_charges_are_compared(loads: dict[str, np.ndarray]) -> None:
    """Guard against a vacuous comparison: the dev set exercises tiers, TOU and both demand kinds."""
    load = loads["Chicago_Hospital"]
    b = bill_urdb_many(load_urdb(URDB_DIR / "pysam_tests_urdbv7.json"), load[None])
    assert (
        b.cents["energy"].min() > 0 and b.cents["demand_flat"].min() > 0 and b.cents["demand_tou"].min() > 0
    )
    assert (b.energy_use[0, :, :, 1] > 0).any()  # second energy tier used
    tiered = bill_urdb_many(load_urdb(URDB_DIR / "reoptjl_tiered_energy_demand.json"), load[None])
    assert (tiered.energy_use[0, :, 0, 1] > 0).all()  # 74 400 kWh tier crossed every month


def test_tiers_shared_across_periods_like_sam() -> None:
    """SAM allocates the month's tier kWh to periods by their share of the month's kWh.

    June, 1 kW flat load (720 kWh), pysam_tests_urdbv7: period 0 covers weekday 15:00–20:00, i.e.
    21 weekdays × 5 h = 105 kWh (share 105/720); tier 1 is the first 100 kWh of the month, so period 0
    gets 100 × 105/720 = 14.583333 kWh in tier 1 and period 1 the other 85.416667 kWh.
    """
    load = np.ones(8760)
    b = bill_urdb_many(load_urdb(URDB_DIR / "pysam_tests_urdbv7.json"), load[None])
    june = b.energy_use[0, 5]
    assert june[0, 0] == 14_583_333_333 and june[1, 0] == 85_416_666_667
    assert june[0, 1] == 105_000_000_000 - 14_583_333_333


def test_kwh_daily_tier_limits_match_pysam(loads: dict[str, np.ndarray]) -> None:
    doc = urdb_doc("pysam_tests_urdbv7")
    for period in doc["energyratestructure"]:
        period[0]["max"] = 300.0
        period[0]["unit"] = "kWh daily"
        period[1]["unit"] = "kWh daily"
    assert_matches_pysam(doc, loads["Houston_SmallOffice"])


def test_vectorised_equals_scalar(loads: dict[str, np.ndarray]) -> None:
    tariff = load_urdb(URDB_DIR / "reoptjl_entergy_lps_tou.json")
    matrix = np.stack(list(loads.values()))
    many = bill_urdb_many(tariff, matrix)
    for i, load in enumerate(loads.values()):
        one = bill_urdb(tariff, load)
        assert [int(v * 100) for v in one.monthly] == many.monthly[i].tolist()
        assert int(one.annual * 100) == int(many.annual[i])


# ------------------------------------------------------------------ fixed and minimum charges


def test_fixed_monthly_charge_is_billed_every_month(loads: dict[str, np.ndarray]) -> None:
    """fixedmonthlycharge 35.28 $/month: billed each month (PySAM's converter ignores the field)."""
    load = loads["Chicago_FlatLoad"]
    bill = bill_urdb(load_urdb(URDB_DIR / "pysam_tests_urdbv7.json"), load)
    assert bill.amounts("fixed") == [Decimal("35.28")] * 12
    assert run_pysam(urdb_doc("pysam_tests_urdbv7"), load)["charge_wo_sys_fixed_ym"].sum() == 0


def test_fixed_per_day_uses_the_days_of_the_month(loads: dict[str, np.ndarray]) -> None:
    """$/day × actual days: 24.878 × 31 = 771.218 → 771.22, × 28 = 696.584 → 696.58,
    × 30 = 746.34 (PySAM charges 24.878 × 365/12 = 756.7058… every month)."""
    load = loads["Houston_SmallOffice"]
    bill = bill_urdb(load_urdb(URDB_DIR / "reoptjl_leap_year.json"), load)
    fixed = bill.amounts("fixed")
    assert fixed[0] == Decimal("771.22") and fixed[1] == Decimal("696.58") and fixed[3] == Decimal("746.34")
    assert sum(fixed) == Decimal("9080.48")  # 7 × 771.22 + 696.58 + 4 × 746.34 (rounded per month)
    pysam = run_pysam(urdb_doc("reoptjl_leap_year"), load)["charge_wo_sys_fixed_ym"]
    assert pysam[0] == pytest.approx(24.878 * 365 / 12)


def test_monthly_and_annual_minimum() -> None:
    """No load; fixed 35.28 $/month; minimum 100 $/month → 64.72 a month; annual minimum 2000 $:
    the year (12 × 100 = 1200 with the monthly top-ups) is topped up by 800 in December."""
    doc = urdb_doc("pysam_tests_urdbv7")
    doc["minmonthlycharge"] = 100
    doc["annualmincharge"] = 2000
    bill = bill_urdb(parse_urdb(doc), np.zeros(8760))
    minimum = bill.amounts("minimum")
    assert minimum[:11] == [Decimal("64.72")] * 11
    assert minimum[11] == Decimal("864.72")
    assert bill.annual == Decimal("2000.00")
    december = [ln for ln in bill.lines if ln.month == 12 and ln.component == "minimum"][0]
    assert december.items[0]["bill_before_minimum"] == Decimal("35.28")


def test_minimum_per_day_and_not_binding(loads: dict[str, np.ndarray]) -> None:
    """mincharge 5 $/day: a floor of 155 in January, 140 in February; a real load exceeds it."""
    doc = urdb_doc("reoptjl_tiered_energy_demand")
    doc["mincharge"] = 5
    doc["minchargeunits"] = "$/day"
    small = bill_urdb(parse_urdb(doc), np.full(8760, 0.01))
    jan, feb = small.monthly[0], small.monthly[1]
    assert (jan, feb) == (Decimal("155.00"), Decimal("140.00"))
    big = bill_urdb(parse_urdb(doc), loads["Chicago_Hospital"])
    assert big.amounts("minimum") == [Decimal("0.00")] * 12


def test_monthly_minimum_matches_pysam_when_semantics_agree() -> None:
    """$/month fixed and $/month minimum: PySAM and the real bill agree (both on energy + demand + fixed)."""
    doc = urdb_doc("reoptjl_tiered_energy_demand")
    doc["fixedchargefirstmeter"] = 20
    doc["fixedchargeunits"] = "$/month"
    doc["mincharge"] = 150
    doc["minchargeunits"] = "$/month"
    load = np.full(8760, 0.05)
    ours = bill_urdb_many(parse_urdb(doc), load[None])
    ref = run_pysam(doc, load)
    assert np.allclose(ours.cents["fixed"][0] / 100, ref["charge_wo_sys_fixed_ym"])
    total_ref = ref["charge_wo_sys_ec_ym"] + ref["charge_wo_sys_dc_tou_ym"] + ref["charge_wo_sys_fixed_ym"]
    assert np.all(np.abs(ours.monthly[0] / 100 - np.maximum(total_ref, 150)) <= 0.01)


# ------------------------------------------------------------------ refusals and special cases


def test_missing_rate_is_refused_by_name() -> None:
    with pytest.raises(UrdbError, match=r"energyratestructure\[0\]\[0\] has no 'rate'"):
        load_urdb(URDB_DIR / "reoptapi_missing_rate_BROKEN.json")


def test_missing_schedule_period_is_refused_by_name() -> None:
    """The schedules use period 1 in January–May and October–December; only period 0 has rates."""
    with pytest.raises(UrdbError) as info:
        load_urdb(URDB_DIR / "reoptapi_missing_schedule_BROKEN.json")
    message = str(info.value)
    assert "energyweekdayschedule uses period 1" in message
    assert "Jan, Feb, Mar, Apr, May, Oct, Nov, Dec" in message
    assert "the rate for period 1 is missing" in message


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("energyweekendschedule"), "energyweekendschedule is missing"),
        (lambda d: d.pop("energyratestructure"), "energyratestructure is missing"),
        (lambda d: d.pop("flatdemandmonths"), "flatdemandmonths is missing"),
        (lambda d: d.update(flatdemandmonths=[0] * 11 + [7]), "flat demand rate for period 7 is missing"),
        (lambda d: d["energyweekdayschedule"].pop(), "must be 12 months"),
        (lambda d: d.update(lookbackpercent=0.8), "demand ratchets"),
        (lambda d: d["energyratestructure"][0][0].update(unit="kWh/hp"), "not supported"),
        (lambda d: d.update(fixedchargefirstmeter=5), "fixedchargeunits is missing"),
    ],
)
def test_malformed_tariffs_are_refused(edit: Any, message: str) -> None:
    doc = urdb_doc("pysam_tests_urdbv7")
    edit(doc)
    with pytest.raises(UrdbError, match=message):
        parse_urdb(doc)


def test_energy_tiers_differing_within_a_month_are_refused() -> None:
    """Shared monthly tiers need one set of limits per month: refuse rather than guess."""
    doc = urdb_doc("pysam_tests_urdbv7")
    doc["energyratestructure"][0][0]["max"] = 250.0  # period 0 is used with period 1 in May–October
    with pytest.raises(
        UrdbError, match="in May period 0 has tier limits .*250 kWh.* but period 1 has .*100 kWh"
    ):
        parse_urdb(doc)


def test_inconsistent_demand_tiers_are_billed_per_period(loads: dict[str, np.ndarray]) -> None:
    """reoptjl_multi_tier_inconsistent: in January, demand period 0 (one tier, 0 $/kW) and period 1
    (24.368 $/kW up to 100 kW, then 17.031) share the month.  PySAM refuses it; we tier each period's
    own peak with its own tiers — which is what PySAM computes for the equivalent tariff whose period 0
    has the same limits as period 1 (its rate is 0 either way)."""
    doc = urdb_doc("reoptjl_multi_tier_inconsistent")
    with pytest.raises(Exception, match="Tiers should have the same Max. Usage"):
        run_pysam(doc, loads["Chicago_Hospital"])
    tariff = load_urdb(URDB_DIR / "reoptjl_multi_tier_inconsistent.json")
    equivalent = copy.deepcopy(doc)
    equivalent["demandratestructure"][0] = [
        {"rate": 0, "max": 100.0, "unit": "kW"},
        {"rate": 0, "unit": "kW"},
    ]
    for load in loads.values():
        assert_matches_pysam(equivalent, load, tariff)
    # and by hand for January: 24.368 × 100 + 17.031 × (peak − 100) on period 1's peak
    load = loads["Chicago_Hospital"]
    b = bill_urdb_many(tariff, load[None])
    assert b.demand_peak is not None
    peak = b.demand_peak[0, 0, 1] / 1e9
    assert b.cents["demand_tou"][0, 0] / 100 == pytest.approx(24.368 * 100 + 17.031 * (peak - 100), abs=0.005)


def test_inconsistent_file_fixed_per_day() -> None:
    bill = bill_urdb(load_urdb(URDB_DIR / "reoptjl_multi_tier_inconsistent.json"), np.ones(8760))
    assert bill.amounts("fixed")[:2] == [Decimal("102.24"), Decimal("92.34")]  # 3.298 × 31, × 28


def coincident_doc() -> dict[str, Any]:
    doc = urdb_doc("reoptjl_tiered_energy_demand")
    doc["coincidentratestructure"] = [[{"rate": 10.0}], [{"rate": 4.5, "max": 50}, {"rate": 2.0}]]
    doc["coincidentrateschedule"] = [[0] * 12 + [1] * 12 for _ in range(12)]
    return doc


def test_coincident_demand_needs_system_peaks() -> None:
    tariff = parse_urdb(coincident_doc())
    with pytest.raises(UrdbError, match="system peak"):
        bill_urdb(tariff, np.ones(8760))
    doc = coincident_doc()
    doc.pop("coincidentrateschedule")
    with pytest.raises(UrdbError, match="coincidentrateschedule is missing"):
        parse_urdb(doc)


def test_coincident_demand_billed_at_the_system_peak(loads: dict[str, np.ndarray]) -> None:
    """kW at each month's system-peak step, priced by the coincident period of that hour."""
    tariff = parse_urdb(coincident_doc())
    load = loads["Houston_Supermarket"]
    starts = np.r_[0, np.cumsum(DAYS_IN_MONTH)[:-1]] * 24
    peaks = [int(s + 10 * 24 + (15 if m % 2 else 3)) for m, s in enumerate(starts)]  # day 11, 15:00 or 03:00
    bill = bill_urdb(tariff, load, system_peaks=peaks)
    for m, step in enumerate(peaks):
        kw = round(load[step], 6)
        expected = 4.5 * min(kw, 50) + 2.0 * max(kw - 50, 0) if m % 2 else 10.0 * kw
        assert float(bill.amounts("coincident_demand")[m]) == pytest.approx(expected, abs=0.005)
    with pytest.raises(UrdbError, match="is not in Feb"):
        bill_urdb(tariff, load, system_peaks=[0] * 12)


def test_bad_loads_are_refused() -> None:
    tariff = load_urdb(URDB_DIR / "pysam_tests_urdbv7.json")
    with pytest.raises(UrdbError, match="8760"):
        bill_urdb(tariff, np.ones(8784))
    with pytest.raises(UrdbError, match="negative"):
        bill_urdb(tariff, -np.ones(8760))


def test_non_numeric_rate_is_refused() -> None:
    doc = urdb_doc("pysam_tests_urdbv7")
    doc["energyratestructure"][0][0]["rate"] = "n/a"
    with pytest.raises(UrdbError, match="expected a number"):
        parse_urdb(doc)


# ------------------------------------------------------------------ fast paths of the vectorised engine


def test_exact_products_equal_mul_trunc_shift() -> None:
    """The per-tariff split of the rates (``_mul_rates``) gives exactly ``mul_trunc_shift``'s
    truncated products, negative rates included, and falls back to it beyond its range."""
    from gridcare.engine.money import mul_trunc_shift
    from gridcare.engine.urdb import _SHIFT, _mul_rates, _Rates

    rng = np.random.default_rng(7)
    limbs = [0, 1, 10**9 - 1, 10**9, 10**9 + 1, 10**15 - 1, 10**15, 10**15 + 1, 10**17 + 12345]
    cases = [  # (quantities 1e-9 kWh, rates 1e-15 $): all within the fast path (max q · max |r| < 9e33)
        (np.array(limbs + [10**18 - 1]), np.array(limbs[:8] + [-x for x in limbs[:8]])),
        (np.array(limbs), np.array(limbs + [-x for x in limbs])[: len(limbs) * 2 - 1] // 100),
        (rng.integers(0, 10**18, 3000), rng.integers(-(10**15), 10**15, 300)),
        (rng.integers(0, 10**13, 3000), rng.integers(-(10**18) + 1, 10**18, 300)),
    ]
    for q, r in cases:
        rates = r[:, None]
        assert int(q.max()) * int(np.abs(r).max()) < 9 * 10**33
        qs = np.broadcast_to(q, (r.size, q.size))
        assert (_mul_rates(qs, rates, _Rates.build(rates)) == mul_trunc_shift(qs, rates, _SHIFT)).all()
    # beyond the fast path mul_trunc_shift decides: exact where it fits, OverflowError where not
    rates = np.array([[3 * 10**14], [-(10**13)]])  # $0.30 and −$0.01
    qs = np.array([[10**18 + 7], [5]])
    assert (_mul_rates(qs, rates, _Rates.build(rates)) == [[3 * 10**17 + 2], [0]]).all()
    big = np.array([[10**18]])
    with pytest.raises(OverflowError):
        _mul_rates(np.array([[10**17]]), big, _Rates.build(big))


def test_tariff_without_demand_skips_maxima_and_bills_the_same_energy(loads: dict[str, np.ndarray]) -> None:
    """Without demand charges no maxima are computed; the energy lines do not change."""
    doc = urdb_doc("pysam_tests_urdbv7")
    energy_only = {k: v for k, v in doc.items() if "demand" not in k}
    matrix = np.stack(list(loads.values()))
    full = bill_urdb_many(parse_urdb(doc), matrix)
    lean = bill_urdb_many(parse_urdb(energy_only), matrix)
    assert lean.components[0] == "energy"
    assert "demand_flat" not in lean.cents and "demand_tou" not in lean.cents
    assert (lean.cents["energy"] == full.cents["energy"]).all()
    assert_matches_pysam(energy_only, loads["Houston_SmallOffice"])


def test_batch_arrays_keep_their_shapes_and_aggregates_equal_a_plain_reference(
    loads: dict[str, np.ndarray],
) -> None:
    """(N, 12, …) quantity arrays; the compiled aggregation equals a plain NumPy grouping."""
    from gridcare.engine import urdb

    tariff = load_urdb(URDB_DIR / "pysam_tests_urdbv7.json")
    matrix = np.stack(list(loads.values()) * 3)
    b = bill_urdb_many(tariff, matrix)
    n = matrix.shape[0]
    assert b.energy_kwh.shape[:2] == (n, 12) and b.energy_use.shape[:2] == (n, 12)
    assert b.demand_peak is not None and b.demand_peak.shape[:2] == (n, 12)
    assert b.flat_peak is not None and b.flat_peak.shape == (n, 12)
    for component in b.components:
        assert b.cents[component].shape == (n, 12)
    g_sum, g_max, lowest = urdb._aggregate(matrix, 1)
    assert g_max is not None and lowest == matrix.min()
    # an independent reference: group the year's days by month and day type with plain NumPy
    days = matrix.reshape(n, 365, 24)
    month = np.repeat(np.arange(12), [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    weekend = (np.arange(365) % 7) >= 5
    for m in range(12):
        for j, flag in enumerate((False, True)):
            chosen = days[:, (month == m) & (weekend == flag), :]
            assert np.allclose(g_sum[m, :, j * 24 : (j + 1) * 24], chosen.sum(axis=1), rtol=1e-12)
            assert (g_max[m, :, j * 24 : (j + 1) * 24] == chosen.max(axis=1)).all()
    assert np.allclose(g_sum.sum(axis=(0, 2)), matrix.sum(axis=1), rtol=1e-12)
    assert (g_max.max(axis=(0, 2)) == matrix.max(axis=1)).all()


#: kWh/kW tier structures (hours-use-of-demand blocks of large-power tariffs): pure kWh/kW tiers, kWh steps
#: within kWh/kW blocks (SAM's block-step rule), and both in daily units. /work/shared/data holds no URDB tariff
#: in these units, so they are built on the PySAM test tariff's schedules (every period the same tiers).
PER_KW_TIERS: dict[str, list[dict[str, Any]]] = {
    "kwh_per_kw": [
        {"max": 200, "unit": "kWh/kW", "rate": 0.12},
        {"max": 400, "unit": "kWh/kW", "rate": 0.09},
        {"unit": "kWh/kW", "rate": 0.07},
    ],
    "blocks_with_kwh_steps": [
        {"max": 200, "unit": "kWh/kW", "rate": 0.0},
        {"max": 3000, "unit": "kWh", "rate": 0.15},
        {"max": 10000, "unit": "kWh", "rate": 0.12},
        {"max": 1e9, "unit": "kWh", "rate": 0.10},
        {"max": 400, "unit": "kWh/kW", "rate": 0.0},
        {"max": 1e9, "unit": "kWh", "rate": 0.08},
        {"unit": "kWh/kW", "rate": 0.05},
    ],
    "kwh_per_kw_daily": [
        {"max": 7, "unit": "kWh/kW daily", "rate": 0.12},
        {"unit": "kWh/kW daily", "rate": 0.08},
    ],
    "daily_blocks_with_kwh_steps": [
        {"max": 6, "unit": "kWh/kW daily", "rate": 0.0},
        {"max": 5000, "unit": "kWh", "rate": 0.14},
        {"max": 1e9, "unit": "kWh", "rate": 0.11},
        {"unit": "kWh/kW daily", "rate": 0.06},
    ],
}


def per_kw_doc(name: str) -> dict[str, Any]:
    doc = urdb_doc("pysam_tests_urdbv7")
    doc["energyratestructure"] = [copy.deepcopy(PER_KW_TIERS[name]) for _ in doc["energyratestructure"]]
    return doc


@pytest.mark.parametrize("name", sorted(PER_KW_TIERS))
@pytest.mark.parametrize("resolution", ["hourly", "15min"])
def test_kwh_per_kw_tiers_match_pysam(name: str, resolution: str, loads: dict[str, np.ndarray]) -> None:
    """Tier limits × the month's peak kW (and × days when daily), kWh steps within the blocks: PySAM's bill,
    for large and small loads (a tenth of them: the kWh steps then cut the blocks)."""
    doc = per_kw_doc(name)
    tariff = parse_urdb(doc)
    for seed, load in enumerate(loads.values()):
        for scale in (1.0, 0.1):
            year = load * scale if resolution == "hourly" else quarter_hourly(load * scale, seed)
            assert_matches_pysam(doc, year, tariff)


def test_kwh_per_kw_limits_follow_the_peak() -> None:
    """A flat 10 kW load with one hour at 20 kW in January (744 h): 7,450 kWh, peak 20 kW. Tiers 200 kWh/kW
    at 0.12 and over at 0.09: 4,000 kWh at 0.12 + 3,450 at 0.09 = 790.50 $ — twice the peak, twice the tier."""
    doc = per_kw_doc("kwh_per_kw")
    doc["energyratestructure"] = [
        [{"max": 200, "unit": "kWh/kW", "rate": 0.12}, {"unit": "kWh/kW", "rate": 0.09}]
        for _ in doc["energyratestructure"]
    ]
    load = np.full(8760, 10.0)
    load[5] = 20.0
    bill = bill_urdb_many(parse_urdb(doc), load[None])
    assert bill.cents["energy"][0, 0] == 79050
    first_tier = int(bill.energy_use[0, 0].sum(axis=0)[0])  # 200 h × 20 kW, split across the periods
    assert abs(first_tier - 4_000 * 10**9) <= 2


def test_kwh_per_kw_vectorised_equals_one_by_one(loads: dict[str, np.ndarray]) -> None:
    tariff = parse_urdb(per_kw_doc("blocks_with_kwh_steps"))
    matrix = np.stack([*loads.values(), *(x * 0.1 for x in loads.values())])
    many = bill_urdb_many(tariff, matrix)
    for i, load in enumerate(matrix):
        one = bill_urdb_many(tariff, load[None])
        assert (one.cents["energy"][0] == many.cents["energy"][i]).all()
        assert (one.energy_use[0] == many.energy_use[i]).all()


def test_kwh_per_kw_tiers_that_cannot_be_billed_are_refused() -> None:
    doc = per_kw_doc("kwh_per_kw")
    doc["energyratestructure"][0] = [
        {"max": 3000, "unit": "kWh", "rate": 0.1},
        {"unit": "kWh/kW", "rate": 0.05},
    ]
    with pytest.raises(UrdbError, match=r"first tier must be in 'kWh/kW'"):
        parse_urdb(doc)
    doc = per_kw_doc("kwh_per_kw")
    doc["energyratestructure"][1] = [
        {"max": 200, "unit": "kWh", "rate": 0.12},
        {"max": 400, "unit": "kWh", "rate": 0.09},
        {"unit": "kWh", "rate": 0.07},
    ]
    with pytest.raises(UrdbError, match=r"different units \(kWh/kW and kWh\)"):
        parse_urdb(doc)
    doc = per_kw_doc("kwh_per_kw")
    doc["energyratestructure"][0][0]["unit"] = "kWh/hp"
    with pytest.raises(UrdbError, match=r"unit 'kWh/hp' is not supported"):
        parse_urdb(doc)
