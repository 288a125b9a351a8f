"""The channel payment hot path (issue #13, performance): prepared statements instead of the ORM on every post keep
every invariant — scope (same rule as ``restrict``), allocation order, idempotency byte for byte, the transaction
id once per channel, audit rows, a closed day, bad input refused with nothing written, a bounded statement count,
and many concurrent retries posting exactly one payment per key."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings

from gridcare.core.access import restrict
from gridcare.core.errors import NotFound
from gridcare.core.models import AuditEntry, IdempotencyRecord
from gridcare.customers.models import Account
from gridcare.ledger import actions, posting
from gridcare.ledger.models import Allocation, DailyClose, Entry, Payment
from gridcare.org.models import User
from tests.concurrency import run_together, truly_concurrent

pytestmark = pytest.mark.django_db

URL = "/api/ledger/channel/payments/"


def post(client, body, key):
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_the_payment_lookup_of_an_account_agrees_with_restrict_for_every_position(account, staff, channel):
    """Given accounts at two stations and one with an account manager, when each position looks one up to take a
    payment (the locked, one-statement path on PostgreSQL), then it finds exactly the accounts ``restrict`` lets it
    write — any other answers as unknown (404), like an account that does not exist."""
    accounts = [account("CG"), account("HX"), account("SNS")]
    managed = accounts[2]
    Account.objects.filter(pk=managed.pk).update(account_manager=staff("key_account"))
    users = list(User.objects.filter(position__isnull=False).select_related("position", "org_unit"))
    assert len(users) > 5
    for user in users:
        writable = set(restrict(Account.objects.all(), user, write=True).values_list("pk", flat=True))
        for acc in accounts:
            with transaction.atomic():
                try:
                    found = actions._account(user, acc.number, lock=True).pk
                except NotFound:
                    found = None
            assert (found == acc.pk) == (acc.pk in writable), (user.username, acc.number)


def test_open_debits_in_one_statement_equal_the_set_based_ones(account, release, system):
    """Late fees first, then the oldest bill; partly settled debits with what is left."""
    acc = account()
    older = release(acc, "40.00", period="2026-01")
    release(acc, "60.00", period="2026-02")
    today = dt.date.today()
    fee = Entry.objects.create(
        account=acc, kind="late_fee", amount=Decimal("1.50"), day=today, due_date=today, posted_by=system
    )
    charge = Entry.objects.get(bill=older, kind="charge")
    part = Entry.objects.create(
        account=acc, kind="waiver", amount=Decimal("-15.00"), day=today, due_date=today, posted_by=system
    )
    Allocation.objects.create(credit=part, debit=charge, amount=Decimal("15.00"), cause=part, account=acc)
    single = [(o.entry_id, o.kind, o.left) for o in posting.open_debits(acc.pk)]
    batch = [(o.entry_id, o.kind, o.left) for o in posting.open_debits_of([acc.pk])[acc.pk]]
    assert single == batch
    assert [kind for _, kind, _ in single] == ["late_fee", "charge", "charge"]
    assert single[0][0] == fee.pk and single[1] == (charge.pk, "charge", Decimal("25.00"))


def test_a_payment_settles_late_fees_then_the_oldest_bill_exactly(account, release, channel, api, system):
    acc = account()
    release(acc, "40.00", period="2026-01")
    newer = release(acc, "60.00", period="2026-02")
    today = dt.date.today()
    fee = Entry.objects.create(
        account=acc, kind="late_fee", amount=Decimal("1.50"), day=today, due_date=today, posted_by=system
    )
    paid = post(api("bank_test"), {"account": acc.number, "amount": "51.50", "transaction_id": "A1"}, "a1")
    assert paid.status_code == 201, paid.content
    assert paid.json()["applied"] == "51.50" and paid.json()["prepayment"] == "0.00"
    settled = {a.debit_id: a.amount for a in Allocation.objects.all()}
    older_charge = Entry.objects.get(kind="charge", bill__period="2026-01")
    newer_charge = Entry.objects.get(kind="charge", bill=newer)
    assert settled == {
        fee.pk: Decimal("1.50"),
        older_charge.pk: Decimal("40.00"),
        newer_charge.pk: Decimal("10.00"),
    }
    assert posting.balance(acc.pk) == Decimal("50.00")


def test_retries_answer_the_first_payment_byte_for_byte_and_everything_is_audited(
    account, release, channel, api
):
    acc = account()
    release(acc, "30.00")
    client = api("bank_test")
    body = {"account": acc.number, "amount": "45.00", "transaction_id": "T-77"}
    first = post(client, body, "k-1")
    assert first.status_code == 201, first.content
    assert first.json()["applied"] == "30.00" and first.json()["prepayment"] == "15.00"
    replay = post(client, body, "k-1")
    assert replay.status_code == 201 and replay.content == first.content
    assert replay.headers["Idempotent-Replayed"] == "true"
    bank_retry = post(client, body, "k-2")  # the same transaction under a new key: the first payment's answer
    assert bank_retry.status_code == 201 and bank_retry.content == first.content
    other_body = post(client, {**body, "amount": "46.00"}, "k-1")
    assert other_body.status_code == 409
    other_amount = post(client, {**body, "amount": "46.00"}, "k-3")
    assert other_amount.status_code == 409 and "T-77" in other_amount.json()["detail"]
    assert Payment.objects.count() == 1
    payment = Payment.objects.get()
    assert AuditEntry.objects.filter(action="ledger.take_payment", object_id=str(payment.pk)).count() == 1
    assert AuditEntry.objects.filter(action="ledger.payment_repeated", object_id=str(payment.pk)).count() == 1
    assert IdempotencyRecord.objects.filter(key__in=["k-1", "k-2"]).count() == 2
    assert not IdempotencyRecord.objects.filter(key="k-3").exists()  # a refusal keeps no record


def test_a_closed_day_refuses_a_channel_post_and_writes_nothing(account, release, channel, api):
    acc = account()
    release(acc, "30.00")
    DailyClose.objects.create(
        cashier=channel.user,
        day=dt.date.today(),
        payments=0,
        reversals=0,
        total=Decimal("0"),
        by_method={},
        cash_expected=Decimal("0"),
        cash_handed_over=Decimal("0"),
        difference=Decimal("0"),
    )
    before = AuditEntry.objects.count()
    refused = post(api("bank_test"), {"account": acc.number, "amount": "10.00", "transaction_id": "C1"}, "c1")
    assert refused.status_code == 409 and "日结" in refused.json()["detail"]
    assert not Payment.objects.exists() and AuditEntry.objects.count() == before
    assert not IdempotencyRecord.objects.filter(key="c1").exists()


def test_a_counter_payment_for_an_account_outside_scope_is_unknown(account, release, api, cashier):
    there = account("HX")
    release(there, "30.00")
    cashier()
    refused = api("cg_cashier").post(
        "/api/ledger/payments/", {"account": there.number, "amount": "30.00", "method": "cash"}, format="json"
    )
    assert refused.status_code == 404, refused.content
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "10.00", "transaction_id": "X1", "account": "LB-NOPE"},
        {"amount": "abc", "transaction_id": "X1"},
        {"amount": "1e3", "transaction_id": ""},
        {"amount": "10.00", "transaction_id": "X" * 65},
        {"amount": 10.555, "transaction_id": "X1"},
        {"amount": "99999999999", "transaction_id": "X1"},
    ],
)
def test_bad_posts_are_clear_refusals_with_nothing_written(account, channel, api, body):
    acc = account()
    before = (AuditEntry.objects.count(), IdempotencyRecord.objects.count())
    answer = post(api("bank_test"), {"account": acc.number, **body}, "bad")
    assert 400 <= answer.status_code < 500 and answer.status_code != 409, answer.content
    assert answer.json()["detail"]
    assert (
        not Payment.objects.exists() and not Entry.objects.filter(kind__in=["payment", "prepayment"]).exists()
    )
    assert (AuditEntry.objects.count(), IdempotencyRecord.objects.count()) == before


def test_a_channel_post_takes_a_bounded_number_of_statements(account, release, channel, api):
    """The statement baseline of the hot path: an added per-payment query fails here (PostgreSQL: 10 from the token
    to the answer, BEGIN/COMMIT not counted; the per-payment checks of the collection features — overdue charges for
    the late fee at payment, the open dunning case, the prepaid agreement — ride in the statement that reads the
    closed day and the channel's transaction, and so do the confirmation of the channel remembered per process and,
    on PostgreSQL, the account's open debits;
    SQLite has no row lock and draws the receipt number from a counter row)."""
    acc = account()
    release(acc, "30.00")
    client = api("bank_test")
    post(client, {"account": acc.number, "amount": "1.00", "transaction_id": "Q0"}, "q0")  # warm
    with CaptureQueriesContext(connection) as queries:
        answer = post(client, {"account": acc.number, "amount": "2.00", "transaction_id": "Q1"}, "q1")
    assert answer.status_code == 201, answer.content
    statements = [
        q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert len(statements) <= (10 if connection.vendor == "postgresql" else 13), statements


@override_settings(GRIDCARE_THROTTLE_RATES={"user": "1/min", "anon": "1/min", "channel": "3/min"})
def test_the_channel_has_its_own_throttle_rate(account, channel, api):
    from django.core.cache import cache

    cache.clear()
    acc = account()
    client = api("bank_test")
    middle_of_a_minute = (time.time() // 60) * 60 + 30  # (the four posts never straddle two windows)
    with mock.patch("gridcare.api.throttling.time.time", return_value=middle_of_a_minute):
        codes = [
            post(
                client, {"account": acc.number, "amount": "1.00", "transaction_id": f"R{i}"}, f"r{i}"
            ).status_code
            for i in range(4)
        ]
    assert codes == [201, 201, 201, 429]  # past the person's 1/min: the channel's own 3/min applies
    assert Payment.objects.count() == 3
    cache.clear()


@pytest.mark.django_db(transaction=True)
def test_many_concurrent_posters_and_retries_post_one_payment_per_transaction(account, release, channel, api):
    """Given 6 transactions each sent by 4 threads under one key and 2 more under new keys (a bank retrying
    after a timeout), all at once, then each transaction is posted once and every answer for it is identical."""
    acc = account()
    release(acc, "100.00")
    txns = [f"TX-{i}" for i in range(6)]
    client_for = {}

    def poster(txn: str, key: str):
        def call():
            client = client_for.get(key) or api("bank_test")
            body = {"account": acc.number, "amount": f"{10 + txns.index(txn)}.00", "transaction_id": txn}
            answer = post(client, body, key)
            return txn, answer.status_code, answer.content

        return call

    calls = [poster(t, f"{t}-k") for t in txns for _ in range(4)]
    calls += [poster(t, f"{t}-retry-{n}") for t in txns for n in range(2)]
    results = run_together(calls)
    assert all(not isinstance(r, Exception) for r in results), results
    answers: dict[str, set[bytes]] = {}
    for txn, status, content in results:
        assert status in (201, 409), content  # 409: the same key still in progress in another thread
        if status == 201:
            answers.setdefault(txn, set()).add(content)
    assert set(answers) == set(txns)
    assert all(len(contents) == 1 for contents in answers.values()), answers
    assert Payment.objects.count() == len(txns)
    assert sorted(Payment.objects.values_list("transaction_id", flat=True)) == sorted(txns)
    assert sum(Payment.objects.values_list("amount", flat=True)) == Decimal(sum(10 + i for i in range(6)))
    assert AuditEntry.objects.filter(action="ledger.take_payment").count() == len(txns)
    assert posting.balance(acc.pk) == Decimal("100.00") - Decimal(sum(10 + i for i in range(6)))
    if truly_concurrent():
        assert connection.vendor == "postgresql"


def test_a_remembered_channel_deactivated_or_reassigned_is_refused_at_once(account, channel, api, staff):
    """Given a channel that has posted (its channel now remembered by the API process), when it is deactivated, then
    its next post is refused (403) with nothing written; active again, it posts; given to another integration
    account, the first account's post is refused too."""
    from gridcare.ledger.models import Channel

    acc = account()
    client = api("bank_test")
    assert (
        post(client, {"account": acc.number, "amount": "1.00", "transaction_id": "M0"}, "m0").status_code
        == 201
    )
    Channel.objects.filter(pk=channel.pk).update(active=False)
    before = (AuditEntry.objects.count(), IdempotencyRecord.objects.count())
    refused = post(client, {"account": acc.number, "amount": "2.00", "transaction_id": "M1"}, "m1")
    assert refused.status_code == 403, refused.content
    assert Payment.objects.count() == 1
    assert (AuditEntry.objects.count(), IdempotencyRecord.objects.count()) == before
    Channel.objects.filter(pk=channel.pk).update(active=True)
    assert (
        post(client, {"account": acc.number, "amount": "2.00", "transaction_id": "M1"}, "m1").status_code
        == 201
    )
    Channel.objects.filter(pk=channel.pk).update(user=staff("admin"))
    moved = post(client, {"account": acc.number, "amount": "3.00", "transaction_id": "M2"}, "m2")
    assert moved.status_code == 403, moved.content
    assert Payment.objects.count() == 2


