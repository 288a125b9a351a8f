"""Serializer fields with the bounds business data has (shared by every app's API)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rest_framework import serializers

FIRST_YEAR = 1901
"""Before 1901 Asia/Shanghai is local mean time (+08:05:43): no business date is that old."""
LAST_YEAR = 2100
MAX_DAYS_AHEAD = 3660
"""The longest span in days a query may ask for ("contracts expiring within n days"): ten years. Beyond it
``today + timedelta(days=n)`` overflows the calendar."""


def _year_problem(year: int) -> str | None:
    if FIRST_YEAR <= year <= LAST_YEAR:
        return None
    return (
        f"年份应在 {FIRST_YEAR}–{LAST_YEAR} 之间。 (The year must be between {FIRST_YEAR} and {LAST_YEAR}.)"
    )


class BusinessDateField(serializers.DateField):
    """A date between 1901 and 2100."""

    def to_internal_value(self, value: Any) -> dt.date:
        day = super().to_internal_value(value)
        problem = _year_problem(day.year)
        if problem:
            raise serializers.ValidationError(problem)
        return day


class BusinessDateTimeField(serializers.DateTimeField):
    """A moment between 1901 and 2100 (any offset in, Asia/Shanghai out)."""

    def to_internal_value(self, value: Any) -> dt.datetime:
        moment = super().to_internal_value(value)
        problem = _year_problem(moment.year)
        if problem:
            raise serializers.ValidationError(problem)
        return moment
