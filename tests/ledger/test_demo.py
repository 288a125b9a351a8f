"""The ledger demo runs through the real actions: counter and channel payments, a close, a reconciled file, the
late-fee and dunning jobs, and a payment plan for an unpaid key account."""

from __future__ import annotations

import pytest

from gridcare.ledger import demo, selectors
from gridcare.ledger.models import PaymentPlan

pytestmark = pytest.mark.django_db


def test_demo_through_the_real_actions(account, release, staff) -> None:
    accounts = [account(manager=staff("key_account") if i == 0 else None) for i in range(10)]
    for i, acc in enumerate(accounts):
        release(acc, f"{100 + i}.00")
    from gridcare.org.selectors import system_actor

    lines = list(demo.build(system_actor(), "small"))
    assert any("late-fee job" in line for line in lines), lines
    assert any("payment plan" in line for line in lines), lines
    plan = PaymentPlan.objects.get()
    assert plan.status == "in_force" and plan.account == accounts[0]
    assert selectors.check() == []
