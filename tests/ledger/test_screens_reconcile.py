"""The cashier's screens (search → arrears → payment → receipt → close), approvals, and channel reconciliation
(file import, the four kinds of rows, resolutions as actions, the Excel report)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from gridcare.core.errors import Conflict, InvalidInput
from gridcare.ledger import selectors
from gridcare.ledger.actions import do_take_payment
from gridcare.ledger.models import ApprovalRequest, ChannelFile, DailyClose, Difference, Entry, Payment
from gridcare.ledger.reconcile import do_import_channel_file, do_resolve_difference

pytestmark = pytest.mark.django_db


def test_cashier_counter_flow(client, account, release, cashier):
    acc = account()
    bill = release(acc, "66.60")
    me = cashier()
    client.force_login(me)
    found = client.get("/ledger/counter/", {"q": acc.number})
    assert found.status_code == 200 and acc.number in found.content.decode()
    page = client.get("/ledger/counter/", {"account": acc.pk})
    text = page.content.decode()
    assert page.status_code == 200 and bill.number in text and "66.60 元" in text
    bad = client.post(f"/ledger/counter/?account={acc.pk}", {"amount": "0", "method": "cash"})
    assert bad.status_code == 400 and not Payment.objects.exists()
    taken = client.post(f"/ledger/counter/?account={acc.pk}", {"amount": "70.00", "method": "cash"})
    assert taken.status_code == 302
    payment = Payment.objects.get()
    pdf = client.get(f"/ledger/payments/{payment.pk}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert b"FontFile2" in pdf.content  # the CJK font is embedded
    close_page = client.get("/ledger/close/")
    assert close_page.status_code == 200 and "70.00 元" in close_page.content.decode()
    closed = client.post("/ledger/close/", {"cash_handed_over": "70.00"})
    assert closed.status_code == 302 and DailyClose.objects.get().difference == Decimal("0.00")


def test_counter_answers_404_outside_scope(client, account, cashier):
    there = account("HX")
    client.force_login(cashier())
    assert client.get("/ledger/counter/", {"account": there.pk}).status_code == 404


def test_late_reversal_goes_through_the_approval_screen(client, account, release, cashier, staff):
    acc = account()
    release(acc, "10.00")
    payment = do_take_payment(cashier(), account=acc, amount="10.00", method="cash")
    client.force_login(cashier("cg_cashier2"))
    client.post(f"/ledger/payments/{payment.pk}/reverse/", {"reason": "重复缴费"})
    request = ApprovalRequest.objects.get()
    assert request.status == "pending" and not Entry.objects.filter(kind="reversal").exists()
    client.force_login(staff("billing"))
    assert client.get("/ledger/approvals/").status_code == 200
    client.post(f"/ledger/approvals/{request.pk}/decide/", {"decision": "approve"})
    assert Entry.objects.filter(kind="reversal", payment=payment).exists()


def _csv(rows: list[tuple[str, str, str]]) -> bytes:
    return ("流水号,户号,金额\n" + "".join(f"{t},{a},{m}\n" for t, a, m in rows)).encode()


def test_reconciliation_finds_each_kind_and_resolves(account, release, channel, staff):
    acc = account()
    release(acc, "300.00")
    for txn, amount in (("A1", "10.00"), ("A2", "20.00"), ("A3", "30.00")):
        do_take_payment(
            channel.user,
            account=acc.number,
            amount=amount,
            method="channel",
            channel=channel,
            transaction_id=txn,
        )
    today = timezone.localdate()
    content = _csv([("A1", acc.number, "10.00"), ("A2", acc.number, "25.00"), ("B9", acc.number, "40.00")])
    accountant = staff("billing")
    record = do_import_channel_file(accountant, channel=channel, day=today, name="bank.csv", content=content)
    assert (record.rows, record.matched, record.only_ours, record.only_theirs, record.amount_differs) == (
        3,
        1,
        1,
        1,
        1,
    )
    kinds = {d.transaction_id: d.kind for d in Difference.objects.all()}
    assert kinds == {"A2": "amount_differs", "A3": "only_ours", "B9": "only_theirs"}
    with pytest.raises(Conflict):
        do_import_channel_file(accountant, channel=channel, day=today, name="again.csv", content=content)
    missing = Difference.objects.get(transaction_id="B9")
    do_resolve_difference(accountant, missing.pk, resolution="posted")
    assert Payment.objects.get(transaction_id="B9").amount == Decimal("40.00")
    ours = Difference.objects.get(transaction_id="A3")
    do_resolve_difference(accountant, ours.pk, resolution="reversal_asked", note="渠道无此笔")
    assert ApprovalRequest.objects.get().payment.transaction_id == "A3"
    with pytest.raises(InvalidInput):
        do_resolve_difference(
            accountant, Difference.objects.get(transaction_id="A2").pk, resolution="accepted"
        )
    assert selectors.check() == []


def test_reconciliation_reads_excel_with_the_channels_layout(client, account, channel, staff):
    acc = account()
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["银行对账单"])
    sheet.append(["流水号", "户号", "金额"])
    sheet.append(["X1", acc.number, 12.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    channel.layout = {**channel.layout, "skip_rows": 1}
    channel.save()
    client.force_login(staff("billing"))
    answer = client.post(
        "/ledger/reconcile/",
        {
            "channel": channel.pk,
            "day": timezone.localdate().isoformat(),
            "file": _upload("bank.xlsx", buffer.getvalue()),
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    record = ChannelFile.objects.get()
    assert (record.rows, record.only_theirs, record.their_total) == (1, 1, Decimal("12.50"))
    report = client.get(f"/ledger/reconcile/{record.pk}/", {"export": "xlsx"})
    rows = list(load_workbook(io.BytesIO(report.content)).active.iter_rows(values_only=True))
    assert rows[1][1] == "X1"


def test_bad_files_are_refused_with_the_reason(account, channel, staff):
    acc = account()
    accountant = staff("billing")
    day = timezone.localdate() - dt.timedelta(days=1)
    for content in (
        b"a,b\n1,2\n",
        _csv([("T1", acc.number, "abc")]),
        _csv([("T1", acc.number, "1"), ("T1", acc.number, "2")]),
    ):
        with pytest.raises(InvalidInput):
            do_import_channel_file(accountant, channel=channel, day=day, name="bad.csv", content=content)
    assert not ChannelFile.objects.exists()


def _upload(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)
