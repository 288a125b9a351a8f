"""Properties of rating (Hypothesis): monotonic, additive over days, exact tier boundaries, and the
batch engine equal to the explain mode line by line."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridcare.engine.batch import BatchInput, batch_input_from_usages, compile_catalog, rate_batch
from gridcare.engine.money import fen_to_yuan
from gridcare.engine.rating import Bill, Usage, rate
from gridcare.engine.tariff import Tariff, load_shipped_tariff, parse_tariff

SHIPPED = {
    name: load_shipped_tariff(name)
    for name in (
        "large_industrial_two_part_tou",
        "shanghai_general_ic_tou",
        "sichuan_residential_seasonal",
        "zhejiang_residential_tiered",
        "zhejiang_residential_tou_tiered",
    )
}

#: Every other component kind: fixed per month, minimum, flat energy, a fund; and per-day fixed.
EXTRA = parse_tariff(
    {
        "code": "T-EXTRA",
        "name": "flat + fixed + minimum (test)",
        "versions": [
            {
                "valid_from": "2020-01-01",
                "valid_to": "2025-03-01",
                "components": [
                    {"kind": "fixed", "price": "12.5", "per": "month"},
                    {"kind": "energy_flat", "price": "0.612345"},
                    {"kind": "fund", "code": "rural_grid_loan", "label": "农网还贷资金", "price": "0.02"},
                    {"kind": "minimum", "amount": "30"},
                ],
            },
            {
                "valid_from": "2025-03-01",
                "valid_to": None,
                "components": [
                    {"kind": "fixed", "price": "0.45", "per": "day"},
                    {
                        "kind": "energy_tiered",
                        "basis": "monthly",
                        "tiers": [
                            {"upto": 200, "upto_by_month": {"7": 300}, "price": "0.5"},
                            {"upto": None, "price": "0.8"},
                        ],
                    },
                    {"kind": "minimum", "amount": "25.55"},
                ],
            },
        ],
    }
)
ALL: dict[str, Tariff] = {**SHIPPED, "extra": EXTRA}

kwh = st.decimals(min_value=0, max_value=200_000, places=3, allow_nan=False, allow_infinity=False)
small_kwh = st.decimals(min_value=0, max_value=3_000, places=3, allow_nan=False, allow_infinity=False)


@st.composite
def usages(draw: st.DrawFn, name: str) -> Usage:
    """A valid usage record for tariff ``name``: random period (possibly crossing a price change),
    registers, partial cycles, prorated tier years, PF data and basic-charge basis."""
    tariff = ALL[name]
    start = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 1)))
    days = draw(st.integers(1, 45))
    end = start + timedelta(days=days)
    version = tariff.version_on(start)
    residential = name.startswith(("zhejiang", "sichuan"))
    amount = small_kwh if residential else kwh
    if version.is_tou:
        prices = version.energy.prices  # type: ignore[union-attr]
        energy = {p: draw(amount) for p in prices}
    else:
        energy = {"total": draw(amount)}
    kw: dict[str, Any] = {}
    if draw(st.booleans()):
        kw["cycle_days"] = draw(st.integers(days, days + 20))
    if name.startswith("zhejiang") or name == "extra":
        kw["tier_ytd_kwh"] = draw(st.decimals(min_value=0, max_value=6000, places=3))
        if draw(st.booleans()):
            year = draw(st.sampled_from([365, 366]))
            kw["tier_year_days"] = year
            kw["tier_active_days"] = draw(st.integers(1, year))
    if name == "shanghai_general_ic_tou":
        kw["capacity_kva"] = draw(st.sampled_from([Decimal(50), Decimal(100), Decimal(630)]))
        kw["reactive_kvarh"] = draw(kwh)
    if name == "large_industrial_two_part_tou":
        kw["capacity_kva"] = draw(st.decimals(min_value=315, max_value=40_000, places=1))
        kw["reactive_kvarh"] = draw(kwh)
        kw["basic_basis"] = draw(st.sampled_from(["capacity", "demand"]))
        kw["max_demand_kw"] = draw(st.decimals(min_value=0, max_value=40_000, places=3))
        if draw(st.booleans()):
            kw["contracted_demand_kw"] = draw(st.decimals(min_value=0, max_value=40_000, places=3))
    if draw(st.booleans()):
        kw["billing_month"] = draw(st.integers(1, 12))
    return Usage(start, end, energy, **kw)


names = st.sampled_from(sorted(ALL))


@st.composite
def bills(draw: st.DrawFn) -> tuple[Tariff, Usage]:
    name = draw(names)
    return ALL[name], draw(usages(name))


# -------------------------------------------------------------------- batch == explain


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(bills(), min_size=1, max_size=12))
def test_batch_equals_explain_line_by_line(pairs: list[tuple[Tariff, Usage]]) -> None:
    """Every line code of every bill: the vectorised int64 engine gives the explain-mode amount."""
    catalog = compile_catalog(list(ALL.values()))
    x, parent = batch_input_from_usages(catalog, pairs)
    result = rate_batch(catalog, x).per_bill(parent, len(pairs))
    for i, (tariff, usage) in enumerate(pairs):
        bill = rate(tariff, usage)
        expected = bill.by_code()
        got = {code: fen_to_yuan(int(result.amounts[j, i])) for j, code in enumerate(result.codes)}
        for code, amount in got.items():
            assert amount == expected.get(code, Decimal("0.00")), (tariff.code, usage, code)
        assert set(expected) <= set(got)
        assert fen_to_yuan(int(result.total[i])) == bill.total
        pf = int(result.power_factor[i])
        assert (None if pf < 0 else Decimal(pf).scaleb(-2)) == bill.power_factor


def test_batch_monthly_constructor_matches_explain() -> None:
    """The plain monthly constructor (what a billing run uses) = explain mode, full cycles."""
    t = SHIPPED["large_industrial_two_part_tou"]
    catalog = compile_catalog([t])
    energy = np.array([[20_000_000, 200_000_000, 300_000_000, 280_000_000, 0]], dtype=np.int64)
    x = BatchInput.monthly(
        np.array([catalog.index_on(t.code, date(2025, 7, 1))]),
        energy,
        days=31,
        billing_month=7,
        reactive=np.array([500_000_000]),
        capacity=np.array([2_000_000]),
        basis=np.array([0]),
    )
    assert fen_to_yuan(int(rate_batch(catalog, x).total[0])) == Decimal("603719.38")


# -------------------------------------------------------------------- monotonic


def _without_pf(bill: Bill) -> Decimal:
    return bill.total - bill.by_code().get("power_factor", Decimal("0.00"))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_more_consumption_never_costs_less(data: st.DataObject) -> None:
    """More kWh in any register never lowers the bill.  The power-factor line is set aside when
    the PF itself changes: with reactive energy held fixed, extra kWh raise the PF and can earn a
    reward larger than their price — the 1983 rule working as intended, not a pricing defect."""
    name = data.draw(names)
    usage = data.draw(usages(name))
    key = data.draw(st.sampled_from(sorted(usage.energy_kwh)))
    extra = data.draw(st.decimals(min_value=Decimal("0.001"), max_value=5000, places=3))
    more = Usage(
        **{**usage.__dict__, "energy_kwh": {**usage.energy_kwh, key: Decimal(usage.energy_kwh[key]) + extra}}
    )
    before, after = rate(ALL[name], usage), rate(ALL[name], more)
    assert _without_pf(after) >= _without_pf(before)
    if after.power_factor == before.power_factor:
        assert after.total >= before.total


# -------------------------------------------------------------------- additive over days


def _two_versions(version: dict[str, Any], boundary: date) -> Tariff:
    """The same prices in two versions that change on ``boundary``: only the day split differs."""
    first = {**version, "valid_from": "2000-01-01", "valid_to": boundary.isoformat()}
    second = {**version, "valid_from": boundary.isoformat(), "valid_to": None}
    return parse_tariff({"code": "T-SPLIT", "name": "split", "versions": [first, second]})


FLAT_VERSION = {
    "components": [
        {"kind": "fixed", "price": "9.99", "per": "month"},
        {"kind": "energy_flat", "price": "0.587321"},
        {"kind": "fund", "code": "renewable_surcharge", "label": "可再生能源电价附加", "price": "0.019"},
    ]
}
TOU_VERSION = {
    "tou": {
        "rules": [
            {
                "months": list(range(1, 13)),
                "day_types": ["weekday", "weekend", "holiday"],
                "hours": "VVVVVVFFPPPFFCCFFFPPPFVV",
            }
        ]
    },
    "components": [
        {"kind": "fixed", "price": "0.33", "per": "day"},
        {
            "kind": "energy_tou",
            "prices": {"critical": "1.275", "peak": "1.02", "flat": "0.68", "valley": "0.34"},
        },
        {
            "kind": "fund",
            "code": "reservoir_resettlement_fund",
            "label": "大中型水库移民后期扶持基金",
            "price": "0.0062",
        },
    ],
}


def _exact(bill: Bill) -> dict[str, Fraction]:
    out: dict[str, Fraction] = {}
    for ln in bill.lines:
        out[ln.code] = out.get(ln.code, Fraction(0)) + ln.exact
    return out


@settings(max_examples=150, deadline=None)
@given(
    version=st.sampled_from([FLAT_VERSION, TOU_VERSION]),
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 1, 1)),
    days=st.integers(2, 62),
    cut=st.integers(1, 61),
    registers=st.lists(kwh, min_size=4, max_size=4),
)
def test_splitting_a_period_by_days_adds_up_to_the_whole(
    version: dict[str, Any], start: date, days: int, cut: int, registers: list[Decimal]
) -> None:
    """Flat and TOU tariffs: the period split by days (consumption by days, monthly amounts by
    days) has exactly the whole period's exact amounts; after per-line rounding each line differs
    by at most one 分 per extra part."""
    cut = min(cut, days - 1)
    end = start + timedelta(days=days)
    whole_tariff = _two_versions(version, date(2100, 1, 1))
    split_tariff = _two_versions(version, start + timedelta(days=cut))
    if "tou" in version:
        energy = dict(zip(("critical", "peak", "flat", "valley"), registers, strict=True))
    else:
        energy = {"total": registers[0]}
    usage = Usage(start, end, energy)
    whole, split = rate(whole_tariff, usage), rate(split_tariff, usage)
    assert len(split.parts) == 2 and len(whole.parts) == 1
    assert _exact(split) == _exact(whole)
    for code, amount in whole.by_code().items():
        assert abs(split.by_code()[code] - amount) <= Decimal("0.01")


# -------------------------------------------------------------------- tier boundaries


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(["zhejiang_residential_tiered", "zhejiang_residential_tou_tiered"]),
    threshold=st.sampled_from([2760, 4800]),
    before=st.decimals(min_value=0, max_value=2700, places=3),
)
def test_annual_tier_boundaries_are_exact(name: str, threshold: int, before: Decimal) -> None:
    """Reaching a threshold exactly leaves the next tier empty; 0.001 kWh more goes to it."""
    t = ALL[name]
    key = "peak" if t.versions[0].is_tou else "total"
    code = "energy_tier{}" if key == "total" else "tier_surcharge{}"
    upper = 2 if threshold == 2760 else 3
    exact_use = Decimal(threshold) - before
    at = rate(t, Usage(date(2025, 12, 1), date(2026, 1, 1), {key: exact_use}, tier_ytd_kwh=before))
    over = rate(
        t,
        Usage(date(2025, 12, 1), date(2026, 1, 1), {key: exact_use + Decimal("0.001")}, tier_ytd_kwh=before),
    )
    quantities = {ln.code: ln.quantity for ln in over.lines}
    assert code.format(upper) not in at.by_code()
    assert quantities[code.format(upper)] == Decimal("0.001")


@settings(max_examples=100, deadline=None)
@given(month=st.integers(1, 12), extra=st.sampled_from([Decimal(0), Decimal("0.001")]))
def test_seasonal_monthly_boundaries_are_exact(month: int, extra: Decimal) -> None:
    """Sichuan: 260 kWh in July–September, 180 kWh otherwise, all in tier 1; one Wh more is tier 2."""
    t = ALL["sichuan_residential_seasonal"]
    limit = Decimal(260 if month in (7, 8, 9) else 180)
    start = date(2025, month, 1)
    end = date(2025 + month // 12, month % 12 + 1, 1)
    bill = rate(t, Usage(start, end, {"total": limit + extra}))
    quantities = {ln.code: ln.quantity for ln in bill.lines}
    assert quantities["energy_tier1"] == limit
    assert quantities.get("energy_tier2", Decimal(0)) == extra
