"""Excel import: templates, a valid file imported in one go, and all-or-nothing with every error reported in
the downloadable error sheet (row, column, reason)."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from gridcare.core.models import AuditEntry
from gridcare.customers.importing import run_import
from gridcare.customers.models import Account, Customer, ServicePoint
from gridcare.metering.models import Installation, InstallationRead, Meter

from .conftest import VALID_CREDIT_CODE, resident_id

TABLES = (Customer, Account, ServicePoint, Meter, Installation, InstallationRead)


def template_headers(client: Any, kind: str) -> list[str]:
    response = client.get(f"/customers/import/template/{kind}/")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert "说明" in book.sheetnames
    return [c.value for c in book.worksheets[0][1]]


def sheet(headers: list[str], rows: list[dict[str, Any]]) -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(headers)
    for row in rows:
        ws.append([row.get(h) for h in headers])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def customer_row(n: int, **change: Any) -> dict[str, Any]:
    return {
        "客户名称": f"导入客户{n}",
        "客户类型": "个人",
        "证件类型": "居民身份证",
        "证件号码": resident_id(n),
        "联系人": f"导入客户{n}",
        "手机号码": f"1380000{n:04d}",
        "户号": f"77{n:08d}",
        "供电所编码": "CG",
        "用电地址": f"城关镇幸福路{n}号",
        "电压等级": "220V",
        "用电类别": "居民生活",
        "用电子类": "城镇居民",
        "合同容量(kVA)": 8,
        "电价代码": "RES-TIER",
        "生效日期": "2026-01-01",
        "电能表资产编号": f"IMP{n:06d}",
        "条码": f"IMPB{n:06d}",
        "厂家": "威胜集团",
        "型号": "DDZY71",
        "准确度等级": "2",
        "相数": 1,
        "电流规格": "5(60)A",
        "检定日期": "2026-01-05",
        "装表日期": "2026-01-10",
        "起度-有功总": 12.5,
        **change,
    }


@pytest.fixture
def headers(client, staff) -> list[str]:
    client.force_login(staff("cg_rep"))
    return template_headers(client, "customers")


def test_valid_file_imports_everything_with_audit(headers, staff, system, counts) -> None:
    second_point = {"用电地址": "城关镇幸福路1号附1", "电能表资产编号": "IMP000009", "条码": "IMPB000009"}
    rows = [customer_row(1), customer_row(1, **second_point), customer_row(3)]
    rows.append(
        customer_row(
            4,
            **{
                "客户类型": "单位",
                "证件类型": "统一社会信用代码",
                "证件号码": VALID_CREDIT_CODE,
                "电压等级": "10kV",
                "用电类别": "大工业",
                "用电子类": "大工业",
                "合同容量(kVA)": 2000,
                "合同需量(kW)": 1200,
                "相数": 3,
                "大客户": "是",
                "客户经理登录名": "key_account",
            },
        )
    )
    before = AuditEntry.objects.count()
    result = run_import(system, "customers", sheet(headers, rows))
    assert result.errors == []
    assert result.created == {"customers": 3, "accounts": 3, "service_points": 4, "meters": 4}
    account = Account.objects.get(number="7700000001")
    assert [p.number for p in account.service_points.order_by("number")] == ["770000000101", "770000000102"]
    big = ServicePoint.objects.get(account__number="7700000004")
    assert (big.metering_class, big.account.account_manager.username) == ("II", "key_account")
    meter = Meter.objects.get(asset_no="IMP000001")
    assert meter.status == "installed" and meter.installations.get().reads.get().value == 12.5
    assert meter.next_test_due is not None and meter.rotation_due is not None
    # one audit row per account (naming its service points and meters), plus the summary
    assert AuditEntry.objects.count() == before + 3 + 1
    entry = AuditEntry.objects.get(action="customers.import_account", object_id=str(account.pk))
    assert entry.after["service_points"] == ["770000000101", "770000000102"]
    assert [m["asset_no"] for m in entry.after["meters"]] == ["IMP000001", "IMP000009"]
    # the imported data is usable by the actions afterwards
    import datetime as dt

    from gridcare.customers.actions import do_change_tariff

    do_change_tariff(system, big, tariff_code="LI-TOU", valid_from=dt.date(2026, 6, 1))


def test_any_bad_row_imports_nothing_and_reports_every_error(
    headers, client, system, make_point, counts
) -> None:
    existing = make_point("CG")
    rows = [
        customer_row(1),
        customer_row(2, **{"证件号码": "110105194912310021"}),  # bad check digit
        customer_row(3, **{"手机号码": "1380000"}),  # bad mobile
        customer_row(4, **{"户号": existing.account.number}),  # duplicate 户号 in the database
        customer_row(5, **{"合同容量(kVA)": 0}),  # capacity not above zero
        customer_row(6, **{"用电类别": "外星"}),  # unknown class
        customer_row(
            7, **{"电能表资产编号": "IMP000001", "条码": "IMPB000001"}
        ),  # same meter as row 2 of the sheet
        customer_row(
            8, **{"证件类型": "统一社会信用代码", "客户类型": "单位", "证件号码": "91350100M000100Y44"}
        ),
        customer_row(9, **{"供电所编码": "NOPE"}),
        customer_row(10, **{"起度-有功总": None}),  # meter without initial read
    ]
    before = counts(*TABLES)
    result = run_import(system, "customers", sheet(headers, rows))
    assert counts(*TABLES) == before
    found = {(e.row, e.column) for e in result.errors}
    assert {
        (3, "证件号码"),
        (4, "手机号码"),
        (5, "户号"),
        (6, "合同容量(kVA)"),
        (7, "用电类别"),
        (8, "电能表资产编号"),
        (8, "条码"),
        (9, "证件号码"),
        (10, "供电所编码"),
        (11, "起度-有功总"),
    } <= found
    assert all(e.row != 2 for e in result.errors)
    # the error sheet is downloadable by the same person and lists the same rows
    client.force_login(system)
    response = client.get(f"/customers/import/errors/{result.error_token}/")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    lines = list(book.active.iter_rows(values_only=True))
    assert lines[0][0].startswith("行号")
    assert {(r[0], r[1]) for r in lines[1:]} == found
    assert len(lines) - 1 == len(result.errors)


def test_missing_columns_and_unreadable_file(headers, system) -> None:
    result = run_import(system, "customers", sheet(headers[:3], [customer_row(1)]))
    assert {e.column for e in result.errors} >= {"户号", "用电地址"}
    assert run_import(system, "customers", b"not an excel file").errors[0].row == 1


def test_import_screen_upload_shows_errors_then_success(client, staff, headers) -> None:
    good = sheet(headers, [customer_row(1)])
    bad = sheet(headers, [customer_row(1, **{"手机号码": "123"})])
    client.force_login(staff("cg_rep"))  # customer.manage but no meter.manage: meter columns are refused
    response = client.post("/customers/import/", {"kind": "customers", "file": _named(good)})
    assert response.status_code == 400 and "meter.manage" in response.content.decode()
    assert client.post("/customers/import/", {"kind": "customers", "file": _named(bad)}).status_code == 400
    good_without_meter = sheet([h for h in headers if h != "电能表资产编号"], [customer_row(1)])
    response = client.post("/customers/import/", {"kind": "customers", "file": _named(good_without_meter)})
    assert response.status_code == 200, response.content.decode()[:2000]
    assert Account.objects.filter(number="7700000001").exists()


def _named(data: bytes) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = "import.xlsx"
    return handle


def test_meter_stock_import(client, staff, system) -> None:
    client.force_login(staff("metering"))
    headers = template_headers(client, "meters")
    row = {
        "电能表资产编号": "STK000001",
        "条码": "STKB000001",
        "厂家": "林洋能源",
        "型号": "DDZY1329",
        "准确度等级": "2",
        "相数": 1,
        "电流规格": "5(60)A",
        "检定日期": "2026-01-05",
        "库房单位编码": "JL",
        "计度器": "有功总",
    }
    bad = run_import(staff("metering"), "meters", sheet(headers, [row, {**row, "条码": "STKB000002"}]))
    assert [(e.row, e.column) for e in bad.errors] == [(3, "电能表资产编号")]
    assert not Meter.objects.filter(asset_no="STK000001").exists()
    response = client.post("/customers/import/", {"kind": "meters", "file": _named(sheet(headers, [row]))})
    assert response.status_code == 200
    meter = Meter.objects.get(asset_no="STK000001")
    assert (meter.status, meter.org_unit.code, meter.registers) == ("in_stock", "JL", ["active_total"])


def test_rows_are_numbered_as_in_excel_and_cell_errors_wait_for_the_rules(headers, system) -> None:
    from gridcare.customers import importing

    data = sheet(headers, [customer_row(n) for n in range(1, 40)] + [customer_row(40, **{"手机号码": "12"})])
    importer = importing.importer_for("customers", system)
    rows = importing.read_rows(importer, data)
    assert importer.errors == []  # cell formats are fine; the mobile rule is checked later
    assert [n for n, _v in rows] == list(range(2, 42))
    assert rows[0][1]["account_number"] == "7700000001" and rows[-1][1]["mobile"] == "12"


def test_header_below_blank_rows_and_blank_rows_between(headers, system) -> None:
    """The header is the first filled row; rows keep their Excel numbers; blank or spaces-only rows are skipped."""
    from gridcare.customers import importing

    book = openpyxl.Workbook()
    ws = book.active
    lines = {
        3: headers,
        4: customer_row(1),
        5: customer_row(2),
        7: dict.fromkeys(headers, "  "),
        8: customer_row(3),
    }
    for number, line in lines.items():
        values = line if isinstance(line, list) else [line.get(h) for h in headers]
        for column, value in enumerate(values, start=1):
            ws.cell(row=number, column=column, value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    importer = importing.importer_for("customers", system)
    rows = importing.read_rows(importer, buffer.getvalue())
    assert importer.errors == []
    assert [(n, v["customer_name"]) for n, v in rows] == [
        (4, "导入客户1"),
        (5, "导入客户2"),
        (8, "导入客户3"),
    ]


def with_shared_strings(data: bytes) -> bytes:
    """The same workbook with its text in xl/sharedStrings.xml (as Excel and WPS write it; openpyxl writes
    every string inline), one string as rich text runs."""
    import html
    import re
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    strings: list[str] = []

    def shared(match: re.Match[bytes]) -> bytes:
        strings.append(html.unescape(match.group(2).decode()))
        return match.group(1).replace(b't="inlineStr"', b't="s"') + f"<v>{len(strings) - 1}</v></c>".encode()

    sheet_xml = re.sub(
        rb'(<c [^>]*t="inlineStr"[^>]*>)<is><t[^>]*>(.*?)</t></is></c>',
        shared,
        source.read("xl/worksheets/sheet1.xml"),
    )
    items = [f"<si><t>{html.escape(text)}</t></si>" for text in strings]
    items[-1] = (
        f"<si><r><t>{html.escape(strings[-1][:1])}</t></r><r><rPr><b/></rPr><t>{html.escape(strings[-1][1:])}</t></r></si>"
    )
    table = (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
        f' count="{len(items)}" uniqueCount="{len(items)}">{"".join(items)}</sst>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            content = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                content = sheet_xml
            elif name == "[Content_Types].xml":
                content = content.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                    b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            elif name == "xl/_rels/workbook.xml.rels":
                content = content.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdSST" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
                )
            target.writestr(name, content)
        target.writestr("xl/sharedStrings.xml", table)
    return out.getvalue()


def test_inline_and_shared_strings_are_read_alike(headers, system) -> None:
    import zipfile

    from gridcare.customers import importing

    inline = sheet(headers, [customer_row(1), customer_row(2, **{"通信地址": "A & B <1号>"})])
    assert b't="inlineStr"' in zipfile.ZipFile(io.BytesIO(inline)).read("xl/worksheets/sheet1.xml")
    shared = with_shared_strings(inline)
    assert b't="inlineStr"' not in zipfile.ZipFile(io.BytesIO(shared)).read("xl/worksheets/sheet1.xml")
    found = []
    for data in (inline, shared):
        importer = importing.importer_for("customers", system)
        found.append(importing.read_rows(importer, data))
        assert importer.errors == []
    assert found[0] == found[1]
    assert found[1][1][1]["customer_address"] == "A & B <1号>"
    assert found[1][0][1]["customer_name"] == "导入客户1"


def test_real_excel_dates_numbers_and_booleans(headers, system) -> None:
    """Date cells, Excel serial numbers and text dates; numbers in text, integer and yes/no columns."""
    import datetime as dt

    serial = (dt.date(2026, 1, 10) - dt.date(1899, 12, 30)).days
    rows = [
        customer_row(
            1,
            **{
                "生效日期": dt.date(2026, 1, 2),
                "检定日期": dt.datetime(2026, 1, 5, 0, 0),
                "装表日期": serial,
                "户号": 7700000001,
                "相数": 1.0,
                "重要用户": True,
                "合同容量(kVA)": 8.5,
            },
        ),
        customer_row(2, **{"生效日期": "2026/01/03", "检定日期": "2026-01-05", "重要用户": 1}),
    ]
    result = run_import(system, "customers", sheet(headers, rows))
    assert result.errors == []
    first = ServicePoint.objects.get(account__number="7700000001")
    assert (first.is_important, first.capacity_kva) == (True, 8.5)
    assert first.tariff_periods.get().valid_from == dt.date(2026, 1, 2)
    meter = Meter.objects.get(asset_no="IMP000001")
    assert (meter.verified_on, meter.installed_on, meter.phases) == (
        dt.date(2026, 1, 5),
        dt.date(2026, 1, 10),
        1,
    )
    second = ServicePoint.objects.get(account__number="7700000002")
    assert second.is_important and second.tariff_periods.get().valid_from == dt.date(2026, 1, 3)


def test_bad_dates_and_numbers_are_reported_per_cell(headers, system) -> None:
    import datetime as dt

    rows = [
        customer_row(1, **{"生效日期": "2026-13-01", "相数": 1.5, "合同容量(kVA)": "八", "重要用户": "也许"}),
        customer_row(2, **{"检定日期": dt.datetime(2026, 1, 5, 12, 0)}),
    ]
    result = run_import(system, "customers", sheet(headers, rows))
    assert {(e.row, e.column) for e in result.errors} >= {
        (2, "生效日期"),
        (2, "相数"),
        (2, "合同容量(kVA)"),
        (2, "重要用户"),
    }
    assert not any(e.row == 3 and e.column == "检定日期" for e in result.errors)  # a datetime cell: its date


def test_a_larger_file_is_audited_row_by_row(headers, system) -> None:
    """600 accounts: above the audit writer's COPY threshold on PostgreSQL, same rows as the ORM path."""
    rows = [customer_row(n, **{"电能表资产编号": None}) for n in range(1, 601)]
    before = AuditEntry.objects.filter(action="customers.import_account").count()
    result = run_import(system, "customers", sheet([h for h in headers if h != "电能表资产编号"], rows))
    assert result.errors == [] and result.created["accounts"] == 600
    entries = AuditEntry.objects.filter(action="customers.import_account")
    assert entries.count() == before + 600
    entry = entries.get(object_repr="7700000600")
    assert entry.actor == system and entry.after["service_points"] == ["770000060001"]
    assert entry.object_id == str(Account.objects.get(number="7700000600").pk)


def test_existing_customers_are_reused_by_id_number_or_customer_number(headers, system, make_point) -> None:
    from .conftest import VALID_ID

    existing = make_point("CG").account.customer  # resident ID VALID_ID
    lowercase = VALID_ID.lower()  # the check digit X typed in lower case is the same ID
    rows = [
        customer_row(1, **{"证件号码": lowercase, "客户名称": existing.name}),
        customer_row(2, **{"客户编号": existing.number, "客户名称": existing.name}),
        customer_row(3),
    ]
    before = Customer.objects.count()
    result = run_import(system, "customers", sheet(headers, rows))
    assert result.errors == []
    assert result.created["customers"] == 1 and Customer.objects.count() == before + 1
    for number in ("7700000001", "7700000002"):
        assert Account.objects.get(number=number).customer_id == existing.pk
    assert Account.objects.get(number="7700000003").customer_id != existing.pk
