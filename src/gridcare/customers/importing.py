"""Excel import (批量导入) of customers + accounts + service points (+ their meters), and of meter stock.

Every row is validated first and **all** errors are reported (row number, column, reason) as a downloadable
Excel sheet; nothing is imported unless the whole file is valid. A valid file is written in one transaction
with bulk inserts (COPY on PostgreSQL) and one audit row per account / meter via ``audit.bulk_record``.

The file format is one sheet, one row per service point (用电地址); rows with the same 户号 share the account,
rows with the same 客户编号 (or the same ID number) share the customer. See docs/customers.md.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import multiprocessing
import os
import re
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.http import HttpResponse
from django.utils import translation
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from gridcare.web.excel import XLSX_CONTENT_TYPE, build_workbook

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
    if raw is None or raw == "":
        if column.required:
            return None, "必填。 (Required.)"
        return (False if column.kind == "bool" else [] if column.kind == "list" else None), None
    kind = column.kind
    if kind == "text":
        text = str(int(raw)) if isinstance(raw, float) and raw.is_integer() else str(raw)
        if column.max_length and len(text) > column.max_length:
            return None, f"最多 {column.max_length} 个字符。 (At most {column.max_length} characters.)"
        return text, None
    if kind == "choice":
        key = str(int(raw)) if isinstance(raw, float) and raw.is_integer() else str(raw)
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
        header = next((c.header for c in self.columns if c.key == key), key)
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(row, header, reason))

    def check(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        """Cross-row and database checks; record errors with :meth:`error`."""
        raise NotImplementedError

    def write(self) -> dict[str, int]:
        """Write everything checked (called inside the import action's transaction)."""
        raise NotImplementedError


def importer_for(kind: str, actor: Any) -> Importer:
    from gridcare.customers.importers import CustomerImporter
    from gridcare.metering.importing import MeterImporter

    kinds: dict[str, Callable[[Any], Importer]] = {"customers": CustomerImporter, "meters": MeterImporter}
    if kind not in kinds:
        from gridcare.core.errors import InvalidInput

        raise InvalidInput({"kind": f"未知的导入类型「{kind}」。 (Unknown import kind.)"})
    return kinds[kind](actor)


Positions = list[tuple[int, "Column", dict[str, Any] | None]]
PARALLEL_MIN_BYTES = 4_000_000
_FORKED: tuple[bytes, list[str], Positions] | None = None


def convert_row(
    number: int, line: tuple[Any, ...], positions: Positions, problems: list[tuple[int, str, str]]
) -> dict[str, Any] | None:
    """One sheet row → {column key: parsed value}; cell errors are appended to ``problems``; None if empty."""
    if not line or all(v is None or (isinstance(v, str) and not v.strip()) for v in line):
        return None
    values: dict[str, Any] = {}
    for index, column, choices in positions:
        raw = line[index] if index < len(line) else None
        if column.kind == "text" and type(raw) is str:  # the common case, without the general parser
            raw = raw.strip()
            if raw and (column.max_length is None or len(raw) <= column.max_length):
                values[column.key] = raw
                continue
        value, problem = parse_cell(column, raw, choices)
        if problem:
            problems.append((number, column.key, problem))
        values[column.key] = value
    return values


def _convert_slice(
    bounds: tuple[int, int, int],
) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str, str]]]:
    """Worker (forked): parse and convert the rows in one byte range of the sheet XML."""
    assert _FORKED is not None
    xml, shared, positions = _FORKED
    start, end, previous = bounds
    rows: list[tuple[int, dict[str, Any]]] = []
    problems: list[tuple[int, str, str]] = []
    for number, line in _sheet_rows(xml[start:end], shared, previous):
        values = convert_row(number, line, positions, problems)
        if values is not None:
            rows.append((number, values))
    return rows, problems


