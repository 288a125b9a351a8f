"""The dunning ladder (催费 → 停电通知书 → 停电 → 复电), gridcare.engine.dunning — no Django: the ladder walked step by
step for residential and other customers, the > 30 days rule, notice periods, important customers, plans,
holidays and nights, reconnection within 24 h, bad input; and properties against a scalar reference written with
plain datetimes and the calendar's scalar API."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridcare.engine import dunning as d
from gridcare.engine.calendar import SHANGHAI, BusinessCalendar
from gridcare.engine.sla import epoch_seconds, from_epoch_seconds

CAL = BusinessCalendar()
LADDER = d.DunningLadder()
SETTINGS = d.DunningSettings()


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def local(seconds: int) -> datetime | None:
    return None if seconds < 0 else from_epoch_seconds(seconds).astimezone(SHANGHAI)


def one(
    now: datetime,
    *,
    cls: str = "residential",
    due: date,
    arrears: int = 50_000,
    last: int = d.NONE,
    last_at: datetime | None = None,
    important: bool = False,
    plan: bool = False,
    settled: datetime | None = None,
    ladder: d.DunningLadder = LADDER,
    config: d.DunningSettings = SETTINGS,
    calendar: BusinessCalendar = CAL,
) -> dict[str, object]:
    """The next step of one account, in readable form."""
    today = now.astimezone(SHANGHAI).date()
    result = d.next_steps(
        epoch_seconds(now),
        ladder.codes([cls]),
        [(today - due).days],
        [arrears],
        [last],
        [epoch_seconds(last_at) if last_at else -1],
        [important],
        [plan],
        [epoch_seconds(settled) if settled else -1],
        calendar,
        ladder,
        config,
    )
    return {
        "step": int(result.step[0]),
        "reason": int(result.reason[0]),
        "allowed_at": local(int(result.allowed_at[0])),
        "act_at": local(int(result.act_at[0])),
        "due_now": bool(result.due_now[0]),
        "deadline": local(int(result.deadline[0])),
        "remind_at": local(int(result.remind_at[0])),
        "notify_authority": bool(result.notify_authority[0]),
    }


DUE = date(2026, 5, 10)  # a Sunday; overdue day 1 = 2026-05-11


def test_residential_ladder_step_by_step() -> None:
    """Given a residential bill due 2026-05-10 and unpaid: reminder from overdue day 1 (08:00), approval and the
    停电通知书 from day 24 (so its 7 days end when the arrears pass 30 days), disconnection from day 31 at 08:30 on
    a working day, 30 minutes' reminder before it."""
    reminder = one(sh(2026, 5, 11, 7, 0), due=DUE)
    assert reminder["step"] == d.REMINDER and reminder["reason"] == d.OVERDUE
    assert reminder["allowed_at"] == sh(2026, 5, 11, 8, 0) and not reminder["due_now"]

    approval = one(sh(2026, 5, 20, 9), due=DUE, last=d.REMINDER, last_at=sh(2026, 5, 11, 9))
    assert approval["step"] == d.APPROVAL and approval["reason"] == d.APPROVAL_NEEDED
    assert approval["allowed_at"] == sh(2026, 6, 3) and not approval["due_now"]  # day 24 = 2026-06-03

    notice = one(sh(2026, 6, 3, 15), due=DUE, last=d.APPROVAL, last_at=sh(2026, 6, 3, 14))
    assert notice["step"] == d.NOTICE and notice["due_now"] and notice["act_at"] == sh(2026, 6, 3, 15)

    cut = one(sh(2026, 6, 3, 16), due=DUE, last=d.NOTICE, last_at=sh(2026, 6, 3, 15, 30))
    assert cut["step"] == d.DISCONNECT and cut["reason"] == d.NOTICE_PERIOD_AND_OVERDUE
    # day 31 = 2026-06-10 (Wednesday) and notice + 7 days = 2026-06-10
    assert cut["allowed_at"] == sh(2026, 6, 10, 8, 30)
    assert cut["remind_at"] == sh(2026, 6, 10, 8, 0)
    assert not cut["notify_authority"]

    at_day_30 = one(sh(2026, 6, 9, 10), due=DUE, last=d.NOTICE, last_at=sh(2026, 6, 3, 15, 30))
    assert not at_day_30["due_now"]  # 30 days overdue is not "> 30 days"
    at_day_31 = one(sh(2026, 6, 10, 10), due=DUE, last=d.NOTICE, last_at=sh(2026, 6, 3, 15, 30))
    assert at_day_31["due_now"]


