"""Excel import (批量导入) of customers + accounts + service points (+ their meters), and of meter stock.

Every row is validated first and **all** errors are reported (row number, column, reason) as a downloadable
Excel sheet; nothing is imported unless the whole file is valid. A valid file is written in one transaction
with bulk inserts (COPY on PostgreSQL) and one audit row per account / meter via ``audit.bulk_record``.

The file format is one sheet, one row per service point (用电地址); rows with the same 户号 share the account,
rows with the same 客户编号 (or the same ID number) share the customer. See docs/customers.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

from gridcare.core.collector import gc_paused
from gridcare.web.excel import XLSX_CONTENT_TYPE, attachment, build_workbook

MAX_ERRORS = 100_000


# ---------------------------------------------------------------------------------------------- columns
@dataclass(frozen=True)
class Column:
    """One column of an import sheet: its Chinese header, type and whether it must be filled."""

    key: str
    header: str
    kind: str = "text"  # text | choice | bool | decimal | int | date | list
    required: bool = False
    choices: Any = None  # a TextChoices class or a {label: value} mapping
    example: Any = ""
    help: str = ""
    max_length: int | None = None

    def choice_map(self) -> dict[str, Any]:
        """Accepted spellings → stored value: the code, the Chinese label and the English label."""
        if isinstance(self.choices, dict):
            return {str(k): v for k, v in self.choices.items()}
        mapping: dict[str, Any] = {}
        for value, label in self.choices.choices:
            mapping[str(value)] = value
            for language in ("en", "zh-hans"):
                with translation.override(language):
                    mapping[str(label)] = value
        return mapping


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str


@dataclass
class ImportResult:
    created: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    error_token: str = ""


TRUE_WORDS = {"是", "y", "yes", "true", "1", "√"}
FALSE_WORDS = {"否", "n", "no", "false", "0", ""}


def parse_cell(column: Column, raw: Any, choice_map: dict[str, Any] | None) -> tuple[Any, str | None]:
    """(value, error) of one cell."""
    if isinstance(raw, str):
        raw = raw.strip()
    elif type(raw) is float and raw.is_integer():
        raw = int(raw)  # a whole number in a numeric cell (readers give every number as a float)
    if raw is None or raw == "":
        if column.required:
            return None, "必填。 (Required.)"
        return (False if column.kind == "bool" else [] if column.kind == "list" else None), None
    kind = column.kind
    if kind == "text":
        if isinstance(raw, dt.datetime) and raw.time() == dt.time():
            raw = raw.date()  # a date cell in a text column: its ISO date, not "… 00:00:00"
        text = str(raw)
        if column.max_length and len(text) > column.max_length:
            return None, f"最多 {column.max_length} 个字符。 (At most {column.max_length} characters.)"
        return text, None
    if kind == "choice":
        key = str(raw)
        if choice_map is not None and key in choice_map:
            return choice_map[key], None
        allowed = "、".join(
            sorted({k for k in (choice_map or {}) if not k.isascii()} or set(choice_map or {}))
        )
        return None, f"「{key}」不是允许的值（{allowed}）。 (Not an allowed value.)"
    if kind == "bool":
        word = str(raw).lower()
        if raw is True or word in TRUE_WORDS:
            return True, None
        if raw is False or word in FALSE_WORDS:
            return False, None
        return None, f"「{raw}」应为 是 或 否。 (Yes or no.)"
    if kind == "decimal":
        try:
            value = Decimal(str(raw))
        except (InvalidOperation, ValueError):
            return None, f"「{raw}」不是数值。 (Not a number.)"
        return (value, None) if value.is_finite() else (None, f"「{raw}」不是数值。 (Not a number.)")
    if kind == "int":
        try:
            value = Decimal(str(raw))
        except (InvalidOperation, ValueError):
            return None, f"「{raw}」不是整数。 (Not a whole number.)"
        if not value.is_finite() or value != value.to_integral_value():
            return None, f"「{raw}」不是整数。 (Not a whole number.)"
        return int(value), None
    if kind == "date":
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and 1 <= raw < 2_958_466:
            return dt.date(1899, 12, 30) + dt.timedelta(days=int(raw)), None  # an Excel serial date
        if isinstance(raw, dt.datetime):
            return raw.date(), None
        if isinstance(raw, dt.date):
            return raw, None
        try:
            return dt.date.fromisoformat(str(raw).replace("/", "-")), None
        except ValueError:
            return None, f"「{raw}」不是 YYYY-MM-DD 格式的日期。 (Not a YYYY-MM-DD date.)"
    if kind == "list":
        parts = [p.strip() for p in str(raw).replace("，", ",").split(",") if p.strip()]
        values = []
        for part in parts:
            if choice_map is not None and part in choice_map:
                values.append(choice_map[part])
            else:
                return None, f"「{part}」不是允许的值。 (Not an allowed value.)"
        return values, None
    raise ValueError(kind)


# ---------------------------------------------------------------------------------------------- importers
class Importer:
    """Base of an import kind: columns, cross-row/database validation and the bulk write."""

    kind = ""
    title = ""
    permission = ""
    columns: Sequence[Column] = ()

    def __init__(self, actor: Any) -> None:
        self.actor = actor
        self.errors: list[RowError] = []

    def error(self, row: int, key: str, reason: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            headers = self.__dict__.get("_headers")
            if headers is None:  # built once: ``columns`` may be a property that builds the list anew
                headers = self.__dict__["_headers"] = {}
                for column in self.columns:
                    headers.setdefault(column.key, column.header)
            self.errors.append(RowError(row, headers.get(key, key), reason))

    def check(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        """Cross-row and database checks; record errors with :meth:`error`."""
        raise NotImplementedError

    def write(self) -> dict[str, int]:
        """Write everything checked (called inside the import action's transaction)."""
        raise NotImplementedError


def importer_for(kind: str, actor: Any) -> Importer:
    from gridcare.customers.importers import CustomerImporter
    from gridcare.metering.importing import MeterImporter
    from gridcare.readings.importing import ReadingImporter

    kinds: dict[str, Callable[[Any], Importer]] = {
        "customers": CustomerImporter,
        "meters": MeterImporter,
        "readings": ReadingImporter,
    }
    if kind not in kinds:
        from gridcare.core.errors import InvalidInput

        raise InvalidInput({"kind": f"未知的导入类型「{kind}」。 (Unknown import kind.)"})
    return kinds[kind](actor)


Positions = list[tuple[int, "Column", dict[str, Any] | None]]


def sheet_lines(data: bytes, sheet: int = 0) -> list[list[Any]]:
    """Every row of the first (or ``sheet``-th) sheet from row 1 and column A, read by python-calamine (Rust ``calamine``).

    Empty cells are ``""``; numbers arrive as ``float`` (or ``int``), date cells as ``date``/``datetime``,
    booleans as ``bool``; formulas give their cached value. .xlsx, .xlsm, .xlsb, .xls and .ods are read, and a
    UTF-8 CSV file (every cell a string) as its one sheet.
    """
    if not data.startswith((b"PK", b"\xd0\xcf")):  # neither a zip (xlsx, ods) nor an OLE file (xls)
        text = data.decode("utf-8-sig")  # anything else that is not UTF-8 text is refused as unreadable
        return [list(row) for row in csv.reader(io.StringIO(text))]
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    try:
        return workbook.get_sheet_by_index(sheet).to_python(skip_empty_area=False)
    finally:
        workbook.close()


def _is_empty(line: Sequence[Any]) -> bool:
    for value in line:  # stops at the first filled cell, usually the first or second
        if value is None or value == "" or (type(value) is str and not value.strip()):
            continue
        return False
    return True


def _convert_column(
    column: Column,
    choices: dict[str, Any] | None,
    cells: Sequence[Any],
    numbers: Sequence[int],
    problems: list[tuple[int, str, str]],
) -> list[Any]:
    """The parsed values of one column (all rows at once); cell errors are appended to ``problems``.

    The common cases — filled text, a known choice, an empty optional cell — skip the general parser; other
    text cells of a column are parsed once per distinct value (dates, numbers and words repeat a lot).
    """
    kind, key, limit, required = column.kind, column.key, column.max_length, column.required
    empty: Any = False if kind == "bool" else None
    memo: dict[str, tuple[Any, str | None]] = {}  # text → parse_cell(text): it is a pure function
    values: list[Any] = []
    append = values.append
    for number, raw in zip(numbers, cells, strict=True):
        if type(raw) is str:
            text = raw.strip()
            if not text:
                if not required and kind != "list":
                    append(empty)
                    continue
            elif kind == "text":
                if limit is None or len(text) <= limit:
                    append(text)
                    continue
            elif choices is not None and kind == "choice" and text in choices:
                append(choices[text])
                continue
            found = memo.get(text)
            if found is None:
                found = memo[text] = parse_cell(column, text, choices)
            value, problem = found
            if kind == "list":
                value = list(value)  # each row its own list
        elif raw is None and not required and kind != "list":
            append(empty)
            continue
        else:
            value, problem = parse_cell(column, raw, choices)
        if problem:
            problems.append((number, key, problem))
        append(value)
    return values


def convert_rows(
    lines: Sequence[Sequence[Any]], first_number: int, positions: Positions
) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str, str]]]:
    """Sheet rows (the first numbered ``first_number``) → (row number, {column key: value}) for every row
    with a filled cell, and the cell errors as (row number, column key, reason) in row, then column order.

    Converted column by column: each column's kind is looked at once, not once per cell.
    """
    numbers: list[int] = []
    kept: list[Sequence[Any]] = []
    for offset, line in enumerate(lines):
        if line and not _is_empty(line):
            numbers.append(first_number + offset)
            kept.append(line)
    if not kept:
        return [], []
    width = max(len(line) for line in kept)
    if any(len(line) != width for line in kept):
        kept = [(*line, *[None] * (width - len(line))) for line in kept]
    cells_of = list(zip(*kept, strict=True))
    problems: list[tuple[int, str, str]] = []
    keys: list[str] = []
    columns: list[list[Any]] = []
    for index, column, choices in positions:
        cells = cells_of[index] if index < width else [None] * len(kept)
        keys.append(column.key)
        columns.append(_convert_column(column, choices, cells, numbers, problems))
    rows = [
        (n, dict(zip(keys, values, strict=True)))
        for n, values in zip(numbers, zip(*columns, strict=True), strict=True)
    ]
    problems.sort(key=lambda problem: problem[0])  # stable: within a row, column order
    return rows, problems


