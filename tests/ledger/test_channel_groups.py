"""The channel API's group commit (issue #13, performance): posts arriving together are taken in one transaction —
set-based from ``CHANNEL_GROUP_MIN`` posts on, one by one below — and each is answered exactly as it would be
alone: its payment, the first payment of a transaction id seen again, a replay of its key, or its own refusal with
nothing kept of it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test.utils import override_settings
from rest_framework.response import Response

from gridcare.api.base import KeyedWrite
from gridcare.core.errors import Conflict, NotFound
from gridcare.core.gather import ALONE
from gridcare.core.models import AuditEntry, IdempotencyRecord
from gridcare.ledger import actions, posting, selectors
from gridcare.ledger import api as channel_api
from gridcare.ledger.models import DailyClose, Payment
from gridcare.org.models import User
from tests.concurrency import run_together, truly_concurrent
from tests.days import today

pytestmark = pytest.mark.django_db

URL = "/api/ledger/channel/payments/"
SET_BASED, ONE_BY_ONE = 2, 1000


def group_of(channel: Any, *posts: tuple[str, str, str, str]) -> list[channel_api._GroupedPost]:
    """(key, account, amount, transaction id) → the posts as the view hands them over; the fingerprint stands
    for the body (the same body, the same fingerprint)."""
    user = User.objects.select_related("position", "org_unit").get(pk=channel.user_id)
    return [
        channel_api._GroupedPost(
            user,
            channel,
            KeyedWrite(key, "POST", URL, f"{account}|{amount}|{txn}"),
            actions.check_channel_post(account, amount, None, txn, f"req-{key}"),
        )
        for key, account, amount, txn in posts
    ]


def answer_of(payment: Payment) -> dict[str, Any]:
    return channel_api.payment_answer(Payment.objects.select_related("account").get(pk=payment.pk))


@pytest.mark.parametrize("group_min", [SET_BASED, ONE_BY_ONE], ids=["set-based", "one-by-one"])
def test_each_post_of_a_group_is_answered_as_it_would_be_alone(account, release, channel, group_min) -> None:
    a, b = account(), account()
    release(a, "30.00")
    release(b, "30.00")
    with override_settings(GRIDCARE_LEDGER={"CHANNEL_GROUP_MIN": group_min}):
        (first,) = channel_api._serve_posts(group_of(channel, ("k0", a.number, "20.00", "T0")))
        assert isinstance(first, Response) and first.status_code == 201
        answers = channel_api._serve_posts(
            group_of(
                channel,
                ("g1", a.number, "10.00", "T1"),  # new: settles what is left of a's bill
                ("g2", a.number, "25.00", "T2"),  # new, the same account after it: all prepayment
                ("g3", b.number, "45.00", "T3"),  # new: 30.00 applied, 15.00 prepaid
                ("g4", a.number, "20.00", "T0"),  # a transaction posted before, another key: its payment
                (
                    "g5",
                    b.number,
                    "45.00",
                    "T3",
                ),  # a transaction of this very group again: the group's payment
                ("g6", b.number, "46.00", "T3"),  # the same transaction with another amount: refused
                ("g7", "NOPE0001", "5.00", "T7"),  # an unknown account: refused
                ("k0", a.number, "20.00", "T0"),  # the first key again, the same body: replayed
                ("g1", a.number, "10.00", "T1"),  # a key twice in one group: the second done alone, later
            )
        )
    t0, t1, t2, t3 = (Payment.objects.get(transaction_id=t) for t in ("T0", "T1", "T2", "T3"))
    statuses = [a.status_code if isinstance(a, Response) else a for a in answers]
    assert statuses[:5] == [201] * 5
    assert [a.data for a in answers[:5]] == [  # type: ignore[union-attr]
        answer_of(t1),
        answer_of(t2),
        answer_of(t3),
        answer_of(t0),
        answer_of(t3),
    ]
    assert answers[0].data["applied"] == "10.00" and answers[1].data["prepayment"] == "25.00"  # type: ignore[union-attr]
    assert (answers[2].data["applied"], answers[2].data["prepayment"]) == ("30.00", "15.00")  # type: ignore[union-attr]
    assert isinstance(answers[5], Conflict) and "T3" in answers[5].message
    assert isinstance(answers[6], NotFound) and "NOPE0001" in answers[6].message
    assert isinstance(answers[7], Response) and answers[7]["Idempotent-Replayed"] == "true"
    assert answers[7].data == first.data
    assert answers[8] is ALONE
    assert Payment.objects.count() == 4
    assert posting.balance(a.pk) == Decimal("-25.00") and posting.balance(b.pk) == Decimal("-15.00")
    kept = {r.key: r for r in IdempotencyRecord.objects.all()}
    assert set(kept) == {"k0", "g1", "g2", "g3", "g4", "g5"}  # the refused keep no record
    assert all(kept[f"g{n}"].response == answers[n - 1].data for n in range(1, 6))  # type: ignore[union-attr]
    assert all(kept[k].status_code == 201 for k in kept)
    audited = AuditEntry.objects.filter(action="ledger.take_payment")
    assert sorted(audited.values_list("object_id", flat=True)) == sorted(str(p.pk) for p in (t0, t1, t2, t3))
    assert audited.get(object_id=str(t3.pk)).after["applied"] == "30.00"
    # each row names the request that brought its post, whoever led the group
    assert {r.object_id: r.request_id for r in audited} == {
        str(t0.pk): "req-k0", str(t1.pk): "req-g1", str(t2.pk): "req-g2", str(t3.pk): "req-g3"
    }  # fmt: skip
    repeated = AuditEntry.objects.filter(action="ledger.payment_repeated")
    assert sorted(repeated.values_list("object_id", "request_id")) == sorted(
        [(str(t0.pk), "req-g4"), (str(t3.pk), "req-g5")]
    )
    assert selectors.check() == []


@pytest.mark.parametrize("group_min", [SET_BASED, ONE_BY_ONE], ids=["set-based", "one-by-one"])
def test_a_group_of_refusals_keeps_nothing(account, channel, group_min) -> None:
    acc = account()
    with override_settings(GRIDCARE_LEDGER={"CHANNEL_GROUP_MIN": group_min}):
        channel_api._serve_posts(group_of(channel, ("k0", acc.number, "20.00", "T0")))
        audit_rows = AuditEntry.objects.count()
        answers = channel_api._serve_posts(
            group_of(
                channel,
                ("r1", "NOPE0001", "5.00", "R1"),
                ("r2", acc.number, "21.00", "T0"),
                ("k0", acc.number, "20.00", "OTHER"),  # the first key with another body
            )
        )
    assert [type(a) for a in answers] == [NotFound, Conflict, Conflict]
    assert "另一请求" in answers[2].message  # type: ignore[union-attr]
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["k0"]
    assert AuditEntry.objects.count() == audit_rows and Payment.objects.count() == 1


@pytest.mark.parametrize("group_min", [SET_BASED, ONE_BY_ONE], ids=["set-based", "one-by-one"])
def test_a_closed_day_refuses_the_whole_group_but_replays_answer(account, channel, group_min) -> None:
    acc = account()
    with override_settings(GRIDCARE_LEDGER={"CHANNEL_GROUP_MIN": group_min}):
        (first,) = channel_api._serve_posts(group_of(channel, ("k0", acc.number, "20.00", "T0")))
        DailyClose.objects.create(
            cashier=channel.user, day=today(), payments=1, reversals=0, total=Decimal("20.00"), by_method={},
            cash_expected=0, cash_handed_over=0, difference=0,
        )  # fmt: skip
        answers = channel_api._serve_posts(
            group_of(
                channel,
                ("c1", acc.number, "5.00", "C1"),
                ("c2", acc.number, "6.00", "C2"),
                ("k0", acc.number, "20.00", "T0"),
            )
        )
    assert all(isinstance(a, Conflict) and "日结" in a.message for a in answers[:2])
    assert isinstance(answers[2], Response) and answers[2].data == first.data  # type: ignore[union-attr]
    assert Payment.objects.count() == 1 and IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_through_the_api_are_grouped_and_each_taken_once(account, release, channel, api):
    """Given 24 posts of 12 transactions at once (each also retried under a second key), with groups set-based
    from two posts, then each transaction is posted once, every answer for it is the same, and the ledger holds."""
    accounts = [account() for _ in range(4)]
    for acc in accounts:
        release(acc, "50.00")

    def poster(n: int, key: str):
        def call():
            body = {"account": accounts[n % 4].number, "amount": f"{10 + n}.00", "transaction_id": f"CT{n}"}
            answer = api("bank_test").post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
            return n, answer.status_code, answer.content

        return call

    with override_settings(GRIDCARE_LEDGER={"CHANNEL_GROUP_MIN": SET_BASED}):
        results = run_together([poster(n, f"ct{n}-{k}") for n in range(12) for k in ("a", "b")])
    assert all(not isinstance(r, Exception) for r in results), results
    assert {status for _, status, _ in results} == {201}
    by_txn: dict[int, set[bytes]] = {}
    for n, _, content in results:
        by_txn.setdefault(n, set()).add(content)
    assert all(len(contents) == 1 for contents in by_txn.values())
    assert Payment.objects.count() == 12
    assert AuditEntry.objects.filter(action="ledger.take_payment").count() == 12
    assert selectors.check() == []
    if truly_concurrent():
        assert len(set(Payment.objects.values_list("number", flat=True))) == 12