def _parallel_rows(
    xml: bytes, shared: list[str], positions: Positions, after_header: int
) -> tuple[list, list] | None:
    """Large sheets: convert row ranges in one process per core (fork); None where that is not possible."""
    global _FORKED
    workers = min(os.cpu_count() or 1, 4)
    if workers < 2 or len(xml) < PARALLEL_MIN_BYTES or "fork" not in multiprocessing.get_all_start_methods():
        return None
    cuts = [after_header]
    step = (len(xml) - after_header) // workers
    for part in range(1, workers):
        cut = xml.find(b"</row>", after_header + part * step)
        if cut < 0:
            break
        cuts.append(cut + len(b"</row>"))
    cuts.append(len(xml))
    bounds = [(cuts[i], cuts[i + 1], 0) for i in range(len(cuts) - 1)]
    _FORKED = (xml, shared, positions)
    try:
        with multiprocessing.get_context("fork").Pool(len(bounds)) as pool:
            parts = pool.map(_convert_slice, bounds)
    finally:
        _FORKED = None
    rows = [row for part_rows, _problems in parts for row in part_rows]
    problems = [problem for _rows, part_problems in parts for problem in part_problems]
    return rows, problems


def read_rows(importer: Importer, source: IO[bytes] | bytes) -> list[tuple[int, dict[str, Any]]]:
    """Parse the first sheet: map headers to columns, parse every cell, skip empty rows; record errors.

    Large sheets are converted by one forked process per core (the other core is idle while a file is read).
    """
    data = source if isinstance(source, bytes) else source.read()
    xml: bytes | None = None
    try:
        xml, shared = xlsx_parts(data)
        lines: Iterator[tuple[int, tuple[Any, ...]]] = _sheet_rows(xml, shared)
        first = next(lines, None)
    except Exception:
        xml = None
        try:  # not what the fast reader expects: let openpyxl try
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            lines = enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1)
            first = next(lines, None)
        except Exception:
            importer.errors.append(
                RowError(
                    1, "—", "无法读取文件，请使用下载的 Excel 模板 (.xlsx)。 (Not a readable .xlsx file.)"
                )
            )
            return []
    header = first[1] if first else ()
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
    parallel = None
    if xml is not None:
        header_end = xml.find(b"</row>")
        parallel = (
            _parallel_rows(xml, shared, positions, header_end + len(b"</row>")) if header_end >= 0 else None
        )
    if parallel is not None:
        rows, problems = parallel
    else:
        rows, problems = [], []
        for number, line in lines:
            values = convert_row(number, line, positions, problems)
            if values is not None:
                rows.append((number, values))
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
def template_workbook(importer: Importer) -> bytes:
    """The downloadable template: headers, one example row, and a sheet explaining each column."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = importer.title[:31]
    sheet.append([c.header for c in importer.columns])
    sheet.append([c.example for c in importer.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, column in enumerate(importer.columns, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = max(
            10, len(column.header) * 2 + 2
        )
    notes = workbook.create_sheet("说明")
    notes.append(["列", "必填", "允许的值 / 格式", "说明 (English)"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for column in importer.columns:
        if column.choices is not None:
            labels = sorted({k for k in column.choice_map() if not k.isascii()})
            allowed = "、".join(labels) if labels else "、".join(column.choice_map())
            if column.kind == "list":
                allowed += "（多个用逗号分隔）"
        else:
            allowed = {"bool": "是 / 否", "decimal": "数值", "int": "整数", "date": "YYYY-MM-DD"}.get(
                column.kind, "文本"
            )
        notes.append([column.header, "是" if column.required else "", allowed, column.help])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_response(kind: str) -> HttpResponse:
    importer = importer_for(kind, None)
    response = HttpResponse(template_workbook(importer), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="import-template-{kind}.xlsx"'
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


# ---------------------------------------------------------------------------------------------- fast reader
_ROW_RE = re.compile(rb"<row\b([^>]*)>(.*?)</row>", re.S)
_ROW_NUMBER_RE = re.compile(rb'\br="(\d+)"')
_CELL_RE = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_V_RE = re.compile(rb"<v>(.*?)</v>", re.S)
_T_RE = re.compile(rb"<t\b[^>]*>(.*?)</t>", re.S)
_SI_RE = re.compile(rb"<si>(.*?)</si>", re.S)
_RPH_RE = re.compile(rb"<rPh\b.*?</rPh>", re.S)
_DIGITS = frozenset(b"0123456789")


def _column_index(letters: bytes) -> int:
    index = 0
    for char in letters:
        index = index * 26 + (char - 64)
    return index - 1


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8")
    return html.unescape(text) if "&" in text else text


def xlsx_parts(data: bytes) -> tuple[bytes, list[str]]:
    """The first sheet's XML and the shared strings of an .xlsx file."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        shared: list[str] = []
        if "xl/sharedStrings.xml" in names:
            xml = _RPH_RE.sub(b"", archive.read("xl/sharedStrings.xml"))
            shared = [_text(b"".join(_T_RE.findall(si))) for si in _SI_RE.findall(xml)]
        return archive.read(_first_sheet_path(archive, names)), shared


