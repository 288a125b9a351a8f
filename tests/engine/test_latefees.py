"""Late fees (电费违约金), gridcare.engine.latefees — no Django: hand-computed examples of RULES.md §1, the year
boundary, partial payments, leap years, the 1 元 minimum, due dates on days off, bad input; and property tests
against a plain day-by-day scalar reference written from the rule text."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridcare.engine.calendar import BusinessCalendar
from gridcare.engine.latefees import LateFeeRules, Payments, effective_due_dates, explain, late_fees

RULES = LateFeeRules()


def fee(
    amount_yuan: str,
    due: date,
    until: date,
    *,
    year: int | None = None,
    residential: bool = False,
    payments: list[tuple[date, str]] | None = None,
    rules: LateFeeRules = RULES,
    calendar: BusinessCalendar | None = None,
) -> Decimal:
    """The late fee in 元 of one bill (through the array API)."""
    pays = payments or []
    result = late_fees(
        [int(Decimal(amount_yuan) * 100)],
        [due],
        [year if year is not None else due.year],
        [residential],
        until,
        Payments(
            np.zeros(len(pays), np.int64),
            np.array([d for d, _ in pays], dtype="datetime64[D]"),
            np.array([int(Decimal(a) * 100) for _, a in pays], dtype=np.int64),
        ),
        rules,
        calendar,
    )
    return Decimal(int(result.fee_fen[0])) / 100


# ----------------------------------------------------------------------------- hand-computed examples


def test_residential_one_per_mille_per_day_from_the_day_after_the_due_date() -> None:
    """Given a residential bill of 200.00 元 due 2026-03-15, when it is paid 2026-03-25 (10 days late),
    then the fee is 200 × 1‰ × 10 = 2.00 元."""
    assert fee("200.00", date(2026, 3, 15), date(2026, 3, 25), residential=True) == Decimal("2.00")


def test_other_customers_two_per_mille_on_current_year_arrears() -> None:
    """10,000.00 元 of a commercial customer, 20 days late in the bill's year: 10000 × 2‰ × 20 = 400.00 元."""
    assert fee("10000.00", date(2026, 5, 20), date(2026, 6, 9)) == Decimal("400.00")


def test_other_customers_three_per_mille_on_arrears_from_an_earlier_year() -> None:
    """A 2025 bill still unpaid in 2026: every overdue day in 2026 is 跨年度欠费 at 3‰.
    Due 2025-12-20, paid 2026-01-10: Dec 21–31 = 11 days × 2‰, Jan 1–10 = 10 days × 3‰ on 5,000.00 元
    = 110.00 + 150.00 = 260.00 元."""
    assert fee("5000.00", date(2025, 12, 20), date(2026, 1, 10)) == Decimal("260.00")


def test_a_bill_of_an_earlier_year_due_in_the_new_year_is_at_three_per_mille_from_its_first_day() -> None:
    """The December 2025 bill (bill year 2025) due 2026-01-15, paid 2026-01-25: 10 days at 3‰ on 1,000 元."""
    assert fee("1000.00", date(2026, 1, 15), date(2026, 1, 25), year=2025) == Decimal("30.00")


def test_residential_rate_does_not_change_at_the_year_boundary() -> None:
    assert fee("1000.00", date(2025, 12, 20), date(2026, 1, 10), residential=True) == Decimal("21.00")


def test_paid_on_the_due_date_owes_nothing_and_the_next_day_owes_one_day() -> None:
    due = date(2026, 4, 30)
    assert fee("5000.00", due, due) == Decimal("0.00")
    assert fee("5000.00", due, due - timedelta(days=3)) == Decimal("0.00")
    assert fee("5000.00", due, due + timedelta(days=1)) == Decimal("10.00")


def test_a_total_under_one_yuan_is_charged_one_yuan() -> None:
    """50.00 元 residential, 3 days: 0.15 元 → charged 1.00 元; even one 分 one day late is 1.00 元."""
    assert fee("50.00", date(2026, 3, 1), date(2026, 3, 4), residential=True) == Decimal("1.00")
    assert fee("0.01", date(2026, 3, 1), date(2026, 3, 2)) == Decimal("1.00")
    assert fee("0.00", date(2026, 3, 1), date(2026, 9, 2)) == Decimal("0.00")


def test_total_rounded_once_half_up_to_the_fen() -> None:
    """1,234.55 元 × 2‰ × 3 days = 7.4073 → 7.41; 12.35 × 1‰ × 100 days = 1.235 元 → 1.24 (half-up: the tie
    goes up, where banker's rounding would also give 1.24 but 1.225 → 1.22 instead of 1.23)."""
    assert fee("12.25", date(2026, 1, 1), date(2026, 4, 11), residential=True) == Decimal("1.23")
    assert fee("1234.55", date(2026, 3, 1), date(2026, 3, 4)) == Decimal("7.41")
    assert fee("12.35", date(2026, 1, 1), date(2026, 4, 11), residential=True) == Decimal("1.24")