def test_other_customers_get_three_days_notice() -> None:
    approval = one(sh(2026, 5, 20, 9), cls="commercial", due=DUE, last=d.REMINDER, last_at=sh(2026, 5, 11, 9))
    assert approval["allowed_at"] == sh(2026, 6, 7)  # day 28
    cut = one(sh(2026, 6, 8, 9), cls="large_industry", due=DUE, last=d.NOTICE, last_at=sh(2026, 6, 8, 9))
    assert cut["allowed_at"] == sh(2026, 6, 11, 8, 30)  # notice + 3 days (day 32)


def test_a_late_notice_moves_the_disconnection() -> None:
    """Notice delivered on overdue day 40 (2026-06-19): disconnection not before 2026-06-26 (residential)."""
    cut = one(sh(2026, 6, 19, 16), due=DUE, last=d.NOTICE, last_at=sh(2026, 6, 19, 11))
    assert cut["allowed_at"] == sh(2026, 6, 26, 8, 30)


def test_notice_needs_the_reminder_some_days_before() -> None:
    """Chased first: a reminder only on overdue day 30 puts the notice (no approval for this class) 3 days later."""
    ladder = d.DunningLadder(classes={"residential": replace(d.RESIDENTIAL_RULE, approval_required=False)})
    notice = one(sh(2026, 6, 9, 9), due=DUE, last=d.REMINDER, last_at=sh(2026, 6, 9, 9), ladder=ladder)
    assert notice["step"] == d.NOTICE and notice["reason"] == d.NOTICE_BEFORE_DISCONNECTION
    assert notice["allowed_at"] == sh(2026, 6, 12, 8, 0)


def test_important_customers_need_the_managers_approval_and_the_authority_is_notified() -> None:
    ladder = d.DunningLadder(default=replace(d.OTHER_RULE, approval_required=False))
    approval = one(
        sh(2026, 6, 8, 9),
        cls="commercial",
        due=DUE,
        last=d.REMINDER,
        last_at=sh(2026, 5, 11),
        important=True,
        ladder=ladder,
    )
    assert approval["step"] == d.APPROVAL and approval["reason"] == d.IMPORTANT_CUSTOMER
    plain = one(
        sh(2026, 6, 8, 9), cls="commercial", due=DUE, last=d.REMINDER, last_at=sh(2026, 5, 11), ladder=ladder
    )
    assert plain["step"] == d.NOTICE
    notice = one(
        sh(2026, 6, 8, 9), cls="commercial", due=DUE, last=d.APPROVAL, last_at=sh(2026, 6, 8), important=True
    )
    assert notice["notify_authority"]
    cut = one(
        sh(2026, 6, 12, 9), cls="commercial", due=DUE, last=d.NOTICE, last_at=sh(2026, 6, 8), important=True
    )
    assert cut["step"] == d.DISCONNECT and cut["notify_authority"]


