"""Late fees (电费违约金) posted into the ledger: at payment (before allocation, settled first) and by the month-end
job (only the increment, idempotent, two copies at once post once); waivers (减免) and write-offs (核销) through
approval within the authority limits; the explanation (days × base × rate)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from gridcare.core.errors import Conflict, InvalidInput, LimitExceeded, NotFound, PermissionRefused
from gridcare.core.locks import JobBusy
from gridcare.ledger import latefees, posting, selectors
from gridcare.ledger.actions import do_decide_approval, do_request_approval, do_take_payment
from gridcare.ledger.models import Allocation, ApprovalRequest, Entry
from gridcare.ledger.tasks import beat_schedule, run_month_end
from tests.concurrency import run_together, truly_concurrent

pytestmark = pytest.mark.django_db


@pytest.fixture
def overdue(release):
    """A bill released ``days_ago`` days ago (its due date follows from the release day), so it is overdue now."""

    def build(acc, total: str, days_ago: int = 60, **kwargs):
        past = timezone.now() - dt.timedelta(days=days_ago)
        kwargs.setdefault(
            "period", f"{timezone.localdate(past):%Y-%m}"
        )  # a bill of this year: current-year rate
        with mock.patch("django.utils.timezone.now", return_value=past):
            bill = release(acc, total, **kwargs)
        return bill

    return build


def days_overdue(bill, until=None) -> int:
    return ((until or timezone.localdate()) - bill.due_date).days


def fees_of(bill) -> Decimal:
    return sum((e.amount for e in Entry.objects.filter(bill=bill, kind="late_fee")), Decimal("0"))


def test_month_end_job_posts_the_fee_once_and_only_the_increment(account, overdue, cashier):
    acc = account()  # residential: 1‰ per day
    bill = overdue(acc, "100.00")
    days = days_overdue(bill)
    assert days > 0
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    assert latefees.do_post_late_fees(cashier(), yesterday) == 1
    assert fees_of(bill) == Decimal("0.10") * (days - 1)
    assert latefees.do_post_late_fees(cashier()) == 1  # today: one more day, only the increment
    assert fees_of(bill) == Decimal("0.10") * days
    assert latefees.do_post_late_fees(cashier()) == 0  # re-run: nothing new
    fee = Entry.objects.filter(bill=bill, kind="late_fee").latest("day")
    assert fee.concerns.kind == "charge" and fee.day == timezone.localdate()
    assert selectors.check() == []


def test_non_residential_pays_two_per_mille_and_the_minimum_is_one_yuan(account, overdue, cashier):
    shop = account(customer_class="commercial")
    bill = overdue(shop, "1000.00")
    small = overdue(account(), "10.00", days_ago=40)  # 10 元 × 1‰ × a few days < 1 元 → 1 元
    latefees.do_post_late_fees(cashier())
    assert fees_of(bill) == Decimal("2.00") * days_overdue(bill)
    assert fees_of(small) == Decimal("1.00")


def test_payment_posts_the_fee_then_settles_it_first(account, overdue, cashier):
    acc = account()
    bill = overdue(acc, "100.00")
    fee = Decimal("0.10") * days_overdue(bill)
    payment = do_take_payment(cashier(), account=acc, amount="50.00", method="cash")
    late = Entry.objects.get(bill=bill, kind="late_fee")
    assert late.amount == fee
    assert sum(a.amount for a in Allocation.objects.filter(debit=late)) == fee  # late fee first
    charge = Entry.objects.get(bill=bill, kind="charge")
    assert sum(a.amount for a in Allocation.objects.filter(debit=charge)) == Decimal("50.00") - fee
    assert payment.amount == Decimal("50.00")
    assert latefees.do_post_late_fees(cashier()) == 0  # the month-end job finds nothing more today
    assert selectors.check() == []


@override_settings(GRIDCARE_LEDGER={"LATE_FEE_POSTING": "month_end"})
def test_month_end_only_setting_leaves_payments_alone(account, overdue, cashier):
    acc = account()
    bill = overdue(acc, "100.00")
    do_take_payment(cashier(), account=acc, amount="100.00", method="cash")
    assert fees_of(bill) == 0
    latefees.do_post_late_fees(cashier())  # the bill paid late still owes its fee up to the payment day
    assert fees_of(bill) == Decimal("0.10") * days_overdue(bill)


def test_a_bill_paid_on_time_owes_nothing(account, release, cashier):
    acc = account()
    release(acc, "100.00")
    do_take_payment(cashier(), account=acc, amount="100.00", method="cash")
    assert latefees.do_post_late_fees(cashier()) == 0
    assert not Entry.objects.filter(kind="late_fee").exists()


def test_until_in_the_future_is_refused(cashier):
    with pytest.raises(InvalidInput) as error:
        latefees.do_post_late_fees(cashier(), timezone.localdate() + dt.timedelta(days=1))
    assert "until" in error.value.errors


def test_explanation_lists_days_base_and_rate(account, overdue, cashier):
    acc = account()
    bill = overdue(acc, "100.00")
    charge = Entry.objects.get(bill=bill, kind="charge")
    why = latefees.explain(charge)
    assert why is not None
    assert [(line.days, line.base, line.rate) for line in why.lines] == [
        (days_overdue(bill), Decimal("100.00"), Decimal("0.001"))
    ]
    assert why.fee == Decimal("0.10") * days_overdue(bill)
    fresh = Entry.objects.filter(kind="charge").exclude(pk=charge.pk).first()
    assert fresh is None or latefees.explain(fresh) is None


def test_cli_posts_late_fees(account, overdue, capsys):
    bill = overdue(account(), "100.00")
    call_command("ledger", "post-late-fees")
    assert "posted 1 late fees" in capsys.readouterr().out
    assert fees_of(bill) > 0
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("ledger", "post-late-fees", "--until", "2026-13-01")


def test_beat_runs_the_job_on_the_last_day_of_the_month_only(account, overdue):
    assert beat_schedule()["ledger-month-end-late-fees"]["task"].endswith("month_end_late_fees")
    bill = overdue(account(), "100.00")
    today = timezone.localdate()
    last = today.replace(day=1) - dt.timedelta(days=1)  # the last day of last month
    if last >= bill.due_date:
        assert run_month_end(last) == 1
    else:
        assert run_month_end(last) == 0
    assert run_month_end(last.replace(day=1)) is None  # not a month end


# --- waivers and write-offs ----------------------------------------------------------------------------------


def test_waiver_is_requested_approved_within_the_limit_and_settles_the_fee(account, overdue, cashier, staff):
    acc = account(customer_class="commercial")
    bill = overdue(acc, "10000.00", days_ago=70)
    me = cashier()
    latefees.do_post_late_fees(me)
    fee = Entry.objects.get(bill=bill, kind="late_fee")
    assert fee.amount > Decimal("100")
    request = do_request_approval(me, kind="waiver", entry_id=fee.pk, reason="客户遭遇自然灾害，申请减免")
    assert request.amount == fee.amount  # all of it when no amount is given
    with pytest.raises(PermissionRefused):
        do_decide_approval(me, request.pk, approve=True)  # the collector decides nothing
    with pytest.raises(LimitExceeded):
        do_decide_approval(staff("billing"), request.pk, approve=True)  # 100 元 limit
    assert not Entry.objects.filter(kind="waiver").exists()
    do_decide_approval(staff("manager"), request.pk, approve=True)
    waiver = Entry.objects.get(kind="waiver")
    assert waiver.amount == -fee.amount and waiver.concerns_id == fee.pk
    assert sum(a.amount for a in Allocation.objects.filter(debit=fee)) == fee.amount
    assert posting.balance(acc.pk) == Decimal("10000.00")
    assert selectors.check() == []
    request.refresh_from_db()
    assert request.status == "approved" and request.entry_id == waiver.pk


def test_partial_waiver_and_bad_requests_are_refused(account, overdue, cashier, staff):
    acc = account(customer_class="commercial")
    bill = overdue(acc, "1000.00")
    me = cashier()
    latefees.do_post_late_fees(me)
    fee = Entry.objects.get(bill=bill, kind="late_fee")
    charge = Entry.objects.get(bill=bill, kind="charge")
    with pytest.raises(InvalidInput):  # a waiver concerns a late fee, not the bill
        do_request_approval(me, kind="waiver", entry_id=charge.pk, reason="x")
    with pytest.raises(InvalidInput):
        do_request_approval(me, kind="waiver", entry_id=fee.pk, amount=fee.amount + 1, reason="x")
    with pytest.raises(InvalidInput):
        do_request_approval(me, kind="waiver", entry_id=fee.pk, amount="5", reason="  ")
    with pytest.raises(NotFound):
        do_request_approval(me, kind="waiver", entry_id=999_999, reason="x")
    request = do_request_approval(me, kind="waiver", entry_id=fee.pk, amount="5.00", reason="首次逾期")
    with pytest.raises(Conflict):
        do_request_approval(me, kind="waiver", entry_id=fee.pk, amount="5.00", reason="again")
    do_decide_approval(staff("billing"), request.pk, approve=True)  # within 100 元
    assert Entry.objects.get(kind="waiver").amount == Decimal("-5.00")
    assert selectors.check() == []


def test_nobody_approves_their_own_waiver(account, overdue, cashier, staff):
    acc = account(customer_class="commercial")
    bill = overdue(acc, "1000.00")
    with pytest.raises(PermissionRefused):  # the job needs arrears.dun (collectors, or the system)
        latefees.do_post_late_fees(staff("manager"))
    latefees.do_post_late_fees(cashier())
    fee = Entry.objects.get(bill=bill, kind="late_fee")
    request = do_request_approval(staff("billing"), kind="waiver", entry_id=fee.pk, amount="1.00", reason="x")
    with pytest.raises(PermissionRefused):
        do_decide_approval(staff("billing"), request.pk, approve=True)


def test_write_off_needs_the_write_off_permission_and_limit(account, overdue, cashier, staff):
    acc = account(customer_class="commercial")
    bill = overdue(acc, "800.00")
    me = cashier()
    charge = Entry.objects.get(bill=bill, kind="charge")
    request = do_request_approval(me, kind="write_off", entry_id=charge.pk, reason="企业破产清算，确认坏账")
    assert request.amount == Decimal("800.00")
    with pytest.raises(PermissionRefused):
        do_decide_approval(staff("billing"), request.pk, approve=True)  # no writeoff.approve
    do_decide_approval(staff("manager"), request.pk, approve=True)
    assert Entry.objects.get(kind="write_off").amount == Decimal("-800.00")
    assert posting.balance(acc.pk) == Decimal("0.00")
    assert selectors.check() == []


def test_waiver_through_the_api(account, overdue, cashier, api, staff):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    acc = account(customer_class="commercial")
    bill = overdue(acc, "1000.00")
    me = cashier()
    latefees.do_post_late_fees(me)
    fee = Entry.objects.get(bill=bill, kind="late_fee")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=me)[0].key}")
    bad = client.post(
        "/api/ledger/approvals/", {"kind": "waiver", "concerns": 999999, "reason": "x"}, format="json"
    )
    assert bad.status_code in (400, 404)
    answer = client.post(
        "/api/ledger/approvals/",
        {"kind": "waiver", "concerns": fee.pk, "amount": "3.00", "reason": "首次逾期减免"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="waiver-1",
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["concerns"] == fee.pk
    decided = api("manager").post(
        f"/api/ledger/approvals/{answer.json()['id']}/decide/", {"approve": True}, format="json"
    )
    assert decided.status_code == 200, decided.content
    assert Entry.objects.get(kind="waiver").amount == Decimal("-3.00")


# --- two copies of the month-end job at once ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_copies_of_the_month_end_job_post_once(account, overdue, cashier, django_db_serialized_rollback):
    accounts = [account() for _ in range(3)]
    bills = [overdue(a, "100.00") for a in accounts]
    me = cashier()
    results = run_together([lambda: latefees.do_post_late_fees(me), lambda: latefees.do_post_late_fees(me)])
    posted = [r for r in results if isinstance(r, int)]
    assert sum(posted) == 3, results
    assert all(isinstance(r, (int, JobBusy)) for r in results), results
    if truly_concurrent():
        assert any(isinstance(r, JobBusy) for r in results) or posted.count(0) == 1
    for bill in bills:
        assert Entry.objects.filter(bill=bill, kind="late_fee").count() == 1
    assert latefees.do_post_late_fees(me) == 0
    assert selectors.check() == []


def test_no_waiver_kind_for_unknown_requests(cashier):
    with pytest.raises(InvalidInput):
        do_request_approval(cashier(), kind="gift", reason="x")
    assert not ApprovalRequest.objects.exists()


# --- screens ------------------------------------------------------------------------------------------------


def test_counter_explains_the_late_fee_and_asks_for_a_waiver(client, account, overdue, cashier, staff):
    acc = account(customer_class="commercial")
    bill = overdue(acc, "1000.00")
    me = cashier()
    latefees.do_post_late_fees(me)
    fee = Entry.objects.get(bill=bill, kind="late_fee")
    client.force_login(me)
    text = client.get("/ledger/counter/", {"account": acc.pk}).content.decode()
    days = days_overdue(bill)
    assert f"{days} 天 × 1,000.00 元 × 2‰" in text, text[text.find("late-fee-explanation") :][:600]
    assert "申请减免" in text and "申请核销" in text
    refused = client.post(
        f"/ledger/entries/{fee.pk}/ask/", {"kind": "waiver", "amount": "99999", "reason": "x"}
    )
    assert refused.status_code == 302 and not ApprovalRequest.objects.exists()
    asked = client.post(
        f"/ledger/entries/{fee.pk}/ask/", {"kind": "waiver", "amount": "10.00", "reason": "首次逾期"}
    )
    assert asked.status_code == 302
    request = ApprovalRequest.objects.get()
    assert (request.kind, request.amount, request.concerns_id) == ("waiver", Decimal("10.00"), fee.pk)
    client.force_login(staff("manager"))
    queue = client.get("/ledger/approvals/").content.decode()
    assert "违约金减免" in queue and "首次逾期" in queue
    client.post(f"/ledger/approvals/{request.pk}/decide/", {"decision": "approve"})
    assert Entry.objects.get(kind="waiver").amount == Decimal("-10.00")
