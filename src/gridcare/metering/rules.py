"""Metering rules of DL/T 448 (docs/rules.md §4) as plain functions: no Django, testable in microseconds.

- 计量装置分类 I–V from monthly energy and/or capacity; V = single-phase.
- 现场检验 (on-site test): new installations within 1 month; class I every 3 months, II 6, III 12.
- 轮换 (rotation) at the end of the meter's validity: electronic 8 years, mechanical three-phase 6,
  mechanical single-phase 10.

Every number is a field of :class:`MeteringRules`; ``gridcare.metering.conf.rules()`` builds it from the
defaults and the deployment's settings.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

CLASSES = ("I", "II", "III", "IV", "V")


@dataclass(frozen=True)
class MeteringRules:
    # class: (minimum monthly kWh, minimum kVA) — either reaches the class
    class_thresholds: tuple[tuple[str, Decimal, Decimal], ...] = (
        ("I", Decimal("5000000"), Decimal("10000")),
        ("II", Decimal("1000000"), Decimal("2000")),
        ("III", Decimal("100000"), Decimal("315")),
    )
    new_installation_test_months: int = 1
    test_interval_months: dict[str, int] = field(default_factory=lambda: {"I": 3, "II": 6, "III": 12})
    validity_years_electronic: int = 8
    validity_years_mechanical_three_phase: int = 6
    validity_years_mechanical_single_phase: int = 10
    out_of_tolerance_replace_working_days: int = 3


def metering_class(monthly_kwh: Decimal, capacity_kva: Decimal, phases: int, rules: MeteringRules) -> str:
    """I–IV by monthly energy or capacity (the higher class wins); V for single-phase metering."""
    if phases == 1:
        return "V"
    for name, kwh, kva in rules.class_thresholds:
        if monthly_kwh >= kwh or capacity_kva >= kva:
            return name
    return "IV"


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole months, clamped to the month's last day (2026-01-31 + 1 → 2026-02-28)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_test_due(
    installed_on: dt.date | None, last_tested_on: dt.date | None, klass: str, rules: MeteringRules
) -> dt.date | None:
    """The next on-site test: within a month of installation, then every 3/6/12 months for class I/II/III.

    Classes IV and V have no periodic on-site test (they are covered by rotation).
    """
    if installed_on is None:
        return None
    if last_tested_on is None or last_tested_on < installed_on:
        return add_months(installed_on, rules.new_installation_test_months)
    months = rules.test_interval_months.get(klass)
    return add_months(last_tested_on, months) if months else None


def validity_years(kind: str, phases: int, rules: MeteringRules) -> int:
    """How long a verification (检定) stays valid: electronic 8, mechanical three-phase 6, single-phase 10."""
    if kind == "electronic":
        return rules.validity_years_electronic
    if phases == 1:
        return rules.validity_years_mechanical_single_phase
    return rules.validity_years_mechanical_three_phase


def rotation_due(verified_on: dt.date | None, kind: str, phases: int, rules: MeteringRules) -> dt.date | None:
    """The date the meter must be rotated out (轮换): its verification date plus its validity."""
    if verified_on is None:
        return None
    return add_months(verified_on, 12 * validity_years(kind, phases, rules))
