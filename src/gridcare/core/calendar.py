"""The business calendar (工作日历) used everywhere in gridcare.

Working days follow the official Chinese calendar — statutory holidays and make-up working days (调休) from
the ``chinesecalendar`` package — overridden by data (:class:`~gridcare.core.models.CalendarOverride`: local
holidays, or the State Council schedule of a year the package does not know yet).

Semantics (see :mod:`gridcare.engine.calendar` for the pure implementation):

- ``is_working_day(d)``: whether local date ``d`` is a working day.
- ``add_working_days(start, n)``: the deadline of a rule "within n working days": the end (24:00,
  Asia/Shanghai) of the n-th working day counted from the day after ``start``'s local date, returned as the
  aware datetime 00:00 of the next calendar day. ``start`` must be timezone-aware and ``n >= 1``.
- ``working_days_between(a, b)``: the number of working days d with a < d <= b (local dates); negative when
  b is before a.

Elapsed-time rules (hours, minutes) use plain clock time and do not need this module.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from gridcare.engine.calendar import BusinessCalendar

_CACHE_SECONDS = 60.0
_lock = threading.Lock()
_cached: tuple[float, BusinessCalendar] | None = None


def get_calendar() -> BusinessCalendar:
    """The calendar with the current overrides (reloaded at most every minute, or at once after a change)."""
    global _cached
    with _lock:
        now = time.monotonic()
        if _cached is not None and now - _cached[0] < _CACHE_SECONDS:
            return _cached[1]
        from gridcare.core.models import CalendarOverride

        overrides = dict(CalendarOverride.objects.values_list("day", "is_working_day"))
        calendar = BusinessCalendar(overrides=overrides)
        _cached = (now, calendar)
        return calendar


def forget_calendar() -> None:
    """Drop the cached calendar so the next call sees changed overrides."""
    global _cached
    with _lock:
        _cached = None


def is_working_day(day: dt.date) -> bool:
    return get_calendar().is_working_day(day)


def add_working_days(start: dt.datetime, n: int) -> dt.datetime:
    return get_calendar().add_working_days(start, n)


def working_days_between(a: dt.date | dt.datetime, b: dt.date | dt.datetime) -> int:
    return get_calendar().working_days_between(a, b)
