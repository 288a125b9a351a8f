"""The ledger demo runs through the real actions: a year of collection replayed on the business clock (payments on
their days, late ones with late fees, the month-end late-fee job, the dunning job, the collectors' ladder up to a
disconnection and the reconnection after payment, a waiver, a broken payment plan, a write-off), then today's
counter and channel payments, a close, a reconciled file and a payment plan for a key account in arrears."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from gridcare.core import clock
from gridcare.ledger import demo, history_demo, reports, selectors
from gridcare.ledger.models import ApprovalRequest, DunningStep, Entry, PaymentPlan

pytestmark = pytest.mark.django_db

MONTHS = 8


def _release_moments(months: int) -> list[tuple[str, dt.datetime]]:
    """(period, release moment) of the last ``months`` closed months, as the billing demo releases them."""
    from gridcare.billing.demo import demo_periods, release_moment

    return [(p, release_moment(p)) for p in demo_periods(timezone.localdate(), months)]


def _replay_year(accounts: list[Any], release: Any, habits: dict[int, tuple[str, int]]) -> list[str]:
    lines: list[str] = []
    moments = _release_moments(MONTHS)
    for i, (period, moment) in enumerate(moments):
        with clock.as_of(moment):
            for acc in accounts:
                release(acc, "260.00", period=period)
        last = i + 1 == len(moments)
        end = timezone.now() if last else moments[i + 1][1]
        lines += history_demo.replay(moment, end, last)
    return lines


def test_the_replayed_year_has_arrears_late_fees_and_a_disconnection(
    account, release, staff, monkeypatch
) -> None:
    accounts = [account(manager=staff("key_account") if i == 0 else None) for i in range(12)]
    habits = {
        accounts[0].pk: (history_demo.STOPS, 2),  # the key account manager's customer, in arrears today
        accounts[1].pk: (history_demo.STOPS, MONTHS),
        accounts[2].pk: (history_demo.STOPS, MONTHS),
        accounts[3].pk: (history_demo.STOPS, MONTHS),
        accounts[4].pk: (history_demo.STOPS, 3),
        accounts[5].pk: (history_demo.LATE, 0),
        **{a.pk: (history_demo.STOPS, MONTHS) for a in accounts[8:]},  # more than the collectors take up
    }
    monkeypatch.setattr(history_demo, "habit", lambda a, _c, _k: habits.get(a, (history_demo.ON_TIME, 0)))
    lines = _replay_year(accounts, release, habits)
    text = "\n".join(lines)

    # late payers pay with the late fee at payment; the month-end job charges the others
    assert Entry.objects.filter(kind=Entry.Kind.LATE_FEE, account=accounts[5]).exists(), text
    assert Entry.objects.filter(kind=Entry.Kind.LATE_FEE, account=accounts[1]).exists(), text
    assert not Entry.objects.filter(kind=Entry.Kind.LATE_FEE, account=accounts[6]).exists()
    # the ladder: reminders, approval, notice delivered, disconnection (a work order), payment, reconnection
    kinds = set(DunningStep.objects.values_list("kind", flat=True))
    assert {"reminder", "approved", "notice", "delivered", "disconnected", "reconnected"} <= kinds, text
    disconnected = DunningStep.objects.filter(kind="disconnected")
    assert disconnected.exclude(work_order=None).exists()
    reconnected = DunningStep.objects.filter(kind="reconnected").first()
    assert reconnected is not None and reconnected.case.status == "closed"
    # the station answered the reconnection order a few hours after the payment: 复电时长 has a value
    order = reconnected.work_order
    assert order is not None and order.answered_at is not None, text
    assert dt.timedelta(hours=1) < order.answered_at - reconnected.at < dt.timedelta(hours=24)
    # the steps happened on the replayed days, at the hours chosen (never the hour the test runs at)
    assert all(timezone.localtime(s.at).hour == 10 for s in disconnected)
    assert all(
        s.at < timezone.now() - dt.timedelta(days=2) for s in DunningStep.objects.filter(kind="notice")
    )
    # a waiver, a broken plan, a write-off, each approved or checked by the real actions
    assert ApprovalRequest.objects.filter(kind="waiver", status="approved").exists(), text
    assert ApprovalRequest.objects.filter(kind="write_off", status="approved").exists(), text
    assert PaymentPlan.objects.filter(status="broken").exists(), text
    # the aging report has arrears beyond 30 days (and beyond 90)
    aging = reports.aging(staff("manager"), timezone.localdate())
    assert aging.total is not None and aging.total.buckets[1] > 0 and aging.total.buckets[2] > 0, aging.total
    assert aging.total.accounts >= 3
    assert selectors.check() == []

    # today: the on-time payers' current bills paid, the key account in arrears gets its plan
    from gridcare.org.selectors import system_actor

    today_lines = list(demo.build(system_actor(), "small"))
    assert any("the year" in line for line in today_lines), today_lines
    assert Entry.objects.filter(account=accounts[6], kind="payment", day=timezone.localdate()).exists()
    plan = PaymentPlan.objects.get(status="in_force")
    assert plan.account == accounts[0], today_lines
    assert selectors.check() == []


def test_today_without_history(account, release, staff) -> None:
    """With nothing overdue (bills released today) the demo's today part still pays and reports."""
    accounts = [account() for _ in range(6)]
    for i, acc in enumerate(accounts):
        release(acc, f"{100 + i}.00")
    from gridcare.org.selectors import system_actor

    lines = list(demo.build(system_actor(), "small"))
    assert any("the year" in line and "0 dunning cases" in line for line in lines), lines
    assert not PaymentPlan.objects.exists()  # no key account in arrears
    assert selectors.check() == []
