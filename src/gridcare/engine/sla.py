"""SLA clocks of service work orders (服务时限) — pure, vectorised, no Django.

A work order carries one *clock* per milestone of its service commitment (首次联系 first response, 到达现场
arrival, 恢复送电 restoration, 答复/回单 answer, 回访 callback). Each clock has

- a **kind**: :data:`ELAPSED` (plain clock minutes, e.g. "arrive within 45 minutes", counted 24/7) or
  :data:`WORKING` (working days on the official calendar with 调休, e.g. "answer a complaint within 4 working
  days": 24:00 of the n-th working day after the start's local date, see :mod:`gridcare.engine.calendar`);
- an **amount** (minutes or working days), a **start** instant, a **warning ratio** in per mille (800 = warn at
  80% of the allowed time) and the **paused** seconds (挂起/待客户): pauses extend the deadline by the paused time.

Warning moment of a working-day clock: the allowed time is n whole working days, so 80% of 4 days = 3.2 working
days is 04:48 on the 4th working day; the moment is then held back to working hours when sent (below).

Notices for working-day rules are never *sent* outside working hours (``day_start``–``day_end`` of a working
day): :func:`evaluate` only flags them when ``now`` is a working moment; elapsed-time rules (field repair, 24/7)
are sent at once.

All instants are ``int64`` seconds since the Unix epoch (UTC). Local dates use Asia/Shanghai's fixed UTC+8
offset (China has had no daylight saving time since 1991). The same functions serve one order (arrays of
length 1) and the sweep over a million open orders (:func:`evaluate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

import numpy as np

from gridcare.engine.arrays import Int64Array
from gridcare.engine.calendar import DEFAULT_DAY_END, DEFAULT_DAY_START, BusinessCalendar

__all__ = [
    "BREACHED",
    "ELAPSED",
    "OK",
    "WARNING",
    "WORKING",
    "Evaluation",
    "WorkingHours",
    "deadlines",
    "epoch_seconds",
    "evaluate",
    "from_epoch_seconds",
    "is_working_moment",
    "next_working_moments",
    "warning_times",
]

#: Clock kinds.
ELAPSED = 0
WORKING = 1

#: Clock states computed by :func:`evaluate`.
OK = 0
WARNING = 1
BREACHED = 2

_DAY = 86_400
_UTC_OFFSET = 8 * 3_600  # Asia/Shanghai, no DST since 1991


@dataclass(frozen=True)
class WorkingHours:
    """The working period of a working day (Asia/Shanghai wall clock), when working-day notices may be sent."""

    day_start: time = DEFAULT_DAY_START
    day_end: time = DEFAULT_DAY_END

    def __post_init__(self) -> None:
        if not self.day_start < self.day_end:
            raise ValueError(f"day_start ({self.day_start}) must be before day_end ({self.day_end})")

    @property
    def start_seconds(self) -> int:
        return self.day_start.hour * 3600 + self.day_start.minute * 60 + self.day_start.second

    @property
    def end_seconds(self) -> int:
        return self.day_end.hour * 3600 + self.day_end.minute * 60 + self.day_end.second


def epoch_seconds(moment: datetime) -> int:
    """Seconds since the epoch of an aware datetime (naive ones are refused: their meaning is ambiguous)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"moment must be timezone-aware, got {moment!r}")
    return int(moment.timestamp())


def from_epoch_seconds(seconds: int) -> datetime:
    """The aware UTC datetime of epoch seconds."""
    return datetime.fromtimestamp(int(seconds), tz=UTC)