def xlsx_rows(data: bytes) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """The first sheet's rows as (row number, cell values), read straight from the XML (≈ 5× openpyxl).

    Handles shared and inline strings, numbers and booleans — what Excel, WPS and openpyxl write. Dates
    arrive as Excel serial numbers; :func:`parse_cell` converts them for date columns.
    """
    xml, shared = xlsx_parts(data)
    yield from _sheet_rows(xml, shared)


def _sheet_rows(xml: bytes, shared: list[str], previous: int = 0) -> Iterator[tuple[int, tuple[Any, ...]]]:
    for attrs, row in _ROW_RE.findall(xml):
        found_number = _ROW_NUMBER_RE.search(attrs)
        previous = int(found_number.group(1)) if found_number else previous + 1
        values: list[Any] = []
        for cell_attrs, body in _CELL_RE.findall(row):
            at = cell_attrs.find(b'r="')
            if at >= 0:
                end = at + 3
                while cell_attrs[end] not in _DIGITS:
                    end += 1
                position = _column_index(cell_attrs[at + 3 : end])
                if position > len(values):
                    values.extend([None] * (position - len(values)))
            if b't="inlineStr"' in cell_attrs:
                values.append(_text(b"".join(_T_RE.findall(body))))
                continue
            if body.startswith(b"<v>"):
                raw = body[3 : body.index(b"</v>")]
            else:
                found = _V_RE.search(body)
                if found is None:
                    values.append(None)
                    continue
                raw = found.group(1)
            if b't="s"' in cell_attrs:
                values.append(shared[int(raw)])
            elif b't="b"' in cell_attrs:
                values.append(raw == b"1")
            elif b't="str"' in cell_attrs or b't="e"' in cell_attrs:
                values.append(_text(raw))
            else:
                values.append(int(raw) if raw.lstrip(b"-").isdigit() else float(raw))
        yield previous, tuple(values)


def _first_sheet_path(archive: zipfile.ZipFile, names: set[str]) -> str:
    """The part name of the workbook's first sheet (usually xl/worksheets/sheet1.xml)."""
    workbook = archive.read("xl/workbook.xml")
    first = re.search(rb'<sheet\b[^>]*?r:id="([^"]+)"', workbook)
    if first and "xl/_rels/workbook.xml.rels" in names:
        rels = archive.read("xl/_rels/workbook.xml.rels")
        for rel in re.finditer(rb"<Relationship\b[^>]*>", rels):
            tag = rel.group(0)
            if re.search(rb'Id="' + re.escape(first.group(1)) + rb'"', tag):
                target = re.search(rb'Target="([^"]+)"', tag).group(1).decode()  # type: ignore[union-attr]
                return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return "xl/worksheets/sheet1.xml"
