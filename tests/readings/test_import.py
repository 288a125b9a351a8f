"""The reading sheet (Excel or CSV): all rows valid or nothing imported, with an error per bad row."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from gridcare.customers.importing import run_import
from gridcare.readings.models import MeterRead

pytestmark = pytest.mark.django_db

HEADER = ["电能表资产号", "计度器", "抄表时间", "示数", "表况"]


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [HEADER, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_one_bad_row_imports_nothing_and_names_every_error(installed, system, counts):
    """Given a sheet with two good rows and two bad ones, when imported, then nothing is written and each bad
    row is reported with its row number, column and reason."""
    a, b = installed(), installed()
    before = counts(MeterRead)
    result = run_import(
        system,
        "readings",
        xlsx(
            [
                [a.asset_no, "active_total", "2026-11-15 10:00", 120.5, "正常"],
                [b.asset_no, "有功总", "2026-11-15 10:05", "99", ""],
                [b.asset_no, "active_peak", "2026-11-15 10:05", "99", ""],
                ["NOPE", "active_total", "2026-11-15 10:05", "-3", ""],
            ]
        ),
    )
    assert [(e.row, e.column) for e in result.errors] == [(4, "计度器"), (5, "电能表资产号")]
    assert "no such register" in result.errors[0].reason and "Unknown meter" in result.errors[1].reason
    assert result.error_token
    assert counts(MeterRead) == before


def test_a_valid_csv_file_is_captured_through_the_one_path(installed, system):
    a = installed(initial={"active_total": "100"})
    data = "\n".join([",".join(HEADER), f"{a.asset_no},active_total,2026-11-15 10:00,150.25,正常"]).encode()
    result = run_import(system, "readings", data)
    assert not result.errors and result.created == {"accepted": 1}
    read = MeterRead.objects.get()
    assert read.source == "import" and read.quantity == 50.25
    assert run_import(system, "readings", data).created == {"duplicate": 1}


def test_a_file_contradicting_a_stored_read_is_refused(installed, system):
    a = installed()
    line = f"{a.asset_no},active_total,2026-11-15 10:00,"
    run_import(system, "readings", f"{','.join(HEADER)}\n{line}10,\n".encode())
    result = run_import(system, "readings", f"{','.join(HEADER)}\n{line}11,\n".encode())
    assert [(e.row, e.column) for e in result.errors] == [(2, "示数")]
    assert MeterRead.objects.get().value == 10


def test_import_needs_the_reading_permission(staff, installed):
    from gridcare.core.errors import PermissionRefused

    with pytest.raises(PermissionRefused):
        run_import(staff("cs_rep"), "readings", xlsx([]))


def test_import_screen_takes_a_reading_csv_from_a_reader(installed, route_for, staff):
    """Given cg_reader's route, when cg_reader uploads a CSV of the route's readings on the import screen, then
    the reads are captured (source import); a meter outside the reader's routes makes the whole file refused."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    mine, other = installed(), installed()
    route_for(mine)
    client = Client()
    client.force_login(staff("cg_reader"))
    assert client.get("/customers/import/").status_code == 200
    bad = "\n".join(
        [
            ",".join(HEADER),
            f"{mine.asset_no},active_total,2026-11-15 10:00,5,",
            f"{other.asset_no},active_total,2026-11-15 10:00,5,",
        ]
    )
    page = client.post(
        "/customers/import/", {"kind": "readings", "file": SimpleUploadedFile("r.csv", bad.encode())}
    )
    assert page.status_code == 400 and not MeterRead.objects.exists()
    good = "\n".join([",".join(HEADER), f"{mine.asset_no},active_total,2026-11-15 10:00,5,"])
    page = client.post(
        "/customers/import/", {"kind": "readings", "file": SimpleUploadedFile("r.csv", good.encode())}
    )
    assert page.status_code == 200
    assert MeterRead.objects.get().source == "import"
