"""Tests of the business calendar (工作日历), gridcare.engine.calendar — no Django needed.

Official data checked against both the ``chinese_calendar`` package and the State Council
notices (国务院办公厅关于2025年 / 2026年部分节假日安排的通知).
"""

from __future__ import annotations

import time as time_module
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridcare.engine.calendar import (
    DEFAULT_DAY_END,
    DEFAULT_DAY_START,
    PACKAGE_YEARS,
    SHANGHAI,
    BusinessCalendar,
)

CAL = BusinessCalendar()
ONE_US = timedelta(microseconds=1)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def d(s: str) -> date:
    return date.fromisoformat(s)


def days(first: str, last: str) -> set[date]:
    a, b = d(first), d(last)
    return {a + timedelta(n) for n in range((b - a).days + 1)}


# ---------------------------------------------------------------- official data 2025 / 2026

# Days off (holiday periods incl. weekends inside them) and make-up working days (调休上班日).
OFFICIAL = {
    2025: {
        "off": (
            {d("2025-01-01")}  # 元旦
            | days("2025-01-28", "2025-02-04")  # 春节
            | days("2025-04-04", "2025-04-06")  # 清明节
            | days("2025-05-01", "2025-05-05")  # 劳动节
            | days("2025-05-31", "2025-06-02")  # 端午节
            | days("2025-10-01", "2025-10-08")  # 国庆节、中秋节
        ),
        "makeup": {d("2025-01-26"), d("2025-02-08"), d("2025-04-27"), d("2025-09-28"), d("2025-10-11")},
    },
    2026: {
        "off": (
            days("2026-01-01", "2026-01-03")  # 元旦
            | days("2026-02-15", "2026-02-23")  # 春节
            | days("2026-04-04", "2026-04-06")  # 清明节
            | days("2026-05-01", "2026-05-05")  # 劳动节
            | days("2026-06-19", "2026-06-21")  # 端午节
            | days("2026-09-25", "2026-09-27")  # 中秋节
            | days("2026-10-01", "2026-10-07")  # 国庆节
        ),
        "makeup": {
            d("2026-01-04"),
            d("2026-02-14"),
            d("2026-02-28"),
            d("2026-05-09"),
            d("2026-09-20"),
            d("2026-10-10"),
        },
    },
}


@pytest.mark.parametrize("year", [2025, 2026])
def test_official_schedule_matches_package_and_calendar(year):
    assert year in PACKAGE_YEARS
    off, makeup = OFFICIAL[year]["off"], OFFICIAL[year]["makeup"]
    assert all(m.weekday() >= 5 for m in makeup)
    for day in days(f"{year}-01-01", f"{year}-12-31"):
        expected = day in makeup or (day.weekday() < 5 and day not in off)
        assert chinese_calendar.is_workday(day) is expected, day
        assert CAL.is_working_day(day) is expected, day
    assert CAL.has_official_data(year)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2025-01-26", True),  # Sunday make-up day before 春节
        ("2025-01-27", True),
        ("2025-01-28", False),  # 除夕
        ("2025-02-04", False),
        ("2025-02-08", True),  # Saturday make-up day
        ("2025-09-28", True),  # Sunday make-up day
        ("2025-10-06", False),  # 中秋节 inside the National Day week
        ("2025-10-08", False),
        ("2025-10-11", True),  # Saturday make-up day
        ("2025-10-12", False),
        ("2026-01-04", True),  # Sunday make-up day after 元旦
        ("2026-02-23", False),  # last day of the 9-day 春节 2026
        ("2026-02-28", True),
        ("2026-09-20", True),
        ("2026-09-25", False),  # 中秋节 2026 (Friday)
        ("2026-10-07", False),
        ("2026-10-08", True),
        ("2026-10-10", True),
    ],
)
def test_official_spot_checks(day, working):
    assert chinese_calendar.is_workday(d(day)) is working
    assert CAL.is_working_day(d(day)) is working


