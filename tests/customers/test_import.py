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
def headers(client, staff) -> list[str]:  # type: ignore[no-untyped-def]
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


def test_parallel_reading_gives_the_same_rows_and_errors(headers, system, monkeypatch) -> None:
    from gridcare.customers import importing

    data = sheet(headers, [customer_row(n) for n in range(1, 40)] + [customer_row(40, **{"手机号码": "12"})])
    sequential = importing.importer_for("customers", system)
    expected = importing.read_rows(sequential, data)
    monkeypatch.setattr(importing, "PARALLEL_MIN_BYTES", 0)
    forked = importing.importer_for("customers", system)
    assert importing.read_rows(forked, data) == expected
    assert forked.errors == sequential.errors == []  # cell formats are fine; the mobile rule is checked later
    assert [n for n, _v in expected] == list(range(2, 42))


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
