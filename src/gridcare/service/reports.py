"""Monthly reports as Excel (openpyxl) and PDF (reportlab, Chinese text in the embedded font of
:mod:`gridcare.web.pdf`). The numbers come from :mod:`gridcare.service.selectors`."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from gridcare.service.selectors import REPORTS, MonthlyReport

FORMATS = ("xlsx", "pdf")


def build(code: str, month: str) -> MonthlyReport:
    return REPORTS[code](month)


def _cell(value: Any) -> Any:
    if value is None:
        return "—"
    return value


def to_xlsx(report: MonthlyReport) -> bytes:
    workbook = Workbook()
    sheet = workbook.worksheets[0]  # the new workbook's one (active) sheet
    sheet.title = report.month
    sheet.append([f"{report.title} {report.month}"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([_("Generated at"), timezone.localtime().strftime("%Y-%m-%d %H:%M")])
    for section in report.sections:
        sheet.append([])
        sheet.append([section.title])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
        sheet.append(section.headers)
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
        for row in section.rows:
            sheet.append([_cell(v) for v in row])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, Decimal):
                    cell.number_format = "0.00"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_pdf(report: MonthlyReport) -> bytes:
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

    from gridcare.web.pdf import cjk_font, grid_style

    font = cjk_font()
    title_style = ParagraphStyle("title", fontName=font, fontSize=16, leading=22)
    heading = ParagraphStyle("heading", fontName=font, fontSize=12, leading=18, spaceBefore=8)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=landscape(A4), title=f"{report.title} {report.month}")
    story: list[Any] = [
        Paragraph(f"{report.title} {report.month}", title_style),
        Paragraph(f"{_('Generated at')} {timezone.localtime():%Y-%m-%d %H:%M}", body),
    ]
    for section in report.sections:
        story.append(Paragraph(section.title, heading))
        data = [[Paragraph(str(h), body) for h in section.headers]]
        data += [[Paragraph(str(_cell(v)), body) for v in row] for row in section.rows]
        table = Table(data, repeatRows=1)
        table.setStyle(grid_style())
        story += [table, Spacer(1, 6)]
    document.build(story)
    return buffer.getvalue()


def render(code: str, month: str, fmt: str) -> bytes:
    report = build(code, month)
    return to_xlsx(report) if fmt == "xlsx" else to_pdf(report)


def filename(code: str, month: str, fmt: str) -> str:
    return f"service-{code}-{month}.{fmt}"


def write_all(month: str, folder: Path | None = None) -> list[Path]:
    """Every report of the month in both formats into ``folder`` (default ``<var>/reports/service/<month>``)."""
    folder = folder or Path(settings.VAR_DIR) / "reports" / "service" / month
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for code in REPORTS:
        report = build(code, month)
        for fmt, data in (("xlsx", to_xlsx(report)), ("pdf", to_pdf(report))):
            path = folder / filename(code, month, fmt)
            path.write_bytes(data)
            written.append(path)
    return written