def test_agrees_with_package_on_every_covered_day():
    first, last = date(PACKAGE_YEARS.start, 1, 1), date(PACKAGE_YEARS.stop - 1, 12, 31)
    flags = CAL.working_day_flags(first, last)
    for i, flag in enumerate(flags):
        day = first + timedelta(i)
        expected = chinese_calendar.is_workday(day)
        assert CAL.is_working_day(day) is expected, day
        assert bool(flag) is expected, day


# ---------------------------------------------------------------- deadlines


@pytest.mark.parametrize(
    ("start", "n", "deadline"),
    [
        # Oct 1–8 off; Oct 9 Thu, Oct 10 Fri, Oct 11 Sat (make-up), Oct 13 Mon = 4th working day.
        (sh(2025, 9, 30, 15), 4, sh(2025, 10, 14)),
        # Oct 1–7 off; Oct 8 Thu, Oct 9 Fri, Oct 10 Sat (make-up), Oct 12 Mon = 4th working day.
        (sh(2026, 9, 30, 10), 4, sh(2026, 10, 13)),
        # Sunday make-up day 2026-01-04 counts: Jan 4, 5, 6, 7.
        (sh(2025, 12, 31, 9), 4, sh(2026, 1, 8)),
        # 春节 2025: Jan 26 (Sun, make-up), Jan 27, Feb 5, Feb 6.
        (sh(2025, 1, 24, 12), 4, sh(2025, 2, 7)),
        # 春节 2026: Feb 14 (Sat, make-up), Feb 24, 25, 26.
        (sh(2026, 2, 13, 12), 4, sh(2026, 2, 27)),
        # Start day never counts, whatever the hour.
        (sh(2025, 11, 14, 0, 0), 1, sh(2025, 11, 18)),
        (sh(2025, 11, 14, 23, 59, 59), 1, sh(2025, 11, 18)),
        (sh(2025, 11, 13, 8, 0), 1, sh(2025, 11, 15)),
        # Start on a holiday.
        (sh(2025, 10, 3, 11), 1, sh(2025, 10, 10)),
        (sh(2025, 9, 30, 15), 10, sh(2025, 10, 22)),
    ],
)
def test_add_working_days_examples(start, n, deadline):
    result = CAL.add_working_days(start, n)
    assert result == deadline
    assert result.tzinfo is SHANGHAI
    assert result.utcoffset() == timedelta(hours=8)
    assert (result.hour, result.minute, result.second, result.microsecond) == (0, 0, 0, 0)
    assert CAL.working_days_between(start, result - ONE_US) == n
    # vectorised equivalent returns the deadline's local date
    many = CAL.add_working_days_many(np.array([start.date()], dtype="datetime64[D]"), np.array([n]))
    assert many[0] == np.datetime64(deadline.date(), "D")


def test_national_day_2025_deadline_as_instant():
    deadline = CAL.add_working_days(sh(2025, 9, 30, 15), 4)
    assert deadline == datetime(2025, 10, 13, 16, 0, tzinfo=UTC)  # 24:00 of Oct 13 in Shanghai


def test_utc_start_counts_from_shanghai_date():
    # 2025-11-13 17:00 UTC is already Friday 2025-11-14 01:00 in Shanghai.
    start = datetime(2025, 11, 13, 17, 0, tzinfo=UTC)
    assert CAL.add_working_days(start, 1) == sh(2025, 11, 18)  # Monday Nov 17 is the 1st working day
    # one hour earlier it is still Thursday in Shanghai: Friday Nov 14 is the 1st working day
    assert CAL.add_working_days(start - timedelta(hours=2), 1) == sh(2025, 11, 15)
    assert CAL.working_days_between(start, sh(2025, 11, 17, 9)) == 1
    assert CAL.working_days_between(start - timedelta(hours=2), sh(2025, 11, 17, 9)) == 2
    assert CAL.is_working_day(datetime(2025, 11, 15, 17, 0, tzinfo=UTC)) is False  # Sunday 01:00 local


