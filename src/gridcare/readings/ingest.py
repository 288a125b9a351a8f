"""``gridcare readings ingest FILE…`` — interval files (CSV, Parquet) into the interval store, with a progress bar
and a summary; files of register reads (the columns of the reading sheet, :mod:`gridcare.readings.importing`) go
to the register-read import instead.

Interval files have the columns ``meter`` (asset number), ``ts`` (interval start; local time unless it carries
an offset), ``kwh`` and optionally ``kw``, ``kvarh`` (or the Chinese headers of :data:`HEADERS`). A file is cut
into batches of whole meters (``FILE_BATCH_READS`` reads): each is one audited
:func:`~gridcare.readings.actions.intervals.do_ingest_intervals`, and a meter's reads stay together so its spike
baseline and its duplicates are judged on all of them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs published

from gridcare.core.errors import InvalidInput
from gridcare.customers.importing import run_import
from gridcare.org.models import User
from gridcare.readings.actions.intervals import IntervalBatch, do_ingest_intervals
from gridcare.readings.importing import ReadingImporter
from gridcare.readings.store import interval_conf

#: Chinese headers head-end exports use, by column
HEADERS = {
    "电能表资产号": "meter",
    "表计资产号": "meter",
    "数据时间": "ts",
    "时间": "ts",
    "有功电量": "kwh",
    "电量": "kwh",
    "有功功率": "kw",
    "无功电量": "kvarh",
}
INTERVAL_COLUMNS = ("meter", "ts", "kwh", "kw", "kvarh")
#: how many rejected records the summary lists per file
SHOWN_REJECTIONS = 10


@dataclass
class FileSummary:
    """What ingesting one file did."""

    path: str
    kind: str  # "intervals" | "register_reads" | "unreadable"
    records: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        name = Path(self.path).name
        if self.kind == "unreadable":
            return [f"{name}: 无法导入 (not ingested) — {self.problems[0] if self.problems else ''}"]
        if self.kind == "register_reads":
            head = f"{name}: 抄表示数 (register reads) {self.records:,} 行 — " + ", ".join(
                f"{k} {v:,}" for k, v in sorted(self.counts.items())
            )
            return [head, *self.problems]
        c = self.counts
        return [
            f"{name}: 负荷曲线 (interval reads) {self.records:,} 条 — 写入 written {c.get('written', 0):,}, "
            f"重复 duplicates {c.get('duplicates', 0):,}, 拒收 rejected {c.get('rejected', 0):,}, "
            f"冲突 conflicts {c.get('conflicts', 0):,}, 表计日 meter-days {c.get('meter_days', 0):,} "
            f"(有异常 with problems {c.get('meter_days_with_problems', 0):,})",
            *self.problems,
        ]


def _columns(path: Path) -> list[str]:
    if path.suffix.lower() == ".parquet":
        return list(pl.read_parquet_schema(path))
    return pl.read_csv(path, n_rows=0, infer_schema=False).columns


def _register_headers() -> dict[str, str]:
    """The reading sheet's headers and keys (both accepted in a file of register reads)."""
    headers = {c.header: c.key for c in ReadingImporter.columns}
    return {**headers, **{c.key: c.key for c in ReadingImporter.columns}}


def file_kind(path: Path) -> str:
    """``intervals`` or ``register_reads`` from the file's columns (InvalidInput if neither)."""
    columns = [str(c).strip() for c in _columns(path)]
    named = {HEADERS.get(c, c) for c in columns}
    if {"meter", "ts", "kwh"} <= named:
        return "intervals"
    registers = {_register_headers().get(c) for c in columns}
    if {"meter", "register", "read_at"} <= registers:
        return "register_reads"
    raise InvalidInput(
        {
            "columns": "既不是负荷曲线（meter, ts, kwh）也不是抄表示数（电能表资产号, 计度器, 抄表时间, 示数）。 "
            "(Neither interval reads nor register reads.)"
        }
    )


def _read_intervals(path: Path) -> pl.DataFrame:
    if path.suffix.lower() == ".parquet":
        frame = pl.read_parquet(path)
    else:
        frame = pl.read_csv(path, infer_schema=False)
    frame = frame.rename({c: HEADERS[c.strip()] for c in frame.columns if c.strip() in HEADERS})
    return frame.select([c for c in INTERVAL_COLUMNS if c in frame.columns])


