"""电费通知单 (bill PDF): Chinese text in an embedded font, every figure of the bill; download from the bill page and
the API, scoped (outside scope → 404); drafts watermarked 草稿; the balance due is a hook the ledger extends."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client, override_settings

from gridcare.billing.actions import do_release_bills
from gridcare.billing.documents import balance_due, bill_notice, bill_pdf
from gridcare.billing.executors import start_run
from gridcare.billing.models import Bill
from tests.billing.conftest import PERIOD
from tests.billing.pdftext import objects, text

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def extra_yuan(bill: Bill) -> Decimal:
    """A stand-in for the ledger's arrears: 12.34 元 on every bill."""
    return Decimal("12.34")


def test_released_bill_pdf_has_every_figure_in_chinese_with_the_font_embedded(staff, customer) -> None:
    account = customer()
    start_run(staff("billing"), period=PERIOD)
    bill = Bill.objects.get(account=account)
    do_release_bills(staff("billing"), Bill.objects.filter(pk=bill.pk), single=True)
    bill.refresh_from_db()
    pdf = bill_pdf(bill)
    assert pdf.startswith(b"%PDF")
    fonts = [body for body in objects(pdf).values() if b"/FontFile2" in body or b"/FontName" in body]
    assert any(b"/FontFile2" in body for body in fonts), "the Chinese font is embedded"
    words = text(pdf)
    assert "电费通知单" in words and "缴费截止日" in words and "（未发行）" not in words
    assert account.number in words and account.name in words
    assert bill.number in words and bill.due_date.strftime("%Y-%m-%d") in words
    assert "第一档电费\n300.000 kWh\n0.538 元/kWh\n161.40 元" in words  # quantity × unit price = amount
    assert "有功总\n700.00\n1,000.00\n1\n300.000 kWh" in words  # previous, current, multiplier, kWh
    assert f"{bill.total:,.2f} 元" in words and "应缴金额" in words
    flat = "".join(words.split())  # a paragraph wraps where the page ends a line
    assert "年度阶梯" in flat and "第一档≤2,760kWh" in flat and "当前处于第一档" in flat
    assert "政府性基金及附加" in words and "草稿" not in words
    assert "0.538000" not in words
    point = account.service_points.get()
    assert point.address in words


def test_draft_is_watermarked_and_the_balance_is_extended_by_the_ledger_hook(staff, customer) -> None:
    account = customer()
    start_run(staff("billing"), period=PERIOD)
    bill = Bill.objects.get(account=account)
    words = text(bill_pdf(bill))
    assert "草稿" in words and "（未发行）" in words
    assert balance_due(bill) == bill.total
    with override_settings(GRIDCARE_BILLING={"BALANCE_PARTS": ["tests.billing.test_documents.extra_yuan"]}):
        assert balance_due(bill) == bill.total + Decimal("12.34")
        assert f"{bill.total + Decimal('12.34'):,.2f} 元" in text(bill_pdf(bill))


def test_tou_split_and_power_factor_on_the_notice(staff, customer) -> None:
    account = customer(
        "CN-LI-2PART-TOU",
        {"active_peak": "400", "active_flat": "350", "active_valley": "250", "reactive_total": "600"},
        capacity="400",
        voltage="10kV",
        customer_class="large_industry",
    )
    start_run(staff("billing"), period=PERIOD)
    bill = Bill.objects.get(account=account)
    notice = bill_notice(bill)
    assert {t.period: t.kwh for t in notice.tou} == {
        "高峰": Decimal("400"),
        "平段": Decimal("350"),
        "低谷": Decimal("250"),
    }
    words = text(bill_pdf(bill))
    assert "高峰 400.000 kWh（40.0 %）" in words and "低谷 250.000 kWh（25.0 %）" in words
    assert f"功率因数\n{bill.power_factor}，调整 +2.00 %" in words  # PF 0.86 under the 0.90 standard: +2 %
    assert "功率因数调整电费\n9,898.75 元\n2.00 %\n197.98 元" in words  # base × rate = amount
    assert "平段 350.000 kWh（35.0 %）" in words and "农网还贷资金 20.00 元" in words


def test_pdf_downloads_from_the_bill_page_and_the_api_within_scope_only(staff, customer, api) -> None:
    account = customer()  # a customer of 城关供电所
    start_run(staff("billing"), period=PERIOD)
    bill = Bill.objects.get(account=account)
    billing = client_for(staff("billing"))
    page = billing.get(f"/billing/bills/{bill.pk}/").content.decode()
    assert "下载PDF" in page and f"/billing/bills/{bill.pk}/pdf/" in page
    lines = page[page.index('id="bill-lines"') : page.index("</table>", page.index('id="bill-lines"'))]
    assert "300.000 kWh" in lines and "0.538 元/kWh" in lines  # the tier line's kWh, from its explanation
    download = billing.get(f"/billing/bills/{bill.pk}/pdf/")
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''%E7%94%B5%E8%B4%B9%E9%80%9A%E7%9F%A5%E5%8D%95" in download["Content-Disposition"]
    assert "电费通知单" in text(download.content)
    answer = api("billing").get(f"/api/billing/bills/{bill.pk}/pdf/", HTTP_ACCEPT="application/pdf")
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF") and "草稿" in text(answer.content)
    assert api("billing").get(f"/api/billing/bills/{bill.pk}/pdf/").status_code == 200  # Accept: */*
    # 河西供电所's desk reads bills, but not 城关's: the bill does not exist for it
    assert client_for(staff("hx_rep")).get(f"/billing/bills/{bill.pk}/pdf/").status_code == 404
    outside = api("hx_rep").get(f"/api/billing/bills/{bill.pk}/pdf/", HTTP_ACCEPT="application/pdf")
    assert outside.status_code == 404 and b"%PDF" not in outside.content
    assert api("hx_rep").get("/api/billing/bills/999999/pdf/").status_code == 404
    assert client_for(staff("reader")).get(f"/billing/bills/{bill.pk}/pdf/").status_code == 403


def test_a_tariff_that_cannot_say_its_tiers_still_prints(staff, customer) -> None:
    from gridcare.tariffs.models import Tariff

    account = customer()
    start_run(staff("billing"), period=PERIOD)
    bill = Bill.objects.get(account=account)
    tariff = Tariff.objects.get(code=bill.tariff_code)
    tariff.versions.all().delete()  # a catalogue row without a version in force
    words = "".join(text(bill_pdf(bill)).split())
    assert "本户电价不执行阶梯电价" in words and "电费通知单" in words
