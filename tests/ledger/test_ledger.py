"""The account ledger: charges posted at release, payments allocated late fees then oldest bill first, an
overpayment kept as a prepayment the next bill consumes, reversals and refunds, immutability, the check."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from gridcare.core.errors import Conflict, InvalidInput, LimitExceeded, NotFound, PermissionRefused
from gridcare.ledger import posting, selectors
from gridcare.ledger.actions import (
    do_close_day,
    do_decide_approval,
    do_post_bill_charges,
    do_request_approval,
    do_reverse_payment,
    do_take_payment,
)
from gridcare.ledger.models import Allocation, ApprovalRequest, DailyClose, Entry, Payment

pytestmark = pytest.mark.django_db


def allocated_to(bill) -> Decimal:
    entry = Entry.objects.get(bill=bill, kind__in=["charge", "correction"])
    return sum((a.amount for a in Allocation.objects.filter(debit=entry)), Decimal("0"))


def test_release_posts_the_charge_once(account, release, staff):
    acc = account()
    bill = release(acc, "120.50")
    entry = Entry.objects.get(bill=bill)
    assert (entry.kind, entry.amount, entry.due_date) == ("charge", Decimal("120.50"), bill.due_date)
    assert posting.balance(acc.pk) == Decimal("120.50")
    assert do_post_bill_charges(staff("billing")) == 0  # nothing left to post: idempotent
    assert Entry.objects.filter(bill=bill).count() == 1


def test_payment_settles_oldest_bill_first_and_keeps_the_rest_as_prepayment(account, release, cashier):
    acc = account()
    old, new = release(acc, "100.00"), release(acc, "50.00")
    payment = do_take_payment(cashier(), account=acc.number, amount="180.00", method="cash")
    assert payment.number.startswith("SF")
    assert allocated_to(old) == Decimal("100.00") and allocated_to(new) == Decimal("50.00")
    kinds = dict(Entry.objects.filter(payment=payment).values_list("kind", "amount"))
    assert kinds == {"payment": Decimal("-150.00"), "prepayment": Decimal("-30.00")}
    assert posting.balance(acc.pk) == Decimal("-30.00")
    later = release(acc, "45.00")  # the prepayment is consumed when the bill is charged
    assert allocated_to(later) == Decimal("30.00")
    assert posting.balance(acc.pk) == Decimal("15.00")
    assert selectors.check() == []


def test_a_bill_settled_in_parts_takes_nothing_more(account, release, cashier):
    """3.41 + 119.32 is 122.72999… in floating point (SQLite's sums): the bill is settled all the same, and the
    next payment allocates no 0.00 to it (found by the ledger state machine)."""
    acc = account()
    bill = release(acc, "122.73")
    do_take_payment(cashier(), account=acc.number, amount="3.41", method="cash")
    do_take_payment(cashier(), account=acc.number, amount="119.32", method="cash")
    assert posting.open_debits(acc.pk) == [] and allocated_to(bill) == Decimal("122.73")
    extra = do_take_payment(cashier(), account=acc.number, amount="0.01", method="cash")
    assert not Allocation.objects.filter(cause__payment=extra).exists()
    assert dict(Entry.objects.filter(payment=extra).values_list("kind", "amount")) == {
        "prepayment": Decimal("-0.01")
    }
    assert posting.balance(acc.pk) == Decimal("-0.01") and selectors.check() == []


def test_money_sums_are_exact_to_the_cent_in_sql(account, release, cashier):
    """0.10 + 0.20 − 0.30 is 5.6e-17 in floating point, as SQLite sums decimals: summed by ``MoneySum``, a balance
    of nothing is nothing when SQL compares it and when it is read."""
    acc = account()
    release(acc, "0.10")
    release(acc, "0.20")
    do_take_payment(cashier(), account=acc.number, amount="0.30", method="cash")
    totals = Entry.objects.filter(account=acc).values("account_id").annotate(total=posting.MoneySum("amount"))
    assert totals.get()["total"] == Decimal("0")
    assert not totals.filter(total__gt=0).exists() and not totals.filter(total__lt=0).exists()
    charged = Entry.objects.filter(account=acc, kind="charge").aggregate(total=posting.MoneySum("amount"))
    assert charged["total"] == Decimal("0.30")
    sql = str(totals.query)
    assert ("ROUND(" in sql) == (connection.vendor == "sqlite")  # (PostgreSQL's numeric sums are exact)


def test_partial_payment_goes_to_the_oldest_bill(account, release, cashier):
    acc = account()
    old, new = release(acc, "100.00"), release(acc, "50.00")
    do_take_payment(cashier(), account=acc, amount="60", method="wechat")
    assert allocated_to(old) == Decimal("60.00") and allocated_to(new) == Decimal("0")


def test_late_fees_are_settled_first(account, release, cashier, system):
    acc = account()
    bill = release(acc, "100.00")
    charge = Entry.objects.get(bill=bill)
    fee = Entry.objects.create(
        account=acc,
        kind="late_fee",
        amount=Decimal("3.00"),
        bill=bill,
        concerns=charge,
        day=timezone.localdate(),
        due_date=timezone.localdate(),
        posted_by=system,
    )
    do_take_payment(cashier(), account=acc, amount="10.00", method="pos")
    assert sum(a.amount for a in Allocation.objects.filter(debit=fee)) == Decimal("3.00")
    assert allocated_to(bill) == Decimal("7.00")


def test_negative_correcting_bill_is_a_credit(account, release, cashier):
    acc = account()
    bill = release(acc, "100.00")
    release(acc, "-30.00", correcting=True)
    assert posting.balance(acc.pk) == Decimal("70.00")
    assert allocated_to(bill) == Decimal("30.00")  # the credit settles the open bill at once
    do_take_payment(cashier(), account=acc, amount="70.00", method="cash")
    assert posting.balance(acc.pk) == Decimal("0.00") and selectors.check() == []


def test_same_day_reversal_reopens_the_bill(account, release, cashier):
    acc = account()
    bill = release(acc, "100.00")
    me = cashier()
    payment = do_take_payment(me, account=acc, amount="120.00", method="cash")
    do_reverse_payment(me, payment.pk, "收错户号")
    assert allocated_to(bill) == Decimal("0")
    assert posting.balance(acc.pk) == Decimal("100.00")
    assert selectors.check() == []
    with pytest.raises(Conflict):
        do_reverse_payment(me, payment.pk, "again")


def test_reversal_of_someone_elses_payment_needs_approval(account, release, cashier, staff):
    acc = account()
    release(acc, "100.00")
    payment = do_take_payment(cashier(), account=acc, amount="100.00", method="cash")
    other = cashier("cg_cashier2")
    with pytest.raises(PermissionRefused):
        do_reverse_payment(other, payment.pk, "不是我的")
    assert not Entry.objects.filter(kind="reversal").exists()
    request = do_request_approval(other, kind="reversal", payment_id=payment.pk, reason="客户重复缴费")
    with pytest.raises(PermissionRefused):
        do_decide_approval(other, request.pk, approve=True)  # no approval permission
    done = do_decide_approval(staff("billing"), request.pk, approve=True)
    assert done.status == ApprovalRequest.Status.APPROVED and done.entry.kind == "reversal"
    assert posting.balance(acc.pk) == Decimal("100.00")


def test_after_the_close_payments_are_final(account, release, cashier):
    acc = account()
    release(acc, "100.00")
    me = cashier()
    payment = do_take_payment(me, account=acc, amount="100.00", method="cash")
    do_take_payment(me, account=acc, amount="20.00", method="alipay")
    with pytest.raises(InvalidInput):
        do_close_day(me, cash_handed_over="99.00")  # a difference needs a note
    close = do_close_day(me, cash_handed_over="99.00", note="少收一元，已说明")
    assert (close.payments, close.total, close.cash_expected, close.difference) == (
        2,
        Decimal("120.00"),
        Decimal("100.00"),
        Decimal("-1.00"),
    )
    assert close.by_method == {"cash": "100.00", "alipay": "20.00"}
    with pytest.raises(PermissionRefused):
        do_reverse_payment(me, payment.pk, "日结后")
    with pytest.raises(Conflict):
        do_take_payment(me, account=acc, amount="1.00", method="cash")
    with pytest.raises(Conflict):
        do_close_day(me, cash_handed_over="0")
    assert Payment.objects.count() == 2


def test_refund_of_a_prepayment_within_limits(account, release, cashier, staff):
    acc = account()
    release(acc, "10.00")
    me = cashier()
    do_take_payment(me, account=acc, amount="9000.00", method="bank_transfer")
    with pytest.raises(InvalidInput):
        do_request_approval(me, kind="refund", account=acc.number, amount="9990.01", reason="退费")
    request = do_request_approval(me, kind="refund", account=acc.number, amount="8000.00", reason="销户退费")
    with pytest.raises(LimitExceeded):
        do_decide_approval(staff("billing"), request.pk, approve=True)  # the accountant's limit is 5,000 元
    assert not Entry.objects.filter(kind="refund").exists()
    do_decide_approval(staff("manager"), request.pk, approve=True)
    assert posting.balance(acc.pk) == Decimal("-990.00")
    assert selectors.check() == []


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        ("0", "amount"),
        ("-5", "amount"),
        ("1.005", "amount"),
        ("abc", "amount"),
        (1.5, "amount"),
        ("NaN", "amount"),
        ("1e400", "amount"),
        ("1e-999999", "amount"),
        ("1e12", "amount"),
    ],
)
def test_bad_amounts_are_refused(account, release, cashier, amount, field):
    acc = account()
    with pytest.raises(InvalidInput) as refused:
        do_take_payment(cashier(), account=acc, amount=amount, method="cash")
    assert field in refused.value.errors
    assert not Payment.objects.exists() and not Entry.objects.filter(kind="payment").exists()


def test_wrong_currency_unknown_or_outside_account_refused(account, cashier):
    here, there = account("CG"), account("HX")
    me = cashier()
    with pytest.raises(InvalidInput):
        do_take_payment(me, account=here, amount="10", method="cash", currency="USD")
    with pytest.raises(NotFound):
        do_take_payment(me, account="0000000000", amount="10", method="cash")
    with pytest.raises(NotFound):
        do_take_payment(me, account=there.number, amount="10", method="cash")
    with pytest.raises(InvalidInput):
        do_take_payment(me, account=here, amount="10", method="cheque")
    assert not Payment.objects.exists()


def test_entries_are_immutable(account, release, cashier):
    acc = account()
    release(acc, "10.00")
    payment = do_take_payment(cashier(), account=acc, amount="10.00", method="cash")
    entry = Entry.objects.filter(payment=payment).first()
    entry.amount = Decimal("1.00")
    with pytest.raises(Conflict):
        entry.save()
    with pytest.raises(Conflict):
        entry.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        Entry.objects.filter(pk=entry.pk).update(amount=Decimal("1.00"))
    with pytest.raises(DatabaseError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(amount=Decimal("1.00"))
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic():
            Allocation.objects.filter(account=acc).delete()
    assert Entry.objects.get(pk=entry.pk).amount == Decimal("-10.00")


def test_check_command_finds_a_mismatch(account, release, cashier, capsys):
    acc = account()
    release(acc, "10.00")
    do_take_payment(cashier(), account=acc, amount="4.00", method="cash")
    call_command("ledger", "check")
    assert "OK" in capsys.readouterr().out
    with connection.cursor() as cursor:  # a row written around the actions: an allocation above its debit
        debit = Entry.objects.get(kind="charge", account=acc)
        credit = Entry.objects.get(kind="payment", account=acc)
        cursor.execute(
            "INSERT INTO ledger_allocation (credit_id, debit_id, amount, cause_id, account_id, credit_day) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [credit.pk, debit.pk, "100.00", credit.pk, acc.pk, credit.day],
        )
    with pytest.raises(SystemExit) as exited:
        call_command("ledger", "check")
    assert exited.value.code == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_check_finds_an_allocation_dated_otherwise_than_its_credit(account, release, cashier):
    acc = account()
    release(acc, "10.00")
    payment = do_take_payment(cashier(), account=acc, amount="4.00", method="cash")
    allocation = Allocation.objects.get(account=acc)
    assert allocation.credit_day == payment.day == allocation.credit.day
    assert selectors.check() == []
    debit = Entry.objects.get(kind="charge", account=acc)
    with connection.cursor() as cursor:  # a row written around the actions, dated a day off its credit
        cursor.execute(
            "INSERT INTO ledger_allocation (credit_id, debit_id, amount, cause_id, account_id, credit_day) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [
                allocation.credit_id,
                debit.pk,
                "0.00",
                allocation.credit_id,
                acc.pk,
                payment.day - dt.timedelta(days=1),
            ],
        )
    assert any("credit day" in problem for problem in selectors.check())


def test_receivable_is_the_sum_of_balances(account, release, cashier):
    accounts = [account() for _ in range(3)]
    for i, acc in enumerate(accounts):
        release(acc, f"{10 * (i + 1)}.00")
    do_take_payment(cashier(), account=accounts[0], amount="25.00", method="cash")
    assert selectors.receivable() == sum(posting.balance(a.pk) for a in accounts) == Decimal("35.00")
    assert DailyClose.objects.count() == 0 and dt.date.today()


def test_the_bill_notice_asks_for_the_account_balance_with_the_bill(account, release, cashier):
    """电费通知单 应缴金额: the bill's total plus what else the account owes (or minus its credit), through billing's
    BALANCE_PARTS hook — the bill counted once."""
    from gridcare.billing.documents import balance_due

    acc = account()
    old, new = release(acc, "100.00"), release(acc, "50.00")
    assert balance_due(new) == Decimal("150.00")
    assert balance_due(old) == Decimal("150.00")
    do_take_payment(cashier(), account=acc, amount="130", method="cash")
    assert balance_due(new) == Decimal("20.00")  # 100 paid, 30 of the 50 paid
    do_take_payment(cashier(), account=acc, amount="70", method="cash")
    assert balance_due(new) == Decimal("-50.00")  # a prepayment of 50: nothing due, credit shown


def test_check_finds_a_reference_that_names_no_row(account, release, cashier):
    """The ledger's references carry no per-row database check (``UNCHECKED_REFERENCES``): a row written around
    the actions with an id that names nothing is found, table, column and row named."""
    acc = account()
    release(acc, "10.00")
    payment = do_take_payment(cashier(), account=acc, amount="4.00", method="cash")
    assert selectors.check() == []
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_entry (account_id, kind, amount, payment_id, day, due_date, posted_at, "
            "posted_by_id, note) VALUES (%s, 'charge', 0.00, %s, %s, %s, %s, %s, '')",
            [acc.pk, 987654321, payment.day, payment.day, timezone.now(), 987654322],
        )
        cursor.execute("SELECT max(id) FROM ledger_entry")
        stray = cursor.fetchone()[0]
    problems = selectors.dangling_references()
    assert problems == [
        f"ledger_entry.payment_id 引用了不存在的记录：{stray} (dangling reference)",
        f"ledger_entry.posted_by_id 引用了不存在的记录：{stray} (dangling reference)",
    ]
    assert set(problems) <= set(selectors.check())


@pytest.mark.parametrize("named", ["account", "cashier", "channel"])
def test_a_row_the_ledger_names_cannot_be_deleted(named, account, release, channel):
    """An account, a user or a channel named by a payment stays: the ORM refuses (PROTECT) and, on PostgreSQL,
    so does the database to a bare DELETE (ledger 0009's guard: the reference has no per-row constraint)."""
    from django.db import IntegrityError
    from django.db.models import ProtectedError

    acc = account()
    release(acc, "10.00")
    payment = do_take_payment(
        channel.user,
        account=acc.number,
        amount="4.00",
        method="channel",
        channel=channel,
        transaction_id="G1",
    )
    row = {"account": payment.account, "cashier": payment.cashier, "channel": payment.channel}[named]
    assert row is not None
    with pytest.raises(ProtectedError), transaction.atomic():
        row.delete()
    if connection.vendor == "postgresql":
        table = type(row)._meta.db_table
        with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f'DELETE FROM "{table}" WHERE id = %s', [row.pk])
        assert "不能删除" in str(refused.value)
        with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f'UPDATE "{table}" SET id = id + 1000000 WHERE id = %s', [row.pk])
        assert "不能删除" in str(refused.value)
    assert type(row).objects.filter(pk=row.pk).exists()
    assert selectors.check() == []
