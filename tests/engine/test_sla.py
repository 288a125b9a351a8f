"""SLA clocks (服务时限), gridcare.engine.sla — no Django: both clock kinds, pauses, 2026 holidays and make-up
working days (调休), the 80% warning and the working-hours hold-back of notices."""

from __future__ import annotations

from datetime import datetime, time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridcare.engine import sla
from gridcare.engine.calendar import SHANGHAI, BusinessCalendar

CAL = BusinessCalendar()
HOURS = sla.WorkingHours(time(8, 30), time(17, 30))


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def s(moment: datetime) -> int:
    return sla.epoch_seconds(moment)


def local(seconds: int) -> datetime:
    return sla.from_epoch_seconds(seconds).astimezone(SHANGHAI)


def deadline(start: datetime, kind: int, amount: int, paused: int = 0) -> datetime:
    return local(sla.deadlines(CAL, np.array([s(start)]), np.array([kind]), np.array([amount]), paused)[0])


def test_elapsed_clock_is_plain_minutes_around_the_clock() -> None:
    """Repair arrival: urban 45 min, rural 90, remote 120 — also at night and on holidays."""
    start = sh(2026, 10, 1, 23, 50)  # National Day, night
    assert deadline(start, sla.ELAPSED, 45) == sh(2026, 10, 2, 0, 35)
    assert deadline(start, sla.ELAPSED, 90) == sh(2026, 10, 2, 1, 20)
    assert deadline(start, sla.ELAPSED, 120) == sh(2026, 10, 2, 1, 50)


def test_national_day_2026_complaint_answer() -> None:
    """Complaint 2026-09-30 10:00, 4 working days: Oct 1–7 off, Oct 8, 9, 10 (Sat, make-up) and 12."""
    assert deadline(sh(2026, 9, 30, 10), sla.WORKING, 4) == sh(2026, 10, 13)


def test_make_up_sunday_before_national_day_counts() -> None:
    """2026-09-20 is a make-up working Sunday: a report (举报, 9 working days) taken on Sat 09-19 counts it as
    day 1; Fri 09-25 is 中秋节 (off), Oct 1–7 off: 20, 21, 22, 23, 24, 28, 29, 30, Oct 8 → 24:00 Oct 8."""
    assert deadline(sh(2026, 9, 19, 15), sla.WORKING, 1) == sh(2026, 9, 21)
    assert deadline(sh(2026, 9, 19, 15), sla.WORKING, 9) == sh(2026, 10, 9)
    # and the Saturday make-up day after the holiday: 4 working days from Oct 7 are Oct 8, 9, 10 (Sat), 12
    assert deadline(sh(2026, 10, 7, 20), sla.WORKING, 4) == sh(2026, 10, 13)


def test_spring_festival_2026_with_make_up_saturdays() -> None:
    """Feb 15–23 off; Sat Feb 14 and Sat Feb 28 are working days."""
    assert deadline(sh(2026, 2, 13, 16), sla.WORKING, 1) == sh(2026, 2, 15)  # Sat 14th works
    assert deadline(sh(2026, 2, 13, 16), sla.WORKING, 2) == sh(2026, 2, 25)  # then Tue 24th
    # meter-reading anomaly, 6 working days from Mon 02-23 (still a holiday): 24, 25, 26, 27, 28 (Sat), Mar 2
    assert deadline(sh(2026, 2, 23, 10), sla.WORKING, 6) == sh(2026, 3, 3)


def test_pause_extends_both_clock_kinds_by_the_paused_time() -> None:
    two_hours = 2 * 3600
    assert deadline(sh(2026, 11, 2, 9), sla.ELAPSED, 45, two_hours) == sh(2026, 11, 2, 11, 45)
    assert deadline(sh(2026, 9, 30, 10), sla.WORKING, 4, 3 * 86400) == sh(2026, 10, 16)


def test_warning_at_80_percent() -> None:
    start = np.array([s(sh(2026, 11, 2, 9)), s(sh(2026, 9, 30, 10))])
    warn = sla.warning_times(CAL, start, np.array([sla.ELAPSED, sla.WORKING]), np.array([45, 4]), 800)
    assert local(warn[0]) == sh(2026, 11, 2, 9, 36)
    # 3.2 of 4 working days: 04:48 on the 4th working day (Oct 12)
    assert local(warn[1]) == sh(2026, 10, 12, 4, 48)
    # the hold-back moves that to the start of working hours
    held = sla.next_working_moments(CAL, warn[1:], HOURS)
    assert local(held[0]) == sh(2026, 10, 12, 8, 30)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (sh(2026, 10, 9, 10), sh(2026, 10, 9, 10)),  # inside working hours
        (sh(2026, 10, 9, 17, 30), sh(2026, 10, 10, 8, 30)),  # end of day → Saturday make-up day
        (sh(2026, 10, 3, 12), sh(2026, 10, 8, 8, 30)),  # holiday → first working day after
        (sh(2026, 2, 14, 7), sh(2026, 2, 14, 8, 30)),  # make-up Saturday morning
        (sh(2026, 2, 22, 12), sh(2026, 2, 24, 8, 30)),  # Spring Festival
    ],
)
def test_next_working_moments_matches_the_calendar(moment: datetime, expected: datetime) -> None:
    got = sla.next_working_moments(CAL, np.array([s(moment)]), HOURS)[0]
    assert local(got) == expected == CAL.next_working_moment(moment, HOURS.day_start, HOURS.day_end)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=s(sh(2025, 1, 1)), max_value=s(sh(2026, 12, 20))))