def test_other_time_zone_start():
    ny = ZoneInfo("America/New_York")
    start = datetime(2025, 9, 30, 13, 0, tzinfo=ny)  # 2025-10-01 01:00 Shanghai
    assert CAL.add_working_days(start, 1) == sh(2025, 10, 10)
    fixed = datetime(2025, 9, 30, 23, 30, tzinfo=timezone(timedelta(hours=8)))
    assert CAL.add_working_days(fixed, 4) == sh(2025, 10, 14)


def test_naive_datetimes_refused():
    naive = datetime(2025, 9, 30, 15)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_working_days(naive, 4)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.working_days_between(naive, date(2025, 10, 31))
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.working_days_between(date(2025, 10, 1), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.next_working_moment(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.is_working_day(naive)


@pytest.mark.parametrize("n", [0, -1, -30])
def test_non_positive_n_refused(n):
    with pytest.raises(ValueError, match="n >= 1"):
        CAL.add_working_days(sh(2025, 9, 30, 15), n)
    with pytest.raises(ValueError, match=">= 1"):
        CAL.add_working_days_many(np.array(["2025-09-30"], dtype="datetime64[D]"), np.array([n]))


def test_wrong_types_refused():
    with pytest.raises(TypeError):
        CAL.add_working_days(date(2025, 9, 30), 4)
    with pytest.raises(TypeError):
        CAL.add_working_days(sh(2025, 9, 30), True)
    with pytest.raises(TypeError):
        CAL.add_working_days(sh(2025, 9, 30), 4.0)
    with pytest.raises(TypeError):
        CAL.is_working_day("2025-10-01")
    with pytest.raises(TypeError):
        CAL.add_working_days_many(np.array(["2025-09-30T10:00"], dtype="datetime64[s]"), np.array([1]))
    with pytest.raises(TypeError):
        CAL.add_working_days_many(np.array(["2025-09-30"], dtype="datetime64[D]"), np.array([1.0]))


# ---------------------------------------------------------------- working_days_between


def test_working_days_between():
    assert CAL.working_days_between(d("2025-09-30"), d("2025-09-30")) == 0
    assert CAL.working_days_between(d("2025-09-30"), d("2025-10-13")) == 4
    assert CAL.working_days_between(d("2025-10-13"), d("2025-09-30")) == -4
    assert CAL.working_days_between(d("2025-10-01"), d("2025-10-08")) == 0
    assert CAL.working_days_between(d("2025-10-08"), d("2025-10-09")) == 1  # b counts, a does not
    assert CAL.working_days_between(d("2025-10-09"), d("2025-10-10")) == 1
    assert CAL.working_days_between(sh(2025, 9, 30, 23, 59), sh(2025, 10, 13, 0, 1)) == 4
    # 2025: 365 - 104 weekend days - 18 weekday holidays + 5 make-up days = 248 working days
    assert CAL.working_days_between(d("2024-12-31"), d("2025-12-31")) == 248
    # 2026: 365 - 104 weekend days - 19 weekday holidays + 6 make-up days = 248 working days
    assert CAL.working_days_between(d("2025-12-31"), d("2026-12-31")) == 248
    assert int(CAL.working_day_flags(d("2026-01-01"), d("2026-12-31")).sum()) == 248


# ---------------------------------------------------------------- overrides


def test_override_local_holiday_on_working_day():
    cal = BusinessCalendar({d("2025-11-12"): False})  # a Wednesday declared a local holiday
    assert CAL.is_working_day(d("2025-11-12"))
    assert not cal.is_working_day(d("2025-11-12"))
    assert CAL.add_working_days(sh(2025, 11, 10, 9), 2) == sh(2025, 11, 13)
    assert cal.add_working_days(sh(2025, 11, 10, 9), 2) == sh(2025, 11, 14)
    assert cal.working_days_between(d("2025-11-10"), d("2025-11-14")) == 3
    assert not cal.working_day_flags(d("2025-11-12"), d("2025-11-12"))[0]


def test_override_saturday_working_day():
    cal = BusinessCalendar({d("2025-11-15"): True})  # Saturday
    assert cal.is_working_day(d("2025-11-15"))
    assert cal.add_working_days(sh(2025, 11, 14, 16), 1) == sh(2025, 11, 16)
    assert CAL.add_working_days(sh(2025, 11, 14, 16), 1) == sh(2025, 11, 18)
    result = cal.add_working_days_many(np.array(["2025-11-14"], dtype="datetime64[D]"), 1)
    assert result[0] == np.datetime64("2025-11-16")


def test_overrides_beat_package_data():
    cal = BusinessCalendar({d("2025-10-11"): False, d("2025-10-08"): True})
    assert not cal.is_working_day(d("2025-10-11"))  # official make-up day cancelled
    assert cal.is_working_day(d("2025-10-08"))  # official holiday worked
    # Oct 8, 9, 10, 13
    assert cal.add_working_days(sh(2025, 9, 30, 15), 4) == sh(2025, 10, 14)
    assert cal.add_working_days(sh(2025, 9, 30, 15), 3) == sh(2025, 10, 11)
    assert list(cal.working_day_flags(d("2025-10-08"), d("2025-10-11"))) == [True, True, True, False]


def test_override_validation():
    with pytest.raises(TypeError):
        BusinessCalendar({datetime(2025, 10, 1, tzinfo=SHANGHAI): True})
    with pytest.raises(TypeError):
        BusinessCalendar({d("2025-10-01"): 1})
    assert BusinessCalendar({d("2025-10-01"): np.bool_(True)}).is_working_day(d("2025-10-01"))


def test_overrides_are_copied():
    data = {d("2025-11-12"): False}
    cal = BusinessCalendar(data)
    data[d("2025-11-12")] = True
    cal.overrides[d("2025-11-12")] = True
    assert not cal.is_working_day(d("2025-11-12"))


# ---------------------------------------------------------------- fallback years


def fallback_expected(day: date) -> bool:
    fixed = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}
    return day.weekday() < 5 and (day.month, day.day) not in fixed


@pytest.mark.parametrize("year", [2003, 2027, 2028, 2035])
def test_fallback_year_rule(year):
    assert not CAL.has_official_data(year)
    first, last = date(year, 1, 1), date(year, 12, 31)
    flags = CAL.working_day_flags(first, last)
    for i, flag in enumerate(flags):
        day = first + timedelta(i)
        assert CAL.is_working_day(day) is fallback_expected(day), day
        assert bool(flag) is fallback_expected(day), day


def test_fallback_2027_and_2028_spot_checks():
    assert not CAL.is_working_day(d("2027-01-01"))  # Friday, 元旦
    assert CAL.is_working_day(d("2027-01-04"))
    assert not CAL.is_working_day(d("2027-01-02"))  # Saturday
    assert CAL.is_working_day(d("2027-02-08"))  # lunar 春节 unknown without data
    assert CAL.is_working_day(d("2027-10-04"))  # only Oct 1–3 are fixed
    assert not CAL.is_working_day(d("2028-05-01"))  # Monday
    assert not CAL.is_working_day(d("2028-05-02"))  # Tuesday
    assert CAL.is_working_day(d("2028-05-03"))
    assert not CAL.is_working_day(d("2028-10-02"))  # Monday
    assert not CAL.is_working_day(d("2028-10-03"))  # Tuesday
    # Fri 2028-09-29 + 1: Sep 30 Sat, Oct 1 Sun, Oct 2–3 off → Wed Oct 4
    assert CAL.add_working_days(sh(2028, 9, 29, 10), 1) == sh(2028, 10, 5)
    # across New Year into a fallback year: Dec 31 2026 Thu; Jan 1 2027 Fri off → Mon Jan 4
    assert CAL.add_working_days(sh(2026, 12, 31, 10), 1) == sh(2027, 1, 5)


def test_years_without_official_data():
    assert CAL.years_without_official_data(2025, 2028) == [2027, 2028]
    assert CAL.years_without_official_data(2003, 2005) == [2003]
    assert CAL.years_without_official_data(2025, 2026) == []
    assert CAL.has_official_data(2026)


def test_override_wins_in_fallback_year():
    cal = BusinessCalendar({d("2027-02-08"): False, d("2027-01-01"): True, d("2027-02-20"): True})
    assert not cal.is_working_day(d("2027-02-08"))
    assert cal.is_working_day(d("2027-01-01"))
    assert cal.is_working_day(d("2027-02-20"))  # Saturday
    assert cal.years_without_official_data(2027, 2027) == [2027]  # overrides alone are not "complete"
    flags = cal.working_day_flags(d("2027-01-01"), d("2027-02-28"))
    assert flags[0] and not flags[(d("2027-02-08") - d("2027-01-01")).days]


def test_official_data_years_declared_complete():
    # A 2027 schedule loaded as data (illustrative values).
    schedule = {d("2027-01-01"): False, **{day: False for day in days("2027-02-06", "2027-02-13")}}
    schedule[d("2027-02-14")] = True  # a Sunday make-up day
    cal = BusinessCalendar(schedule, official_data_years=[2027])
    assert cal.years_without_official_data(2025, 2028) == [2028]
    assert cal.has_official_data(2027)
    assert not cal.is_working_day(d("2027-02-10"))
    assert cal.is_working_day(d("2027-02-14"))
    # base rule of a declared year is plain Monday–Friday: data must list every day off
    assert cal.is_working_day(d("2027-05-03"))
    assert cal.is_working_day(d("2027-10-01"))
    flags = cal.working_day_flags(d("2027-01-01"), d("2027-12-31"))
    assert [bool(f) for f in flags] == [
        cal.is_working_day(day) for day in sorted(days("2027-01-01", "2027-12-31"))
    ]


# ---------------------------------------------------------------- next_working_moment


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (sh(2025, 11, 14, 10, 0), "same"),  # Friday within hours
        (sh(2025, 11, 14, 8, 30), "same"),  # start is inclusive
        (sh(2025, 11, 14, 17, 29, 59), "same"),
        (sh(2025, 11, 14, 7, 0), sh(2025, 11, 14, 8, 30)),  # before hours
        (sh(2025, 11, 14, 17, 30), sh(2025, 11, 17, 8, 30)),  # end is exclusive → Monday
        (sh(2025, 11, 15, 12, 0), sh(2025, 11, 17, 8, 30)),  # Saturday
        (sh(2025, 9, 30, 18, 0), sh(2025, 10, 9, 8, 30)),  # before the National Day week
        (sh(2025, 10, 1, 12, 0), sh(2025, 10, 9, 8, 30)),
        (sh(2025, 10, 11, 9, 0), "same"),  # Saturday make-up day
        (sh(2025, 10, 10, 20, 0), sh(2025, 10, 11, 8, 30)),  # next working day is a Saturday
    ],
)
def test_next_working_moment(moment, expected):
    result = CAL.next_working_moment(moment)
    if expected == "same":
        assert result is moment
    else:
        assert result == expected
        assert result.tzinfo is SHANGHAI
        assert CAL.next_working_moment(result) is result


