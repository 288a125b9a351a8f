"""Metering defaults in one place (docs/rules.md §4); a deployment overrides keys in ``GRIDCARE_METERING``.

``GRIDCARE_METERING = {"test_interval_months": {"I": 3, "II": 6, "III": 12}, "validity_years_electronic": 8}``
"""

from __future__ import annotations

from dataclasses import fields, replace
from decimal import Decimal
from typing import Any

from django.conf import settings

from gridcare.metering.rules import MeteringRules

DEFAULT_RULES = MeteringRules()


def rules() -> MeteringRules:
    """The rules in force: the defaults of :class:`MeteringRules` with the deployment's overrides."""
    overrides: dict[str, Any] = dict(getattr(settings, "GRIDCARE_METERING", {}) or {})
    known = {f.name for f in fields(MeteringRules)}
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"Unknown GRIDCARE_METERING keys: {sorted(unknown)}")
    if "class_thresholds" in overrides:
        overrides["class_thresholds"] = tuple(
            (name, Decimal(str(kwh)), Decimal(str(kva))) for name, kwh, kva in overrides["class_thresholds"]
        )
    return replace(DEFAULT_RULES, **overrides) if overrides else DEFAULT_RULES