def test_never_disconnected_on_a_holiday_or_at_night() -> None:
    """Notice delivered 2026-09-27 (other customer, 3 days): allowed from 09-30, a working day; at 18:00 on 09-30
    the next moment is after National Day (10-01 … 10-07) and the make-up working days: the first working day."""
    due = date(2026, 8, 25)  # day 31 = 2026-09-25
    cut = one(sh(2026, 9, 30, 18), cls="commercial", due=due, last=d.NOTICE, last_at=sh(2026, 9, 27, 10))
    assert cut["allowed_at"] == sh(2026, 9, 30, 8, 30)
    act = cut["act_at"]
    assert isinstance(act, datetime) and act.time() == time(8, 30) and act.date() > date(2026, 10, 7)
    assert CAL.is_working_day(act.date()) and not cut["due_now"]
    day = date(2026, 10, 1)
    while day < act.date():
        assert not CAL.is_working_day(day)
        day += timedelta(days=1)
    # a setting may allow days off (still never at night)
    anyday = one(
        sh(2026, 10, 1, 7),
        cls="commercial",
        due=due,
        last=d.NOTICE,
        last_at=sh(2026, 9, 27, 10),
        config=replace(SETTINGS, disconnect_on_days_off=True),
    )
    assert anyday["act_at"] == sh(2026, 10, 1, 8, 30)


def test_reminders_are_sent_within_contact_hours() -> None:
    late = one(sh(2026, 5, 20, 21, 30), due=DUE)
    assert late["step"] == d.REMINDER and not late["due_now"] and late["act_at"] == sh(2026, 5, 21, 8, 0)


def test_payment_plan_suspends_dunning_and_reconnects() -> None:
    suspended = one(sh(2026, 6, 12, 9), due=DUE, last=d.NOTICE, last_at=sh(2026, 6, 3), plan=True)
    assert suspended["step"] == d.NONE and suspended["reason"] == d.PLAN_IN_FORCE
    assert suspended["allowed_at"] is None and not suspended["due_now"]
    reconnect = one(
        sh(2026, 6, 20, 9),
        due=DUE,
        last=d.DISCONNECT,
        last_at=sh(2026, 6, 11, 9),
        plan=True,
        settled=sh(2026, 6, 20, 8),
    )
    assert reconnect["step"] == d.RECONNECT and reconnect["reason"] == d.PLAN_AGREED
    assert reconnect["deadline"] == sh(2026, 6, 21, 8)


def test_reconnection_due_within_24_hours_of_payment_in_full_even_at_night() -> None:
    result = one(
        sh(2026, 10, 2, 23, 40),
        due=DUE,
        arrears=0,
        last=d.DISCONNECT,
        last_at=sh(2026, 6, 11, 9),
        settled=sh(2026, 10, 2, 23, 15),
    )
    assert result["step"] == d.RECONNECT and result["reason"] == d.PAID_IN_FULL and result["due_now"]
    assert result["deadline"] == sh(2026, 10, 3, 23, 15)
    still = one(sh(2026, 7, 1, 9), due=DUE, arrears=100, last=d.DISCONNECT, last_at=sh(2026, 6, 11, 9))
    assert still["step"] == d.NONE and still["reason"] == d.STILL_DISCONNECTED


def test_paid_before_disconnection_closes_the_case() -> None:
    settled = one(sh(2026, 6, 5, 9), due=DUE, arrears=0, last=d.NOTICE, last_at=sh(2026, 6, 3))
    assert settled["step"] == d.NONE and settled["reason"] == d.SETTLED
    fresh = one(sh(2026, 5, 5, 9), due=DUE)
    assert fresh["step"] == d.NONE and fresh["reason"] == d.NOT_OVERDUE
    # after a reconnection a new overdue bill starts the ladder again
    again = one(sh(2026, 8, 20, 9), due=date(2026, 8, 10), last=d.RECONNECT, last_at=sh(2026, 7, 1))
    assert again["step"] == d.REMINDER and again["due_now"]


def test_ladder_is_data_per_class() -> None:
    ladder = d.DunningLadder(
        classes={
            "residential": d.RESIDENTIAL_RULE,
            "agriculture": d.DunningRule(notice_days=5, disconnect_after_days=60),
        }
    )
    assert ladder.codes(["residential", "agriculture", "commercial", "unknown"]).tolist() == [1, 2, 0, 0]
    cut = one(
        sh(2026, 6, 12, 9), cls="agriculture", due=DUE, last=d.NOTICE, last_at=sh(2026, 6, 3), ladder=ladder
    )
    assert cut["allowed_at"] == sh(2026, 7, 10, 8, 30)  # day 61 = 2026-07-10, a Friday


