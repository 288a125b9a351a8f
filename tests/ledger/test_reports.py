"""Reports and KPIs of the ledger: arrears aging as of a day (buckets by days overdue, by class, unit and
manager), collection rate by day and month, the cashier daily report, the key accounts' bad-debt rate — on screen
(Chinese, units, filters), in Excel (frozen shaded header, formats, totals row) and in the API; the workbench
KPIs; and the prepaid screens and API."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from gridcare.ledger import reports
from gridcare.ledger.actions import do_close_day, do_reverse_payment, do_take_payment
from gridcare.ledger.models import Entry, PrepaidAgreement
from gridcare.ledger.workbench import arrears_aging, bad_debt_rate, ka_collection_rate, overdue_days
from gridcare.web.workbench import Month
from tests.days import today

pytestmark = pytest.mark.django_db


D = dt.timedelta


def posted() -> dt.date:
    """The day A's charges were posted: two days ago."""
    return today() - D(2)


def charge(account: Any, amount: str, due: dt.date, actor: Any, day: dt.date | None = None) -> Entry:
    """A bill charge posted directly with a chosen due date (the release sets due dates from today)."""
    return Entry.objects.create(
        account=account,
        kind="charge",
        amount=Decimal(amount),
        day=day or today(),
        due_date=due,
        posted_by=actor,
    )


@pytest.fixture
def book(make_point, cashier, staff, system) -> dict[str, Any]:
    """A: residential at 城关 — 100 元 10 days overdue, 200 元 100 days overdue, 50 元 not yet due; 150 元 paid
    today (oldest first: 50 元 of the 200 left). B: a commercial key account at 河西 managed by 陈明 — 400 元 400
    days overdue, charged last year."""
    a = make_point("CG").account
    b = make_point("HX", customer_class="commercial", manager=staff("key_account")).account
    charge(a, "100.00", today() - D(10), system, day=posted())
    charge(a, "200.00", today() - D(100), system, day=posted())
    charge(a, "50.00", today() + D(5), system, day=posted())
    charge(b, "400.00", today() - D(400), system, day=today() - D(430))
    do_take_payment(cashier(), account=a, amount="150.00", method="cash")
    return {"a": a, "b": b}


def amounts(row: reports.AgingRow) -> list[str]:
    return [f"{row.not_due}", *[f"{v}" for v in row.buckets], f"{row.overdue}"]


def test_aging_by_class_as_of_today_and_as_of_yesterday(book, staff) -> None:
    report = reports.aging(staff("manager"), today())
    assert report.labels == ["0–30 天", "31–90 天", "91–180 天", "181–365 天", "> 365 天"]
    rows = {r.label: r for r in report.rows}
    assert set(rows) == {"居民生活", "一般工商业"}
    assert amounts(rows["居民生活"]) == ["50.00", "100.00", "0.00", "50.00", "0.00", "0.00", "150.00"]
    assert amounts(rows["一般工商业"]) == ["0.00", "0.00", "0.00", "0.00", "0.00", "400.00", "400.00"]
    assert report.total is not None and report.total.overdue == Decimal("550.00")
    assert report.total.accounts == 2
    # yesterday evening the payment was not there yet: 200 元 open in 91–180 days
    before = reports.aging(staff("manager"), today() - D(1))
    assert before.total is not None and before.total.buckets[2] == Decimal("200.00")


def test_aging_by_unit_and_manager_within_scope(book, staff, cashier) -> None:
    by_unit = reports.aging(staff("manager"), today(), by="unit")
    assert sorted(r.label for r in by_unit.rows) == ["城关供电所", "河西供电所"]
    by_manager = reports.aging(staff("manager"), today(), by="manager")
    assert sorted(r.label for r in by_manager.rows) == ["—", "陈明"]
    mine = reports.aging(cashier(), today())  # a 城关 collector sees 城关 only
    assert mine.total is not None and mine.total.overdue == Decimal("150.00")


def test_collection_rate_by_day_and_month(book, staff) -> None:
    rows, total = reports.collection(staff("manager"), today() - D(31), today(), per="day")
    assert [(r.period, r.bills, r.billed, r.collected, r.rate) for r in rows] == [
        (f"{posted():%Y-%m-%d}", 3, Decimal("350.00"), Decimal("150.00"), Decimal("42.9"))
    ]
    months, total = reports.collection(staff("manager"), posted().replace(day=1), today())
    assert [r.period for r in months] == sorted({f"{posted():%Y-%m}"})
    assert (total.billed, total.collected, total.rate) == (
        Decimal("350.00"),
        Decimal("150.00"),
        Decimal("42.9"),
    )


def test_cashier_daily_report_with_reversals_and_close(book, cashier, staff) -> None:
    me = cashier()
    wrong = do_take_payment(me, account=book["a"], amount="20.00", method="pos")
    do_reverse_payment(me, wrong.pk, "金额错误")
    rows, total = reports.cashier_report(staff("manager"), today(), today())
    got = {(r.channel, r.payments, r.amount, r.reversals, r.net, r.closed) for r in rows}
    assert got == {
        ("现金", 1, Decimal("150.00"), 0, Decimal("150.00"), "未日结"),
        ("POS刷卡", 1, Decimal("20.00"), 1, Decimal("0.00"), "未日结"),
    } or got == {
        ("现金", 1, Decimal("150.00"), 0, Decimal("150.00"), "未日结"),
        ("POS 刷卡", 1, Decimal("20.00"), 1, Decimal("0.00"), "未日结"),
    }
    assert (total.payments, total.net) == (2, Decimal("150.00"))
    do_close_day(me, cash_handed_over="150.00")
    rows, _total = reports.cashier_report(staff("manager"), today(), today())
    assert {r.closed for r in rows} == {"已日结"}