def test_next_working_moment_custom_hours_and_time_zones():
    assert (DEFAULT_DAY_START.hour, DEFAULT_DAY_START.minute) == (8, 30)
    assert (DEFAULT_DAY_END.hour, DEFAULT_DAY_END.minute) == (17, 30)
    moment = sh(2025, 11, 14, 17, 45)
    assert CAL.next_working_moment(moment, time(9), time(18)) is moment
    assert CAL.next_working_moment(sh(2025, 11, 14, 8, 45), time(9), time(18)) == sh(2025, 11, 14, 9)
    utc_moment = datetime(2025, 11, 14, 2, 0, tzinfo=UTC)  # 10:00 Shanghai
    assert CAL.next_working_moment(utc_moment) is utc_moment
    late_utc = datetime(2025, 11, 14, 10, 0, tzinfo=UTC)  # 18:00 Shanghai, Friday
    assert CAL.next_working_moment(late_utc) == sh(2025, 11, 17, 8, 30)
    with pytest.raises(ValueError):
        CAL.next_working_moment(moment, time(18), time(9))
    with pytest.raises(ValueError):
        CAL.next_working_moment(moment, time(9), time(9))
    with pytest.raises(ValueError):
        CAL.next_working_moment(moment, time(9, tzinfo=UTC), time(18))


