"""Metering class and plan dates of RULES.md §4 (pure functions) and their configurable defaults."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import override_settings

from gridcare.metering.conf import rules
from gridcare.metering.rules import MeteringRules, add_months, metering_class, next_test_due, rotation_due

R = MeteringRules()


@pytest.mark.parametrize(
    ("kwh", "kva", "phases", "klass"),
    [
        (5_000_000, 0, 3, "I"),
        (0, 10_000, 3, "I"),
        (4_999_999, 9_999, 3, "II"),
        (1_000_000, 0, 3, "II"),
        (0, 2_000, 3, "II"),
        (100_000, 0, 3, "III"),
        (0, 315, 3, "III"),
        (99_999, 314, 3, "IV"),
        (0, 0, 3, "IV"),
        (9_000_000, 20_000, 1, "V"),  # single-phase metering is class V whatever the size
    ],
)
def test_metering_class(kwh: int, kva: int, phases: int, klass: str) -> None:
    assert metering_class(Decimal(kwh), Decimal(kva), phases, R) == klass


def test_new_installation_is_tested_within_a_month_then_by_class() -> None:
    installed = dt.date(2026, 1, 31)
    assert next_test_due(installed, None, "I", R) == dt.date(2026, 2, 28)
    tested = dt.date(2026, 2, 20)
    assert next_test_due(installed, tested, "I", R) == dt.date(2026, 5, 20)
    assert next_test_due(installed, tested, "II", R) == dt.date(2026, 8, 20)
    assert next_test_due(installed, tested, "III", R) == dt.date(2027, 2, 20)
    assert next_test_due(installed, tested, "IV", R) is None
    assert next_test_due(installed, tested, "V", R) is None
    assert next_test_due(None, None, "I", R) is None


def test_rotation_by_meter_kind() -> None:
    verified = dt.date(2020, 2, 29)
    assert rotation_due(verified, "electronic", 1, R) == dt.date(2028, 2, 29)
    assert rotation_due(verified, "mechanical", 3, R) == dt.date(2026, 2, 28)
    assert rotation_due(verified, "mechanical", 1, R) == dt.date(2030, 2, 28)
    assert rotation_due(None, "electronic", 1, R) is None


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 11, 15), 3) == dt.date(2027, 2, 15)


def test_defaults_are_configurable_in_one_place() -> None:
    assert rules().test_interval_months == {"I": 3, "II": 6, "III": 12}
    with override_settings(
        GRIDCARE_METERING={
            "test_interval_months": {"I": 2, "II": 4, "III": 6},
            "validity_years_electronic": 10,
        }
    ):
        configured = rules()
        assert next_test_due(dt.date(2026, 1, 1), dt.date(2026, 1, 10), "I", configured) == dt.date(
            2026, 3, 10
        )
        assert rotation_due(dt.date(2026, 1, 1), "electronic", 1, configured) == dt.date(2036, 1, 1)
    with override_settings(GRIDCARE_METERING={"bogus": 1}), pytest.raises(ValueError):
        rules()