def test_leap_day_is_an_overdue_day() -> None:
    """Due 2028-02-27, paid 2028-03-02: Feb 28, Feb 29, Mar 1, Mar 2 = 4 days (2027: 3 days)."""
    assert fee("1000.00", date(2028, 2, 27), date(2028, 3, 2)) == Decimal("8.00")
    assert fee("1000.00", date(2027, 2, 27), date(2027, 3, 2)) == Decimal("6.00")


def test_partial_payments_lower_the_base_from_the_day_after_the_payment() -> None:
    """1,000 元 due 2026-06-10; 600 元 paid 2026-06-15, the rest 2026-06-20:
    Jun 11–15 (5 days) on 1,000 + Jun 16–20 (5 days) on 400, at 2‰ = 10.00 + 4.00 = 14.00 元."""
    due = date(2026, 6, 10)
    assert fee("1000.00", due, date(2026, 6, 20), payments=[(date(2026, 6, 15), "600.00")]) == Decimal(
        "14.00"
    )
    # the same with the final payment given as an allocation and `until` later: nothing accrues after it
    paid_off = [(date(2026, 6, 15), "600.00"), (date(2026, 6, 20), "400.00")]
    assert fee("1000.00", due, date(2026, 12, 31), payments=paid_off) == Decimal("14.00")


def test_payments_on_time_owe_nothing_and_payments_after_until_are_not_known_yet() -> None:
    due = date(2026, 6, 10)
    early = [(date(2026, 6, 1), "900.00")]
    assert fee("1000.00", due, date(2026, 6, 20), payments=early) == Decimal("2.00")  # 100 × 2‰ × 10
    later = [(date(2026, 7, 1), "1000.00")]
    assert fee("1000.00", due, date(2026, 6, 20), payments=later) == Decimal("20.00")


def test_outstanding_and_days_reported_per_bill() -> None:
    """Bill 0: 600 of 1,000 paid on 06-15; bill 1: paid in full after `until` (not known on 06-20);
    bill 2: paid in full on 06-12 — nothing outstanding, so no overdue days, but two days of fee."""
    result = late_fees(
        [100_000, 50_000, 100_000],
        ["2026-06-10", "2026-06-10", "2026-06-10"],
        [2026, 2026, 2026],
        [False, True, False],
        np.datetime64("2026-06-20"),
        Payments(
            np.array([0, 1, 2]),
            np.array(["2026-06-15", "2026-07-01", "2026-06-12"], "datetime64[D]"),
            np.array([60_000, 50_000, 100_000]),
        ),
    )
    assert result.outstanding_fen.tolist() == [40_000, 50_000, 0]
    assert result.days.tolist() == [10, 10, 0]
    assert result.fee_fen.tolist() == [1400, 500, 400]
    assert result.due.tolist() == [date(2026, 6, 10)] * 3


def test_grace_days_and_custom_rates_are_parameters() -> None:
    rules = LateFeeRules(
        residential_rate=Decimal("0.0005"),
        current_year_rate=Decimal("0.001"),
        minimum=Decimal("0"),
        grace_days=5,
    )
    # due 2026-03-10 + 5 grace days → accrues from 2026-03-16; to 2026-03-20 = 5 days
    assert fee("1000.00", date(2026, 3, 10), date(2026, 3, 20), rules=rules) == Decimal("5.00")
    assert fee("1000.00", date(2026, 3, 10), date(2026, 3, 20), residential=True, rules=rules) == Decimal(
        "2.50"
    )
    assert fee("1000.00", date(2026, 3, 10), date(2026, 3, 15), rules=rules) == Decimal("0.00")
    # no minimum: tiny fees are charged as computed
    assert fee("10.00", date(2026, 3, 10), date(2026, 3, 16), rules=rules) == Decimal("0.01")


def test_due_date_on_a_holiday_moves_only_when_the_rules_say_so() -> None:
    """Due on National Day 2026-10-01: by default the fee runs from 10-02; with move_due_date_off_day the due
    date becomes the first working day after the holiday and the fee runs from the day after it."""
    calendar = BusinessCalendar()
    due = date(2026, 10, 1)
    moved = effective_due_dates(
        np.array([due], "datetime64[D]"), LateFeeRules(move_due_date_off_day=True), calendar
    )[0]
    first_working = due
    while not calendar.is_working_day(first_working):
        first_working += timedelta(days=1)
    assert moved == np.datetime64(first_working)
    assert first_working > due
    until = first_working + timedelta(days=10)
    assert fee("1000.00", due, until) == Decimal(2 * (until - due).days)
    moved_fee = fee("1000.00", due, until, rules=LateFeeRules(move_due_date_off_day=True), calendar=calendar)
    assert moved_fee == Decimal("20.00")
    # a calendar override (local holiday) is data too
    local_holiday = BusinessCalendar(overrides={date(2026, 3, 10): False})
    rules = LateFeeRules(move_due_date_off_day=True)
    assert fee(
        "1000.00", date(2026, 3, 10), date(2026, 3, 12), rules=rules, calendar=local_holiday
    ) == Decimal("2.00")