def test_next_working_moment_respects_overrides():
    cal = BusinessCalendar({d("2025-11-17"): False})
    assert cal.next_working_moment(sh(2025, 11, 14, 18)) == sh(2025, 11, 18, 8, 30)


# ---------------------------------------------------------------- vectorised helpers


def test_working_day_flags():
    flags = CAL.working_day_flags(d("2025-09-27"), d("2025-10-12"))
    assert flags.dtype == np.bool_
    assert len(flags) == 16
    expected = [CAL.is_working_day(d("2025-09-27") + timedelta(i)) for i in range(16)]
    assert flags.tolist() == expected
    assert flags.tolist()[:2] == [False, True]  # Sat Sep 27 off, Sun Sep 28 make-up
    flags[:] = False  # a copy: the cached index is not affected
    assert CAL.is_working_day(d("2025-09-28"))
    assert CAL.working_day_flags(d("2025-09-28"), d("2025-09-28")).tolist() == [True]
    with pytest.raises(ValueError):
        CAL.working_day_flags(d("2025-10-12"), d("2025-10-11"))


def test_add_working_days_many_shapes_and_errors():
    starts = np.array(["2025-09-30", "2025-12-31", "2027-12-31"], dtype="datetime64[D]")
    result = CAL.add_working_days_many(starts, 4)  # scalar n broadcast
    assert result.dtype == np.dtype("datetime64[D]")
    assert result.tolist() == [d("2025-10-14"), d("2026-01-08"), d("2028-01-07")]
    grid = CAL.add_working_days_many(starts[:, None], np.array([1, 2]))
    assert grid.shape == (3, 2)
    empty = CAL.add_working_days_many(np.array([], dtype="datetime64[D]"), np.array([], dtype=np.int64))
    assert empty.shape == (0,) and empty.dtype == np.dtype("datetime64[D]")
    with pytest.raises(ValueError, match="NaT"):
        CAL.add_working_days_many(np.array(["NaT"], dtype="datetime64[D]"), 1)


