"""Issue #10 point 7: the company's own org tree and staff from Excel (``gridcare import_org``), all or nothing."""

from __future__ import annotations

import io
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from gridcare.core.models import AuditEntry
from gridcare.org.importing import StaffSheet, UnitSheet
from gridcare.org.models import OrgUnit, User

UNITS = [
    ["机构编码", "机构名称", "机构类型", "上级机构编码"],
    ["NEWB", "新城县公司", "县公司", "GC"],  # parent already in gridcare
    ["NEWS2", "新城二所", "供电所", "NEWB"],
    ["NEWS1", "新城一所", "供电所", "NEWB"],
]
STAFF = [
    ["登录名", "姓名", "岗位", "所属机构编码", "工号", "手机", "邮箱", "初始密码"],
    ["xc_rep", "钱多多", "station_rep", "NEWS1", "E9001", "13800000001", "", "Xc-Initial-2026"],
    ["xc_head", "孙大海", "客户服务主管", "NEWB", "E9002", "", "", "Xc-Initial-2027"],
]


def workbook(units: list[list[Any]], staff: list[list[Any]] | None) -> bytes:
    book = Workbook()
    book.worksheets[0].title = "组织机构"
    for row in units:
        book.worksheets[0].append(row)
    if staff is not None:
        sheet = book.create_sheet("人员")
        for row in staff:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def counts() -> tuple[int, int, int]:
    return OrgUnit.objects.count(), User.objects.count(), AuditEntry.objects.count()


def test_a_good_file_creates_the_tree_and_the_staff_through_the_actions(org, tmp_path: Path) -> None:
    """Given a file with a branch, two stations (child before its parent's sibling, any order) and two staff,
    when imported, then the units hang where the file says, the staff sign in with their initial password,
    and every unit and person has its audit row."""
    path = tmp_path / "org.xlsx"
    path.write_bytes(workbook(UNITS, STAFF))
    units_before, staff_before, audit_before = counts()
    created_units = AuditEntry.objects.filter(action="org.create_unit").count()
    created_staff = AuditEntry.objects.filter(action="org.create_staff").count()
    out = StringIO()
    call_command("import_org", str(path), stdout=out)
    assert "3 个机构" in out.getvalue() and "2 名人员" in out.getvalue()
    assert OrgUnit.objects.get(code="NEWS1").path == OrgUnit.objects.get(code="GC").path + "NEWB/NEWS1/"
    assert OrgUnit.objects.get(code="NEWS2").kind == OrgUnit.Kind.STATION
    rep = User.objects.get(username="xc_rep")
    assert rep.position.code == "station_rep" and rep.org_unit.code == "NEWS1" and rep.phone == "13800000001"
    assert rep.check_password("Xc-Initial-2026")
    assert User.objects.get(username="xc_head").position.code == "service_supervisor"
    assert counts()[:2] == (units_before + 3, staff_before + 2)
    assert AuditEntry.objects.filter(action="org.create_unit").count() == created_units + 3
    assert AuditEntry.objects.filter(action="org.create_staff").count() == created_staff + 2
    assert counts()[2] > audit_before
    # loading the same units again keeps them; only the staff sheet would be refused (names taken)
    again = tmp_path / "units-only.xlsx"
    again.write_bytes(workbook(UNITS, None))
    call_command("import_org", str(again), stdout=StringIO())
    assert counts()[:2] == (units_before + 3, staff_before + 2)


def test_a_bad_file_imports_nothing_and_lists_every_error(org, tmp_path: Path) -> None:
    """Given a file with an unknown parent, a duplicate code, an unknown position, an unknown unit, a taken login
    name and a weak password, when imported, then the command fails naming each problem, an error sheet lists
    them all, and not one unit, person or audit row was written."""
    units = [
        UNITS[0],
        ["BAD1", "坏所一", "供电所", "NOPE"],
        ["BAD2", "坏所二", "供电所", "GC"],
        ["BAD2", "重复所", "供电所", "GC"],
    ]
    staff = [
        STAFF[0],
        ["cs_rep", "重名", "station_rep", "BAD2", "", "", "", "Xc-Initial-2026"],
        ["bad_pos", "无岗位", "no_such_position", "BAD2", "", "", "", "Xc-Initial-2026"],
        ["bad_unit", "无机构", "station_rep", "NOWHERE", "", "", "", "Xc-Initial-2026"],
        ["weak", "弱密码", "station_rep", "BAD2", "", "123", "", "123"],
    ]
    path = tmp_path / "bad.xlsx"
    path.write_bytes(workbook(units, staff))
    before = counts()
    err = StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_org", str(path), stdout=StringIO(), stderr=err)
    assert counts() == before
    assert "未导入任何数据" in str(refused.value)
    listed = err.getvalue()
    for expected in ("NOPE", "重复", "cs_rep", "no_such_position", "NOWHERE", "手机号"):
        assert expected in listed, expected
    sheet_path = str(refused.value).split("错误清单见 ")[1].split("。")[0]
    rows = list(load_workbook(sheet_path).worksheets[0].iter_rows(values_only=True))
    columns = {row[1] for row in rows[1:]}
    assert (
        "组织机构 · 上级机构编码" in columns and "人员 · 初始密码" in columns and "人员 · 登录名" in columns
    )
    assert not OrgUnit.objects.filter(code__in=["BAD1", "BAD2"]).exists()


def test_template_has_both_sheets_and_the_notes(tmp_path: Path, db) -> None:
    path = tmp_path / "template.xlsx"
    call_command("import_org", str(path), "--template", stdout=StringIO())
    book = load_workbook(path)
    assert book.sheetnames == ["组织机构", "人员", "说明"]
    assert [c.value for c in book["组织机构"][1]] == [c.header for c in UnitSheet.columns]
    assert [c.value for c in book["人员"][1]] == [c.header for c in StaffSheet.columns]
