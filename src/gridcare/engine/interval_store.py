"""Interval data store (负荷曲线 / 采集数据): 15-minute reads in a hive-partitioned Parquet dataset.

Why Parquet files rather than database rows: a utility's AMI produces ~35,000 reads per meter and year;
a billion reads an hour must be ingested and scanned by column.  The dataset is plain files, so DuckDB
(here), Polars, Spark or Dask read the same bytes on a local disk or on object storage.

Layout (``root/month=2026-11/bucket=07/part-<uuid>.parquet``)
-------------------------------------------------------------
* ``month`` — the **local** (Asia/Shanghai) month of the interval start: billing months are local;
* ``bucket`` — ``meter mod buckets`` (default 16), two digits, so one month of one bucket is a few files;
* ``part-<uuid4>`` — every write creates new files with a random name: the store is append-only and two
  writers can never overwrite each other's files.

Columns (standard Arrow / Parquet types, read by every engine without a plug-in)
--------------------------------------------------------------------------------
* ``meter`` int64 — the metering point id (the account's interval meter);
* ``ts`` timestamp[ms, tz=UTC] — interval **start**, a UTC instant (DESIGN §2.7: stored in UTC); local
  time is China Standard Time, UTC+08:00 all year (no daylight saving since 1991), which is what
  :data:`UTC_OFFSET_MS` encodes for the vectorised day and month arithmetic;
* ``kwh`` decimal(18, 3), stored as Parquet INT64 — exact to 1 Wh like every engine quantity
  (:data:`~gridcare.engine.money.QTY_DEC`): totals are exact in any engine and do not depend on the
  summation order as float64 sums would; the column is the engine's scaled int64 reinterpreted, so
  writing it costs no conversion;
* ``kw``, ``kvarh`` decimal(18, 3), nullable — optional demand and reactive energy.

Ingest checks
-------------
Per record (rejected with a reason, nothing else changes): missing or non-numeric values, NaN, negative
values, a timestamp not on the interval grid or in the future.  Duplicates of the same (meter, ts) with the
same kWh — in the batch or already stored — are dropped as harmless; with a different kWh they are
**conflicts**: reported, and neither value is written over the other.  Per meter-day: received vs expected
intervals (gaps), duplicates, conflicts, rejected records and spikes (kWh above ``spike_factor`` × a
high percentile of the meter's reads in the batch, or above its capacity × interval length).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]  # no stubs published
import pyarrow.dataset as ds  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from gridcare.engine.arrays import Int64Array
from gridcare.engine.columns import column_problem
from gridcare.engine.interval import default_day_type
from gridcare.engine.money import QTY_DEC
from gridcare.engine.tariff import DAY_TYPES, PERIODS, TouSchedule

__all__ = [
    "DEFAULT_BUCKETS",
    "INPUT_COLUMNS",
    "SCHEMA",
    "IngestResult",
    "IntervalError",
    "IntervalStore",
]

DEFAULT_BUCKETS = 16
STEP_MINUTES = 15
UTC_OFFSET_MS = 8 * 3_600_000
LOCAL_TIME_ZONE = "Asia/Shanghai"
_DAY_MS = 86_400_000
_QTY = 10**QTY_DEC
_KWH = pa.decimal64(18, QTY_DEC)

SCHEMA = pa.schema(
    [
        pa.field("meter", pa.int64(), nullable=False),
        pa.field("ts", pa.timestamp("ms", tz="UTC"), nullable=False),
        pa.field("kwh", _KWH, nullable=False),
        pa.field("kw", _KWH),
        pa.field("kvarh", _KWH),
    ]
)
#: accepted input columns; ``meter``, ``ts`` and ``kwh`` are required
INPUT_COLUMNS: tuple[str, ...] = ("meter", "ts", "kwh", "kw", "kvarh")
_OPTIONAL = ("kw", "kvarh")


class IntervalError(ValueError):
    """The batch as a whole is unusable (unknown or missing columns, unreadable file); nothing was written."""


@dataclass(frozen=True)
class IngestResult:
    """What an ingest did: rows ``written``, harmless ``duplicates`` dropped, per-record ``rejected``
    (input ``row``, ``reason``), ``conflicts`` (meter, ts, kwh of the batch and the other value, as 0.001 kWh),
    ``checks`` per meter-day and the ``files`` written."""

    written: int
    duplicates: int
    rejected: pl.DataFrame
    conflicts: pl.DataFrame
    checks: pl.DataFrame
    files: list[str] = field(default_factory=list)


def _to_scaled(values: pl.Expr) -> pl.Expr:
    """Non-negative kWh (float) → 0.001 kWh exactly as :func:`gridcare.engine.interval.tou_registers` rounds:
    to the nearest 1e-6 first (absorbs the binary representation error), then half-up to 0.001."""
    micro = (values * _QTY * 1000).round(0, mode="half_to_even").cast(pl.Int64)
    scaled: pl.Expr = (micro + 500) // 1000
    return scaled


def _read_input(source: pa.Table | pl.DataFrame | str | os.PathLike[str]) -> pl.DataFrame:
    if isinstance(source, pl.DataFrame):
        return source
    if isinstance(source, pa.Table):
        frame = pl.from_arrow(source)
        assert isinstance(frame, pl.DataFrame)
        return frame
    path = Path(source)
    if not path.is_file():
        raise IntervalError(f"文件不存在 (no such file): {path}")
    try:
        if path.suffix.lower() == ".csv":
            return pl.read_csv(path, infer_schema=False)
        if path.suffix.lower() == ".parquet":
            return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise IntervalError(f"无法读取文件 (cannot read {path.name}): {exc}") from exc
    raise IntervalError(f"只接受 CSV 或 Parquet (only CSV or Parquet files): {path.name}")


def _parse_ts(column: pl.Series) -> pl.Series:
    """Interval start → epoch ms UTC; naive times and text are local (Asia/Shanghai) as head-ends send them."""
    dtype = column.dtype
    if dtype == pl.String:
        try:
            parsed = column.str.strip_chars().str.to_datetime(time_unit="ms", strict=False)
        except pl.exceptions.PolarsError as exc:
            raise IntervalError(f"ts 无法识别的时间格式 (unrecognised timestamp format): {exc}") from exc
        return _parse_ts(parsed)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return (column.dt.cast_time_unit("ms").cast(pl.Int64) - UTC_OFFSET_MS).alias("ts")
        return column.dt.convert_time_zone("UTC").dt.cast_time_unit("ms").cast(pl.Int64).alias("ts")
    raise IntervalError(f"ts 须为时间或文本 (ts must be a timestamp or text, not {dtype})")


def _number(frame: pl.DataFrame, name: str) -> pl.Series:
    column = frame.get_column(name)
    if isinstance(column.dtype, pl.Decimal):
        if (column.dtype.scale or 0) > QTY_DEC:
            raise IntervalError(f"{name}: 最多三位小数 (at most {QTY_DEC} decimals)")
        column = column.cast(pl.Float64)
    elif column.dtype == pl.String:
        column = column.str.strip_chars().cast(pl.Float64, strict=False)
    elif not column.dtype.is_numeric() and column.dtype != pl.Null:  # Null: a column of empty cells
        raise IntervalError(f"{name} 须为数值 (must be numeric, not {column.dtype})")
    return column.cast(pl.Float64).alias(name)


def _normalise(raw: pl.DataFrame, now_ms: int, step_minutes: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Typed frame (row, meter, ts ms, kwh/kw/kvarh as 0.001 units) and the records rejected, with reasons."""
    problem = column_problem(raw.columns, INPUT_COLUMNS, ("meter", "ts", "kwh"))
    if problem:
        raise IntervalError(problem)
    meter = raw.get_column("meter")
    if meter.dtype == pl.String:
        meter = meter.str.strip_chars().cast(pl.Int64, strict=False)
    elif not meter.dtype.is_integer():
        raise IntervalError(f"meter 须为整数 (must be an integer id, not {meter.dtype})")
    columns = [meter.cast(pl.Int64).alias("meter"), _parse_ts(raw.get_column("ts"))]
    values = {name: _number(raw, name) for name in ("kwh", *_OPTIONAL) if name in raw.columns}
    frame = pl.DataFrame(columns).with_columns(**values)
    frame = frame.drop(
        [
            name
            for name in _OPTIONAL
            if name in frame.columns and frame.get_column(name).null_count() == frame.height
        ]
    )
    present = [name for name in ("kwh", *_OPTIONAL) if name in frame.columns]
    step_ms = step_minutes * 60_000
    extra = [name for name in present if name != "kwh"]
    tests: list[tuple[pl.Expr, str]] = [
        (
            pl.col("meter").is_null() | (pl.col("meter") < 0),
            "表计编号无效 (meter id missing or not a non-negative integer)",
        ),
        (pl.col("ts").is_null(), "时间无效 (timestamp missing or unreadable)"),
        (
            pl.col("ts") % step_ms != 0,
            f"时间不在 {step_minutes} 分钟整点 (timestamp not on the {step_minutes}-minute grid)",
        ),
        (pl.col("ts") + step_ms > now_ms, "未来时间 (interval not yet complete: future timestamp)"),
        (
            pl.col("kwh").is_null() | pl.col("kwh").is_nan() | pl.col("kwh").is_infinite(),
            "电量非数值 (kWh missing, not a number or infinite)",
        ),
        (pl.col("kwh") < 0, "电量为负 (negative kWh)"),
        *(
            (
                pl.col(name).is_nan() | pl.col(name).is_infinite() | (pl.col(name) < 0),
                f"{name} 为负或非数值 ({name} negative or not a number)",
            )
            for name in extra
        ),
        (
            pl.any_horizontal(pl.col(name) * _QTY * 1000 >= 2**62 for name in present),
            "数值过大 (value too large)",
        ),
    ]
    bad = frame.select(pl.any_horizontal(test.fill_null(False) for test, _ in tests)).to_series()
    scaled = [_to_scaled(pl.col(name)).alias(name) for name in present]
    if not bad.any():
        empty = pl.DataFrame(schema={"row": pl.Int64, "meter": pl.Int64, "ts": pl.Int64, "reason": pl.String})
        return frame.select("meter", "ts", *scaled), empty
    flagged = frame.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64)).filter(bad)
    reason = pl.coalesce(pl.when(test).then(pl.lit(text)) for test, text in tests)  # the first test failed
    rejected = flagged.select("row", "meter", "ts", reason.alias("reason"))
    return frame.filter(~bad).select("meter", "ts", *scaled), rejected


