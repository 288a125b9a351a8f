"""The demo's ledger through the real actions: payments for most bills with every counter method and both
channels, the bank's file reconciled with one difference of each kind and each resolved, and prepaid accounts —
one alerted, one disconnected remotely and reconnected by its payment."""

from __future__ import annotations

import pytest

from gridcare.ledger import selectors
from gridcare.ledger.models import ApprovalRequest, Difference, Payment, PrepaidAgreement, PrepaidEvent
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
    from gridcare.ledger import demo

    monkeypatch.setattr(demo, "COUNTER_PAYMENTS", 5)  # 40 customers: leave some for the channels
    settings.GRIDCARE_INTERVAL_STORE = tmp_path / "intervals"
    build_tiny_demo(system)
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
