"""Reliability of the channel payment API under load (PostgreSQL: real threads, one connection each): many
posters retrying the same Idempotency-Keys — a bank client retrying a timeout or a 409 "in progress" until it has
an answer — post exactly one payment per key, and every answer for a key is the same."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.core.management import call_command

from gridcare.ledger import selectors
from gridcare.ledger.models import Entry, Payment
from tests.concurrency import run_together, truly_concurrent

URL = "/api/ledger/channel/payments/"
POSTERS_PER_KEY = 6
KEYS = 5


@pytest.mark.django_db(transaction=True)
def test_many_concurrent_posters_retrying_the_same_keys(account, release, channel, api, capsys):
    accounts = [account() for _ in range(KEYS)]
    for acc in accounts:
        release(acc, "300.00")
    bodies = {
        f"idem-{i}": {"account": acc.number, "amount": f"{100 + i}.50", "transaction_id": f"TXN{i:04d}"}
        for i, acc in enumerate(accounts)
    }

    def poster(key: str):
        def call():
            client = api("bank_test")
            for _attempt in range(50):  # a bank's retry loop: a 409 "in progress" is retried after a pause
                answer = client.post(URL, bodies[key], format="json", HTTP_IDEMPOTENCY_KEY=key)
                if answer.status_code != 409:
                    return key, answer.status_code, answer.json()
                time.sleep(0.05)
            return key, 409, answer.json()

        return call

    calls = [poster(key) for key in bodies for _ in range(POSTERS_PER_KEY)]
    results = run_together(calls)
    assert not [r for r in results if isinstance(r, Exception)], results
    answers: dict[str, list[dict]] = {}
    for key, status, body in results:
        assert status == 201, (key, status, body)
        answers.setdefault(key, []).append(body)
    for key, bodies_seen in answers.items():
        assert len(bodies_seen) == POSTERS_PER_KEY
        assert all(b == bodies_seen[0] for b in bodies_seen), key  # every answer equal
        assert bodies_seen[0]["transaction_id"] == bodies[key]["transaction_id"]
    assert Payment.objects.count() == KEYS  # exactly one payment per key
    assert sorted(Payment.objects.values_list("transaction_id", flat=True)) == sorted(
        b["transaction_id"] for b in bodies.values()
    )
    assert Entry.objects.filter(kind__in=["payment", "prepayment"]).count() == KEYS
    assert sum(Payment.objects.values_list("amount", flat=True)) == sum(
        Decimal(b["amount"]) for b in bodies.values()
    )
    # a retry long after still answers the first answer
    client = api("bank_test")
    key = next(iter(bodies))
    late = client.post(URL, bodies[key], format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert late.status_code == 201 and late.json() == answers[key][0]
    assert late.headers.get("Idempotent-Replayed") == "true"
    assert selectors.check() == []
    call_command("ledger", "check")
    assert "OK" in capsys.readouterr().out
    if truly_concurrent():
        assert len(calls) == KEYS * POSTERS_PER_KEY