def test_add_working_days_many_large_n_and_long_breaks():
    # a local closure of 300 days forces the index to be extended several times
    closure = {d("2030-01-01") + timedelta(i): False for i in range(300)}
    cal = BusinessCalendar(closure)
    starts = np.array(["2029-12-28", "2004-01-01"], dtype="datetime64[D]")
    n = np.array([3, 2000])
    result = cal.add_working_days_many(starts, n)
    assert result[0] == np.datetime64(cal.add_working_days(sh(2029, 12, 28, 12), 3).date(), "D")
    assert result[0] > np.datetime64("2030-10-27")
    assert result[1] == np.datetime64(cal.add_working_days(sh(2004, 1, 1, 12), 2000).date(), "D")


def test_index_extension_in_both_directions_is_consistent():
    cal = BusinessCalendar({d("1999-06-01"): False})
    for year in (2025, 2040, 1999, 2026):
        start = sh(year, 5, 28, 12)
        many = cal.add_working_days_many(np.array([start.date()], dtype="datetime64[D]"), 5)
        assert many[0] == np.datetime64(cal.add_working_days(start, 5).date(), "D")
    assert cal.working_days_between(d("1999-05-31"), d("1999-06-01")) == 0


def test_million_items_fast():
    rng = np.random.default_rng(20250930)
    starts = np.datetime64("2024-01-01") + rng.integers(0, 3 * 365, 1_000_000)
    n = rng.integers(1, 31, 1_000_000)
    cal = BusinessCalendar()
    cal.add_working_days_many(starts[:1], n[:1])  # build the index
    t0 = time_module.perf_counter()
    result = cal.add_working_days_many(starts, n)
    elapsed = time_module.perf_counter() - t0
    assert result.shape == (1_000_000,)
    assert elapsed < 1.0
    for i in rng.integers(0, 1_000_000, 50):
        start = datetime.combine(starts[i].item(), time(12), tzinfo=SHANGHAI)
        assert result[i].item() == cal.add_working_days(start, int(n[i])).date()