def test_bad_input_is_refused_with_its_reason() -> None:
    now = epoch_seconds(sh(2026, 6, 1, 9))

    def run(**changes: object) -> None:
        args: dict[str, object] = {
            "customer_class": [0],
            "overdue_days": [10],
            "arrears_fen": [100],
            "last_step": [d.REMINDER],
            "last_step_at": [now - 3600],
            "important": [False],
            "plan_in_force": [False],
            "settled_at": [-1],
        }
        args.update(changes)
        d.next_steps(now, calendar=CAL, **args)  # type: ignore[arg-type]

    run()
    empty = d.next_steps(now, [], [], [], [], [], [], [], [], CAL)
    assert empty.step.size == empty.act_at.size == 0
    with pytest.raises(ValueError, match="last_step 9 at account index 0 is not a step"):
        run(last_step=[9])
    with pytest.raises(ValueError, match="last_step_at -1 at account index 0 is missing"):
        run(last_step_at=[-1])
    with pytest.raises(ValueError, match="is after now"):
        run(last_step_at=[now + 10])
    with pytest.raises(ValueError, match="customer_class 7 .* not a rule code"):
        run(customer_class=[7])
    with pytest.raises(ValueError, match="important must be booleans"):
        run(important=[1])
    with pytest.raises(ValueError, match="overdue_days must be integers"):
        run(overdue_days=[1.5])
    with pytest.raises(ValueError, match="same length"):
        run(overdue_days=[1, 2, 3], arrears_fen=[1, 2])
    with pytest.raises(ValueError, match="notice_days"):
        d.DunningRule(notice_days=40)
    with pytest.raises(ValueError, match="min_arrears_fen"):
        d.DunningRule(min_arrears_fen=0)
    with pytest.raises(ValueError, match="reconnect_within_hours"):
        d.DunningSettings(reconnect_within_hours=-1)


# ----------------------------------------------------------------------------- scalar reference and properties


def reference(
    now: datetime,
    rule: d.DunningRule,
    overdue: int,
    arrears: int,
    last: int,
    last_at: datetime | None,
    important: bool,
    plan: bool,
    settled: datetime | None,
) -> tuple[int, datetime | None]:
    """The ladder of the module docstring, one account, with datetimes and the calendar's scalar API."""
    today = now.date()
    due = today - timedelta(days=overdue)
    if last == d.RECONNECT:
        last = d.NONE
    if last == d.DISCONNECT:
        if arrears <= 0 or plan:
            return d.RECONNECT, max(settled or now, now)
        return d.NONE, None
    if plan or overdue <= 0 or arrears < rule.min_arrears_fen:
        return d.NONE, None
    notice_from = due + timedelta(days=rule.disconnect_after_days + 1 - rule.notice_days)
    last_day = last_at.date() if last_at else today
    if last == d.NONE:
        step, day = d.REMINDER, due + timedelta(days=rule.reminder_after_days)
    elif last == d.REMINDER:
        step = d.APPROVAL if rule.approval_required or important else d.NOTICE
        day = max(last_day + timedelta(days=rule.reminder_to_notice_days), notice_from)
    elif last == d.APPROVAL:
        step, day = d.NOTICE, max(last_day, notice_from)
    else:
        step = d.DISCONNECT
        day = max(
            last_day + timedelta(days=rule.notice_days), due + timedelta(days=rule.disconnect_after_days + 1)
        )
    moment = max(datetime.combine(day, time(0), tzinfo=SHANGHAI), last_at or now, now)
    if step in (d.REMINDER, d.NOTICE):
        hours = SETTINGS.contact_hours
        if moment.time() < hours.day_start:
            moment = datetime.combine(moment.date(), hours.day_start, tzinfo=SHANGHAI)
        elif moment.time() >= hours.day_end:
            moment = datetime.combine(moment.date() + timedelta(days=1), hours.day_start, tzinfo=SHANGHAI)
    if step == d.DISCONNECT:
        moment = CAL.next_working_moment(
            moment, SETTINGS.disconnect_hours.day_start, SETTINGS.disconnect_hours.day_end
        )
    return step, moment


