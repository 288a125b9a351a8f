"""Unit prices as Chinese bills print them (issue #12 point 4): the published decimals, not the stored six."""

from __future__ import annotations

from decimal import Decimal

from gridcare.billing.models import BillLine
from gridcare.web.display import field_display, price, with_unit


def test_prices_keep_their_decimals_between_two_and_six_without_trailing_zeros() -> None:
    assert price(Decimal("0.528300")) == "0.5283"
    assert price(Decimal("0.538000")) == "0.538"
    assert price(Decimal("23.000000")) == "23.00"
    assert price(Decimal("1234.5")) == "1,234.50"
    assert price(Decimal("0.0000014")) == "0.000001"
    assert with_unit(Decimal("0.528300"), "元/kWh") == "0.5283 元/kWh"
    assert with_unit(Decimal("-0.007500"), "rate") == "-0.75 %"


def test_bill_line_price_by_its_unit() -> None:
    energy = BillLine(
        code="energy_tier1",
        label="第一档电费",
        unit="kWh",
        unit_price=Decimal("0.538000"),
        quantity=Decimal("1234.500"),
        amount=Decimal("664.16"),
    )
    assert field_display(energy, "unit_price") == "0.538 元/kWh"
    assert field_display(energy, "quantity") == "1,234.500 kWh"
    assert field_display(energy, "amount") == "664.16 元"
    pf = BillLine(
        code="power_factor",
        label="功率因数调整电费",
        unit="元",
        unit_price=Decimal("0.020000"),
        quantity=Decimal("9898.750"),
        amount=Decimal("197.98"),
    )
    assert field_display(pf, "unit_price") == "2.00 %"
