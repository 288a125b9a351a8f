"""The demo's ledger through the real actions: a replayed year of collection (late payers, late fees, the dunning
ladder to a disconnection and back, arrears aged beyond 90 days), today's payments for most bills with every counter method and both
channels, the bank's file reconciled with one difference of each kind and each resolved, and prepaid accounts —
one alerted, one disconnected remotely and reconnected by its payment."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gridcare.ledger import reports, selectors
from gridcare.ledger.models import (
    ApprovalRequest,
    Difference,
    DunningStep,
    Entry,
    Payment,
    PaymentPlan,
    PrepaidAgreement,
    PrepaidEvent,
)
from gridcare.org.models import User
from tests.billing.conftest import tariffs  # noqa: F401
from tests.billing.test_demo import build_tiny_demo

pytestmark = pytest.mark.django_db


def test_demo_ledger(
    system,
    tariffs,  # noqa: F811
    settings,
    tmp_path,
    monkeypatch,
    django_capture_on_commit_callbacks,
) -> None:
    from gridcare.ledger import demo, history_demo

    monkeypatch.setattr(demo, "COUNTER_PAYMENTS", 5)  # 40 customers: leave some for the channels
    # 40 customers: a quarter stop paying for the whole year, a quarter pay late (more than in a real company, so
    # that the collectors' ladder has cases whatever the account ids the database hands out)
    habits = [
        (history_demo.STOPS, 11),
        (history_demo.LATE, 0),
        (history_demo.ON_TIME, 0),
        (history_demo.ON_TIME, 0),
    ]
    monkeypatch.setattr(history_demo, "habit", lambda account_id, _class, _key: habits[account_id % 4])
    settings.GRIDCARE_INTERVAL_STORE = tmp_path / "intervals"
    billing_lines = build_tiny_demo(system)
    with django_capture_on_commit_callbacks(execute=True):  # the demo commits as it goes: alerts are sent
        lines = list(demo.build(system, "tiny"))
    text = "\n".join(lines)
    methods = set(Payment.objects.values_list("method", flat=True))
    assert {"cash", "pos", "wechat", "alipay", "bank_transfer", "channel"} <= methods, text
    assert set(Payment.objects.exclude(channel=None).values_list("channel__code", flat=True)) == {
        "ICBC",
        "ALIPAY",
    }
    kinds = dict(Difference.objects.values_list("kind", "resolution"))
    assert kinds == {"only_ours": "reversal_asked", "only_theirs": "posted", "amount_differs": "accepted"}, (
        text
    )
    assert ApprovalRequest.objects.filter(kind="reversal", status="pending").exists()
    assert PrepaidAgreement.objects.filter(active=True).count() == 3
    events = set(PrepaidEvent.objects.values_list("kind", "status"))
    assert {("alert_low", "sent"), ("disconnect", "sent"), ("reconnect", "sent")} <= events, text
    assert not PrepaidAgreement.objects.filter(switched_off=True).exists()
    assert "reconnected" in text and "NOT" not in text
    assert selectors.check() == []

    # the replayed year: payments late and on time, late fees, the ladder, arrears aged beyond 30 and 90 days
    history = "\n".join(line for line in billing_lines if line.startswith("ledger:"))
    assert history.count("ledger: ") >= 12, history
    assert Entry.objects.filter(kind="late_fee").exists(), history
    assert Entry.objects.filter(
        kind="payment", day__lt=timezone.localdate() - dt.timedelta(days=200)
    ).exists()
    steps = set(DunningStep.objects.values_list("kind", flat=True))
    assert {"reminder", "approved", "notice", "delivered", "disconnected", "reconnected"} <= steps, history
    manager = User.objects.get(username="manager")
    count, amount = reports.overdue_accounts(manager, timezone.localdate(), 30)
    assert count > 0 and amount > 0
    aging = reports.aging(manager, timezone.localdate())
    assert aging.total is not None and aging.total.buckets[1] > 0 and aging.total.buckets[2] > 0, aging.total
    assert ApprovalRequest.objects.filter(kind="waiver", status="approved").exists(), history
    assert PaymentPlan.objects.filter(status="broken").exists(), history