def _flags(actor, acc, day):
    checks = actions._payment_checks(actor, day, acc, None, None)
    return checks.overdue, checks.disconnected, checks.cut_off


def test_the_folded_collection_flags_stand_for_their_checks(account, release, system, cashier):
    """The three collection checks a payment used to run as statements of their own are flags of one statement: each
    is set exactly when its check could find something — an overdue open charge (a late fee to post), an open dunning
    case at its disconnection, an active prepaid agreement cut off — and clear otherwise, so a clear flag skips a
    query that would have found nothing."""
    from gridcare.engine import dunning as ladder
    from gridcare.ledger import latefees
    from gridcare.ledger.conf import conf
    from gridcare.ledger.models import DunningCase
    from gridcare.ledger.prepaid_models import PrepaidAgreement

    actor = cashier()
    acc = account()
    bill = release(acc, "80.00")
    today = dt.date.today()
    due = Entry.objects.get(bill=bill, kind="charge").due_date
    grace = dt.timedelta(days=int(conf("LATE_FEE_GRACE_DAYS")))
    late, in_grace = due + grace + dt.timedelta(days=5), due + grace
    assert _flags(actor, acc, today) == (False, False, False)  # not overdue today
    assert _flags(actor, acc, late)[0] is True and latefees.accruals(late, [acc.pk])  # a fee to post then
    assert _flags(actor, acc, in_grace)[0] is False and not latefees.accruals(in_grace, [acc.pk])
    actions.do_take_payment(actor, account=acc, amount="80.00", method="cash")  # paid on time, in full
    assert _flags(actor, acc, late)[0] is False and not latefees.accruals(late, [acc.pk])
    case = DunningCase.objects.create(account=acc, last_step=ladder.DISCONNECT - 1)
    assert _flags(actor, acc, today)[1] is False
    DunningCase.objects.filter(pk=case.pk).update(last_step=ladder.DISCONNECT)
    assert _flags(actor, acc, today)[1] is True
    DunningCase.objects.filter(pk=case.pk).update(status=DunningCase.Status.CLOSED)
    assert _flags(actor, acc, today)[1] is False
    agreement = PrepaidAgreement.objects.create(account=acc, enrolled_on=today, enrolled_by=system)
    assert _flags(actor, acc, today)[2] is False
    PrepaidAgreement.objects.filter(pk=agreement.pk).update(switched_off=True)
    assert _flags(actor, acc, today)[2] is True
    PrepaidAgreement.objects.filter(pk=agreement.pk).update(active=False)
    assert _flags(actor, acc, today)[2] is False