def test_explanation_lines_add_up_to_the_fee() -> None:
    """The receipt shows days × rate × base per interval and rate; the lines add up to the exact total."""
    result = explain(
        500_000,
        date(2025, 12, 20),
        2025,
        False,
        date(2026, 1, 10),
        [(date(2025, 12, 25), 200_000)],
    )
    assert [(line.first_day, line.last_day, line.days, line.base, line.rate) for line in result.lines] == [
        (date(2025, 12, 21), date(2025, 12, 25), 5, Decimal("5000.00"), Decimal("0.002")),
        (date(2025, 12, 26), date(2025, 12, 31), 6, Decimal("3000.00"), Decimal("0.002")),
        (date(2026, 1, 1), date(2026, 1, 10), 10, Decimal("3000.00"), Decimal("0.003")),
    ]
    assert sum(line.amount for line in result.lines) == result.exact_total == Decimal("176")
    assert result.fee == Decimal("176.00")
    assert not result.minimum_applied
    small = explain(5_000, date(2026, 3, 1), 2026, True, date(2026, 3, 4))
    assert small.rounded == Decimal("0.15") and small.fee == Decimal("1.00") and small.minimum_applied


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"amount_fen": [-1]}, "amount_fen must be >= 0"),
        ({"amount_fen": [1.5]}, "must be integers"),
        ({"bill_year": [20250]}, "bill_year 20250 outside"),
        ({"due": ["not a date"]}, "due: not dates"),
        ({"due": [20260101]}, "due: not dates"),
        ({"until": 1.5}, "until: not dates"),
        ({"due": [np.datetime64("NaT")]}, "missing date"),
        ({"residential": [1]}, "residential must be booleans"),
        ({"amount_fen": [1, 2]}, "same length"),
    ],
)
def test_bad_bill_input_is_refused_with_its_reason(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "amount_fen": [100],
        "due": ["2026-01-01", "2026-01-02", "2026-01-03"][:1],
        "bill_year": [2026],
        "residential": [True],
        "until": "2026-02-01",
    }
    args.update(kwargs)
    if kwargs.get("amount_fen") == [1, 2]:
        args["due"] = ["2026-01-01", "2026-01-02", "2026-01-03"]
    with pytest.raises(ValueError, match=message):
        late_fees(**args)  # type: ignore[arg-type]


def test_bad_payments_are_refused_with_their_reason() -> None:
    def run(bill: list[int], amount: list[int]) -> None:
        late_fees(
            [1000],
            ["2026-01-01"],
            [2026],
            [False],
            "2026-02-01",
            Payments(np.array(bill), np.array(["2026-01-05"] * len(bill), "datetime64[D]"), np.array(amount)),
        )

    with pytest.raises(ValueError, match="exceed its amount"):
        run([0, 0], [600, 600])
    with pytest.raises(ValueError, match="is not a bill index"):
        run([1], [10])
    with pytest.raises(ValueError, match="must be > 0"):
        run([0], [0])


def test_bad_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="more than 6 decimals"):
        LateFeeRules(residential_rate=Decimal("0.0000001"))
    with pytest.raises(ValueError, match="non-negative"):
        LateFeeRules(current_year_rate=Decimal("-0.001"))
    with pytest.raises(ValueError, match="grace_days"):
        LateFeeRules(grace_days=-1)
    with pytest.raises(ValueError, match="more than 2 decimals"):
        LateFeeRules(minimum=Decimal("0.001"))
    with pytest.raises(ValueError, match="needs the business calendar"):
        late_fees(
            [1], ["2026-01-01"], [2026], [True], "2026-02-01", rules=LateFeeRules(move_due_date_off_day=True)
        )


def test_amounts_beyond_exact_int64_are_refused_not_wrapped() -> None:
    with pytest.raises(OverflowError, match="bill index 0"):
        late_fees([10**15], ["1990-01-01"], [1990], [False], "2026-01-01")


def test_empty_input_gives_empty_results() -> None:
    arrays = late_fees(
        np.empty(0, np.int64),
        np.empty(0, "datetime64[D]"),
        np.empty(0, np.int64),
        np.empty(0, bool),
        "2026-01-01",
    )
    lists = late_fees([], [], [], [], "2026-01-01", Payments.empty())
    assert arrays.fee_fen.size == lists.fee_fen.size == lists.due.size == 0


