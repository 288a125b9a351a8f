"""Late fees (电费违约金) over arrays of overdue bills — pure, vectorised, exact; no Django.

The rule (RULES.md §1, from 供电营业规则 1996 第九十八条)
--------------------------------------------------------
    "电费违约金从逾期之日起计算至交纳日止。每日电费违约金按下列规定计算：1．居民用户每日按欠费总额的千分之一计算；
    2．其他用户：(1) 当年欠费部分，每日按欠费总额的千分之二计算；(2) 跨年度欠费部分，每日按欠费总额的千分之三计算。
    电费违约金收取总额按日累加计收，总额不足1元者按1元收取。"

    RULES.md §1: "Late fee accrues daily from the day after the due date until payment: residential 1‰ of the
    arrears per day; other customers 2‰ per day on current-year arrears, 3‰ per day on arrears from an earlier
    year. A total under 1 元 is charged as 1 元."

How gridcare reads it (each point is a parameter of :class:`LateFeeRules` where the rule leaves room):

* **Days.** "从逾期之日起计算至交纳日止": the first day counted is the day after the due date, the last is the
  payment day (inclusive).  So a bill paid *on* its due date owes nothing, paid the next day owes one day:
  ``days = payment date − due date`` (calendar days, leap days included).  For an unpaid bill the evaluation
  date takes the place of the payment date (the fee accrued to date, e.g. at month end).
* **Which arrears are "current-year" (当年) and which "cross-year" (跨年度).** The year of the arrears is the
  bill's year (``bill_year``: the year of its billing period, 电费年月).  Each overdue *day* is charged at the
  current-year rate while the day lies in the bill's year or before, and at the earlier-year rate once the day
  lies in a later year — the arrears have then become 跨年度欠费.  So a non-residential bill of December 2025
  due 2025-12-25 and paid 2026-01-05 owes 6 days (Dec 26–31) at 2‰ and 5 days (Jan 1–5) at 3‰; a bill of
  2025 still unpaid in March 2027 is at 3‰ for every day from 2026-01-01.  Residential customers have one
  rate; both of their rates are the same parameter (1‰).  The other reading — charging *all* the days of a
  2025 bill paid in 2026 at 3‰ — is rejected: the fee "按日累加" accrues day by day, and on a day of 2025 the
  arrears were current-year arrears; a fee posted at the end of December (month-end posting) could otherwise
  change afterwards, which an immutable ledger cannot allow.
* **Base.** "欠费总额" is the amount outstanding on that day.  Partial payments change it: an amount paid on
  day *p* still accrues on day *p* ("至交纳日止") and no longer from day *p + 1*.
* **Rounding.** "按日累加计收": the daily amounts are added *exactly* (integer 分 × rate in millionths per day,
  i.e. units of 1e-8 元) and the total of a bill is rounded once, half-up to 0.01 元, with
  :func:`gridcare.engine.money.div_round_half_up_array` — the project's one rounding rule.
* **Minimum.** "总额不足1元者按1元收取": a bill whose exact total is positive but under 1 元 is charged 1 元
  (:attr:`LateFeeRules.minimum`).  It applies per bill (the unit this module computes); callers who charge the
  minimum on another total (per receipt, per account) add :attr:`LateFees.rounded_fen` and apply
  :func:`apply_minimum` themselves.
* **Due date on a day off.** RULES.md says nothing about a due date that falls on a holiday, so by default it
  does not move.  :attr:`LateFeeRules.move_due_date_off_day` moves it to the next working day (民法典 第二百零三条:
  "期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日") on the calendar passed as data
  (:class:`gridcare.engine.calendar.BusinessCalendar`, loaded by ``gridcare.core.calendar`` from the database).
* **Grace days** (宽限期, default 0): the due date is moved ``grace_days`` calendar days later before the day
  rule above; a provincial company that grants a grace period sets it.

Array API
---------
One element per bill: ``amount_fen`` (the amount due on the bill, or its outstanding amount when no payments
are passed), ``due`` (``datetime64[D]``), ``bill_year``, ``residential`` and ``until`` (payment date of the
remainder or evaluation date; a scalar broadcasts).  Partial payments are a long table, :class:`Payments`: one
row per amount allocated to a bill (bill index, day, amount).  Because the fee is linear in the base, the step
series "outstanding amount per interval" equals the sum over *pieces*: each paid amount accrues from the due
date to its payment day, the remainder to ``until``; that is how the arrays compute it (no sorting, no loop),
while :func:`explain` shows the same fee as the step series a customer reads on the receipt.

int64 headroom: amount (分) × rate (1e-6/day) × days.  At 3‰ over 10 years (10,950 rate-days ×1e-6) a bill may
be up to 8.4e11 分 (8.4 billion 元); larger products are refused with :class:`OverflowError` (never wrapped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np

from gridcare.engine.arrays import BoolArray, DayArray, Int64Array, bool_input, int64_input
from gridcare.engine.calendar import BusinessCalendar
from gridcare.engine.money import (
    FEN_DEC,
    decimal_exponent,
    decimal_to_scaled,
    div_round_half_up_array,
    scaled_to_decimal,
)

__all__ = [
    "EXACT_DEC",
    "RATE_DEC",
    "LateFeeExplanation",
    "LateFeeLine",
    "LateFeeRules",
    "LateFees",
    "Payments",
    "apply_minimum",
    "effective_due_dates",
    "explain",
    "late_fees",
]

#: Daily rates are held as integers in millionths per day (1‰ = 1000).
RATE_DEC = 6
#: Exact accrued amounts are integers in 1e-8 元 (分 × millionths).
EXACT_DEC = FEN_DEC + RATE_DEC

_INT64_MAX = int(np.iinfo(np.int64).max)
_YEARS = (1900, 2999)


def _rate(value: Decimal, name: str) -> int:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise ValueError(f"{name} must be a non-negative Decimal rate per day, got {value!r}")
    try:
        return decimal_to_scaled(value, RATE_DEC)
    except ValueError as exc:
        raise ValueError(f"{name} {value} has more than {RATE_DEC} decimals") from exc


@dataclass(frozen=True)
class LateFeeRules:
    """The late-fee rule as data (defaults from RULES.md §1); rates are fractions per day (0.001 = 1‰)."""

    residential_rate: Decimal = Decimal("0.001")
    current_year_rate: Decimal = Decimal("0.002")
    earlier_year_rate: Decimal = Decimal("0.003")
    minimum: Decimal = Decimal("1.00")
    grace_days: int = 0
    move_due_date_off_day: bool = False

    def __post_init__(self) -> None:
        for name in ("residential_rate", "current_year_rate", "earlier_year_rate"):
            _rate(getattr(self, name), name)
        if not isinstance(self.minimum, Decimal) or not self.minimum.is_finite() or self.minimum < 0:
            raise ValueError(f"minimum must be a non-negative Decimal amount in 元, got {self.minimum!r}")
        if decimal_exponent(self.minimum) < -FEN_DEC:
            raise ValueError(f"minimum {self.minimum} has more than {FEN_DEC} decimals")
        if isinstance(self.grace_days, bool) or not isinstance(self.grace_days, int) or self.grace_days < 0:
            raise ValueError(f"grace_days must be a whole number of days >= 0, got {self.grace_days!r}")

    @property
    def residential_ppm(self) -> int:
        return _rate(self.residential_rate, "residential_rate")

    @property
    def current_year_ppm(self) -> int:
        return _rate(self.current_year_rate, "current_year_rate")

    @property
    def earlier_year_ppm(self) -> int:
        return _rate(self.earlier_year_rate, "earlier_year_rate")

    @property
    def minimum_fen(self) -> int:
        return decimal_to_scaled(self.minimum, FEN_DEC)


@dataclass(frozen=True)
class Payments:
    """Amounts allocated to the bills (long format, any order): ``bill`` indexes the bill arrays."""

    bill: Int64Array
    day: DayArray
    amount_fen: Int64Array

    @classmethod
    def empty(cls) -> Payments:
        return cls(np.empty(0, np.int64), np.empty(0, "datetime64[D]"), np.empty(0, np.int64))


@dataclass(frozen=True)
class LateFees:
    """Result of :func:`late_fees`, one element per bill."""

    fee_fen: Int64Array  #: the late fee charged, 分 (minimum applied)
    rounded_fen: Int64Array  #: the accrued total rounded half-up to 分, before the minimum
    accrued: Int64Array  #: exact accrued total in 1e-8 元 (:data:`EXACT_DEC`)
    due: DayArray  #: effective due date (grace days and day-off move applied); accrual starts the day after
    days: Int64Array  #: overdue days up to ``until`` of the amount still outstanding then (0 when none is)
    outstanding_fen: Int64Array  #: amount still outstanding at ``until`` (amount − payments up to then)


def _days(values: object, name: str) -> DayArray:
    array = np.asarray(values)
    if array.size == 0:
        return np.zeros(array.shape, dtype="datetime64[D]")
    if array.dtype.kind in "biufc":  # NumPy would read numbers as days or seconds since 1970
        raise ValueError(
            f"{name}: not dates (datetime64, datetime.date or ISO text), but {array.dtype} numbers"
        )
    try:
        days = array.astype("datetime64[D]")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: not dates ({exc})") from exc
    if np.isnat(days).any():
        raise ValueError(f"{name}: missing date (NaT) at index {int(np.flatnonzero(np.isnat(days))[0])}")
    return days


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def effective_due_dates(
    due: DayArray, rules: LateFeeRules = LateFeeRules(), calendar: BusinessCalendar | None = None
) -> DayArray:
    """The due date after the grace days and, if the rules say so, moved off a day off to the next working day."""
    moved: DayArray = _days(due, "due") + np.timedelta64(rules.grace_days, "D")
    if rules.move_due_date_off_day and moved.size:
        if calendar is None:
            raise ValueError("move_due_date_off_day needs the business calendar (calendar=...)")
        # the day after the first working day following (d - 1), minus one day: the first working day >= d
        deadline = calendar.add_working_days_many(moved - np.timedelta64(1, "D"), 1)
        moved = (deadline.astype(np.int64) - 1).astype("datetime64[D]")
    return moved


def _rate_days(
    after: Int64Array, last: Int64Array, boundary: Int64Array, current: Int64Array, earlier: Int64Array
) -> Int64Array:
    """Σ of the daily rates (millionths) over the days ``after < d <= last`` (epoch days): ``current`` before
    ``boundary`` (January 1 after the bill's year), ``earlier`` from it on."""
    total = np.maximum(last - after, 0)
    in_year = np.clip(boundary - 1 - after, 0, total)
    weighted: Int64Array = in_year * current + (total - in_year) * earlier
    return weighted


def _year_boundary(bill_year: Int64Array) -> Int64Array:
    """Epoch day of January 1 of the year after each bill's year."""
    boundary: Int64Array = (
        (bill_year + 1 - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    )
    return boundary


def apply_minimum(
    rounded_fen: Int64Array, accrued: Int64Array, rules: LateFeeRules = LateFeeRules()
) -> Int64Array:
    """The minimum ("总额不足1元者按1元收取"): a positive total under the minimum is charged the minimum; zero stays zero."""
    charged: Int64Array = np.where(accrued > 0, np.maximum(rounded_fen, rules.minimum_fen), 0)
    return charged


def _checked_payments(
    payments: Payments | None, amount: Int64Array
) -> tuple[Int64Array, Int64Array, Int64Array, Int64Array]:
    """The allocations as (bill index, epoch day, 分) and the total per bill, checked against the bills."""
    if payments is None:
        payments = Payments.empty()
    bill = int64_input(payments.bill, "payments.bill")
    paid = int64_input(payments.amount_fen, "payments.amount_fen")
    day: Int64Array = _days(payments.day, "payments.day").astype(np.int64)
    if not bill.shape == paid.shape == day.shape or bill.ndim != 1:
        raise ValueError("payments.bill, payments.day and payments.amount_fen must have the same length")
    n = amount.size
    out_of_range = (bill < 0) | (bill >= n)
    if out_of_range.any():
        i = _first_bad(out_of_range)
        raise ValueError(f"payments.bill {int(bill[i])} is not a bill index 0–{n - 1} (payment row {i})")
    if (paid <= 0).any():
        raise ValueError(f"payments.amount_fen must be > 0 (payment row {_first_bad(paid <= 0)})")
    total_paid = np.zeros(n, dtype=np.int64)
    np.add.at(total_paid, bill, paid)
    over = total_paid > amount
    if over.any():
        i = _first_bad(over)
        raise ValueError(
            f"payments to bill index {i} ({int(total_paid[i])} 分) exceed its amount ({int(amount[i])} 分)"
        )
    return bill, day, paid, total_paid


def late_fees(
    amount_fen: Int64Array | Sequence[int],
    due: DayArray | Sequence[object],
    bill_year: Int64Array | Sequence[int],
    residential: BoolArray | Sequence[bool],
    until: DayArray | object,
    payments: Payments | None = None,
    rules: LateFeeRules = LateFeeRules(),
    calendar: BusinessCalendar | None = None,
) -> LateFees:
    """Late fee of each bill accrued up to ``until`` (payment day of the remainder or evaluation day).

    :param amount_fen: amount due on each bill in 分 (>= 0); with ``payments`` the amounts allocated to it are
        deducted on their days (an allocation on or before the due date simply owes nothing).
    :param due: due date (缴费截止日) of each bill.
    :param bill_year: the bill's year (year of its billing period, 电费年月), 1900–2999.
    :param residential: residential customer (居民) — one rate; others: current-year / earlier-year rates.
    :param until: the day up to which the remainder accrues (inclusive); broadcast against the bills.
    :param payments: allocations to the bills; their total per bill must not exceed its amount.  Allocations
        dated after ``until`` are not known on that day: they accrue up to ``until`` and are still outstanding.
    :raises ValueError: bad input, naming the first offending element; nothing is computed.
    :raises OverflowError: an amount too large for exact int64 arithmetic (see the module docstring).
    """
    amount = int64_input(amount_fen, "amount_fen")
    due_days = _days(due, "due")
    year = int64_input(bill_year, "bill_year")
    resident = bool_input(residential, "residential")
    until_days = _days(until, "until")
    try:
        amount, due_days, year, resident, until_days = np.broadcast_arrays(
            amount, due_days, year, resident, until_days
        )
    except ValueError as exc:
        raise ValueError(f"the bill arrays must have the same length ({exc})") from exc
    if amount.ndim != 1:
        raise ValueError("the bill arrays must be one-dimensional")
    if (amount < 0).any():
        raise ValueError(f"amount_fen must be >= 0 (bill index {_first_bad(amount < 0)})")
    bad_year = (year < _YEARS[0]) | (year > _YEARS[1])
    if bad_year.any():
        i = _first_bad(bad_year)
        raise ValueError(f"bill_year {int(year[i])} outside {_YEARS[0]}–{_YEARS[1]} (bill index {i})")

    effective = effective_due_dates(due_days, rules, calendar).astype(np.int64)
    last = until_days.astype(np.int64)
    boundary = _year_boundary(year)
    current = np.where(resident, rules.residential_ppm, rules.current_year_ppm)
    earlier = np.where(resident, rules.residential_ppm, rules.earlier_year_ppm)

    weight = _rate_days(effective, last, boundary, current, earlier)
    too_big = (weight > 0) & (amount > _INT64_MAX // np.maximum(weight, 1))
    if too_big.any():
        i = _first_bad(too_big)
        raise OverflowError(
            f"late fee of bill index {i} (amount {int(amount[i])} 分) exceeds exact int64 range"
        )

    bill, paid_day, paid, total_paid = _checked_payments(payments, amount)
    remainder = amount - total_paid
    # each paid amount accrues up to its payment day (not beyond `until`), the remainder up to `until`
    piece_last = np.minimum(paid_day, last[bill])
    piece_weight = _rate_days(effective[bill], piece_last, boundary[bill], current[bill], earlier[bill])
    accrued = remainder * weight
    np.add.at(accrued, bill, paid * piece_weight)
    # allocations dated after `until` are not known on that day: still outstanding then
    future = paid_day > last[bill]
    outstanding = remainder.copy()
    np.add.at(outstanding, bill[future], paid[future])
    rounded = div_round_half_up_array(accrued, 10**RATE_DEC)
    return LateFees(
        fee_fen=apply_minimum(rounded, accrued, rules),
        rounded_fen=rounded,
        accrued=accrued,
        due=effective.astype("datetime64[D]"),
        days=np.where(outstanding > 0, np.maximum(last - effective, 0), 0),
        outstanding_fen=outstanding,
    )


@dataclass(frozen=True)
class LateFeeLine:
    """One line of the explanation: a base outstanding over consecutive days at one daily rate."""

    first_day: date
    last_day: date
    days: int
    base: Decimal  #: 元 outstanding on those days
    rate: Decimal  #: per day (0.002 = 2‰)
    amount: Decimal  #: exact, 元 (base × rate × days, not rounded)


@dataclass(frozen=True)
class LateFeeExplanation:
    """Why a bill owes its late fee: the due date, the lines (days × rate × base), and the total."""

    due: date  #: effective due date; the first day counted is the next one
    lines: tuple[LateFeeLine, ...]
    exact_total: Decimal  #: Σ lines, exact
    rounded: Decimal  #: exact total rounded half-up to 0.01 元
    fee: Decimal  #: charged (minimum applied)
    minimum_applied: bool


def explain(
    amount_fen: int,
    due: date,
    bill_year: int,
    residential: bool,
    until: date,
    payments: Sequence[tuple[date, int]] = (),
    rules: LateFeeRules = LateFeeRules(),
    calendar: BusinessCalendar | None = None,
) -> LateFeeExplanation:
    """The late fee of one bill as the step series of its outstanding amount, for the bill and the receipt.

    Lines are split where a payment lowers the base and at the year boundary where the rate changes; their
    exact amounts add up to :attr:`LateFees.accrued` of :func:`late_fees` (which supplies the fee).
    """
    result = late_fees(
        [amount_fen],
        [due],
        [bill_year],
        [residential],
        until,
        Payments(
            np.zeros(len(payments), np.int64),
            np.array([day for day, _ in payments], dtype="datetime64[D]"),
            np.array([fen for _, fen in payments], dtype=np.int64),
        ),
        rules,
        calendar,
    )
    start = int(result.due.astype(np.int64)[0])
    last = int(np.datetime64(until, "D").astype(np.int64))
    boundary = int(_year_boundary(np.array([bill_year], np.int64))[0])
    current = rules.residential_ppm if residential else rules.current_year_ppm
    earlier = rules.residential_ppm if residential else rules.earlier_year_ppm
    # step series: (day the base changes after, new base) — payments after `until` are not known on it
    changes = sorted((min(int(np.datetime64(day, "D").astype(np.int64)), last), fen) for day, fen in payments)
    lines: list[LateFeeLine] = []
    base = amount_fen
    after = start
    for change_day, fen in [*changes, (last, 0)]:
        end = max(change_day, after)
        for lo, hi, ppm in (
            (after, min(end, boundary - 1), current),
            (max(after, boundary - 1), end, earlier),
        ):
            if hi > lo and base > 0:
                lines.append(
                    LateFeeLine(
                        first_day=_date(lo + 1),
                        last_day=_date(hi),
                        days=hi - lo,
                        base=scaled_to_decimal(base, FEN_DEC),
                        rate=scaled_to_decimal(ppm, RATE_DEC).normalize(),
                        amount=scaled_to_decimal(base * ppm * (hi - lo), EXACT_DEC),
                    )
                )
        after = end
        base -= fen
    exact = scaled_to_decimal(int(result.accrued[0]), EXACT_DEC)
    rounded = scaled_to_decimal(int(result.rounded_fen[0]), FEN_DEC)
    fee = scaled_to_decimal(int(result.fee_fen[0]), FEN_DEC)
    return LateFeeExplanation(
        due=_date(start),
        lines=tuple(lines),
        exact_total=exact,
        rounded=rounded,
        fee=fee,
        minimum_applied=fee != rounded,
    )


def _date(epoch_day: int) -> date:
    return date.fromordinal(date(1970, 1, 1).toordinal() + epoch_day)
