"""The channel interface (代收): arrears query and payment post with a required Idempotency-Key, the channel's
transaction id taken once; retries answer the first payment; refusals post nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from gridcare.ledger.models import Entry, Payment
from tests.concurrency import run_together, truly_concurrent

URL = "/api/ledger/channel/payments/"


def post(client, body, key):
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_arrears_query_and_payment(account, release, channel, api):
    acc = account()
    bill = release(acc, "88.80")
    client = api("bank_test")
    answer = client.get("/api/ledger/channel/arrears/", {"account": acc.number})
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert data["owed"] == "88.80" and data["items"][0]["bill"] == bill.number
    assert data["name"] != acc.name and data["name"][0] == acc.name[0]  # masked for the channel
    paid = post(client, {"account": acc.number, "amount": "100.00", "transaction_id": "T1"}, "k1")
    assert paid.status_code == 201, paid.content
    assert paid.json()["applied"] == "88.80" and paid.json()["prepayment"] == "11.20"
    again = post(client, {"account": acc.number, "amount": "100.00", "transaction_id": "T1"}, "k1")
    assert again.status_code == 201 and again.json() == paid.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    other_key = post(client, {"account": acc.number, "amount": "100.00", "transaction_id": "T1"}, "k2")
    assert (
        other_key.status_code == 201 and other_key.json() == paid.json()
    )  # the same transaction: first answer
    assert Payment.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "key", "status"),
    [
        ({"amount": "10.00", "transaction_id": "T9"}, "a", 400),  # no account
        ({"account": "0000000000", "amount": "10.00", "transaction_id": "T9"}, "b", 404),
        ({"amount": "0", "transaction_id": "T9"}, "c", 400),
        ({"amount": "-1", "transaction_id": "T9"}, "d", 400),
        ({"amount": "1.001", "transaction_id": "T9"}, "e", 400),
        ({"amount": "10.00", "transaction_id": "T9", "currency": "USD"}, "f", 400),
        ({"amount": "10.00"}, "g", 400),  # no transaction id
        ({"amount": "10.00", "transaction_id": "T9"}, "", 400),  # no Idempotency-Key
    ],
)
def test_bad_channel_posts_are_refused(account, channel, api, body, key, status):
    acc = account()
    body = {"account": acc.number, **body} if "account" not in body and key != "a" else body
    answer = post(api("bank_test"), body, key)
    assert answer.status_code == status, answer.content
    assert "detail" in answer.json()
    assert not Payment.objects.exists() and not Entry.objects.filter(kind="payment").exists()


@pytest.mark.django_db
def test_same_key_other_body_and_same_transaction_other_amount_are_409(account, release, channel, api):
    acc = account()
    release(acc, "50.00")
    client = api("bank_test")
    assert (
        post(client, {"account": acc.number, "amount": "50.00", "transaction_id": "T1"}, "k1").status_code
        == 201
    )
    changed = post(client, {"account": acc.number, "amount": "60.00", "transaction_id": "T2"}, "k1")
    assert changed.status_code == 409
    other = post(client, {"account": acc.number, "amount": "51.00", "transaction_id": "T1"}, "k3")
    assert other.status_code == 409 and "T1" in other.json()["detail"]
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_cashier_is_not_a_channel_and_sees_no_other_station(account, channel, api, cashier):
    there = account("HX")
    cashier()
    client = api("cg_cashier")
    refused = post(client, {"account": there.number, "amount": "1.00", "transaction_id": "X"}, "k")
    assert refused.status_code == 403
    query = client.get("/api/ledger/channel/arrears/", {"account": there.number})
    assert query.status_code == 404


@pytest.mark.django_db
def test_counter_payment_api_and_reversal(account, release, api, cashier):
    acc = account()
    release(acc, "30.00")
    cashier()
    client = api("cg_cashier")
    taken = client.post(
        "/api/ledger/payments/", {"account": acc.number, "amount": "30.00", "method": "cash"}, format="json"
    )
    assert taken.status_code == 201, taken.content
    payment = Payment.objects.get(number=taken.json()["receipt"])
    reversed_ = client.post(f"/api/ledger/payments/{payment.pk}/reverse/", {"reason": "收错"}, format="json")
    assert reversed_.status_code == 200, reversed_.content
    assert Entry.objects.filter(kind="reversal", payment=payment).count() == 1
    closed = client.post("/api/ledger/closes/", {"cash_handed_over": "0.00"}, format="json")
    assert closed.status_code == 201, closed.content
    assert closed.json()["total"] == "0.00"


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_post_one_payment_per_key(account, release, channel, api):
    acc = account()
    release(acc, "500.00")
    keys = [f"key-{i}" for i in range(4)]

    def poster(key: str):
        def call():
            client = api("bank_test")
            answer = post(client, {"account": acc.number, "amount": "20.00", "transaction_id": key}, key)
            return answer.status_code, answer.json()

        return call

    calls = [poster(key) for key in keys for _ in range(4)]
    results = run_together(calls)
    assert all(not isinstance(r, Exception) for r in results), results
    by_key: dict[str, set[str]] = {}
    for key, (status, body) in zip([k for k in keys for _ in range(4)], results, strict=True):
        assert status in (201, 409), body
        if status == 201:
            by_key.setdefault(key, set()).add(repr(sorted(body.items())))
    assert all(len(answers) == 1 for answers in by_key.values())
    assert Payment.objects.count() == len(keys)
    assert Payment.objects.values("transaction_id").distinct().count() == len(keys)
    assert sum(Payment.objects.values_list("amount", flat=True)) == Decimal("80.00")
    if truly_concurrent():
        assert connection.vendor == "postgresql"
