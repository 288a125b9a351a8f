"""Excel export of any list, streamed with openpyxl's write-only mode so large lists stay cheap."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

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


#: number formats of report columns: 元 with two decimals, kWh with three, whole counts — thousands separated
MONEY_FORMAT = "#,##0.00"
KWH_FORMAT = "#,##0.000"
COUNT_FORMAT = "#,##0"
HEADER_FILL = PatternFill("solid", fgColor="E8EEF7")


@dataclass
class ReportColumn:
    """A column of a formatted report sheet: its Chinese header, number format and width (characters)."""

    header: str
    number_format: str | None = None
    width: float = 12


@dataclass
class ReportSheet:
    """A sheet of a report (电费发行清单, 售电汇总): a caption line, frozen header, formats, widths and a totals row."""

    title: str
    columns: Sequence[ReportColumn]
    rows: Iterable[Sequence[Any]]
    caption: str = ""
    totals: Sequence[Any] | None = None
    notes: Sequence[str] = field(default_factory=tuple)


def _styled(sheet: Any, value: Any, *, bold: bool = False, fmt: str | None = None, fill: Any = None) -> Any:
    cell = WriteOnlyCell(sheet, value=excel_value(value))
    if bold:
        cell.font = Font(bold=True)
    if fmt and isinstance(value, (int, float, Decimal)):
        cell.number_format = fmt
    if fill is not None:
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    return cell


def build_report(sheets: Sequence[ReportSheet]) -> bytes:
    """A real .xlsx for Excel and WPS: per sheet a caption, a bold shaded header frozen under it, numbers kept as
    numbers with their formats (元 #,##0.00, kWh #,##0.000), column widths, a bold totals row and notes."""
    workbook = Workbook(write_only=True)
    for report in sheets:
        sheet = workbook.create_sheet(title=sheet_title(report.title))
        for index, column in enumerate(report.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = column.width
        header_row = 2 if report.caption else 1
        sheet.freeze_panes = f"A{header_row + 1}"
        if report.caption:
            sheet.append([_styled(sheet, report.caption, bold=True)])
        sheet.append([_styled(sheet, c.header, bold=True, fill=HEADER_FILL) for c in report.columns])
        formats = [c.number_format for c in report.columns]
        for row in report.rows:
            sheet.append([_styled(sheet, v, fmt=f) for v, f in zip(row, formats, strict=False)])
        if report.totals is not None:
            sheet.append(
                [_styled(sheet, v, bold=True, fmt=f) for v, f in zip(report.totals, formats, strict=False)]
            )
        for note in report.notes:
            sheet.append([note])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def report_response(title: str, fallback: str, sheets: Sequence[ReportSheet]) -> HttpResponse:
    """The report as an Excel download named after its ``title`` and the date (``fallback``: ASCII name)."""
    response = HttpResponse(build_report(sheets), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = attachment(export_filename(title), export_filename(fallback))
    return response


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
