"""The dunning ladder (催费 → 停电通知书 → 停电 → 复电) as data per customer class — pure, vectorised, no Django.

The rule (RULES.md §1, from 供电营业规则 and 电力供应与使用条例 第39条)
------------------------------------------------------------------
    "Disconnection for arrears only when the arrears are > 30 days overdue **and** the customer was chased.
    Procedure: approval (who, why, when) → written notice (停电通知书) delivered 3–7 days before (defaults:
    residential 7 days, others 3 days) → reminder 30 minutes (default; some provinces 1 hour) before →
    disconnection. Important customers (重要用户): notice also to the authority.  Reconnection after payment:
    within 24 h (default)."

The ladder gridcare follows for one dunning case of an account (the ledger records each step done as the
account's *last step* with its moment; this module says which step comes next and from when it is allowed):

1. :data:`REMINDER` (催费提醒: SMS, phone or notice) — from the day the oldest unpaid bill is
   ``reminder_after_days`` overdue.  This is the "chased" of the rule.
2. :data:`APPROVAL` (停电审批: who, why, when) — for classes whose rule requires it and always for important
   customers (重要用户: the manager approves, the authority is notified).  Allowed from the day the notice is.
3. :data:`NOTICE` (停电通知书 delivered) — at least ``reminder_to_notice_days`` after the reminder, and timed so
   that its notice period ends when the arrears pass ``disconnect_after_days`` overdue: from overdue day
   ``disconnect_after_days + 1 − notice_days`` (residential 31 − 7 = day 24, others day 28).
4. :data:`DISCONNECT` (停电) — only when the arrears are more than ``disconnect_after_days`` overdue **and** the
   notice period (``notice_days`` from the notice's delivery day) has passed; never outside the disconnection
   hours of a working day (:attr:`DunningSettings.disconnect_hours`, the working-day calendar as data); a
   reminder ``pre_disconnection_reminder_minutes`` before it (:attr:`DunningSteps.remind_at`).
5. :data:`RECONNECT` (复电) — once a disconnected account has paid in full or agreed a payment plan: allowed at
   once, due within ``reconnect_within_hours`` (:attr:`DunningSteps.deadline`).

A payment plan in force (灵活付款方案) suspends the ladder; a missed instalment ends the plan and the ladder
resumes where it was.  Arrears paid before disconnection close the case (:data:`SETTLED`); the ledger then resets
the last step.  Reminders and notices are sent within the daily contact hours (any day); approvals have no hours.

All instants are ``int64`` seconds since the Unix epoch; local dates are Asia/Shanghai (as in
:mod:`gridcare.engine.sla`).  "Overdue days" are counted like late-fee days (:mod:`gridcare.engine.latefees`):
the day after the due date is overdue day 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time

import numpy as np

from gridcare.engine.arrays import BoolArray, Int64Array, bool_input, int64_input
from gridcare.engine.calendar import BusinessCalendar
from gridcare.engine.sla import WorkingHours, next_working_moments

__all__ = [
    "APPROVAL",
    "DISCONNECT",
    "NONE",
    "NOTICE",
    "REASON_NAMES",
    "RECONNECT",
    "REMINDER",
    "STEP_NAMES",
    "DunningLadder",
    "DunningRule",
    "DunningSettings",
    "DunningSteps",
    "next_steps",
]

# Steps: the last step done (input) and the next step due (output).
NONE = 0
REMINDER = 1
APPROVAL = 2
NOTICE = 3
DISCONNECT = 4
RECONNECT = 5

STEP_NAMES: Mapping[int, str] = {
    NONE: "无 (none)",
    REMINDER: "催费提醒 (reminder)",
    APPROVAL: "停电审批 (disconnection approval)",
    NOTICE: "停电通知书 (disconnection notice)",
    DISCONNECT: "停电 (disconnection)",
    RECONNECT: "复电 (reconnection)",
}

# Reasons of the next step (or of no step).
NOT_OVERDUE = 0
PLAN_IN_FORCE = 1
SETTLED = 2
STILL_DISCONNECTED = 3
OVERDUE = 4
APPROVAL_NEEDED = 5
IMPORTANT_CUSTOMER = 6
NOTICE_BEFORE_DISCONNECTION = 7
NOTICE_PERIOD_AND_OVERDUE = 8
PAID_IN_FULL = 9
PLAN_AGREED = 10

REASON_NAMES: Mapping[int, str] = {
    NOT_OVERDUE: "无逾期欠费 (no overdue arrears)",
    PLAN_IN_FORCE: "付款方案执行中 (payment plan in force)",
    SETTLED: "欠费已结清，催费结束 (arrears settled, dunning ends)",
    STILL_DISCONNECTED: "已停电，欠费未结清 (disconnected, arrears unpaid)",
    OVERDUE: "电费逾期，催费 (overdue: chase the customer)",
    APPROVAL_NEEDED: "停电前须审批 (disconnection needs approval)",
    IMPORTANT_CUSTOMER: "重要用户停电须经理审批并报告主管部门 (important customer: manager approval, authority notified)",
    NOTICE_BEFORE_DISCONNECTION: "停电前须送达停电通知书 (notice due before disconnection)",
    NOTICE_PERIOD_AND_OVERDUE: "欠费逾期超过规定天数且通知期满 (arrears overdue long enough and notice period over)",
    PAID_IN_FULL: "已结清欠费，须复电 (paid in full: reconnect)",
    PLAN_AGREED: "已签付款方案，须复电 (payment plan agreed: reconnect)",
}

_DAY = 86_400
_UTC_OFFSET = 8 * 3_600  # Asia/Shanghai, no DST since 1991
_UNSET = -1


@dataclass(frozen=True)
class DunningRule:
    """The ladder of one customer class (defaults: RULES.md §1; ``reminder_*`` are gridcare defaults)."""

    notice_days: int = 3
    disconnect_after_days: int = 30
    reminder_after_days: int = 1
    reminder_to_notice_days: int = 3
    approval_required: bool = True
    min_arrears_fen: int = 1

    def __post_init__(self) -> None:
        for name in (
            "notice_days",
            "disconnect_after_days",
            "reminder_after_days",
            "reminder_to_notice_days",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number of days >= 0, got {value!r}")
        if self.notice_days > self.disconnect_after_days + 1:
            raise ValueError(
                f"notice_days ({self.notice_days}) longer than disconnect_after_days + 1 "
                f"({self.disconnect_after_days + 1}): the notice would be due before the bill is overdue"
            )
        if not isinstance(self.min_arrears_fen, int) or self.min_arrears_fen < 1:
            raise ValueError(f"min_arrears_fen must be >= 1 分, got {self.min_arrears_fen!r}")


RESIDENTIAL_RULE = DunningRule(notice_days=7)
OTHER_RULE = DunningRule(notice_days=3)


@dataclass(frozen=True)
class DunningLadder:
    """Rules per customer class (``customers.ServicePoint.CustomerClass`` values); ``default`` for the others."""

    classes: Mapping[str, DunningRule] = field(default_factory=lambda: {"residential": RESIDENTIAL_RULE})
    default: DunningRule = OTHER_RULE

    @property
    def rules(self) -> tuple[DunningRule, ...]:
        """The rules by code: 0 is the default, then the classes in order."""
        return (self.default, *self.classes.values())

    def codes(self, class_names: Sequence[str] | np.ndarray) -> Int64Array:
        """Class name of each account → its rule code for :func:`next_steps` (unknown names → the default)."""
        names = np.asarray(class_names, dtype=str)
        codes: Int64Array = np.zeros(names.shape, dtype=np.int64)
        for code, name in enumerate(self.classes, start=1):
            codes[names == name] = code
        return codes

    def column(self, name: str, codes: Int64Array) -> np.ndarray:
        """One field of each account's rule, as an array."""
        return np.array([getattr(rule, name) for rule in self.rules])[codes]