# ---------------------------------------------------------------- properties (Hypothesis)

CALENDARS = [
    CAL,
    BusinessCalendar(
        {
            d("2025-10-11"): False,
            d("2025-11-12"): False,
            d("2025-11-15"): True,
            d("2027-02-08"): False,
            d("2027-02-20"): True,
            **{d("2026-07-01") + timedelta(i): False for i in range(20)},
        }
    ),
]
TIME_ZONES = [SHANGHAI, UTC, ZoneInfo("America/New_York"), ZoneInfo("Pacific/Kiritimati")]

local_dates = st.dates(min_value=date(2002, 1, 1), max_value=date(2029, 12, 31))
aware_starts = st.datetimes(
    min_value=datetime(2002, 1, 1), max_value=datetime(2029, 12, 31), timezones=st.sampled_from(TIME_ZONES)
)


@settings(deadline=None)
@given(cal=st.sampled_from(CALENDARS), start=aware_starts, n=st.integers(1, 120))
def test_deadline_consistent_with_working_days_between(cal, start, n):
    deadline = cal.add_working_days(start, n)
    assert deadline.tzinfo is SHANGHAI and deadline.time() == time(0)
    last_instant = deadline - ONE_US
    assert cal.working_days_between(start, last_instant) == n
    assert cal.working_days_between(last_instant, start) == -n
    assert cal.is_working_day(last_instant)  # the n-th working day
    assert deadline.date() >= start.astimezone(SHANGHAI).date() + timedelta(n + 1)


@settings(deadline=None)
@given(
    cal=st.sampled_from(CALENDARS),
    items=st.lists(st.tuples(local_dates, st.integers(1, 60)), min_size=1, max_size=25),
)
def test_vectorised_equals_scalar(cal, items):
    starts = np.array([s for s, _ in items], dtype="datetime64[D]")
    n = np.array([k for _, k in items])
    result = cal.add_working_days_many(starts, n)
    for (s, k), r in zip(items, result, strict=True):
        expected = cal.add_working_days(datetime.combine(s, time(9), tzinfo=SHANGHAI), k)
        assert r.item() == expected.date()


@settings(deadline=None)
@given(cal=st.sampled_from(CALENDARS), a=local_dates, span=st.integers(-120, 120))
def test_working_days_between_and_flags_match_scalar(cal, a, span):
    b = a + timedelta(span)
    lo, hi = min(a, b), max(a, b)
    count = sum(cal.is_working_day(lo + timedelta(i)) for i in range(1, (hi - lo).days + 1))
    assert cal.working_days_between(a, b) == (count if b >= a else -count)
    flags = cal.working_day_flags(lo, hi)
    assert flags.tolist() == [cal.is_working_day(lo + timedelta(i)) for i in range((hi - lo).days + 1)]