Account = tuple[datetime, str, int, int, int, "datetime | None", bool, bool, "datetime | None"]

moments = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2026, 12, 20)).map(
    lambda m: m.replace(second=0, microsecond=0, tzinfo=SHANGHAI)
)


@st.composite
def account_at(draw: st.DrawFn, now: datetime) -> Account:
    last = draw(st.sampled_from([d.NONE, d.REMINDER, d.APPROVAL, d.NOTICE, d.DISCONNECT, d.RECONNECT]))
    last_at = None if last == d.NONE else now - timedelta(minutes=draw(st.integers(0, 60 * 24 * 40)))
    settled = draw(st.none() | st.integers(0, 600).map(lambda minutes: now - timedelta(minutes=minutes)))
    return (
        now,
        draw(st.sampled_from(["residential", "commercial"])),
        draw(st.integers(-10, 120)),
        draw(st.sampled_from([0, 1, 5_000, 10**8])),
        last,
        last_at,
        draw(st.booleans()),
        draw(st.booleans()),
        settled,
    )


def run_one(account: Account) -> dict[str, object]:
    now, cls, overdue, arrears, last, last_at, important, plan, settled = account
    due = now.date() - timedelta(days=overdue)
    return one(
        now,
        cls=cls,
        due=due,
        arrears=arrears,
        last=last,
        last_at=last_at,
        important=important,
        plan=plan,
        settled=settled,
    )


@settings(max_examples=300, deadline=None)
@given(moments.flatmap(account_at))
def test_next_step_and_moment_equal_the_scalar_reference(account: Account) -> None:
    now, cls, overdue, arrears, last, last_at, important, plan, settled = account
    result = run_one(account)
    rule = LADDER.rules[int(LADDER.codes([cls])[0])]
    step, moment = reference(now, rule, overdue, arrears, last, last_at, important, plan, settled)
    assert (result["step"], result["act_at"]) == (step, moment)
    assert result["due_now"] == (moment is not None and moment <= now)


@settings(max_examples=100, deadline=None)
@given(moments.flatmap(lambda now: st.lists(account_at(now), min_size=1, max_size=20)))
def test_disconnection_only_after_thirty_days_and_the_notice_on_a_working_day(items: list[Account]) -> None:
    """Whatever the accounts: a disconnection is never allowed before the arrears are > 30 days overdue, before
    the notice period ends, outside the disconnection hours or on a day off; a batch answers like single calls."""
    now = items[0][0]
    result = d.next_steps(
        epoch_seconds(now),
        LADDER.codes([item[1] for item in items]),
        [item[2] for item in items],
        [item[3] for item in items],
        [item[4] for item in items],
        [epoch_seconds(item[5]) if item[5] else -1 for item in items],
        np.array([item[6] for item in items], dtype=bool),
        np.array([item[7] for item in items], dtype=bool),
        [epoch_seconds(item[8]) if item[8] else -1 for item in items],
        CAL,
    )
    for k, (_, cls, overdue, _, _, last_at, _, _, _) in enumerate(items):
        single = run_one(items[k])
        assert (int(result.step[k]), local(int(result.act_at[k]))) == (single["step"], single["act_at"])
        if int(result.step[k]) != d.DISCONNECT:
            continue
        allowed = local(int(result.allowed_at[k]))
        assert allowed is not None and last_at is not None
        due = now.date() - timedelta(days=overdue)
        assert (allowed.date() - due).days > 30
        assert allowed.date() >= last_at.date() + timedelta(days=7 if cls == "residential" else 3)
        assert CAL.is_working_day(allowed.date())
        assert time(8, 30) <= allowed.time() < time(17, 30)
        assert result.remind_at[k] == result.act_at[k] - 1800
