"""Business calendar (工作日历) for working-day service deadlines.

Service rules such as "a complaint (投诉) is answered within 4 working days (工作日)" count
working days on the official calendar of the People's Republic of China: statutory holidays
(法定节假日) are days off, and the make-up working days (调休上班日) announced each year by the
State Council (国务院办公厅关于部分节假日安排的通知) are working days even though they fall on a
Saturday or Sunday.

Sources, in order of precedence, for "is day *d* a working day?":

1. **Data overrides** (``Mapping[date, bool]``; ``True`` = working day, ``False`` = day off):
   local holidays, a provincial company's own arrangements, or the official schedule of a year
   the package below does not know yet, loaded as data.  They win over everything.
2. **The** ``chinese_calendar`` **package** (PyPI ``chinesecalendar``) for the years it covers
   (2004–2026 in version 1.11): the official holidays and make-up working days.
3. **Fallback rule** for any other year: Monday–Friday are working days, except the fixed-date
   statutory holidays of the national holiday rules (全国年节及纪念日放假办法, 2025 revision):
   元旦 January 1, 劳动节 May 1–2, 国庆节 October 1–3.  Lunar holidays (春节, 清明节, 端午节,
   中秋节) and make-up working days cannot be known without the State Council notice, so a
   fallback year is *approximate*; :meth:`BusinessCalendar.years_without_official_data` reports
   such years so that the application can warn administrators to load the schedule.

   A year declared in ``official_data_years`` is one whose complete official schedule has been
   loaded as overrides: it is not reported, and its base rule is plain Monday–Friday (the loaded
   data must then list every day off falling on Monday–Friday, as the State Council notices do).

Dates are local dates in Asia/Shanghai (:data:`SHANGHAI`).  Aware datetimes are converted to
Asia/Shanghai before their date is taken; naive datetimes are refused (``ValueError``) because
their meaning is ambiguous.  Plain :class:`datetime.date` objects are taken as local dates.

Deadline semantics (时限): a deadline of *n* working days from a moment ``start`` is the end
(24:00 Asia/Shanghai) of the *n*-th working day counted from the day after ``start``'s local
date.  24:00 of day *D* is represented as 00:00 of day *D + 1*, so the returned datetime is
the first instant *after* the deadline.  Elapsed-hour rules (e.g. "arrive on site within 45
minutes") use plain clock time and need nothing from this module.

This module is pure Python + NumPy (no Django) and is safe to share between threads: the only
mutable state is a lazily extended, read-only day index that is replaced atomically.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import numpy as np

from gridcare.engine.arrays import DayArray

__all__ = [
    "DEFAULT_DAY_END",
    "DEFAULT_DAY_START",
    "FALLBACK_FIXED_HOLIDAYS",
    "PACKAGE_YEARS",
    "SHANGHAI",
    "BusinessCalendar",
]

#: Time zone of all local dates and deadlines.
SHANGHAI = ZoneInfo("Asia/Shanghai")

#: Configurable default start of the working period of a working day (used by
#: :meth:`BusinessCalendar.next_working_moment`); pass another ``time`` to override.
DEFAULT_DAY_START = time(8, 30)
#: Configurable default end (exclusive) of the working period of a working day.
DEFAULT_DAY_END = time(17, 30)

#: (month, day) of the fixed-date statutory holidays used for years without official data:
#: 元旦 Jan 1; 劳动节 May 1–2; 国庆节 Oct 1–3 (全国年节及纪念日放假办法, 2025 revision).
FALLBACK_FIXED_HOLIDAYS: tuple[tuple[int, int], ...] = ((1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3))

_PKG_HOLIDAYS: Mapping[date, object] = chinese_calendar.holidays
_PKG_WORKDAYS: Mapping[date, object] = chinese_calendar.workdays

#: Years for which the ``chinese_calendar`` package has official data (same rule as the
#: package's own range check: the span of the years of its holiday table).
PACKAGE_YEARS = range(min(_PKG_HOLIDAYS).year, max(_PKG_HOLIDAYS).year + 1)

_EPOCH = date(1970, 1, 1)  # day 0 of numpy datetime64[D]
_ONE_DAY = timedelta(days=1)


def _require_aware(dt: datetime, name: str) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(
            f"{name} must be a timezone-aware datetime (got naive {dt!r}); attach a time zone, "
            "e.g. dt.replace(tzinfo=ZoneInfo('Asia/Shanghai')), or use django.utils.timezone.now()"
        )


def _local_date(value: date, name: str) -> date:
    """Local (Asia/Shanghai) date of a ``date`` or an aware ``datetime``."""
    if isinstance(value, datetime):
        _require_aware(value, name)
        return value.astimezone(SHANGHAI).date()
    if isinstance(value, date):
        return value
    raise TypeError(
        f"{name} must be a datetime.date or an aware datetime.datetime, not {type(value).__name__}"
    )


def _epoch_day(d: date) -> int:
    return d.toordinal() - _EPOCH.toordinal()


@dataclass(frozen=True, slots=True)
class _DayIndex:
    """Working-day flags and their cumulative sum over a contiguous day range.

    ``cum[i]`` is the number of working days among ``first .. first + i - 1`` (``cum[0] == 0``),
    so the working days in the index range ``(i, j]`` number ``cum[j + 1] - cum[i + 1]``.
    ``reach[c]`` is the smallest ``k`` with ``cum[k] >= c`` (``0 <= c <= cum[-1]``): the day with
    index ``reach[c] - 1`` is the c-th working day of the range.
    """

    first: date
    first_epoch_day: int
    flags: np.ndarray  # bool, read-only
    cum: np.ndarray  # int64, len(flags) + 1, read-only
    reach: np.ndarray  # int64, cum[-1] + 1, read-only

    @property
    def last(self) -> date:
        return self.first + timedelta(days=len(self.flags) - 1)

    def covers(self, first: date, last: date) -> bool:
        return self.first <= first and last <= self.last


class BusinessCalendar:
    """Official Chinese working-day calendar with data overrides (see the module docstring).

    :param overrides: ``{date: is_working_day}``; ``True`` makes a day a working day (e.g. a
        local make-up day), ``False`` a day off (e.g. a local holiday).  Keys must be
        :class:`datetime.date` (not ``datetime``), values ``bool``.  They take precedence over
        the ``chinese_calendar`` package and over the fallback rule.
    :param official_data_years: years whose complete official schedule is contained in
        ``overrides`` (e.g. the State Council notice for 2027 loaded from the database).  Such
        years are not reported by :meth:`years_without_official_data` and use plain
        Monday–Friday as their base rule instead of the fixed-holiday fallback.
    """

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        *,
        official_data_years: Iterable[int] = (),
    ) -> None:
        clean: dict[date, bool] = {}
        for key, value in (overrides or {}).items():
            if isinstance(key, datetime) or not isinstance(key, date):
                raise TypeError(f"override keys must be datetime.date, not {type(key).__name__}: {key!r}")
            if not isinstance(value, bool | np.bool_):
                raise TypeError(f"override for {key} must be a bool (True = working day), not {value!r}")
            clean[key] = bool(value)
        self._overrides: Mapping[date, bool] = clean
        self._official_data_years = frozenset(operator.index(y) for y in official_data_years)
        self._index: _DayIndex | None = None

    # ------------------------------------------------------------------ data coverage

    @property
    def overrides(self) -> Mapping[date, bool]:
        """A copy of the data overrides."""
        return dict(self._overrides)

    def has_official_data(self, year: int) -> bool:
        """Whether *year*'s working days come from an official schedule (the ``chinese_calendar``
        package, or overrides declared complete via ``official_data_years``) rather than the
        approximate fallback rule."""
        return year in PACKAGE_YEARS or year in self._official_data_years

    def years_without_official_data(self, first_year: int, last_year: int) -> list[int]:
        """Years in ``first_year .. last_year`` (inclusive) that use the fallback rule, i.e. whose
        lunar holidays and make-up working days are unknown — warn administrators to load the
        State Council schedule for them.  Usual call: ``(today.year, today.year + 1)``."""
        return [y for y in range(first_year, last_year + 1) if not self.has_official_data(y)]

    # ------------------------------------------------------------------ scalar API

    def is_working_day(self, d: date) -> bool:
        """Whether local date *d* (a ``date``, or an aware ``datetime`` converted to
        Asia/Shanghai) is a working day (工作日).  Precedence: overrides, then the
        ``chinese_calendar`` package, then the fallback rule."""
        d = _local_date(d, "d")
        override = self._overrides.get(d)
        if override is not None:
            return override
        if d.year in PACKAGE_YEARS:
            # Same rule as chinese_calendar.is_workday, without its per-call range scan.
            return d in _PKG_WORKDAYS or (d.weekday() < 5 and d not in _PKG_HOLIDAYS)
        if d.year in self._official_data_years:
            return d.weekday() < 5
        return d.weekday() < 5 and (d.month, d.day) not in FALLBACK_FIXED_HOLIDAYS

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """Deadline of *n* working days from the aware moment *start*.

        The deadline is **24:00 (Asia/Shanghai) of the n-th working day counted from the day
        after start's local date**: the start day itself never counts, whatever the hour.  It is
        returned as the aware datetime 00:00 Asia/Shanghai of the calendar day following the
        n-th working day (the first instant after the deadline; a work order is overdue when
        ``now >= deadline``).

        Example: received 2025-09-30 15:00, n=4 → working days Oct 9, Oct 10, Oct 11 (Saturday
        make-up day), Oct 13 → returns 2025-10-14 00:00+08:00.

        :raises ValueError: *start* is naive, or ``n <= 0``.
        :raises TypeError: *start* is not a datetime or *n* not an integer.
        """
        if not isinstance(start, datetime):
            raise TypeError(f"start must be an aware datetime.datetime, not {type(start).__name__}")
        _require_aware(start, "start")
        if isinstance(n, bool):
            raise TypeError("n must be an integer number of working days, not bool")
        n = operator.index(n)
        if n <= 0:
            raise ValueError(f"n must be a positive number of working days (n >= 1), got {n}")
        day = start.astimezone(SHANGHAI).date()
        remaining = n
        while remaining:
            day += _ONE_DAY
            if self.is_working_day(day):
                remaining -= 1
        return datetime.combine(day + _ONE_DAY, time(0), tzinfo=SHANGHAI)

    def working_days_between(self, a: date, b: date) -> int:
        """Number of working days *d* with ``a < d <= b`` (local dates), or the negative of
        ``working_days_between(b, a)`` when ``b < a``.

        *a* and *b* are dates, or aware datetimes reduced to their Asia/Shanghai date (naive →
        ``ValueError``).  Thus ``working_days_between(start, now)`` is the number of working days
        elapsed since *start*'s day, and for ``n >= 1``::

            working_days_between(start, add_working_days(start, n) - timedelta(microseconds=1)) == n
        """
        da, db = _local_date(a, "a"), _local_date(b, "b")
        if db < da:
            return -self.working_days_between(db, da)
        if da == db:
            return 0
        idx = self._ensure_index(da, db)
        i = (da - idx.first).days
        j = (db - idx.first).days
        return int(idx.cum[j + 1] - idx.cum[i + 1])

    def next_working_moment(
        self,
        dt: datetime,
        day_start: time = DEFAULT_DAY_START,
        day_end: time = DEFAULT_DAY_END,
    ) -> datetime:
        """*dt* itself if it lies within working hours ``[day_start, day_end)`` (Asia/Shanghai
        wall-clock) of a working day; otherwise the start of the next working period, i.e.
        ``day_start`` of the same day (if it is a working day and *dt* is before ``day_start``)
        or of the next working day, as an aware Asia/Shanghai datetime.

        Used to hold back reminders/warnings of working-day SLA rules outside working hours.
        The working hours are parameters; 08:30–17:30 are only configurable defaults
        (:data:`DEFAULT_DAY_START`, :data:`DEFAULT_DAY_END`).

        :raises ValueError: *dt* is naive, the times carry a tzinfo, or ``day_start >= day_end``.
        """
        if not isinstance(dt, datetime):
            raise TypeError(f"dt must be an aware datetime.datetime, not {type(dt).__name__}")
        _require_aware(dt, "dt")
        if day_start.tzinfo is not None or day_end.tzinfo is not None:
            raise ValueError("day_start/day_end are Asia/Shanghai wall-clock times and must be naive")
        if not day_start < day_end:
            raise ValueError(f"day_start ({day_start}) must be before day_end ({day_end})")
        local = dt.astimezone(SHANGHAI)
        day, clock = local.date(), local.time()
        if self.is_working_day(day):
            if day_start <= clock < day_end:
                return dt
            if clock < day_start:
                return datetime.combine(day, day_start, tzinfo=SHANGHAI)
        day += _ONE_DAY
        while not self.is_working_day(day):
            day += _ONE_DAY
        return datetime.combine(day, day_start, tzinfo=SHANGHAI)

    # ------------------------------------------------------------------ vectorised API

    def working_day_flags(self, first: date, last: date) -> np.ndarray:
        """Boolean array, one element per local date ``first .. last`` (inclusive), ``True`` for
        working days; element ``i`` is ``first + i days``.  ``last < first`` → ``ValueError``."""
        first, last = _local_date(first, "first"), _local_date(last, "last")
        if last < first:
            raise ValueError(f"last ({last}) is before first ({first})")
        idx = self._ensure_index(first, last)
        i = (first - idx.first).days
        return idx.flags[i : i + (last - first).days + 1].copy()

    def add_working_days_many(self, start_dates: np.ndarray, n: np.ndarray | int) -> np.ndarray:
        """Vectorised :meth:`add_working_days` for sweeping many work orders.

        :param start_dates: ``datetime64[D]`` array of the *local* (Asia/Shanghai) dates of the
            start moments (convert instants to local dates first); NaT is refused.
        :param n: positive integer working-day counts, broadcast against *start_dates*.
        :returns: ``datetime64[D]`` array (broadcast shape) of the **deadline day**: the calendar
            day after the n-th working day, i.e. its 00:00 Asia/Shanghai is 24:00 of the n-th
            working day — the local date of ``add_working_days(start, n)``.

        Uses a cumulative-sum index over a precomputed day range and its inverse lookup table
        (two gathers per item, no Python loop): a million items take well under 0.1 s.
        """
        starts = np.asarray(start_dates)
        if starts.dtype != np.dtype("datetime64[D]"):
            raise TypeError(f"start_dates must be a datetime64[D] array of local dates, not {starts.dtype}")
        counts = np.asarray(n)
        if counts.dtype == np.bool_ or not np.issubdtype(counts.dtype, np.integer):
            raise TypeError(f"n must be an integer array, not {counts.dtype}")
        starts, counts = np.broadcast_arrays(starts, counts)
        if starts.size == 0:
            return np.empty(starts.shape, dtype="datetime64[D]")
        if np.isnat(starts).any():
            raise ValueError("start_dates contains NaT")
        counts = counts.astype(np.int64, copy=False)
        if counts.min() <= 0:
            raise ValueError("n must be >= 1 for every item")
        days = starts.view(np.int64)  # days since 1970-01-01
        lo = _EPOCH + timedelta(days=int(days.min()))
        hi = _EPOCH + timedelta(days=int(days.max()))
        # Generous first guess of the span needed (>= 5 working days a week plus holidays);
        # doubled until every target is inside the index (overrides may add long breaks).
        span = int(counts.max()) * 7 // 5 + 31
        while True:
            end = hi + timedelta(days=span)  # OverflowError past year 9999
            idx = self._ensure_index(lo, end)
            # cum[pos + 1] = working days up to and including the start day; target = that + n
            target = idx.cum[days - (idx.first_epoch_day - 1)]
            target += counts
            if int(target.max()) <= int(idx.cum[-1]):
                break
            span *= 2
        # reach[target] - 1 is the index of the n-th working day, reach[target] the deadline day
        deadline = idx.reach[target]
        deadline += idx.first_epoch_day
        days_out: DayArray = deadline.view("datetime64[D]")
        return days_out

    # ------------------------------------------------------------------ index

    def _ensure_index(self, first: date, last: date) -> _DayIndex:
        idx = self._index
        if idx is not None and idx.covers(first, last):
            return idx
        if idx is not None:
            first, last = min(first, idx.first), max(last, idx.last)
        # Whole years, plus one spare year ahead, so that typical sweeps build the index once.
        first = date(first.year, 1, 1)
        last = date(min(last.year + 1, date.max.year), 12, 31)
        idx = self._build_index(first, last)
        self._index = idx
        return idx

    def _build_index(self, first: date, last: date) -> _DayIndex:
        length = (last - first).days + 1
        first_epoch_day = _epoch_day(first)
        epoch_days = np.arange(first_epoch_day, first_epoch_day + length, dtype=np.int64)
        flags = (epoch_days + 3) % 7 < 5  # 1970-01-01 was a Thursday (weekday 3)

        def put(d: date, value: bool) -> None:
            if first <= d <= last:
                flags[(d - first).days] = value

        for year in range(first.year, last.year + 1):
            if year not in PACKAGE_YEARS and year not in self._official_data_years:
                for month, day in FALLBACK_FIXED_HOLIDAYS:
                    put(date(year, month, day), False)
        if first.year <= PACKAGE_YEARS.stop - 1 and last.year >= PACKAGE_YEARS.start:
            for d in _PKG_HOLIDAYS:
                put(d, False)
            for d in _PKG_WORKDAYS:  # make-up working days win, as in chinese_calendar.is_workday
                put(d, True)
        for d, value in self._overrides.items():
            put(d, value)

        cum = np.zeros(length + 1, dtype=np.int64)
        np.cumsum(flags, out=cum[1:])
        flags.setflags(write=False)
        reach = np.searchsorted(cum, np.arange(int(cum[-1]) + 1, dtype=np.int64), side="left")
        reach = reach.astype(np.int64, copy=False)
        cum.setflags(write=False)
        reach.setflags(write=False)
        return _DayIndex(first, first_epoch_day, flags, cum, reach)
