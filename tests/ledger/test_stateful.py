"""A Hypothesis state machine over random sequences of bill charge (some released weeks ago, so overdue),
correcting bill (rebill, + or −), payment, reversal, late fees (the month-end job), waiver of a late fee, refund
and daily close (prepayments arise from overpayments) keeping the ledger's invariants: balance = Σ entries; each
payment's allocations ≤ the payment and exactly what the allocation rule says (late fees, then the oldest due date
first — checked against a reference walk written here); no entry or allocation edited (full snapshots compared);
receivable = Σ balances; ``ledger check`` clean."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from unittest import mock

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from gridcare.core.errors import Conflict, PermissionRefused
from gridcare.ledger import latefees, posting, selectors
from gridcare.ledger.actions import (
    day_figures,
    do_close_day,
    do_decide_approval,
    do_request_approval,
    do_reverse_payment,
    do_take_payment,
)
from gridcare.ledger.models import Allocation, Entry, Payment

CENTS = st.integers(min_value=1, max_value=50_000)
ENTRY_FIELDS = (
    "pk",
    "account_id",
    "kind",
    "amount",
    "bill_id",
    "payment_id",
    "concerns_id",
    "day",
    "due_date",
    "posted_at",
    "posted_by_id",
    "note",
)
ALLOCATION_FIELDS = ("pk", "credit_id", "debit_id", "amount", "cause_id", "account_id")


def settle_in_order(account_id: int, amount: Decimal) -> dict[int, Decimal]:
    """The reference allocation rule, written independently of ``posting``: open debits (charges, correcting
    bills, late fees) less what allocations already gave them, late fees first, then by due date and posting
    order; the payment settles them in that order as far as it goes."""
    open_: list[tuple[int, object, int, Decimal]] = []
    for pk, kind, due, total in Entry.objects.filter(
        account_id=account_id, kind__in=["charge", "correction", "late_fee"], amount__gt=0
    ).values_list("pk", "kind", "due_date", "amount"):
        done = sum(Allocation.objects.filter(debit_id=pk).values_list("amount", flat=True), Decimal("0"))
        if total > done:
            open_.append((0 if kind == "late_fee" else 1, due, pk, total - done))
    plan: dict[int, Decimal] = {}
    left = amount
    for _group, _due, pk, owed in sorted(open_):
        if left <= 0:
            break
        part = min(owed, left)
        plan[pk] = part
        left -= part
    return plan


@pytest.mark.django_db
def test_ledger_invariants_hold_over_random_sequences(account, release, cashier, staff):
    serial = itertools.count(1)
    manager = staff("manager")

    class Ledger(RuleBasedStateMachine):
        @initialize()
        def setup(self) -> None:
            self.accounts = [account(), account()]
            self.cashier = cashier(f"hyp_cashier_{next(serial)}")
            self.expected = {a.pk: Decimal("0.00") for a in self.accounts}
            self.payments: list[Payment] = []
            self.reversed: set[int] = set()
            self.closed = False
            self.seen: dict[int, tuple] = {}
            self.seen_allocations: dict[int, tuple] = {}

        def fees(self) -> dict[int, Decimal]:
            """The late fees posted so far per account (the fee entries are debits like the bills)."""
            rows = Entry.objects.filter(account__in=self.accounts, kind="late_fee").values_list(
                "account", "amount"
            )
            total = {a.pk: Decimal("0.00") for a in self.accounts}
            for account_id, amount in rows:
                total[account_id] += amount
            return total

        def post_late_fees(self) -> None:
            """The month-end job up to today; whatever it posts is owed on top of the bills."""
            before = self.fees()
            latefees.do_post_late_fees(self.cashier)
            for account_id, total in self.fees().items():
                self.expected[account_id] += total - before[account_id]
                if total > before[account_id]:
                    event("late fee posted")

        @rule(
            which=st.integers(0, 1),
            cents=st.integers(min_value=-20_000, max_value=80_000),
            days_ago=st.sampled_from([0, 0, 45, 90]),
        )
        def bill(self, which: int, cents: int, days_ago: int) -> None:
            if cents == 0:
                return
            acc = self.accounts[which]
            amount = Decimal(cents) / 100
            if days_ago and cents > 0:  # released weeks ago: its due date has passed, late fees accrue
                past = timezone.now() - dt.timedelta(days=days_ago)
                with mock.patch("django.utils.timezone.now", return_value=past):
                    release(acc, f"{amount:.2f}")
            else:
                release(acc, f"{amount:.2f}", correcting=cents < 0)
            self.expected[acc.pk] += amount

        def open_fees(self) -> list[tuple[Entry, Decimal]]:
            found = []
            for fee in Entry.objects.filter(account__in=self.accounts, kind="late_fee").order_by("pk"):
                settled = sum(
                    Allocation.objects.filter(debit=fee).values_list("amount", flat=True), Decimal("0")
                )
                if fee.amount > settled:
                    found.append((fee, fee.amount - settled))
            return found

        def waive_part(self, fee: Entry, left: Decimal, share: int) -> None:
            """减免 — part of an open late fee, asked by the collector and approved by the manager."""
            amount = max((left * share / 100).quantize(Decimal("0.01")), Decimal("0.01"))
            request = do_request_approval(
                self.cashier, kind="waiver", entry_id=fee.pk, amount=f"{amount:.2f}", reason="困难用户减免"
            )
            do_decide_approval(manager, request.pk, approve=True)
            self.expected[fee.account_id] -= amount
            event("late fee waived")

        @rule(waive_share=st.sampled_from([0, 0, 30, 100]))
        def late_fees(self, waive_share: int) -> None:
            """The month-end job, and sometimes at once a waiver of part of the first fee still open."""
            self.post_late_fees()
            open_fees = self.open_fees()
            if waive_share and open_fees:
                self.waive_part(*open_fees[0], waive_share)

        @rule(data=st.data(), share=st.integers(1, 100))
        def waive(self, data: st.DataObject, share: int) -> None:
            open_fees = self.open_fees()
            if open_fees:
                self.waive_part(*data.draw(st.sampled_from(open_fees)), share)

        @rule(which=st.integers(0, 1), cents=CENTS)
        def pay(self, which: int, cents: int) -> None:
            acc = self.accounts[which]
            amount = Decimal(cents) / 100
            if self.closed:
                with pytest.raises(Conflict):
                    do_take_payment(self.cashier, account=acc, amount=f"{amount:.2f}", method="cash")
                return
            self.post_late_fees()  # up to today, so the payment's own posting adds nothing the reference misses
            reference = settle_in_order(acc.pk, amount)
            payment = do_take_payment(self.cashier, account=acc, amount=f"{amount:.2f}", method="pos")
            self.payments.append(payment)
            self.expected[acc.pk] -= amount
            given: dict[int, Decimal] = {}
            for debit, part in Allocation.objects.filter(credit__payment=payment).values_list(
                "debit_id", "amount"
            ):
                given[debit] = given.get(debit, Decimal("0")) + part
            assert given == reference  # late fees, then the oldest due date first, as far as the money goes

        @precondition(lambda self: any(p.pk not in self.reversed for p in self.payments))
        @rule(data=st.data())
        def reverse(self, data: st.DataObject) -> None:
            payment = data.draw(st.sampled_from([p for p in self.payments if p.pk not in self.reversed]))
            if self.closed:
                with pytest.raises(PermissionRefused):
                    do_reverse_payment(self.cashier, payment.pk, "日结后冲正")
                request = do_request_approval(
                    self.cashier, kind="reversal", payment_id=payment.pk, reason="审批冲正"
                )
                do_decide_approval(manager, request.pk, approve=True)
            else:
                do_reverse_payment(self.cashier, payment.pk, "当日冲正")
            self.reversed.add(payment.pk)
            self.expected[payment.account_id] += payment.amount

        @precondition(lambda self: not self.closed)
        @rule()
        def close(self) -> None:
            cash = day_figures(self.cashier.pk, timezone.localdate())["cash_expected"]
            do_close_day(self.cashier, cash_handed_over=f"{cash:.2f}")
            self.closed = True

        @rule(which=st.integers(0, 1), share=st.integers(1, 100))
        def refund(self, which: int, share: int) -> None:
            acc = self.accounts[which]
            credit = sum((c.left for c in posting.open_credits(acc.pk)), Decimal("0"))
            amount = (credit * share / 100).quantize(Decimal("0.01"))
            if amount <= 0:
                return
            request = do_request_approval(
                self.cashier, kind="refund", account=acc.pk, amount=f"{amount:.2f}", reason="退费"
            )
            do_decide_approval(manager, request.pk, approve=True)
            self.expected[acc.pk] += amount

        @invariant()
        def balances_are_the_sum_of_entries(self) -> None:
            for acc in self.accounts:
                assert posting.balance(acc.pk) == self.expected[acc.pk]

        @invariant()
        def allocations_stay_within_each_payment(self) -> None:
            for payment in self.payments:
                given = sum(
                    Allocation.objects.filter(credit__payment=payment).values_list("amount", flat=True),
                    Decimal("0"),
                )
                assert Decimal("0") <= given <= payment.amount
                if payment.pk in self.reversed:
                    assert given == payment.amount  # everything went to the reversal

        @invariant()
        def no_entry_is_edited(self) -> None:
            for row in Entry.objects.filter(account__in=self.accounts).values_list(*ENTRY_FIELDS):
                assert self.seen.setdefault(row[0], row) == row
            for row in Allocation.objects.filter(account__in=self.accounts).values_list(*ALLOCATION_FIELDS):
                assert self.seen_allocations.setdefault(row[0], row) == row

        @invariant()
        def receivable_is_the_sum_of_balances_and_check_is_clean(self) -> None:
            balances = Entry.objects.values("account").order_by().annotate(t=Sum("amount"))
            assert selectors.receivable() == sum((b["t"] for b in balances), Decimal("0")).quantize(
                Decimal("0.01")
            )
            assert selectors.check() == []

    run_state_machine_as_test(
        Ledger,
        settings=settings(
            max_examples=20,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