def test_bad_debt_rate_of_key_accounts(book, staff) -> None:
    rows, total = reports.bad_debt(staff("manager"), today())
    assert [(r.manager, r.accounts, r.billed, r.old_arrears, r.rate) for r in rows] == [
        ("陈明", 1, Decimal("400.00"), Decimal("400.00"), Decimal("100.0"))
    ]
    assert total.rate == Decimal("100.0")
    # 300 days ago it was not yet more than 365 days overdue
    assert reports.bad_debt(staff("manager"), today() - D(300))[1].rate == Decimal("0.0")


def test_workbench_kpis(book, staff) -> None:
    month = Month.of(today())
    manager, kam = staff("manager"), staff("key_account")
    # weighted days overdue over the manager's scope: (100×10 + 50×100 + 400×400) ÷ 550
    assert arrears_aging(manager, None, month) == Decimal("301.8")
    assert overdue_days(kam, None, month) == Decimal("400.0")
    assert bad_debt_rate(kam, None, month) == Decimal("100.0")
    assert ka_collection_rate(kam, None, month) is None  # nothing billed to the key accounts this month


def test_report_screens_excel_and_bad_input(book, staff) -> None:
    client = Client()
    client.force_login(staff("manager"))
    for name, text in [
        ("aging", "账龄"),
        ("collection", "电费回收率"),
        ("cashiers", "收费日报"),
        ("bad-debt", "坏账率"),
    ]:
        page = client.get(f"/ledger/reports/{name}/")
        assert page.status_code == 200, name
        assert text in page.content.decode()
        sheet = client.get(f"/ledger/reports/{name}/?export=xlsx")
        assert sheet["Content-Type"].startswith("application/vnd.openxmlformats")
        book_ = load_workbook(io.BytesIO(sheet.content))
        ws = book_.active
        assert ws.freeze_panes == "A3"  # caption, header frozen
        assert ws["A2"].font.bold and ws["A2"].fill.fgColor.rgb.endswith("E8EEF7")
    page = client.get("/ledger/reports/aging/").content.decode()
    assert "91–180 天" in page and "550.00" in page
    ws = load_workbook(io.BytesIO(client.get("/ledger/reports/aging/?export=xlsx").content)).active
    last = ws.max_row - 1  # the totals row, then the note
    assert ws.cell(last, 1).value == "合计" and ws.cell(last, 9).value == 550
    assert ws.cell(last, 9).number_format == "#,##0.00"
    bad = client.get("/ledger/reports/collection/?first=2026-05-01&last=2026-04-01")
    assert bad.status_code == 400 and "结束日期早于开始日期" in bad.content.decode()
    future = client.get(f"/ledger/reports/aging/?day={today() + D(3):%Y-%m-%d}")
    assert future.status_code == 400


def test_reports_api(book, api) -> None:
    client = api("manager")
    aging = client.get("/api/ledger/reports/aging/", {"by": "unit"})
    assert aging.status_code == 200
    assert aging.data["total"]["overdue"] == "550.00"
    rate = client.get("/api/ledger/reports/collection/", {"first": f"{posted():%Y-%m-%d}"})
    assert rate.data["total"]["rate"] == "42.9"
    assert client.get("/api/ledger/reports/bad-debt/").data["total"]["rate"] == "100.0"
    assert client.get("/api/ledger/reports/cashiers/").status_code == 200
    bad = client.get("/api/ledger/reports/aging/", {"unit": "NOPE"})
    assert bad.status_code == 400 and "unit" in bad.data["errors"]
    assert api("cg_reader").get("/api/ledger/reports/aging/").status_code == 403


def test_prepaid_screens_and_api(installed_account, cashier, staff) -> None:
    from rest_framework.test import APIClient

    account = installed_account()
    me = cashier()
    client = Client()
    client.force_login(me)
    refused = client.post("/ledger/prepaid/", {"account": "0000000000"})
    assert refused.status_code == 400 and "未找到" in refused.content.decode()
    done = client.post("/ledger/prepaid/", {"account": account.number, "note": "客户申请"})
    assert done.status_code == 302
    listing = client.get("/ledger/prepaid/").content.decode()
    assert account.number in listing and "剩余电费" in listing
    card = client.get(f"/ledger/prepaid/{account.pk}/").content.decode()
    assert "尚未估算" in card or "每日" in card
    api_client = APIClient()
    api_client.force_authenticate(me)
    agreement = PrepaidAgreement.objects.get(account=account)
    assert api_client.get("/api/ledger/prepaid/").data["results"][0]["account_number"] == account.number
    again = api_client.post("/api/ledger/prepaid/", {"account": account.number}, format="json")
    assert again.status_code == 409
    left = api_client.post(f"/api/ledger/prepaid/{agreement.pk}/leave/", {"note": "销户"}, format="json")
    assert left.status_code == 200 and left.data["active"] is False
    outsider = Client()
    outsider.force_login(cashier("hx_cashier", "HX"))
    assert outsider.get(f"/ledger/prepaid/{account.pk}/").status_code == 404


@pytest.fixture
def installed_account(make_point, make_meter, system) -> Any:
    from gridcare.metering.actions import do_install_meter

    def build() -> Any:
        point = make_point("CG")
        device = make_meter()
        do_install_meter(
            system, device, point, installed_on=dt.date(2026, 6, 1), initial_reads={"active_total": "0"}
        )
        return point.account

    return build
