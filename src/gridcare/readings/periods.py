"""Reading periods ("YYYY-MM"): parsing and bounds, in the business time zone."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone

from gridcare.core.errors import InvalidInput

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_period(period: str, field: str = "period") -> dt.date:
    """The first day of ``period``; a malformed period is refused with a clear message."""
    match = _PERIOD.match(str(period or ""))
    if match is None:
        raise InvalidInput({field: f"「{period}」不是 YYYY-MM 格式的抄表期。 (Not a YYYY-MM period.)"})
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