def _decimal(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """0.001-unit int64 → decimal64(18, 3), zero-copy (the same 8 bytes)."""
    data = np.ascontiguousarray(values, dtype=np.int64)
    mask = None if valid is None or valid.all() else pa.array(valid).buffers()[1]
    null_count = -1 if mask is not None else 0
    return pa.Array.from_buffers(_KWH, data.size, [mask, pa.py_buffer(data)], null_count=null_count)


@dataclass(frozen=True)
class _SpikeTest:
    """A read is a spike above ``factor`` × its meter's ``percentile`` in the batch and above ``floor_kwh``, or
    above the meter's capacity × the interval length: one threshold per meter, ``min(max(p·k, floor), cap)``."""

    factor: int
    percentile: int
    floor_kwh: int
    capacity_kva: Mapping[int, int]
    steps_per_hour: int

    def flags(self, frame: pl.DataFrame) -> np.ndarray:
        baseline = (
            frame.group_by("meter")
            .agg(pl.col("kwh").quantile(self.percentile / 100, interpolation="nearest").alias("baseline"))
            .sort("meter")
        )
        meters = baseline.get_column("meter").to_numpy()
        threshold = np.maximum(
            baseline.get_column("baseline").to_numpy() * self.factor, self.floor_kwh * _QTY
        )
        if self.capacity_kva:
            capacity = np.array([self.capacity_kva.get(int(m), -1) for m in meters], dtype=np.int64)
            limit = np.where(capacity >= 0, capacity * _QTY // self.steps_per_hour, np.iinfo(np.int64).max)
            threshold = np.minimum(threshold, limit)
        # the frame is sorted for partitions: one lookup per run of a meter's rows, not per row
        row_meter = frame.get_column("meter").to_numpy()
        starts = np.flatnonzero(np.r_[True, row_meter[1:] != row_meter[:-1]])
        per_run = threshold[np.searchsorted(meters, row_meter[starts])]
        flagged: np.ndarray = frame.get_column("kwh").to_numpy() > np.repeat(
            per_run, np.diff(np.r_[starts, row_meter.size])
        )
        return flagged


@dataclass(frozen=True)
class IntervalStore:
    """A dataset root with its bucket count and interval length (``steps_per_hour`` = 4: 15-minute data, the
    AMI standard); ``ingest`` appends, the query methods read with DuckDB."""

    root: Path
    buckets: int = DEFAULT_BUCKETS
    steps_per_hour: int = 60 // STEP_MINUTES

    def __post_init__(self) -> None:
        if not 1 <= self.buckets <= 100:
            raise IntervalError("buckets 须在 1–100 之间 (buckets must be 1–100)")
        if self.steps_per_hour not in (1, 2, 4, 12, 60):
            raise IntervalError("steps_per_hour 须为 1、2、4、12 或 60 (hourly, 30, 15, 5 or 1-minute data)")

    # ------------------------------------------------------------------ ingest

    def ingest(
        self,
        source: pa.Table | pl.DataFrame | str | os.PathLike[str],
        *,
        now: datetime | None = None,
        spike_factor: int = 3,
        spike_percentile: int = 95,
        spike_floor_kwh: int = 1,
        capacity_kva: Mapping[int, int] | None = None,
        threads: int | None = None,
        chunk_rows: int = 10_000_000,
    ) -> IngestResult:
        """Check a batch of interval reads and append the good ones to the dataset (see the module doc).

        A spike is a read above ``spike_factor`` × the meter's ``spike_percentile`` percentile in the batch
        (and above ``spike_floor_kwh``, so meters that are nearly idle do not flag every read), or above
        ``capacity_kva`` (meter → kVA) × the interval length.  Why the 95th percentile and not the median:
        an office's or a school's median is its night load — a secondary school's November has 38 % of its
        reads above 10 × its median, all of them ordinary school days (docs/readings.md).
        """
        if not 1 <= spike_percentile <= 100 or spike_factor < 1:
            raise IntervalError(
                "spike_percentile 须在 1–100，spike_factor ≥ 1 (spike parameters out of range)"
            )
        now_ms = int((now or datetime.now().astimezone()).timestamp() * 1000)
        good, rejected = _normalise(_read_input(source), now_ms, 60 // self.steps_per_hour)
        spikes = _SpikeTest(
            spike_factor, spike_percentile, spike_floor_kwh, capacity_kva or {}, self.steps_per_hour
        )
        written, duplicates, conflict_parts, per_day, files = 0, 0, [], [], []
        chunks = self._chunks(good, chunk_rows)
        del good  # each chunk is released once written
        while chunks:
            frame, repeated, batch_conflicts = _sorted_without_duplicates(
                chunks.pop(), self.buckets, 3_600_000 // self.steps_per_hour
            )
            frame, stored_repeats, stored_conflicts = self._drop_stored(frame)
            per_day.append(_received_and_spikes(frame, spikes))
            files += self._write(frame, threads)
            written += frame.height
            duplicates += repeated + stored_repeats
            conflict_parts += [batch_conflicts, stored_conflicts]
            del frame
        conflicts = pl.concat(conflict_parts).with_columns(pl.col("ts").cast(pl.Datetime("ms", "UTC")))
        return IngestResult(
            written=written,
            duplicates=duplicates,
            rejected=rejected.with_columns(pl.col("ts").cast(pl.Datetime("ms", "UTC"))),
            conflicts=conflicts,
            checks=self._checks(pl.concat(per_day), rejected, conflicts),
            files=files,
        )

    def _chunks(self, frame: pl.DataFrame, chunk_rows: int) -> list[pl.DataFrame]:
        """The batch cut into groups of whole buckets of about ``chunk_rows`` reads: a meter's reads (and so
        its duplicates, its spike baseline and its partitions) stay in one chunk, while the working memory
        of a very large batch is bounded."""
        pieces = max(1, min(self.buckets, -(-frame.height // max(chunk_rows, 1))))
        if pieces == 1:
            return [frame]
        return frame.with_columns(chunk=pl.col("meter") % self.buckets % pieces).partition_by(
            "chunk", include_key=False, maintain_order=False
        )

    def _partition_dir(self, month: int, bucket: int) -> Path:
        return self.root / f"month={month // 100:04d}-{month % 100:02d}" / f"bucket={bucket:02d}"

    def _drop_stored(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, int, pl.DataFrame]:
        """Compare with what the touched partitions already hold: same value → drop, different → conflict."""
        empty = pl.DataFrame(
            schema={"meter": pl.Int64, "ts": pl.Int64, "kwh": pl.Int64, "other_kwh": pl.Int64}
        )
        files = [
            str(path)
            for month, bucket, _, _ in _partition_slices(frame)
            for path in sorted(self._partition_dir(month, bucket).glob("*.parquet"))
        ]
        if not files:
            return frame, 0, empty
        ts = frame.get_column("ts")
        stored = _read_stored(files, frame.get_column("meter").unique(), int(ts.min()), int(ts.max()))  # type: ignore[arg-type]
        matched = frame.join(stored, on=["meter", "ts"], how="left", maintain_order="left")
        known = matched.get_column("stored_kwh").is_not_null()
        if not known.any():
            return frame, 0, empty
        same = known & (matched.get_column("stored_kwh") == matched.get_column("kwh"))
        conflicts = matched.filter(known & ~same).select(
            "meter", "ts", "kwh", pl.col("stored_kwh").alias("other_kwh")
        )
        return matched.filter(~known).drop("stored_kwh"), int(same.sum()), conflicts

    def _checks(self, per_day: pl.DataFrame, rejected: pl.DataFrame, conflicts: pl.DataFrame) -> pl.DataFrame:
        """Per meter-day: received, expected, gaps, conflicts, rejected, spikes, collection rate."""
        expected = 24 * self.steps_per_hour
        day_of = ((pl.col("ts").cast(pl.Int64) + UTC_OFFSET_MS) // _DAY_MS).cast(pl.Int32).alias("day")
        others = [
            rejected.filter(pl.col("meter").is_not_null() & pl.col("ts").is_not_null())
            .group_by("meter", day_of)
            .agg(pl.len().alias("rejected")),
            conflicts.group_by("meter", day_of).agg(pl.len().alias("conflicts")),
        ]
        result = per_day
        for other in others:
            result = result.join(other, on=["meter", "day"], how="full", coalesce=True)
        return (
            result.with_columns(
                pl.col(c).fill_null(0).cast(pl.Int64) for c in ("received", "spikes", "rejected", "conflicts")
            )
            .with_columns(
                day=pl.col("day").cast(pl.Date),
                expected=pl.lit(expected, pl.Int64),
                gaps=pl.max_horizontal(pl.lit(expected) - pl.col("received"), pl.lit(0)).cast(pl.Int64),
                collection_rate=pl.col("received") / expected,
            )
            .select(
                "meter",
                "day",
                "received",
                "expected",
                "gaps",
                "conflicts",
                "rejected",
                "spikes",
                "collection_rate",
            )
            .sort("meter", "day")
        )

    def _write(self, frame: pl.DataFrame, threads: int | None) -> list[str]:
        """One new ``part-<uuid>.parquet`` per touched (month, bucket); slices of the sorted frame, in threads.

        If the process dies half-way, the files already renamed stay: re-sending the batch then finds their
        reads as harmless duplicates and writes the rest, so a retry is always safe."""
        if frame.height == 0:
            return []
        meter = frame.get_column("meter").to_numpy()
        ts = frame.get_column("ts").to_numpy()
        columns = [frame.get_column(name) if name in frame.columns else None for name in ("kwh", *_OPTIONAL)]
        token = uuid.uuid4().hex

        def write(month: int, bucket: int, start: int, end: int) -> str:
            directory = self._partition_dir(month, bucket)
            directory.mkdir(parents=True, exist_ok=True)
            arrays: list[pa.Array] = [
                pa.array(meter[start:end]),
                pa.array(ts[start:end]).view(SCHEMA.field("ts").type),
            ]
            for series in columns:
                if series is None:
                    arrays.append(pa.nulls(end - start, _KWH))
                    continue
                part = series.slice(start, end - start)
                valid = part.is_not_null().to_numpy()
                arrays.append(_decimal(part.fill_null(0).to_numpy(), valid))
            table = pa.Table.from_arrays(arrays, schema=SCHEMA)
            path = directory / f"part-{token}-{start}.parquet"
            # written under a name no reader globs, then renamed: a query never sees half a file
            partial = directory / f".{path.name}.partial"
            pq.write_table(table, partial, store_decimal_as_integer=True, compression="snappy")
            partial.replace(path)
            return str(path)

        with ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 1) as pool:
            return list(pool.map(lambda part: write(*part), _partition_slices(frame)))

    # ------------------------------------------------------------------ queries (DuckDB)

    def months(self) -> list[str]:
        """The months holding data (``"2026-11"``), from the partition directories (no file is read)."""
        return sorted(
            {
                path.name.removeprefix("month=")
                for path in self.root.glob("month=*")
                if any(path.glob("bucket=*/*.parquet"))
            }
        )

    def _connect(
        self, holidays: Collection[date] = (), schedule: TouSchedule | None = None
    ) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with the view ``reads`` (local ``day``, ``hour`` and 15-minute ``slot``) and the
        small lookup tables ``holidays``, ``day_types`` and ``tou`` a query needs."""
        con = duckdb.connect()
        con.execute(f"SET TimeZone = '{LOCAL_TIME_ZONE}'")
        local_ms = f"(epoch_ms(ts) + {UTC_OFFSET_MS})"
        if any(self.root.glob("month=*/bucket=*/*.parquet")):
            pattern = str(self.root / "month=*" / "bucket=*" / "*.parquet").replace(
                "'", "''"
            )  # a SQL literal
            con.execute(
                f"CREATE VIEW reads AS SELECT meter, ts, kwh, kw, kvarh, month, "
                f"DATE '1970-01-01' + CAST({local_ms} // {_DAY_MS} AS INTEGER) AS day, "
                f"CAST(({local_ms} % {_DAY_MS}) // 3600000 AS INTEGER) AS hour, "
                f"CAST(({local_ms} % {_DAY_MS}) // {3_600_000 // self.steps_per_hour} AS INTEGER) AS slot "
                f"FROM read_parquet('{pattern}', hive_partitioning = true, "
                "hive_types = {'month': VARCHAR, 'bucket': INTEGER})"
            )
        else:
            con.execute(
                "CREATE TABLE reads (meter BIGINT, ts TIMESTAMPTZ, kwh DECIMAL(18,3), kw DECIMAL(18,3), "
                "kvarh DECIMAL(18,3), month VARCHAR, day DATE, hour INTEGER, slot INTEGER)"
            )
        con.register("holidays", pl.DataFrame({"day": sorted(holidays)}, schema={"day": pl.Date}))
        if schedule is not None:
            table = schedule.as_array()
            con.register(
                "tou",
                pl.DataFrame(
                    [
                        (month + 1, DAY_TYPES[kind], hour, PERIODS[int(table[month, kind, hour])])
                        for month in range(12)
                        for kind in range(len(DAY_TYPES))
                        for hour in range(24)
                    ],
                    schema={"month": pl.Int64, "day_type": pl.String, "hour": pl.Int64, "period": pl.String},
                    orient="row",
                ),
            )
            days = [day for month in self.months() for day in _month_days(month)]
            con.register(
                "day_types",
                pl.DataFrame(
                    {"day": days, "day_type": [default_day_type(d, holidays) for d in days]},
                    schema={"day": pl.Date, "day_type": pl.String},
                ),
            )
        return con

    def _query(
        self, sql: str, meters: Sequence[int] | None, months: Sequence[str] | None, **tables: Any
    ) -> pl.DataFrame:
        """Run ``sql`` (``{where}`` = the meter and month filter, months prune hive partitions) on the dataset."""
        clauses: list[str] = []
        named: dict[str, list[str] | list[int]] = {}
        if months:
            clauses.append("month IN (SELECT unnest($months::VARCHAR[]))")
            named["months"] = list(months)
        if meters:
            clauses.append("meter IN (SELECT unnest($meters::BIGINT[]))")
            named["meters"] = [int(m) for m in meters]
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        con = self._connect(**tables)
        try:
            result = pl.from_arrow(con.sql(sql.format(where=where), params=named).to_arrow_table())
            assert isinstance(result, pl.DataFrame)
            return result
        finally:
            con.close()

    def reads(
        self,
        *,
        meters: Sequence[int] | None = None,
        months: Sequence[str] | None = None,
    ) -> pl.DataFrame:
        """The stored reads themselves: ``meter``, ``ts`` (UTC instant), local ``month``, ``day`` and ``slot``
        (interval of the day, 0–95 for 15-minute data) and ``kwh`` in 0.001 kWh (exact), sorted by meter and time
        — for curves and sums over any span (an estimate between two register reads)."""
        found = self._query(
            "SELECT meter, ts, month, day, slot, CAST(kwh * 1000 AS BIGINT) AS kwh FROM reads{where} "
            "ORDER BY meter, ts",
            meters,
            months,
        )
        return found.with_columns(pl.col("ts").dt.convert_time_zone("UTC").dt.cast_time_unit("ms"))

    def daily_totals(
        self, *, meters: Sequence[int] | None = None, months: Sequence[str] | None = None
    ) -> pl.DataFrame:
        """kWh per meter and local day: ``quantity`` in 0.001 kWh (exact)."""
        return self._query(
            "SELECT meter, day, CAST(SUM(kwh) * 1000 AS BIGINT) AS quantity FROM reads{where} GROUP BY ALL ORDER BY ALL",
            meters,
            months,
        )

    def monthly_totals(
        self, *, meters: Sequence[int] | None = None, months: Sequence[str] | None = None
    ) -> pl.DataFrame:
        """kWh per meter and local month (``"2026-11"``): ``quantity`` in 0.001 kWh (exact)."""
        return self._query(
            "SELECT meter, month, CAST(SUM(kwh) * 1000 AS BIGINT) AS quantity FROM reads{where} GROUP BY ALL ORDER BY ALL",
            meters,
            months,
        )

    def max_demand(
        self, *, meters: Sequence[int] | None = None, months: Sequence[str] | None = None
    ) -> pl.DataFrame:
        """Monthly maximum demand (最大需量) from 15-minute kWh: ``kw`` = max kWh × 4, in 0.001 kW."""
        return self._query(
            f"SELECT meter, month, CAST(MAX(kwh) * 1000 * {self.steps_per_hour} AS BIGINT) AS kw "
            "FROM reads{where} GROUP BY ALL ORDER BY ALL",
            meters,
            months,
        )

    def load_factor(
        self, *, meters: Sequence[int] | None = None, months: Sequence[str] | None = None
    ) -> pl.DataFrame:
        """负荷率 per meter-month: average kW over the intervals received / maximum 15-minute kW."""
        return self._query(
            "SELECT meter, month, CAST(AVG(kwh) / NULLIF(MAX(kwh), 0) AS DOUBLE) AS load_factor "
            "FROM reads{where} GROUP BY ALL ORDER BY ALL",
            meters,
            months,
        )

    def typical_curve(
        self,
        *,
        meters: Sequence[int] | None = None,
        months: Sequence[str] | None = None,
        holidays: Collection[date] = (),
    ) -> pl.DataFrame:
        """Typical day (典型日负荷曲线): mean kW of each interval slot of the day (96 for 15-minute
        data) on weekdays and on weekends/holidays."""
        return self._query(
            "SELECT meter, CASE WHEN isodow(day) >= 6 OR day IN (SELECT day FROM holidays) "
            "THEN 'weekend' ELSE 'weekday' END AS day_kind, "
            "slot, "
            f"CAST(AVG(kwh) * {self.steps_per_hour} AS DOUBLE) AS kw "
            "FROM reads{where} GROUP BY ALL ORDER BY ALL",
            meters,
            months,
            holidays=holidays,
        )

    def tou_totals(
        self,
        schedule: TouSchedule,
        *,
        meters: Sequence[int] | None = None,
        months: Sequence[str] | None = None,
        holidays: Collection[date] = (),
    ) -> pl.DataFrame:
        """kWh per meter, month and TOU period of ``schedule`` (0.001 kWh, exact); the same classification as
        :func:`gridcare.engine.interval.tou_registers` (holidays, then weekend, then weekday)."""
        return self._query(
            "SELECT r.meter, r.month, t.period, CAST(SUM(r.kwh) * 1000 AS BIGINT) AS quantity "
            "FROM (SELECT * FROM reads{where}) r JOIN day_types d ON d.day = r.day "
            "JOIN tou t ON t.month = month(r.day) AND t.day_type = d.day_type AND t.hour = r.hour "
            "GROUP BY ALL ORDER BY ALL",
            meters,
            months,
            holidays=holidays,
            schedule=schedule,
        )

    def peak_valley_split(
        self,
        schedule: TouSchedule,
        *,
        meters: Sequence[int] | None = None,
        months: Sequence[str] | None = None,
        holidays: Collection[date] = (),
    ) -> pl.DataFrame:
        """峰谷比: each TOU period's share of the meter-month's kWh (for the load manager's chart)."""
        totals = self.tou_totals(schedule, meters=meters, months=months, holidays=holidays)
        return totals.with_columns(share=pl.col("quantity") / pl.col("quantity").sum().over("meter", "month"))

    def collection_rate(
        self,
        first_day: date,
        last_day: date,
        *,
        meters: Sequence[int] | None = None,
    ) -> pl.DataFrame:
        """采集成功率 per meter-day: distinct intervals received / expected, zero for a day with nothing.

        The meters are ``meters`` or every meter with data in the months of the range."""
        if last_day < first_day:
            raise IntervalError("结束日期早于开始日期 (last_day before first_day)")
        months = sorted({f"{d.year:04d}-{d.month:02d}" for d in _days(first_day, last_day)})
        received = self._query(
            "SELECT meter, day, COUNT(DISTINCT ts) AS received FROM reads{where} GROUP BY ALL",
            meters,
            months,
        ).filter(pl.col("day").is_between(first_day, last_day))
        meter_ids = pl.Series(
            "meter", meters or received.get_column("meter").unique().sort().to_list(), pl.Int64
        )
        grid = meter_ids.to_frame().join(pl.DataFrame({"day": list(_days(first_day, last_day))}), how="cross")
        expected = 24 * self.steps_per_hour
        return (
            grid.join(received, on=["meter", "day"], how="left")
            .with_columns(pl.col("received").fill_null(0).cast(pl.Int64), expected=pl.lit(expected, pl.Int64))
            .with_columns(collection_rate=pl.col("received") / expected)
            .sort("meter", "day")
        )


def _with_partition_keys(frame: pl.DataFrame, buckets: int) -> pl.DataFrame:
    """``month`` (months since 1970-01, local), ``bucket`` and local ``day`` (days since 1970) of each read."""
    day = (pl.col("ts") + UTC_OFFSET_MS) // _DAY_MS
    keyed = frame.select("meter", "ts", day.alias("day"))
    if keyed.height == 0:
        return keyed.with_columns(month=pl.lit(0, pl.Int64), bucket=pl.lit(0, pl.Int64))
    first_day, last_day = keyed.select(pl.col("day").min().alias("lo"), pl.col("day").max().alias("hi")).row(
        0
    )
    # the month of each day in the batch's span (a few hundred days), then one lookup per read
    months_of_days = pl.Series(
        np.arange(first_day, last_day + 1).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    )
    return keyed.with_columns(
        month=pl.lit(months_of_days).gather(pl.col("day") - first_day), bucket=pl.col("meter") % buckets
    )


def _partition_order(keyed: pl.DataFrame, buckets: int, step_ms: int) -> Int64Array:
    """The permutation sorting reads by (local month, bucket, meter, ts): each partition becomes a contiguous
    slice and repeated (meter, ts) keys neighbours.

    Why a packed key: a stable sort of one int64 is several times faster than a four-key sort, and nearly
    free on the long sorted runs head-end files already have; it is used whenever the batch's ranges fit in
    62 bits (always for real batches), else the four-key sort runs.  The arithmetic runs in Polars (threads,
    a reusing allocator): NumPy temporaries of this size cost more in page faults than in arithmetic."""
    if keyed.height < 2:
        return np.arange(keyed.height)
    lo = keyed.select(pl.all().min()).row(0, named=True)
    hi = keyed.select(pl.all().max()).row(0, named=True)
    months = hi["month"] - lo["month"] + 1
    meters = hi["meter"] - lo["meter"] + 1
    slots = (hi["ts"] - lo["ts"]) // step_ms + 1
    if months * buckets * meters * slots >= 2**62:
        general: Int64Array = (
            keyed.select(pl.arg_sort_by("month", "bucket", "meter", "ts")).to_series().to_numpy()
        )
        return general
    packed = (
        ((pl.col("month") - lo["month"]) * buckets + pl.col("bucket")) * meters
        + (pl.col("meter") - lo["meter"])
    ) * slots + (pl.col("ts") - lo["ts"]) // step_ms
    order: Int64Array = np.argsort(keyed.select(packed).to_series().to_numpy(), kind="stable")
    return order


def _sorted_without_duplicates(
    frame: pl.DataFrame, buckets: int, step_ms: int
) -> tuple[pl.DataFrame, int, pl.DataFrame]:
    """The batch sorted for partitions (with ``month`` yyyymm, ``bucket`` and local ``day`` columns), each
    repeated (meter, ts) resolved: identical kWh → one kept (harmless, counted); different kWh → a conflict,
    reported, and none of its rows kept.  One gather of the whole frame, whatever the duplicates."""
    empty = pl.DataFrame(schema={"meter": pl.Int64, "ts": pl.Int64, "kwh": pl.Int64, "other_kwh": pl.Int64})
    keyed = _with_partition_keys(frame, buckets)
    order = _partition_order(keyed, buckets, step_ms)
    ordered = keyed.select("meter", "ts")[order]
    same = (pl.col("meter") == pl.col("meter").shift(1)) & (pl.col("ts") == pl.col("ts").shift(1))
    repeat = ordered.select(same.fill_null(False)).to_series().to_numpy().copy()
    duplicates, conflicts = 0, empty
    if repeat.any():
        in_run = repeat.copy()
        in_run[:-1] |= repeat[1:]
        position = np.flatnonzero(in_run)
        runs = ordered[position].with_columns(
            kwh=frame.get_column("kwh").gather(order[position]),
            position=pl.Series(position),
        )
        runs = runs.with_columns(values=pl.col("kwh").n_unique().over("meter", "ts"))
        conflicted = runs.filter(pl.col("values") > 1)
        conflicts = conflicted.group_by("meter", "ts", maintain_order=True).agg(
            pl.col("kwh").first(), pl.col("kwh").unique(maintain_order=True).get(1).alias("other_kwh")
        )
        duplicates = int(repeat.sum()) - (conflicted.height - conflicts.height)
        repeat[conflicted.get_column("position").to_numpy()] = True
        order = order[~repeat]
    month = pl.col("month")
    keys = pl.concat([frame, keyed.select("day", "month", "bucket")], how="horizontal")[order].with_columns(
        month=((month // 12 + 1970) * 100 + month % 12 + 1).cast(pl.Int32),
        bucket=pl.col("bucket").cast(pl.Int32),
        day=pl.col("day").cast(pl.Int32),
    )
    return keys, duplicates, conflicts


_PER_DAY_SCHEMA = {"meter": pl.Int64, "day": pl.Int32, "received": pl.Int64, "spikes": pl.Int64}


def _received_and_spikes(frame: pl.DataFrame, spikes: _SpikeTest) -> pl.DataFrame:
    """Reads received and spikes per meter-day of a frame sorted for partitions: each meter-day is one
    contiguous run of rows, counted with ``np.add.reduceat`` instead of a group-by over millions of rows."""
    meter = frame.get_column("meter").to_numpy()
    day = frame.get_column("day").to_numpy()
    if not meter.size:
        return pl.DataFrame(schema=_PER_DAY_SCHEMA)
    starts = np.flatnonzero(np.r_[True, (meter[1:] != meter[:-1]) | (day[1:] != day[:-1])])
    return pl.DataFrame(
        {
            "meter": meter[starts],
            "day": day[starts],
            "received": np.diff(np.r_[starts, meter.size]),
            "spikes": np.add.reduceat(spikes.flags(frame).astype(np.int64), starts),
        },
        schema=_PER_DAY_SCHEMA,
    )


def _partition_slices(frame: pl.DataFrame) -> list[tuple[int, int, int, int]]:
    """(month, bucket, start, end) of each partition's contiguous rows in a frame sorted for partitions."""
    if frame.height == 0:
        return []
    month = frame.get_column("month").to_numpy()
    bucket = frame.get_column("bucket").to_numpy()
    starts = np.flatnonzero((np.diff(month) != 0) | (np.diff(bucket) != 0)) + 1
    bounds = [0, *starts.tolist(), frame.height]
    return [(int(month[a]), int(bucket[a]), a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _month_days(month: str) -> list[date]:
    """Every day of a ``"2026-11"`` month."""
    first = date(int(month[:4]), int(month[5:7]), 1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return list(_days(first, following - timedelta(days=1)))


def _days(first_day: date, last_day: date) -> Iterable[date]:
    for offset in range((last_day - first_day).days + 1):
        yield first_day + timedelta(days=offset)


def _read_stored(files: list[str], meters: pl.Series, first_ms: int, last_ms: int) -> pl.DataFrame:
    """(meter, ts ms, stored_kwh 0.001 kWh) of the stored reads of ``meters`` between two instants in ``files``
    (row-group statistics skip most of a sorted file)."""
    dataset = ds.dataset(files, format="parquet", schema=SCHEMA)
    ts_type = SCHEMA.field("ts").type
    wanted = (
        ds.field("meter").isin(pa.array(meters.to_numpy()))
        & (ds.field("ts") >= pa.scalar(first_ms, ts_type))
        & (ds.field("ts") <= pa.scalar(last_ms, ts_type))
    )
    table = dataset.to_table(columns=["meter", "ts", "kwh"], filter=wanted)
    kwh = table.column("kwh").combine_chunks()
    as_int = pa.Array.from_buffers(pa.int64(), len(kwh), kwh.buffers(), offset=kwh.offset)
    return pl.DataFrame(
        {
            "meter": table.column("meter").to_numpy(),
            "ts": table.column("ts").cast(pa.int64()).to_numpy(),
            "stored_kwh": as_int.to_numpy(zero_copy_only=False),
        },
        schema={"meter": pl.Int64, "ts": pl.Int64, "stored_kwh": pl.Int64},
    )
