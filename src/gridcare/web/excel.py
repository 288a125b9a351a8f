"""Excel export of any list, streamed with openpyxl's write-only mode so large lists stay cheap."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def excel_value(value: Any) -> Any:
    """Values Excel understands: local naive datetimes, Decimals kept exact as numbers, text otherwise."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(tzinfo=None)
    if isinstance(value, (dt.date, int, float, Decimal, bool)):
        return value
    return str(value)


def sheet_title(title: str) -> str:
    """Excel refuses ``[]:*?/\\`` in sheet names and allows 31 characters: replace and cut."""
    cleaned = "".join("-" if ch in "[]:*?/\\" else ch for ch in title).strip("'")
    return cleaned[:31] or "Sheet1"


def build_workbook(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title(title))
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=str(header))
        cell.font = Font(bold=True)
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([excel_value(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def attachment(filename: str, fallback: str) -> str:
    """A ``Content-Disposition`` that keeps a Chinese file name: ``filename*`` (RFC 5987, UTF-8) for browsers,
    ``filename`` with an ASCII ``fallback`` for the few clients that ignore it."""
    safe = re.sub(r'[\\/:*?"<>|\r\n]+', "-", filename).strip() or fallback
    ascii_fallback = re.sub(r"[^A-Za-z0-9._-]+", "-", fallback) or "export"
    return f"attachment; filename=\"{ascii_fallback}\"; filename*=UTF-8''{quote(safe, safe='')}"


def export_filename(title: str, extension: str = "xlsx") -> str:
    """``客户_20261203.xlsx``: the list's title and the local date."""
    return f"{title}_{timezone.localdate():%Y%m%d}.{extension}"


def workbook_response(
    filename: str, title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    """The list as an Excel file named after its ``title`` (``filename`` is the ASCII fallback name)."""
    response = HttpResponse(build_workbook(title, headers, rows), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = attachment(export_filename(title), export_filename(filename))
    return response
