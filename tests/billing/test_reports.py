"""电费发行清单 and 售电量、电费汇总: set-based, scoped, real .xlsx; the summary's grand total equals the released bills'
total (the reconciliation check on the screen and the KPI 对账差异 on the workbench)."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gridcare.billing.actions import do_release_bills
from gridcare.billing.executors import start_run
from gridcare.billing.models import Bill, BillLine
from gridcare.billing.reports import Selection, register_sheet, sales_summary
from gridcare.billing.workbench import reconciliation
from gridcare.web.workbench import Month
from tests.billing.conftest import PERIOD

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def released(staff, customer) -> dict[str, object]:
    """Two residential accounts and a large-industry one at 城关, a residential one at 河西, released; one more
    residential bill at 城关 left as a draft."""
    accounts = {
        "res1": customer(registers={"active_total": "300"}),
        "res2": customer(registers={"active_total": "1200"}),
        "industry": customer(
            "CN-LI-2PART-TOU",
            {"active_peak": "400", "active_flat": "350", "active_valley": "250", "reactive_total": "600"},
            capacity="400",
            voltage="10kV",
            customer_class="large_industry",
        ),
        "hexi": customer(registers={"active_total": "500"}, station="HX"),
        "draft": customer(registers={"active_total": "800"}),
    }
    start_run(staff("billing"), period=PERIOD)
    do_release_bills(staff("billing"), Bill.objects.exclude(account=accounts["draft"]))
    return accounts


def released_total() -> Decimal:
    return Bill.objects.filter(status="released", period=PERIOD).aggregate(s=Sum("total"))["s"]


def test_summary_grand_total_equals_the_released_bills(staff, released) -> None:
    accountant = staff("billing")
    with CaptureQueriesContext(connection) as queries:
        summary = sales_summary(Selection(PERIOD), accountant)
    assert len(queries) <= 4  # grouped bills, grouped lines, the released total: set-based, not per bill
    assert summary.total == released_total() == summary.released_total
    assert summary.bills == 4 and summary.matches and summary.difference == 0
    assert summary.kwh == Decimal("3000")  # 300 + 1200 + 1000 + 500; the draft's 800 kWh not released
    by_group = {(r.customer_class, r.voltage, r.unit): r for r in summary.rows}
    assert set(by_group) == {
        ("居民生活", "220 V", "城关供电所"),
        ("大工业", "10 kV", "城关供电所"),
        ("居民生活", "220 V", "河西供电所"),
    }
    industry = by_group[("大工业", "10 kV", "城关供电所")]
    bill = Bill.objects.get(account=released["industry"])
    assert industry.total == bill.total and industry.charges["funds"] == bill.funds == Decimal("48.20")
    assert industry.charges["basic"] == Decimal("9200.00") and industry.charges["power_factor"] == Decimal(
        "197.98"
    )
    assert by_group[("居民生活", "220 V", "城关供电所")].bills == 2
    only_hexi = sales_summary(Selection(PERIOD, customer_class="residential"), staff("hx_rep"))
    assert only_hexi.bills == 1 and only_hexi.total == Bill.objects.get(account=released["hexi"]).total


def test_a_bill_whose_lines_do_not_add_up_shows_the_difference(staff, customer) -> None:
    account = customer()
    start_run(staff("billing"), period=PERIOD)
    bill = Bill.objects.get(account=account)
    BillLine.objects.create(bill=bill, sequence=99, code="fixed", label="手工补录", amount=Decimal("1.23"))
    do_release_bills(staff("billing"), Bill.objects.filter(pk=bill.pk))
    summary = sales_summary(Selection(PERIOD), staff("billing"))
    assert summary.difference == Decimal("1.23") and not summary.matches
    assert reconciliation(staff("billing"), None, Month(2026, 11)) == Decimal("1.23")
    page = client_for(staff("billing")).get(f"/billing/reports/?period={PERIOD}").content.decode()
    assert "差额 1.23 元" in page and "alert-danger" in page


def test_register_excel_has_one_row_per_released_bill_with_formats_and_totals(staff, released) -> None:
    billing = client_for(staff("billing"))
    answer = billing.get(f"/billing/reports/?period={PERIOD}&export=register")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/vnd.openxmlformats")
    assert (
        "%E7%94%B5%E8%B4%B9%E5%8F%91%E8%A1%8C%E6%B8%85%E5%8D%95" in answer["Content-Disposition"]
    )  # 电费发行清单
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content))["电费发行清单"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == f"电费发行清单 {PERIOD}" and sheet.freeze_panes == "A3"
    headers = list(rows[1])
    assert headers[:7] == ["电费单号", "户号", "户名", "用电类别", "电压等级", "供电单位", "电量（kWh）"]
    assert "政府性基金及附加（元）" in headers and "应收电费（元）" in headers and "缴费截止日" in headers
    bills = rows[2:-1]
    numbers = sorted(Bill.objects.filter(status="released").values_list("number", flat=True))
    assert sorted(r[0] for r in bills) == numbers  # the draft is not in the register
    total = headers.index("应收电费（元）")
    assert Decimal(str(rows[-1][total])) == released_total()
    assert rows[-1][0] == "合计：4 笔"
    assert sheet.cell(row=3, column=7).number_format == "#,##0.000"
    assert sheet.cell(row=3, column=total + 1).number_format == "#,##0.00"
    assert sheet.column_dimensions["C"].width == 22
    industry = next(r for r in bills if r[1] == released["industry"].number)
    assert industry[3] == "大工业" and industry[4] == "10 kV"
    hexi_only = billing.get(
        f"/billing/reports/?period={PERIOD}&export=register&unit={staff('hx_rep').org_unit.pk}"
    )
    hexi_rows = list(openpyxl.load_workbook(io.BytesIO(hexi_only.content)).active.iter_rows(values_only=True))
    assert [r[1] for r in hexi_rows[2:-1]] == [released["hexi"].number]


def test_summary_screen_and_excel_in_chinese(staff, released) -> None:
    billing = client_for(staff("billing"))
    page = billing.get(f"/billing/reports/?period={PERIOD}").content.decode()
    assert "电费报表" in page and "售电量、电费汇总" in page
    assert f"与已发行电费合计一致（{released_total():,.2f} 元）" in page
    assert "大工业" in page and "10 kV" in page and "3,000.000 kWh" in page
    assert "导出电费发行清单" in page and "导出售电汇总" in page
    table = page[page.index('id="summary-table"') : page.index("</table>")]
    assert "large_industry" not in table and "None" not in table  # labels, not codes
    summary = billing.get(f"/billing/reports/?period={PERIOD}&export=summary")
    sheet = openpyxl.load_workbook(io.BytesIO(summary.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:5] == ("用电类别", "电压等级", "供电单位", "账单数", "电量（kWh）")
    grand = next(r for r in rows if r[0] == "总计")
    assert Decimal(str(grand[-1])) == released_total() and grand[3] == 4
    assert rows[-1][0].startswith("与已发行电费合计一致")
    bad = billing.get("/billing/reports/?period=2026-13")
    assert bad.status_code == 400 and "YYYY-MM" in bad.content.decode()
    assert client_for(staff("reader")).get("/billing/reports/").status_code == 403
    default = billing.get("/billing/reports/")
    assert default.status_code == 200


def test_register_scoped_to_the_reader(staff, released) -> None:
    sheet = register_sheet(Selection(PERIOD), staff("hx_rep"))
    rows = list(sheet.rows)
    assert [r[1] for r in rows] == [released["hexi"].number]