def _batches(frame: pl.DataFrame, size: int) -> list[pl.DataFrame]:
    """Whole meters per batch, about ``size`` reads each (a meter with more reads is a batch of its own)."""
    per_meter = frame.group_by("meter", maintain_order=True).len()
    groups: list[list[Any]] = [[]]
    filled = 0
    for meter, count in per_meter.iter_rows():
        if filled and filled + count > size:
            groups.append([])
            filled = 0
        groups[-1].append(meter)
        filled += count
    if len(groups) == 1:
        return [frame]
    return [frame.filter(pl.col("meter").is_in(group)) for group in groups]


def _ingest_intervals(actor: User, path: Path, advance: Callable[[int], Any]) -> FileSummary:
    frame = _read_intervals(path).with_columns(pl.col("meter").cast(pl.String))
    lines = frame.with_row_index("line", offset=2 if path.suffix.lower() == ".csv" else 1)
    summary = FileSummary(str(path), "intervals", records=frame.height)
    totals: dict[str, int] = {}
    for batch in _batches(lines, int(interval_conf("FILE_BATCH_READS"))):
        result: IntervalBatch = do_ingest_intervals(actor, batch.drop("line"), source="file", name=path.name)
        for key, value in result.counts().items():
            totals[key] = totals.get(key, 0) + value
        numbers = batch.get_column("line")
        for rejected in result.rejected:
            if len(summary.problems) < SHOWN_REJECTIONS:
                summary.problems.append(f"  第 {numbers[rejected['row']]} 行 (line): {rejected['reason']}")
        advance(batch.height)
    summary.counts = totals
    return summary


def _ingest_register_reads(actor: User, path: Path) -> FileSummary:
    """The register-read import (all rows valid or nothing written, like the screen's import)."""
    if path.suffix.lower() == ".parquet":
        headers = {c.key: c.header for c in ReadingImporter.columns}
        frame = pl.read_parquet(path)
        frame = frame.rename({c: headers[c] for c in frame.columns if c in headers})
        buffer = io.BytesIO()
        frame.write_csv(buffer)
        data = buffer.getvalue()
    else:
        data = path.read_bytes()
    result = run_import(actor, "readings", data)
    summary = FileSummary(str(path), "register_reads", records=max(0, len(data.splitlines()) - 1))
    summary.counts = dict(result.created or {})
    summary.problems = [f"  第 {e.row} 行 {e.column}: {e.reason}" for e in result.errors[:SHOWN_REJECTIONS]]
    return summary


def ingest_files(
    actor: User, paths: Sequence[str | Path], *, progress: bool = True, out: Any = None
) -> list[FileSummary]:
    """Ingest each file (interval reads into the store, register reads through their import) and summarise.

    The progress bar counts interval reads across all files (``tqdm``, on ``out`` or stderr)."""
    files = [Path(p) for p in paths]
    summaries: list[FileSummary] = []
    kinds: dict[Path, str] = {}
    for path in files:
        try:
            if not path.is_file():
                raise InvalidInput({"file": "文件不存在。 (No such file.)"})
            kinds[path] = file_kind(path)
        except (InvalidInput, pl.exceptions.PolarsError, OSError) as exc:
            summaries.append(FileSummary(str(path), "unreadable", problems=[_message(exc)]))
    total = sum(_rows(path) for path, kind in kinds.items() if kind == "intervals")
    with tqdm(
        total=total, unit=" reads", unit_scale=True, disable=not progress, file=out, desc="负荷曲线 ingest"
    ) as bar:
        for path, kind in kinds.items():
            try:
                if kind == "intervals":
                    summaries.append(_ingest_intervals(actor, path, bar.update))
                else:
                    summaries.append(_ingest_register_reads(actor, path))
            except (InvalidInput, pl.exceptions.PolarsError) as exc:
                summaries.append(FileSummary(str(path), "unreadable", problems=[_message(exc)]))
    order = {str(p): i for i, p in enumerate(files)}
    return sorted(summaries, key=lambda s: order.get(s.path, 0))


def _rows(path: Path) -> int:
    if path.suffix.lower() == ".parquet":
        return int(pl.scan_parquet(path).select(pl.len()).collect().item())
    return int(pl.scan_csv(path, infer_schema=False).select(pl.len()).collect().item())


def _message(exc: Exception) -> str:
    if isinstance(exc, InvalidInput):
        return exc.message
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
