"""Reading periods ("YYYY-MM"): parsing and bounds, in the business time zone."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone

from gridcare.core.errors import InvalidInput

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
#: the years a reading or billing period may lie in (a typo such as 0026-11 is refused, not turned into a date)
FIRST_YEAR, LAST_YEAR = 1900, 2999


def parse_period(period: str, field: str = "period") -> dt.date:
    """The first day of ``period``; a malformed period is refused with a clear message."""
    match = _PERIOD.match(str(period or ""))
    if match is None:
        raise InvalidInput({field: f"「{period}」不是 YYYY-MM 格式的抄表期。 (Not a YYYY-MM period.)"})
    if not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
        raise InvalidInput(
            {field: f"「{period}」的年份应在 {FIRST_YEAR}–{LAST_YEAR} 之间。 (The year is out of range.)"}
        )
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def period_of(moment: dt.datetime, zone: dt.tzinfo | None = None) -> str:
    """The period a read taken at ``moment`` belongs to (local calendar month; ``zone`` saves looking the
    current time zone up again, record after record of a batch)."""
    local = moment.astimezone(zone or timezone.get_current_timezone())
    return f"{local.year:04d}-{local.month:02d}"


def months_between(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month