def read_rows(
    importer: Importer, source: IO[bytes] | bytes, sheet: int = 0
) -> list[tuple[int, dict[str, Any]]]:
    """Parse the first (or ``sheet``-th) sheet: map headers to columns, parse every cell, skip empty rows; record
    errors.

    The header is the first row with a filled cell; rows are numbered as in Excel.
    """
    data = source if isinstance(source, bytes) else source.read()
    with gc_paused():
        return _read_rows(importer, data, sheet) if sheet else _read_rows(importer, data)


def _read_rows(importer: Importer, data: bytes, sheet: int = 0) -> list[tuple[int, dict[str, Any]]]:
    try:
        lines = sheet_lines(data, sheet)
    except Exception:  # calamine's errors (zip, XML, unknown format, password) and anything unexpected
        importer.errors.append(
            RowError(1, "—", "无法读取文件，请使用下载的 Excel 模板 (.xlsx)。 (Not a readable .xlsx file.)")
        )
        return []
    top = next((index for index, line in enumerate(lines) if not _is_empty(line)), len(lines))
    header = lines[top] if top < len(lines) else []
    by_header = {c.header: c for c in importer.columns}
    positions: Positions = []
    seen = set()
    for index, title in enumerate(header):
        column = by_header.get(str(title or "").strip())
        if column is not None:
            positions.append((index, column, column.choice_map() if column.choices is not None else None))
            seen.add(column.key)
    missing = [c.header for c in importer.columns if c.required and c.key not in seen]
    for name in missing:
        importer.errors.append(
            RowError(1, name, "缺少此列，请使用下载的模板。 (Column missing: use the template.)")
        )
    if missing:
        return []
    rows, problems = convert_rows(lines[top + 1 :], top + 2, positions)
    for number, key, problem in problems:
        importer.error(number, key, problem)
    if not rows and not importer.errors:
        importer.errors.append(RowError(2, "—", "文件中没有数据行。 (The file has no data rows.)"))
    return rows


