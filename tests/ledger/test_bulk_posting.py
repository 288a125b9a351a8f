"""批量入账 / 批量补记 — the set-based posting of many channel payments (:mod:`gridcare.ledger.bulk`) equals the
single posts (its allocation equals ``posting.match`` one payment after another; balances, entries and allocations
of a bulk batch equal those of the same payments taken one by one), and the missing payments of a reconciled file
posted at once: all or nothing, scope, the channel's closed day, the API's idempotent replay, two copies at once."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from decimal import Decimal
from typing import Any
from unittest import mock

import polars as pl
import pytest
from django.utils import timezone

from gridcare.core.errors import Conflict, InvalidInput, NotFound
from gridcare.ledger import bulk, posting, selectors
from gridcare.ledger.actions import do_take_channel_payments, do_take_payment
from gridcare.ledger.models import Allocation, DailyClose, Difference, Entry, Payment
from gridcare.ledger.reconcile import do_import_channel_file, do_post_file_missing
from tests.concurrency import run_together, truly_concurrent

pytestmark = pytest.mark.django_db


# --- the allocation over columns equals posting.match ------------------------------------------------------


def _sequential(
    debits: dict[int, list[posting.Open]], payments: list[tuple[int, int]]
) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]]:
    """``posting.match`` one payment after another as single payments post them (each reading the debits still
    open): (applied, prepaid) per payment and the allocation rows (payment, debit, fen)."""
    owed = {a: sum((d.left for d in items), posting.ZERO) for a, items in debits.items()}
    parts: list[tuple[int, int]] = []
    rows: list[tuple[int, int, int]] = []
    for seq, (account, fen) in enumerate(payments):
        amount = Decimal(fen) / 100
        applied = min(owed.get(account, posting.ZERO), amount)
        owed[account] = owed.get(account, posting.ZERO) - applied
        credits = [
            posting.Open(-1 - seq * 2 - i, kind, None, part)
            for i, (kind, part) in enumerate((("payment", applied), ("prepayment", amount - applied)))
            if part > 0
        ]
        still_open = [d for d in debits.get(account, []) if d.left > 0]  # as a single payment reads them
        for allocation in posting.match(account, credits, still_open, 0):
            if allocation.credit_id == -1 - seq * 2:  # (the settling entry's)
                rows.append((seq, allocation.debit_id, int(allocation.amount * 100)))
            else:
                rows.append((seq, -allocation.debit_id, int(allocation.amount * 100)))
        parts.append((int(applied * 100), int((amount - applied) * 100)))
    return parts, rows


@pytest.mark.parametrize("seed", range(8))
def test_allocation_over_columns_equals_posting_match(seed: int) -> None:
    rng = random.Random(seed)
    table: list[tuple[int, int, str, dt.date, int, int]] = []
    debit = 0
    for account in range(1, 41):
        for _ in range(rng.randrange(0, 5)):  # bills and late fees, some partly settled, some in full
            debit += 1
            amount = rng.randrange(1, 50_000)
            done = rng.choice([0, 0, rng.randrange(0, amount + 1), amount])
            kind = rng.choice(["charge", "charge", "correction", "late_fee"])
            due = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(0, 40))
            table.append((account, debit, kind, due, amount, done))
    rng.shuffle(table)
    payments = [  # several per account: partial, exact and over-payments
        (rng.randrange(1, 41), rng.choice([rng.randrange(1, 3_000), rng.randrange(1, 80_000), 50_000]))
        for _ in range(150)
    ]
    debits = {
        account: posting.ranked(
            (pk, kind, due, Decimal(amount) / 100, Decimal(done) / 100)
            for a, pk, kind, due, amount, done in table
            if a == account
        )
        for account in {row[0] for row in table}
    }
    parts, expected = _sequential(debits, payments)
    assert all(row[1] > 0 for row in expected)  # a prepayment never settles a debit in a payment's posting
    frame = pl.DataFrame(
        table,
        schema={"account": pl.Int64, "debit": pl.Int64, "kind": pl.String, "due": pl.Date, "amount": pl.Int64,
                "done": pl.Int64},
        orient="row",
    )  # fmt: skip
    batch = pl.DataFrame(
        {"seq": range(len(payments)), "account": [a for a, _ in payments], "fen": [f for _, f in payments]},
        schema={"seq": pl.Int64, "account": pl.Int64, "fen": pl.Int64},
    )
    plan, rows = bulk.allocate(batch, bulk.ranked(frame))
    assert list(plan.sort("seq").select("applied", "prepaid").iter_rows()) == parts
    assert sorted(rows.iter_rows()) == sorted(expected)


# --- a bulk batch equals the same payments one by one ------------------------------------------------------


@pytest.fixture
def overdue(release):
    def build(acc: Any, total: str, days_ago: int = 60) -> Any:
        past = timezone.now() - dt.timedelta(days=days_ago)
        with mock.patch("django.utils.timezone.now", return_value=past):
            return release(acc, total, period=f"{timezone.localdate(past):%Y-%m}")

    return build


def _shape(
    account: Any,
) -> tuple[Decimal, Counter[tuple[str, Decimal]], Counter[tuple[str, str, str, Decimal]]]:
    """What an account's ledger looks like, whatever the ids: balance, entries, allocations (credit kind, debit
    kind and bill period, amount)."""
    entries = Counter((e.kind, e.amount) for e in Entry.objects.filter(account=account))
    allocations = Counter(
        (x.credit.kind, x.debit.kind, x.debit.bill.period if x.debit.bill else "", x.amount)
        for x in Allocation.objects.filter(account=account).select_related("credit", "debit__bill")
    )
    return posting.balance(account.pk), entries, allocations


@pytest.mark.parametrize("small_batch", [1000, 0], ids=["accounts-as-array", "accounts-in-temporary-table"])
def test_a_bulk_batch_equals_the_same_payments_one_by_one(
    account, release, overdue, channel, small_batch, monkeypatch
) -> None:
    """Both ways the batch names its accounts (an array on PostgreSQL for a small batch — a channel API group —
    or a temporary table) give what the single posts give."""
    monkeypatch.setattr(bulk, "SMALL_BATCH", small_batch)
    rng = random.Random(7)
    pairs = []
    for n in range(6):
        twins = [account(customer_class="commercial" if n % 2 else "residential") for _ in range(2)]
        for j in range(rng.randrange(1, 4)):
            total = f"{rng.randrange(10, 500)}.{rng.randrange(100):02d}"
            if rng.random() < 0.5:
                for acc in twins:
                    overdue(acc, total, days_ago=45 + 31 * j)  # → a late fee posted at payment, settled first
            else:
                for acc in twins:
                    release(acc, total, period=f"2001-{j + 1:02d}")
        pairs.append(twins)
    rows_bulk: list[dict[str, Any]] = []
    rows_single: list[dict[str, Any]] = []
    for i in range(14):  # several payments per account: partial, over
        n = rng.randrange(len(pairs))
        amount = f"{rng.choice([rng.randrange(1, 120), rng.randrange(200, 2000)])}.{rng.randrange(100):02d}"
        rows_bulk.append({"account": pairs[n][0].number, "amount": amount, "transaction_id": f"K{i}"})
        rows_single.append({"account": pairs[n][1].number, "amount": amount, "transaction_id": f"S{i}"})
    bank = channel.user
    assert do_take_channel_payments(bank, channel=channel, rows=rows_bulk) == len(rows_bulk)
    for row in rows_single:
        do_take_payment(bank, method="channel", channel=channel, **row)
    assert Entry.objects.filter(kind="late_fee").exists()
    assert Entry.objects.filter(kind="prepayment").exists()
    for mine, theirs in pairs:
        assert _shape(mine) == _shape(theirs), mine.number
    assert selectors.check() == []
    numbers = list(Payment.objects.values_list("number", flat=True))
    assert len(set(numbers)) == len(numbers) == 28


def test_a_bulk_batch_refuses_every_bad_row_and_posts_nothing(account, release, channel) -> None:
    acc = account()
    release(acc, "10.00")
    rows = [
        {"account": acc.number, "amount": "5.00", "transaction_id": "G1"},
        {"account": "NOPE", "amount": "5.00", "transaction_id": "G2"},
        {"account": acc.number, "amount": "0", "transaction_id": "G3"},
    ]
    with pytest.raises(InvalidInput) as refused:
        do_take_channel_payments(channel.user, channel=channel, rows=rows)
    assert "account" in refused.value.errors and "rows[2].amount" in refused.value.errors
    assert not Payment.objects.exists()


# --- the missing payments of a reconciled file -------------------------------------------------------------


def _csv(rows: list[tuple[str, str, str]]) -> bytes:
    return ("流水号,户号,金额\n" + "".join(f"{t},{a},{m}\n" for t, a, m in rows)).encode()


def _file(staff: Any, channel: Any, rows: list[tuple[str, str, str]], day: dt.date | None = None) -> Any:
    return do_import_channel_file(
        staff("billing"),
        channel=channel,
        day=day or timezone.localdate(),
        name="debit.csv",
        content=_csv(rows),
    )


def test_the_missing_payments_of_a_file_are_posted_at_once(account, release, channel, staff) -> None:
    a, b = account(), account()
    release(a, "100.00")
    release(b, "30.00")
    do_take_payment(channel.user, account=a.number, amount="10.00", method="channel", channel=channel,
                    transaction_id="M0")  # fmt: skip
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    record = _file(
        staff,
        channel,
        [("M1", a.number, "40.00"), ("M2", a.number, "60.00"), ("M3", b.number, "50.00")],
        day=yesterday,
    )
    assert record.only_theirs == 3
    result = do_post_file_missing(staff("billing"), record.pk)
    assert (result.posted, result.total) == (3, Decimal("150.00"))
    posted = {p.transaction_id: p for p in Payment.objects.filter(transaction_id__startswith="M")}
    assert {p.day for t, p in posted.items() if t != "M0"} == {yesterday}
    assert all(p.cashier_id == channel.user_id for p in posted.values())
    for difference in Difference.objects.filter(file=record):
        assert difference.resolution == "posted"
        assert difference.payment_id == posted[difference.transaction_id].pk
    assert posting.balance(a.pk) == Decimal("-10.00")  # 100 owed, 110 paid: 10 in advance
    assert posting.balance(b.pk) == Decimal("-20.00")
    assert selectors.check() == []
    again = do_post_file_missing(staff("billing"), record.pk)  # nothing left: posts nothing
    assert again.posted == 0 and Payment.objects.count() == 4


def test_one_bad_row_and_nothing_is_posted_every_bad_row_named(account, channel, staff) -> None:
    from gridcare.org.actions import do_update_position

    here, there = account("CG"), account("HX")
    record = _file(
        staff,
        channel,
        [("N1", here.number, "10.00"), ("N2", "NO-SUCH", "5.00"), ("N3", here.number, "-1.00"),
         ("N4", there.number, "8.00")],
    )  # fmt: skip
    billing = staff("billing")
    do_update_position(staff("admin"), billing.position, data_scope="own")  # then no account is in scope
    with pytest.raises(InvalidInput) as refused:
        do_post_file_missing(staff("billing"), record.pk)
    text = " ".join(refused.value.errors["rows"])
    assert "N1" in text and "N2" in text and "N3" in text and "N4" in text
    do_update_position(staff("admin"), billing.position, data_scope="company")
    with pytest.raises(InvalidInput) as refused:
        do_post_file_missing(staff("billing"), record.pk)
    named = refused.value.errors["rows"]
    assert [line.split("：")[0] for line in named] == ["N2", "N3"], named
    assert "不存在" in named[0] and "金额须大于零" in named[1]
    assert not Payment.objects.exists()
    assert set(Difference.objects.values_list("resolution", flat=True)) == {"open"}


def test_outside_scope_the_account_is_unknown(account, channel, staff, unit, system) -> None:
    from gridcare.org.actions import do_create_staff
    from gridcare.org.models import Position

    here, there = account("CG"), account("HX")
    record = _file(staff, channel, [("P1", here.number, "10.00"), ("P2", there.number, "8.00")])
    position = Position.objects.get(code="billing_accountant")
    position.data_scope = "subtree"
    position.save(update_fields=["data_scope"])
    local = do_create_staff(
        system, username="cg_reconciler", password="gridcare2026", full_name="城关对账员",
        position=position, org_unit=unit("CG"), employee_no="T777001", phone="13900000002",
    )  # fmt: skip
    with pytest.raises(NotFound):  # the file was imported in another unit: not even seen
        do_post_file_missing(local, record.pk)
    mine = do_import_channel_file(
        local, channel=channel, day=timezone.localdate() - dt.timedelta(days=2), name="cg.csv",
        content=_csv([("Q1", here.number, "10.00"), ("Q2", there.number, "8.00")]),
    )  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        do_post_file_missing(local, mine.pk)
    assert [line.split("：")[0] for line in refused.value.errors["rows"]] == ["Q2"]
    assert there.number in refused.value.errors["rows"][0]
    assert not Payment.objects.exists()


def test_the_channels_closed_day_is_refused(account, channel, staff) -> None:
    acc = account()
    day = timezone.localdate() - dt.timedelta(days=1)
    record = _file(staff, channel, [("C1", acc.number, "10.00")], day=day)
    DailyClose.objects.create(
        cashier=channel.user, day=day, payments=0, reversals=0, total=0, cash_expected=0, cash_handed_over=0,
        difference=0,
    )  # fmt: skip
    with pytest.raises(Conflict) as refused:
        do_post_file_missing(staff("billing"), record.pk)
    assert "已日结" in refused.value.message
    assert not Payment.objects.exists()


def test_a_reconciler_without_the_permission_is_refused(account, channel, staff, cashier) -> None:
    from gridcare.core.errors import PermissionRefused

    record = _file(staff, channel, [("R1", account().number, "10.00")])
    with pytest.raises(PermissionRefused):
        do_post_file_missing(cashier(), record.pk)


def test_the_api_posts_them_once_and_replays(account, release, channel, staff, api) -> None:
    acc = account()
    release(acc, "20.00")
    record = _file(staff, channel, [("H1", acc.number, "20.00"), ("H2", acc.number, "5.00")])
    client = api("billing")
    url = f"/api/ledger/files/{record.pk}/post-missing/"
    first = client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="post-missing-1")
    assert first.status_code == 200, first.content
    assert (first.json()["posted"], first.json()["total"]) == (2, "25.00")
    again = client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="post-missing-1")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Payment.objects.count() == 2
    listed = client.get(f"/api/ledger/files/{record.pk}/")
    assert listed.status_code == 200 and listed.json()["only_theirs"] == 2
    assert api("cg_rep").post(url, {}, format="json").status_code == 403


def test_the_file_page_has_the_button(client, account, channel, staff) -> None:
    record = _file(staff, channel, [("W1", account().number, "12.00")])
    client.force_login(staff("billing"))
    page = client.get(f"/ledger/reconcile/{record.pk}/").content.decode()
    assert f"/ledger/reconcile/{record.pk}/post-missing/" in page and "批量补记" in page
    answer = client.post(f"/ledger/reconcile/{record.pk}/post-missing/")
    assert answer.status_code == 302
    assert Payment.objects.get().transaction_id == "W1"


def test_the_command_posts_the_missing_payments(account, channel, staff, tmp_path) -> None:
    from django.core.management import call_command

    acc = account()
    path = tmp_path / "debit.csv"
    path.write_bytes(_csv([("X1", acc.number, "12.00"), ("X2", acc.number, "3.00")]))
    call_command(
        "ledger", "reconcile", str(path), "--channel", channel.code, "--day", str(timezone.localdate()),
        "--as", "billing", "--post-missing",
    )  # fmt: skip
    assert Payment.objects.count() == 2
    assert set(Difference.objects.values_list("resolution", flat=True)) == {"posted"}


@pytest.mark.django_db(transaction=True)
def test_two_copies_at_once_post_each_payment_once(
    account, release, channel, staff, django_db_serialized_rollback
):
    accounts = [account() for _ in range(3)]
    for acc in accounts:
        release(acc, "50.00")
    record = _file(staff, channel, [(f"T{i}", acc.number, "20.00") for i, acc in enumerate(accounts)])
    billing = staff("billing")
    results = run_together([lambda: do_post_file_missing(billing, record.pk) for _ in range(2)])
    counts = sorted(getattr(r, "posted", r) for r in results)
    assert counts == [0, 3], results
    if truly_concurrent():
        assert all(not isinstance(r, Exception) for r in results)
    assert Payment.objects.filter(channel=channel).count() == 3
    assert selectors.check() == []


# --- a large file in chunks ---------------------------------------------------------------------------------


def test_chunks_keep_an_accounts_payments_together_and_in_order() -> None:
    batch = pl.DataFrame(
        {
            "transaction": [f"T{i}" for i in range(9)],
            "account": [5, 3, 5, 9, 1, 3, 5, 7, 2],
            "fen": list(range(100, 109)),
        }
    )
    parts = bulk.chunks(batch, 3)
    # in account order, a chunk closed once it holds three or more: 1, 2, 3 (4 payments) | 5 (3) | 7, 9 (2)
    seen = sorted((sorted(set(part.get_column("account"))), part.height) for part in parts)
    assert seen == [([1, 2, 3], 4), ([5], 3), ([7, 9], 2)]
    for part in parts:  # the batch's order inside each chunk
        order = [int(t[1:]) for t in part.get_column("transaction")]
        assert order == sorted(order)
    assert sorted(pl.concat(parts).get_column("transaction")) == sorted(batch.get_column("transaction"))
    assert bulk.chunks(batch, 9) == [batch]


def _chunked_file(account: Any, release: Any, channel: Any, staff: Any) -> tuple[Any, list[Any]]:
    """Five accounts owing 50.00 each; a file of seven payments: the first account pays three times (20 + 20 +
    25: 15.00 in advance), the others 30.00 once. In chunks of two: {first} {second} {third, fourth} {fifth}."""
    accounts = [account() for _ in range(5)]
    for acc in accounts:
        release(acc, "50.00")
    rows = [("K0", accounts[0].number, "20.00"), ("K1", accounts[0].number, "20.00")]
    rows += [(f"K{i + 2}", acc.number, "30.00") for i, acc in enumerate(accounts[1:])]
    rows.append(("K6", accounts[0].number, "25.00"))
    record = _file(staff, channel, rows, day=timezone.localdate() - dt.timedelta(days=1))
    return record, accounts


@pytest.mark.django_db(transaction=True)
def test_a_file_posted_in_chunks_equals_one_batch(
    account, release, channel, staff, settings, django_db_serialized_rollback
) -> None:
    """Chunks of two on two connections at once (PostgreSQL; one after the other on SQLite): every payment
    posted once with its difference resolved, the balances and the ledger as one batch would leave them, one
    audit row per chunk."""
    from django.db import connection

    from gridcare.core.models import AuditEntry

    settings.GRIDCARE_LEDGER = {"BULK_POST_CHUNK": 2, "BULK_POST_WORKERS": 2}
    record, accounts = _chunked_file(account, release, channel, staff)
    with mock.patch.object(bulk, "_on_connections", wraps=bulk._on_connections) as parallel:
        result = do_post_file_missing(staff("billing"), record.pk)
    assert parallel.called == (connection.vendor == "postgresql")
    assert (result.posted, result.total) == (7, Decimal("185.00"))
    posted = {p.transaction_id: p for p in Payment.objects.filter(channel=channel)}
    assert len(posted) == 7
    for difference in Difference.objects.filter(file=record):
        assert (difference.resolution, difference.payment_id) == (
            "posted",
            posted[difference.transaction_id].pk,
        )
    assert posting.balance(accounts[0].pk) == Decimal("-15.00")  # 50 owed, 20 + 20 + 25 paid
    assert [posting.balance(acc.pk) for acc in accounts[1:]] == [Decimal("20.00")] * 4
    first = Entry.objects.filter(account=accounts[0], kind="payment").order_by("payment__transaction_id")
    assert [e.amount for e in first] == [Decimal("-20.00"), Decimal("-20.00"), Decimal("-10.00")]
    assert selectors.check() == []
    batches = AuditEntry.objects.filter(action="ledger.take_payments")
    assert sum(row.after["payments"] for row in batches) == 7
    assert sum(Decimal(row.after["total"]) for row in batches) == Decimal("185.00")
    numbers = {p.number for p in posted.values()}
    for row in batches:  # the receipts it names are the batch's own (chunks at once may interleave them)
        assert {row.after["first_receipt"], row.after["last_receipt"]} <= numbers
        assert row.after["first_receipt"] <= row.after["last_receipt"]
    assert batches.count() == 4
    assert AuditEntry.objects.filter(action="ledger.post_file_missing").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_chunk_keeps_the_chunks_before_it_and_a_rerun_posts_the_rest(
    account, release, channel, staff, settings, django_db_serialized_rollback
) -> None:
    """PostgreSQL commits chunk by chunk: a failure in the third leaves the first two posted and resolved, whole;
    SQLite's single transaction posts nothing. Either way a second run posts exactly what is left."""
    from django.db import connection

    settings.GRIDCARE_LEDGER = {"BULK_POST_CHUNK": 2, "BULK_POST_WORKERS": 1}
    record, _accounts = _chunked_file(account, release, channel, staff)
    real = bulk.post_batch
    calls: list[int] = []

    def failing_third(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    with mock.patch.object(bulk, "post_batch", failing_third), pytest.raises(RuntimeError):
        do_post_file_missing(staff("billing"), record.pk)
    kept = Payment.objects.filter(channel=channel).count()
    resolved = Difference.objects.filter(file=record, resolution="posted").count()
    assert (kept, resolved) == ((4, 4) if connection.vendor == "postgresql" else (0, 0))
    assert selectors.check() == []
    again = do_post_file_missing(staff("billing"), record.pk)
    assert again.posted == 7 - kept
    assert Payment.objects.filter(channel=channel).count() == 7
    assert not Difference.objects.filter(file=record, resolution="open").exists()
    assert selectors.check() == []
