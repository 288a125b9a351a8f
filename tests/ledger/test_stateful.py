"""A Hypothesis state machine over random sequences of bill, pay, reverse, close, refund (prepayments arise from
overpayments) keeping the ledger's invariants: balance = Σ entries, allocations within each payment, no entry
edited, receivable = Σ balances, and ``ledger check`` clean."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
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
from gridcare.ledger import posting, selectors
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
            self.seen: dict[int, tuple[str, Decimal]] = {}

        @rule(which=st.integers(0, 1), cents=st.integers(min_value=-20_000, max_value=80_000))
        def bill(self, which: int, cents: int) -> None:
            if cents == 0:
                return
            acc = self.accounts[which]
            amount = Decimal(cents) / 100
            release(acc, f"{amount:.2f}", correcting=cents < 0)
            self.expected[acc.pk] += amount

        @rule(which=st.integers(0, 1), cents=CENTS)
        def pay(self, which: int, cents: int) -> None:
            acc = self.accounts[which]
            amount = Decimal(cents) / 100
            if self.closed:
                with pytest.raises(Conflict):
                    do_take_payment(self.cashier, account=acc, amount=f"{amount:.2f}", method="cash")
                return
            self.payments.append(
                do_take_payment(self.cashier, account=acc, amount=f"{amount:.2f}", method="pos")
            )
            self.expected[acc.pk] -= amount

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
            for pk, kind, amount in Entry.objects.filter(account__in=self.accounts).values_list(
                "pk", "kind", "amount"
            ):
                assert self.seen.setdefault(pk, (kind, amount)) == (kind, amount)

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
            max_examples=12,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