def run_import(actor: Any, kind: str, source: IO[bytes] | bytes) -> ImportResult:
    """Validate the whole file; if (and only if) every row is valid, write it in one audited transaction."""
    from gridcare.core.access import require_perm

    importer = importer_for(kind, actor)
    require_perm(actor, importer.permission)
    rows = read_rows(importer, source)
    if rows:  # cross-row and database checks run even after cell errors, so every error is reported at once
        importer.check(rows)
    if importer.errors:
        importer.errors.sort(key=lambda e: e.row)
        return ImportResult(errors=importer.errors, error_token=save_error_sheet(actor, importer.errors))
    from gridcare.customers.actions import do_import

    return ImportResult(created=do_import(actor, importer=importer, rows=len(rows)))


# ---------------------------------------------------------------------------------------------- sheets
def template_workbook(importer: Importer, *more: Importer) -> bytes:
    """The downloadable template: per importer (one sheet each, in order) headers and one example row, then a
    sheet explaining each column."""
    workbook = Workbook()
    importers = (importer, *more)
    for number, each in enumerate(importers):
        sheet = (
            workbook.worksheets[0] if number == 0 else workbook.create_sheet()
        )  # the first: the active one
        sheet.title = each.title[:31]
        sheet.append([c.header for c in each.columns])
        sheet.append([c.example for c in each.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for index, column in enumerate(each.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(10, len(column.header) * 2 + 2)
    notes = workbook.create_sheet("说明")
    notes.append(["列", "必填", "允许的值 / 格式", "说明 (English)"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for sheet_importer, column in ((i, c) for i in importers for c in i.columns):
        if column.choices is not None:
            labels = sorted({k for k in column.choice_map() if not k.isascii()})
            allowed = "、".join(labels) if labels else "、".join(column.choice_map())
            if column.kind == "list":
                allowed += "（多个用逗号分隔）"
        else:
            allowed = {"bool": "是 / 否", "decimal": "数值", "int": "整数", "date": "YYYY-MM-DD"}.get(
                column.kind, "文本"
            )
        header = column.header if not more else f"{sheet_importer.title} · {column.header}"
        notes.append([header, "是" if column.required else "", allowed, column.help])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_response(kind: str) -> HttpResponse:
    importer = importer_for(kind, None)
    response = HttpResponse(template_workbook(importer), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = attachment(
        gettext("%(title)s template") % {"title": importer.title} + ".xlsx"
        if importer.title
        else f"import-template-{kind}.xlsx",
        f"import-template-{kind}.xlsx",
    )
    return response


def _error_dir() -> Path:
    path = Path(settings.VAR_DIR if hasattr(settings, "VAR_DIR") else ".") / "import-errors"
    path.mkdir(parents=True, exist_ok=True)
    return path


def error_rows(errors: Iterable[RowError]) -> Iterator[list[Any]]:
    for error in errors:
        yield [error.row, error.column, error.reason]


def save_error_sheet(actor: Any, errors: list[RowError]) -> str:
    """Keep the error sheet for download by the same person; returns its token."""
    token = f"{getattr(actor, 'pk', 0)}-{uuid.uuid4().hex}"
    content = build_workbook("导入错误", ["行号 (row)", "列 (column)", "原因 (reason)"], error_rows(errors))
    (_error_dir() / f"{token}.xlsx").write_bytes(content)
    return token


def error_sheet_path(actor: Any, token: str) -> Path | None:
    """The saved error sheet if ``token`` belongs to ``actor``."""
    owner, _sep, rest = token.partition("-")
    if owner != str(getattr(actor, "pk", "")) or not rest.isalnum():
        return None
    path = _error_dir() / f"{token}.xlsx"
    return path if path.exists() else None