def test_vectorised_hold_back_equals_the_scalar_calendar(moment: int) -> None:
    expected = CAL.next_working_moment(local(moment), HOURS.day_start, HOURS.day_end)
    assert local(sla.next_working_moments(CAL, np.array([moment]), HOURS)[0]) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=s(sh(2025, 1, 1)), max_value=s(sh(2026, 12, 1))),
    st.integers(min_value=1, max_value=12),
)
def test_working_deadline_equals_add_working_days(start: int, n: int) -> None:
    assert deadline(local(start), sla.WORKING, n) == CAL.add_working_days(local(start), n)


def evaluate_one(now: datetime, start: datetime, kind: int, amount: int, **kw: int) -> sla.Evaluation:
    return sla.evaluate(
        CAL,
        s(now),
        np.array([s(start)]),
        np.array([kind]),
        np.array([amount]),
        np.array([800]),
        np.array([kw.get("paused", 0)]),
        np.array([kw.get("paused_since", -1)]),
        np.array([bool(kw.get("warned", 0))]),
        np.array([bool(kw.get("escalated", 0))]),
        HOURS,
    )


def test_working_day_warnings_are_never_sent_outside_working_hours() -> None:
    start = sh(2026, 9, 30, 10)  # warning due 2026-10-12 04:48, deadline 10-13 00:00
    night = evaluate_one(sh(2026, 10, 12, 5, 0), start, sla.WORKING, 4)
    assert night.state[0] == sla.WARNING and not night.send_warning[0]
    assert local(night.notify_at[0]) == sh(2026, 10, 12, 8, 30)
    morning = evaluate_one(sh(2026, 10, 12, 8, 30), start, sla.WORKING, 4)
    assert morning.send_warning[0]
    # breached at midnight, escalated only when the office opens
    midnight = evaluate_one(sh(2026, 10, 13, 0, 0), start, sla.WORKING, 4, warned=1)
    assert midnight.state[0] == sla.BREACHED and not midnight.send_escalation[0]
    assert evaluate_one(sh(2026, 10, 13, 8, 30), start, sla.WORKING, 4, warned=1).send_escalation[0]


def test_elapsed_rules_send_at_night() -> None:
    start = sh(2026, 10, 3, 2, 0)  # holiday night repair
    warn = evaluate_one(sh(2026, 10, 3, 2, 37), start, sla.ELAPSED, 45)
    assert warn.send_warning[0] and not warn.send_escalation[0]
    breach = evaluate_one(sh(2026, 10, 3, 2, 45), start, sla.ELAPSED, 45, warned=1)
    assert breach.send_escalation[0]


def test_a_paused_clock_sends_nothing_and_its_deadline_moves() -> None:
    start = sh(2026, 11, 2, 9, 0)
    paused = evaluate_one(
        sh(2026, 11, 2, 12, 0), start, sla.ELAPSED, 45, paused_since=s(sh(2026, 11, 2, 9, 10))
    )
    assert not paused.send_escalation[0] and paused.state[0] == sla.OK
    assert local(paused.deadline[0]) == sh(2026, 11, 2, 12, 35)


def test_sweep_sized_arrays_in_one_call() -> None:
    rng = np.random.default_rng(7)
    n = 200_000
    start = s(sh(2026, 1, 1)) + rng.integers(0, 330 * 86400, n)
    kind = rng.integers(0, 2, n)
    amount = np.where(kind == sla.WORKING, rng.integers(1, 10, n), rng.integers(45, 1440, n))
    result = sla.evaluate(
        CAL,
        s(sh(2026, 11, 25, 10)),
        start,
        kind,
        amount,
        np.full(n, 800),
        np.zeros(n, np.int64),
        np.full(n, -1),
        np.zeros(n, bool),
        np.zeros(n, bool),
        HOURS,
    )
    assert result.deadline.shape == (n,)
    assert (result.warn_at <= result.deadline).all() and (result.deadline > start).all()
    sample = rng.integers(0, n, 50)
    for i in sample:
        if kind[i] == sla.WORKING:
            assert local(result.deadline[i]) == CAL.add_working_days(local(start[i]), int(amount[i]))