# ----------------------------------------------------------------------------- properties vs a scalar reference


def reference_fee_fen(
    amount_fen: int,
    due: date,
    bill_year: int,
    residential: bool,
    until: date,
    payments: list[tuple[date, int]],
    rules: LateFeeRules,
) -> int:
    """RULES §1 read literally, one day at a time with Decimal: for each day after the due date up to `until`,
    the amount outstanding that day (payments count from the day after they are made) × the day's rate."""
    due = due + timedelta(days=rules.grace_days)
    total = Decimal(0)
    day = due + timedelta(days=1)
    while day <= until:
        outstanding = amount_fen - sum(fen for paid_on, fen in payments if paid_on < day)
        if residential:
            rate = rules.residential_rate
        elif day.year > bill_year:
            rate = rules.earlier_year_rate
        else:
            rate = rules.current_year_rate
        total += Decimal(outstanding) / 100 * rate
        day += timedelta(days=1)
    if total == 0:
        return 0
    charged = max(total.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"), rules.minimum)
    return int(charged * 100)


dates = st.dates(min_value=date(2023, 1, 1), max_value=date(2029, 12, 31))
rules_st = st.builds(
    LateFeeRules,
    residential_rate=st.sampled_from([Decimal("0.001"), Decimal("0.0005"), Decimal("0.001234")]),
    current_year_rate=st.sampled_from([Decimal("0.002"), Decimal("0.0015")]),
    earlier_year_rate=st.sampled_from([Decimal("0.003"), Decimal("0.0025")]),
    minimum=st.sampled_from([Decimal("1.00"), Decimal("0"), Decimal("0.50")]),
    grace_days=st.integers(0, 10),
)


@st.composite
def bills(draw: st.DrawFn) -> tuple[int, date, int, bool, date, list[tuple[date, int]]]:
    amount = draw(st.integers(0, 10**9))
    due = draw(dates)
    year = draw(st.integers(due.year - 1, due.year))
    residential = draw(st.booleans())
    until = draw(st.dates(min_value=due - timedelta(days=30), max_value=due + timedelta(days=800)))
    payments: list[tuple[date, int]] = []
    left = amount
    for _ in range(draw(st.integers(0, 4))):
        if left <= 0:
            break
        paid = draw(st.integers(1, left))
        left -= paid
        payments.append(
            (draw(st.dates(min_value=due - timedelta(days=20), max_value=due + timedelta(days=900))), paid)
        )
    return amount, due, year, residential, until, payments


def run_arrays(
    items: list[tuple[int, date, int, bool, date, list[tuple[date, int]]]], rules: LateFeeRules
) -> np.ndarray:
    bill = [i for i, item in enumerate(items) for _ in item[5]]
    return late_fees(
        [item[0] for item in items],
        [item[1] for item in items],
        [item[2] for item in items],
        np.array([item[3] for item in items], dtype=bool),
        [item[4] for item in items],
        Payments(
            np.array(bill, dtype=np.int64),
            np.array([d for item in items for d, _ in item[5]], dtype="datetime64[D]"),
            np.array([fen for item in items for _, fen in item[5]], dtype=np.int64),
        ),
        rules,
    ).fee_fen


@settings(max_examples=150, deadline=None)
@given(st.lists(bills(), min_size=1, max_size=12), rules_st)
def test_arrays_equal_the_day_by_day_reference(
    items: list[tuple[int, date, int, bool, date, list[tuple[date, int]]]], rules: LateFeeRules
) -> None:
    got = run_arrays(items, rules).tolist()
    want = [reference_fee_fen(*item, rules) for item in items]
    assert got == want


@settings(max_examples=100, deadline=None)
@given(bills(), st.integers(1, 400))
def test_fee_is_monotone_in_days_and_at_least_the_minimum_when_positive(
    item: tuple[int, date, int, bool, date, list[tuple[date, int]]], extra: int
) -> None:
    amount, due, year, residential, until, payments = item
    later = (amount, due, year, residential, until + timedelta(days=extra), payments)
    first, second = run_arrays([item, later], RULES).tolist()
    assert second >= first
    assert first == 0 or first >= 100
    if until > due and amount - sum(fen for d, fen in payments if d <= due) > 0:
        assert first >= 100


@settings(max_examples=60, deadline=None)
@given(bills())
def test_explanation_adds_up_to_the_array_result(
    item: tuple[int, date, int, bool, date, list[tuple[date, int]]],
) -> None:
    amount, due, year, residential, until, payments = item
    result = explain(amount, due, year, residential, until, payments)
    assert sum((line.amount for line in result.lines), Decimal(0)) == result.exact_total
    assert int(result.fee * 100) == run_arrays([item], RULES)[0]
    assert all(line.days > 0 and line.base > 0 for line in result.lines)