@dataclass(frozen=True)
class DunningSettings:
    """Hours and clocks of the ladder (settings, not literals)."""

    contact_hours: WorkingHours = WorkingHours(time(8, 0), time(20, 0))
    disconnect_hours: WorkingHours = WorkingHours(time(8, 30), time(17, 30))
    disconnect_on_days_off: bool = False
    pre_disconnection_reminder_minutes: int = 30
    reconnect_within_hours: int = 24

    def __post_init__(self) -> None:
        for name in ("pre_disconnection_reminder_minutes", "reconnect_within_hours"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")


@dataclass(frozen=True)
class DunningSteps:
    """Result of :func:`next_steps`, one element per account."""

    step: np.ndarray  #: int8 next step (NONE: nothing to do)
    reason: np.ndarray  #: int8 reason code (:data:`REASON_NAMES`)
    allowed_at: Int64Array  #: first moment the step is allowed (held to its hours), -1 for NONE
    act_at: Int64Array  #: the next moment it may be done: max(allowed_at, now) held to its hours; -1 for NONE
    due_now: BoolArray  #: the step may be done now
    deadline: Int64Array  #: reconnection due by (RECONNECT), else -1
    remind_at: Int64Array  #: the reminder before a disconnection at ``act_at`` (DISCONNECT), else -1
    notify_authority: BoolArray  #: important customer: the authority is notified (NOTICE, DISCONNECT)


def _local_day(seconds: Int64Array) -> Int64Array:
    day: Int64Array = (seconds + _UTC_OFFSET) // _DAY
    return day


def _midnight(day: Int64Array) -> Int64Array:
    moment: Int64Array = day * _DAY - _UTC_OFFSET
    return moment


def _hold_daily(moments: Int64Array, hours: WorkingHours) -> Int64Array:
    """Each moment itself if inside the daily hours (any day), else the start of the next period."""
    local = moments + _UTC_OFFSET
    clock = local % _DAY
    start = local - clock
    held: Int64Array = np.where(
        clock < hours.start_seconds,
        start + hours.start_seconds,
        np.where(clock >= hours.end_seconds, start + _DAY + hours.start_seconds, local),
    )
    return held - _UTC_OFFSET


def _hold_disconnection(
    moments: Int64Array, calendar: BusinessCalendar, settings: DunningSettings
) -> Int64Array:
    """Disconnections: within the disconnection hours, and on working days unless the settings allow days off."""
    if settings.disconnect_on_days_off:
        return _hold_daily(moments, settings.disconnect_hours)
    held: Int64Array = next_working_moments(calendar, moments, settings.disconnect_hours)
    return held


def next_steps(
    now: int,
    customer_class: Int64Array | Sequence[int],
    overdue_days: Int64Array | Sequence[int],
    arrears_fen: Int64Array | Sequence[int],
    last_step: np.ndarray | Sequence[int],
    last_step_at: Int64Array | Sequence[int],
    important: BoolArray | Sequence[bool],
    plan_in_force: BoolArray | Sequence[bool],
    settled_at: Int64Array | Sequence[int],
    calendar: BusinessCalendar,
    ladder: DunningLadder = DunningLadder(),
    settings: DunningSettings = DunningSettings(),
) -> DunningSteps:
    """The next dunning step of each account at ``now`` (epoch seconds), when it is allowed, and why.

    :param customer_class: rule code of each account (:meth:`DunningLadder.codes`).
    :param overdue_days: days the oldest unpaid bill is overdue on ``now``'s local date (<= 0: none overdue).
    :param arrears_fen: arrears outstanding now, 分 (late fees included).
    :param last_step: last step done in the current case (NONE, REMINDER, …, RECONNECT = case closed).
    :param last_step_at: when it was done (epoch seconds; -1 with NONE).
    :param important: important customer (重要用户).
    :param plan_in_force: a payment plan is in force (dunning suspended; after a disconnection: reconnect).
    :param settled_at: when a disconnected account paid in full or agreed its plan (-1: unknown, taken as now).
    :raises ValueError: bad input, naming the first offending element.
    """
    code = int64_input(customer_class, "customer_class")
    overdue = int64_input(overdue_days, "overdue_days")
    arrears = int64_input(arrears_fen, "arrears_fen")
    last = int64_input(last_step, "last_step")
    last_at = int64_input(last_step_at, "last_step_at")
    vip = bool_input(important, "important")
    plan = bool_input(plan_in_force, "plan_in_force")
    settled = int64_input(settled_at, "settled_at")
    try:
        code, overdue, arrears, last, last_at, vip, plan, settled = np.broadcast_arrays(
            code, overdue, arrears, last, last_at, vip, plan, settled
        )
    except ValueError as exc:
        raise ValueError(f"the account arrays must have the same length ({exc})") from exc
    checks = (
        (
            "customer_class",
            (code < 0) | (code >= len(ladder.rules)),
            code,
            "is not a rule code of the ladder",
        ),
        ("last_step", (last < NONE) | (last > RECONNECT), last, f"is not a step {NONE}–{RECONNECT}"),
        (
            "last_step_at",
            (last != NONE) & (last != RECONNECT) & (last_at < 0),
            last_at,
            "is missing for a step done",
        ),
        ("last_step_at", last_at > now, last_at, "is after now"),
    )
    for name, bad, values, why in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{name} {int(values[i])} at account index {i} {why}")
    last = np.where(last == RECONNECT, NONE, last)  # a closed case: a new overdue starts the ladder again

    notice_days = ladder.column("notice_days", code)
    disconnect_after = ladder.column("disconnect_after_days", code)
    needs_approval = ladder.column("approval_required", code) | vip
    today = np.int64((now + _UTC_OFFSET) // _DAY)
    due_day = today - overdue  # local date of the oldest due date (epoch days)
    last_day = _local_day(last_at)
    in_arrears = (overdue > 0) & (arrears >= ladder.column("min_arrears_fen", code))

    notice_from = due_day + disconnect_after + 1 - notice_days
    disconnected = last == DISCONNECT
    paid = arrears <= 0
    step = np.select(
        [
            disconnected & (paid | plan),
            disconnected,
            plan,
            ~in_arrears,
            last == NONE,
            (last == REMINDER) & needs_approval,
            (last == REMINDER) | (last == APPROVAL),
            last == NOTICE,
        ],
        [RECONNECT, NONE, NONE, NONE, REMINDER, APPROVAL, NOTICE, DISCONNECT],
        NONE,
    ).astype(np.int8)
    reason = np.select(
        [
            disconnected & paid,
            disconnected & plan,
            disconnected,
            plan,
            ~in_arrears & (last != NONE),
            ~in_arrears,
            step == REMINDER,
            (step == APPROVAL) & vip,
            step == APPROVAL,
            step == NOTICE,
            step == DISCONNECT,
        ],
        [
            PAID_IN_FULL,
            PLAN_AGREED,
            STILL_DISCONNECTED,
            PLAN_IN_FORCE,
            SETTLED,
            NOT_OVERDUE,
            OVERDUE,
            IMPORTANT_CUSTOMER,
            APPROVAL_NEEDED,
            NOTICE_BEFORE_DISCONNECTION,
            NOTICE_PERIOD_AND_OVERDUE,
        ],
        NOT_OVERDUE,
    ).astype(np.int8)

    # the first day each step is allowed (epoch days), then the moment (not before the last step itself)
    from_day = np.select(
        [
            step == REMINDER,
            (step == APPROVAL) | ((step == NOTICE) & (last == REMINDER)),
            step == NOTICE,
            step == DISCONNECT,
        ],
        [
            due_day + ladder.column("reminder_after_days", code),
            np.maximum(last_day + ladder.column("reminder_to_notice_days", code), notice_from),
            np.maximum(last_day, notice_from),
            np.maximum(last_day + notice_days, due_day + disconnect_after + 1),
        ],
        today,
    )
    threshold = np.maximum(_midnight(from_day), last_at)
    reconnect_from = np.where(settled >= 0, settled, now)
    threshold = np.where(step == RECONNECT, reconnect_from, threshold)
    act_from = np.maximum(threshold, now)

    contact = (step == REMINDER) | (step == NOTICE)
    cut = step == DISCONNECT
    allowed_at = threshold.copy()
    act_at = act_from.copy()
    if contact.any():
        allowed_at[contact] = _hold_daily(threshold[contact], settings.contact_hours)
        act_at[contact] = _hold_daily(act_from[contact], settings.contact_hours)
    if cut.any():
        allowed_at[cut] = _hold_disconnection(threshold[cut], calendar, settings)
        act_at[cut] = _hold_disconnection(act_from[cut], calendar, settings)
    nothing = step == NONE
    allowed_at[nothing] = _UNSET
    act_at[nothing] = _UNSET
    due_now = ~nothing & (act_at <= now)
    deadline = np.where(step == RECONNECT, reconnect_from + settings.reconnect_within_hours * 3_600, _UNSET)
    remind_at = np.where(cut, act_at - settings.pre_disconnection_reminder_minutes * 60, _UNSET)
    return DunningSteps(
        step=step,
        reason=reason,
        allowed_at=allowed_at,
        act_at=act_at,
        due_now=due_now,
        deadline=deadline,
        remind_at=remind_at,
        notify_authority=vip & ((step == NOTICE) | (step == DISCONNECT)),
    )