def _i64(values: np.ndarray | int) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def _local_days(seconds: np.ndarray) -> np.ndarray:
    """Local (UTC+8) date of each instant as ``datetime64[D]``."""
    return ((seconds + _UTC_OFFSET) // _DAY).astype("datetime64[D]")


def _midnight_seconds(days: np.ndarray) -> np.ndarray:
    """Epoch seconds of 00:00 local time of each ``datetime64[D]`` day."""
    return days.astype(np.int64) * _DAY - _UTC_OFFSET


def _working_deadline_day(calendar: BusinessCalendar, start: np.ndarray, n: np.ndarray) -> np.ndarray:
    """00:00 (epoch seconds) after the n-th working day following each start's local date (n >= 1)."""
    return _midnight_seconds(calendar.add_working_days_many(_local_days(start), n))


def deadlines(
    calendar: BusinessCalendar,
    start: np.ndarray,
    kind: np.ndarray,
    amount: np.ndarray,
    paused: np.ndarray | int = 0,
) -> np.ndarray:
    """Deadline of each clock: start + minutes (elapsed) or 24:00 of the n-th working day, plus paused seconds."""
    start, kind, amount, paused = np.broadcast_arrays(_i64(start), _i64(kind), _i64(amount), _i64(paused))
    result = start + amount * 60
    working = kind == WORKING
    if working.any():
        result = result.copy()
        result[working] = _working_deadline_day(calendar, start[working], np.maximum(amount[working], 1))
    deadlines: Int64Array = result + paused
    return deadlines


def warning_times(
    calendar: BusinessCalendar,
    start: np.ndarray,
    kind: np.ndarray,
    amount: np.ndarray,
    ratio_permille: np.ndarray | int,
    paused: np.ndarray | int = 0,
) -> np.ndarray:
    """Moment each clock reaches ``ratio`` of its allowed time (before any hold-back to working hours).

    Elapsed clocks: start + ratio × minutes. Working-day clocks: ratio × n working days, i.e. k whole working days
    and a fraction of the (k+1)-th: 00:00 of the (k+1)-th working day + fraction × 24 h.
    """
    start, kind, amount, ratio, paused = np.broadcast_arrays(
        _i64(start), _i64(kind), _i64(amount), _i64(ratio_permille), _i64(paused)
    )
    result = start + (amount * 60 * ratio) // 1000
    working = kind == WORKING
    if working.any():
        result = result.copy()
        milli_days = amount[working] * ratio[working]  # thousandths of a working day
        whole, fraction = np.divmod(milli_days, 1000)
        day_start = _working_deadline_day(calendar, start[working], whole + 1) - _DAY
        result[working] = day_start + (fraction * _DAY) // 1000
    deadlines: Int64Array = result + paused
    return deadlines


def next_working_moments(
    calendar: BusinessCalendar, moments: np.ndarray, hours: WorkingHours = WorkingHours()
) -> np.ndarray:
    """Vectorised :meth:`BusinessCalendar.next_working_moment`: each moment itself if inside working hours of a
    working day, else the start of the next working period."""
    moments = _i64(moments)
    if moments.size == 0:
        return moments.copy()
    local = moments + _UTC_OFFSET
    day_index = local // _DAY
    clock = local - day_index * _DAY
    first = int(day_index.min())
    last = int(day_index.max())
    days = np.arange(first, last + 1, dtype=np.int64).astype("datetime64[D]")
    flags = calendar.working_day_flags(days[0].astype(object), days[-1].astype(object))
    working = flags[day_index - first]
    inside = working & (clock >= hours.start_seconds) & (clock < hours.end_seconds)
    before_start_today = working & (clock < hours.start_seconds)
    # the first working day after each day: (day after the 1st working day following it) - 1 day
    next_day = calendar.add_working_days_many(day_index.astype("datetime64[D]"), 1).astype(np.int64) - 1
    target_day = np.where(before_start_today, day_index, next_day)
    period_start = target_day * _DAY - _UTC_OFFSET + hours.start_seconds
    return np.where(inside, moments, period_start)


def is_working_moment(calendar: BusinessCalendar, moment: int, hours: WorkingHours = WorkingHours()) -> bool:
    """Whether the instant lies within working hours of a working day (when working-day notices may go out)."""
    return bool(next_working_moments(calendar, np.array([moment]), hours)[0] == moment)


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate`, one element per clock."""

    deadline: np.ndarray  # int64 epoch seconds (pauses included, running pause up to now)
    warn_at: np.ndarray  # int64 epoch seconds, before hold-back
    notify_at: (
        np.ndarray
    )  # int64 epoch seconds when the warning may be sent (held back for working-day rules)
    state: np.ndarray  # int8: OK / WARNING / BREACHED at ``now``
    send_warning: np.ndarray  # bool: warn now (not yet warned)
    send_escalation: np.ndarray  # bool: escalate now (breached, not yet escalated)


def evaluate(
    calendar: BusinessCalendar,
    now: int,
    start: np.ndarray,
    kind: np.ndarray,
    amount: np.ndarray,
    ratio_permille: np.ndarray,
    paused: np.ndarray,
    paused_since: np.ndarray,
    warned: np.ndarray,
    escalated: np.ndarray,
    hours: WorkingHours = WorkingHours(),
) -> Evaluation:
    """Evaluate open clocks at ``now``: deadlines, warning moments, state, and which notices to send now.

    ``paused_since`` is -1 for a running clock, else the instant the current pause began; a paused clock's
    deadline moves with time and it sends nothing while paused. Working-day clocks send (warning or escalation)
    only when ``now`` is inside working hours; elapsed clocks send at once. A clock already breached that was
    never warned gets the escalation only.
    """
    start = _i64(start)
    kind = _i64(kind)
    paused_since = _i64(paused_since)
    running = paused_since < 0
    effective_pause = _i64(paused) + np.where(running, 0, now - paused_since)
    deadline = deadlines(calendar, start, kind, amount, effective_pause)
    warn_at = warning_times(calendar, start, kind, amount, ratio_permille, effective_pause)
    notify_at = np.where(kind == WORKING, next_working_moments(calendar, warn_at, hours), warn_at)
    state = np.where(now >= deadline, BREACHED, np.where(now >= warn_at, WARNING, OK)).astype(np.int8)
    may_send = running & ((kind != WORKING) | is_working_moment(calendar, now, hours))
    warned = np.asarray(warned, dtype=bool)
    escalated = np.asarray(escalated, dtype=bool)
    send_warning = may_send & ~warned & (state == WARNING)
    send_escalation = may_send & ~escalated & (state == BREACHED)
    return Evaluation(deadline, warn_at, notify_at, state, send_warning, send_escalation)
