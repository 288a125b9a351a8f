"""Interval store (15-minute data): checked ingest, hive-partitioned Parquet, exact DuckDB aggregates."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridcare.engine.interval import tou_registers
from gridcare.engine.interval_store import IntervalError, IntervalStore
from gridcare.engine.money import QTY_DEC, decimal_to_scaled
from gridcare.engine.tariff import load_shipped_tariff

from .conftest import hourly_load

NOW = datetime(2027, 1, 1, tzinfo=UTC)
NOV_START = datetime(2026, 11, 1)  # local (Asia/Shanghai) midnight, naive = local


def quarter_hours(start: datetime, days: int) -> list[datetime]:
    return [start + timedelta(minutes=15 * i) for i in range(days * 96)]


def profile_reads(meter: int, building: tuple[str, str], days: int = 30) -> pl.DataFrame:
    """November of a DOE reference building, 15-minute kWh rounded to 3 decimals (as head-ends send)."""
    hourly = hourly_load(*building)
    first = (date(2026, 11, 1) - date(2026, 1, 1)).days * 24
    kwh = np.round(np.repeat(hourly[first : first + days * 24], 4) / 4, 3)
    return pl.DataFrame({"meter": [meter] * kwh.size, "ts": quarter_hours(NOV_START, days), "kwh": kwh})


@pytest.fixture
def store(tmp_path: Path) -> IntervalStore:
    return IntervalStore(tmp_path / "intervals")


@pytest.fixture
def november(store: IntervalStore) -> pl.DataFrame:
    reads = pl.concat(
        [
            profile_reads(1001, ("Chicago", "Hospital")),
            profile_reads(1025, ("Houston", "SmallOffice")),
            profile_reads(2002, ("Houston", "Supermarket")),
        ]
    )
    result = store.ingest(reads, now=NOW)
    assert result.written == reads.height and result.rejected.height == 0
    return reads


def scaled(values: pl.Series) -> int:
    return sum(decimal_to_scaled(f"{v:.3f}", QTY_DEC) for v in values.to_list())


def test_round_trip_totals_equal_the_input_exactly(store: IntervalStore, november: pl.DataFrame) -> None:
    monthly = dict(((m, month), q) for m, month, q in store.monthly_totals().iter_rows())
    for meter, rows in november.group_by("meter"):
        assert monthly[(meter[0], "2026-11")] == scaled(rows.get_column("kwh"))
    daily = store.daily_totals(meters=[1025])
    assert daily.height == 30
    first_day = november.filter((pl.col("meter") == 1025) & (pl.col("ts") < datetime(2026, 11, 2)))
    assert daily.row(0) == (1025, date(2026, 11, 1), scaled(first_day.get_column("kwh")))


def test_tou_totals_match_the_register_engine(store: IntervalStore, november: pl.DataFrame) -> None:
    schedule = load_shipped_tariff("shanghai_general_ic_tou").versions[0].tou
    assert schedule is not None
    holidays = {date(2026, 11, 11)}
    from_store = store.tou_totals(schedule, meters=[1001], holidays=holidays)
    kwh = november.filter(pl.col("meter") == 1001).get_column("kwh").to_numpy()
    expected = tou_registers(schedule, date(2026, 11, 1), kwh, holidays=holidays)
    assert {p: q for _, _, p, q in from_store.iter_rows()} == {
        period: decimal_to_scaled(value, QTY_DEC) for period, value in expected.items()
    }
    split = store.peak_valley_split(schedule, meters=[1001], holidays=holidays)
    assert split.get_column("share").sum() == pytest.approx(1.0)


def test_demand_load_factor_and_typical_curve(store: IntervalStore, november: pl.DataFrame) -> None:
    rows = november.filter(pl.col("meter") == 2002).get_column("kwh")
    demand = store.max_demand(meters=[2002])
    assert demand.row(0) == (2002, "2026-11", decimal_to_scaled(f"{rows.max():.3f}", QTY_DEC) * 4)
    factor = store.load_factor(meters=[2002]).get_column("load_factor")[0]
    assert factor == pytest.approx(rows.mean() / rows.max(), rel=1e-9)
    curve = store.typical_curve(meters=[2002])
    assert curve.group_by("day_kind").len().sort("day_kind").rows() == [("weekday", 96), ("weekend", 96)]
    midnight = curve.filter((pl.col("day_kind") == "weekday") & (pl.col("slot") == 0)).get_column("kw")[0]
    weekdays = november.filter(
        (pl.col("meter") == 2002)
        & (pl.col("ts").dt.weekday() <= 5)
        & (pl.col("ts").dt.hour() == 0)
        & (pl.col("ts").dt.minute() == 0)
    )
    assert midnight == pytest.approx(weekdays.get_column("kwh").mean() * 4)


def test_hive_layout_types_and_unique_part_files(store: IntervalStore, november: pl.DataFrame) -> None:
    files = sorted(p.relative_to(store.root).as_posix() for p in store.root.rglob("*.parquet"))
    assert [f.rsplit("/", 1)[0] for f in files] == [
        "month=2026-11/bucket=01",
        "month=2026-11/bucket=02",
        "month=2026-11/bucket=09",
    ]
    assert all(f.rsplit("/", 1)[1].startswith("part-") for f in files)
    schema = pq.read_schema(store.root / files[0])
    assert str(schema.field("ts").type) == "timestamp[ms, tz=UTC]"
    assert str(schema.field("kwh").type) == "decimal64(18, 3)"
    assert pq.read_metadata(store.root / files[0]).schema.column(2).physical_type == "INT64"
    # a second writer appends new files next to the first ones
    store.ingest(
        profile_reads(1001, ("Chicago", "Hospital"), days=1).with_columns(meter=pl.lit(3001)), now=NOW
    )
    assert len(list(store.root.rglob("*.parquet"))) == len(files) + 1
    # what Spark, Dask or pyarrow see: the same rows with month and bucket from the paths
    table = ds.dataset(store.root, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == november.height + 96
    assert set(table.column("bucket").to_pylist()) == {1, 2, 9}


def test_local_month_decides_the_partition(store: IntervalStore) -> None:
    reads = pl.DataFrame(
        {
            "meter": [5, 5],
            "ts": [datetime(2026, 11, 30, 23, 45), datetime(2026, 12, 1, 0, 0)],
            "kwh": [1.0, 2.0],
        }
    )
    store.ingest(reads, now=NOW)
    assert store.months() == ["2026-11", "2026-12"]
    assert store.monthly_totals().rows() == [(5, "2026-11", 1000), (5, "2026-12", 2000)]


def test_duplicates_are_harmless_conflicts_are_reported_never_overwritten(store: IntervalStore) -> None:
    ts = quarter_hours(NOV_START, 1)[:4]
    first = store.ingest(pl.DataFrame({"meter": [7] * 4, "ts": ts, "kwh": [1.0, 1.0, 1.0, 1.0]}), now=NOW)
    assert first.written == 4
    # the same batch again (a head-end retry): nothing new, nothing reported
    again = store.ingest(pl.DataFrame({"meter": [7] * 4, "ts": ts, "kwh": [1.0, 1.0, 1.0, 1.0]}), now=NOW)
    assert (again.written, again.duplicates, again.conflicts.height) == (0, 4, 0)
    # a different value for a stored interval: a conflict, the stored value stays
    changed = store.ingest(pl.DataFrame({"meter": [7], "ts": [ts[0]], "kwh": [9.0]}), now=NOW)
    assert changed.written == 0
    assert changed.conflicts.select("meter", "kwh", "other_kwh").rows() == [(7, 9000, 1000)]
    assert store.daily_totals().get_column("quantity").to_list() == [4000]
    # inside one batch: the same read twice is kept once; two values for one interval keep neither
    inside = store.ingest(
        pl.DataFrame(
            {"meter": [8, 8, 8, 8], "ts": [ts[0], ts[0], ts[1], ts[1]], "kwh": [0.5, 0.5, 0.7, 0.8]}
        ),
        now=NOW,
    )
    assert (inside.written, inside.duplicates) == (1, 1)
    assert inside.conflicts.select("meter", "kwh", "other_kwh").rows() == [(8, 700, 800)]
    day = inside.checks.filter(pl.col("meter") == 8).row(0, named=True)
    assert (day["received"], day["gaps"], day["conflicts"]) == (1, 95, 1)


def test_bad_records_are_rejected_with_reasons(store: IntervalStore) -> None:
    ts = quarter_hours(NOV_START, 1)
    reads = pl.DataFrame(
        {
            "meter": [1, 1, 1, 1, 1, 1],
            "ts": [ts[0], ts[1], ts[2], ts[3] + timedelta(minutes=5), datetime(2030, 1, 1), ts[5]],
            "kwh": [0.5, -0.2, float("nan"), 0.5, 0.5, 0.25],
        }
    )
    result = store.ingest(reads, now=NOW)
    assert result.written == 2
    reasons = dict(result.rejected.select("row", "reason").iter_rows())
    assert set(reasons) == {1, 2, 3, 4}
    assert "negative kWh" in reasons[1]
    assert "not a number" in reasons[2]
    assert "15-minute grid" in reasons[3]
    assert "future" in reasons[4]


def test_csv_with_text_errors_is_rejected_per_row(store: IntervalStore, tmp_path: Path) -> None:
    path = tmp_path / "headend.csv"
    path.write_text(
        "meter,ts,kwh,kvarh\n"
        "11,2026-11-01 00:00:00,0.250,0.1\n"
        "11,2026-11-01 00:15:00,abc,0.1\n"
        "x1,2026-11-01 00:30:00,0.250,0.1\n"
        "11,yesterday,0.250,0.1\n"
        "11,2026-11-01 00:45:00,0.300,-1\n",
        encoding="utf-8",
    )
    result = store.ingest(path, now=NOW)
    assert result.written == 1
    assert sorted(result.rejected.get_column("row").to_list()) == [1, 2, 3, 4]
    stored = pq.read_table(next(store.root.rglob("*.parquet")))
    assert stored.column("kvarh").to_pylist()[0] == Decimal("0.100")


def test_parquet_and_arrow_input(store: IntervalStore, tmp_path: Path) -> None:
    table = pa.table(
        {
            "meter": pa.array([3, 3], pa.int64()),
            "ts": pa.array(
                [datetime(2026, 11, 1, 16, 0), datetime(2026, 11, 1, 16, 15)], pa.timestamp("ms", tz="UTC")
            ),
            "kwh": pa.array([1.25, 1.5]),
        }
    )
    pq.write_table(table, tmp_path / "reads.parquet")
    assert store.ingest(tmp_path / "reads.parquet", now=NOW).written == 2
    assert store.daily_totals().rows() == [(3, date(2026, 11, 2), 2750)]  # 16:00 UTC is 00:00 local next day
    assert store.ingest(table, now=NOW).duplicates == 2


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pl.DataFrame({"meter": [1], "ts": [NOV_START], "kwh": [1.0], "phase": ["A"]}), "unknown columns"),
        (pl.DataFrame({"meter": [1], "ts": [NOV_START]}), "missing columns"),
        (pl.DataFrame({"meter": [1.5], "ts": [NOV_START], "kwh": [1.0]}), "integer id"),
    ],
)
def test_unusable_batches_are_refused_and_write_nothing(
    store: IntervalStore, frame: pl.DataFrame, message: str
) -> None:
    with pytest.raises(IntervalError, match=message):
        store.ingest(frame, now=NOW)
    assert not store.root.exists() or not list(store.root.rglob("*.parquet"))


def test_unreadable_files_are_refused(store: IntervalStore, tmp_path: Path) -> None:
    with pytest.raises(IntervalError, match="no such file"):
        store.ingest(tmp_path / "missing.csv")
    (tmp_path / "reads.xlsx").write_bytes(b"PK")
    with pytest.raises(IntervalError, match="only CSV or Parquet"):
        store.ingest(tmp_path / "reads.xlsx")


def test_checks_per_meter_day_gaps_and_spikes(store: IntervalStore) -> None:
    ts = quarter_hours(NOV_START, 1)
    kwh = [0.5] * 96
    kwh[40] = 9.0  # 18 × the median: a spike with any baseline
    reads = pl.DataFrame({"meter": [4] * 96, "ts": ts, "kwh": kwh}).filter(
        pl.int_range(96) % 10 != 3
    )  # 10 gaps
    checks = store.ingest(reads, now=NOW, spike_factor=10).checks.row(0, named=True)
    assert (checks["received"], checks["gaps"], checks["spikes"]) == (86, 10, 1)
    assert checks["collection_rate"] == pytest.approx(86 / 96)
    # the capacity test: 0.6 kWh in 15 minutes is 2.4 kW, above a 2 kVA connection
    capped = store.ingest(
        pl.DataFrame({"meter": [6] * 3, "ts": ts[:3], "kwh": [0.4, 0.6, 0.4]}), now=NOW, capacity_kva={6: 2}
    )
    assert capped.checks.get_column("spikes").to_list() == [1]


def test_collection_rate_counts_days_without_data(store: IntervalStore) -> None:
    reads = pl.DataFrame(
        {
            "meter": [9] * 96 + [9] * 48,
            "ts": quarter_hours(NOV_START, 1) + quarter_hours(NOV_START + timedelta(days=2), 1)[:48],
            "kwh": 0.1,
        }
    )
    store.ingest(reads, now=NOW)
    rate = store.collection_rate(date(2026, 11, 1), date(2026, 11, 3))
    assert rate.select("day", "received", "collection_rate").rows() == [
        (date(2026, 11, 1), 96, 1.0),
        (date(2026, 11, 2), 0, 0.0),
        (date(2026, 11, 3), 48, 0.5),
    ]


def test_queries_on_an_empty_store(store: IntervalStore) -> None:
    assert store.monthly_totals().height == 0
    assert store.months() == []


def test_a_working_day_is_not_a_spike_but_a_meter_error_is(store: IntervalStore) -> None:
    # an office: 0.1 kWh a quarter at night, 2.0 during 10 working hours — 20 × its median
    ts = quarter_hours(NOV_START, 1)
    office = [2.0 if 32 <= i < 72 else 0.1 for i in range(96)]
    office[50] = 40.0  # a register glitch
    reads = pl.DataFrame({"meter": [12] * 96, "ts": ts, "kwh": office})
    assert store.ingest(reads, now=NOW).checks.get_column("spikes").to_list() == [1]
    median_based = IntervalStore(store.root.parent / "median").ingest(
        reads, now=NOW, spike_percentile=50, spike_factor=10
    )
    assert median_based.checks.get_column("spikes").to_list() == [40]  # the whole working day


def test_spike_parameters_are_checked_before_anything_is_written(store: IntervalStore) -> None:
    reads = pl.DataFrame({"meter": [1], "ts": [NOV_START], "kwh": [1.0]})
    with pytest.raises(IntervalError, match="spike parameters"):
        store.ingest(reads, now=NOW, spike_percentile=0)
    assert store.months() == []


def test_meter_ids_far_apart_take_the_general_sort(store: IntervalStore) -> None:
    ts = quarter_hours(NOV_START, 1)[:3]
    far = 2**60 + 5  # the packed sort key would not fit: the four-key sort runs
    reads = pl.DataFrame(
        {"meter": [far, 1, far, 1, far], "ts": [ts[2], ts[0], ts[0], ts[0], ts[1]], "kwh": 1.0}
    )
    result = store.ingest(reads, now=NOW)
    assert (result.written, result.duplicates) == (4, 1)
    assert store.monthly_totals().rows() == [(1, "2026-11", 1000), (far, "2026-11", 3000)]


def test_a_batch_cut_into_chunks_gives_the_same_result(tmp_path: Path) -> None:
    ts = quarter_hours(NOV_START, 2)
    reads = pl.concat(
        [
            pl.DataFrame(
                {"meter": [m] * len(ts), "ts": ts, "kwh": [0.1 * m + 0.001 * i for i in range(len(ts))]}
            )
            for m in range(1, 12)
        ]
        + [
            pl.DataFrame(
                {"meter": [3, 5, 5], "ts": [ts[7], ts[9], ts[40]], "kwh": [0.3 + 0.007, 0.5 + 0.009, 9.0]}
            ),
        ]
    )
    whole = IntervalStore(tmp_path / "whole").ingest(reads, now=NOW)
    chunked_store = IntervalStore(tmp_path / "chunked")
    chunked = chunked_store.ingest(reads, now=NOW, chunk_rows=500)
    assert chunked.written == whole.written == 11 * len(ts) - 1
    assert chunked.duplicates == whole.duplicates == 2
    assert chunked.conflicts.height == 1
    assert chunked.conflicts.sort("meter", "ts").equals(whole.conflicts.sort("meter", "ts"))
    assert chunked.checks.equals(whole.checks)
    assert chunked_store.daily_totals().equals(IntervalStore(tmp_path / "whole").daily_totals())


def test_time_zones_decimals_and_empty_columns_are_understood(tmp_path: Path) -> None:
    store = IntervalStore(tmp_path / "o'brien")  # a quote in the path must not break the SQL
    with_offset = pl.DataFrame(
        {"meter": [1, 1], "ts": ["2026-11-01T00:15:00+08:00", "2026-10-31T16:30:00Z"], "kwh": ["1.5", "2"]}
    )
    assert store.ingest(with_offset, now=NOW).written == 2
    local_arrow = pa.table(
        {
            "meter": [2],
            "ts": pa.array([datetime(2026, 11, 1, 0, 45)], pa.timestamp("us", tz="Asia/Shanghai")),
            "kwh": pa.array([Decimal("1.250")], pa.decimal128(10, 3)),
            "kw": pa.nulls(1, pa.float64()),
        }
    )
    assert store.ingest(local_arrow, now=NOW).written == 1
    empty_kw = pl.DataFrame({"meter": [3], "ts": [NOV_START], "kwh": [1.0], "kw": [None]})
    assert store.ingest(empty_kw, now=NOW).written == 1
    assert store.daily_totals().rows() == [
        (1, date(2026, 11, 1), 3500),
        (2, date(2026, 11, 1), 1250),
        (3, date(2026, 11, 1), 1000),
    ]
    with pytest.raises(IntervalError, match="at most 3 decimals"):
        store.ingest(local_arrow.set_column(2, "kwh", pa.array([Decimal("1.2505")], pa.decimal128(10, 4))))
    with pytest.raises(IntervalError, match="timestamp or text"):
        store.ingest(pl.DataFrame({"meter": [4], "ts": [date(2026, 11, 1)], "kwh": [1.0]}), now=NOW)


def test_hourly_data_uses_its_own_grid(tmp_path: Path) -> None:
    hourly = IntervalStore(tmp_path / "hourly", steps_per_hour=1)
    ts = [NOV_START + timedelta(hours=h) for h in range(24)]
    reads = pl.DataFrame({"meter": [1] * 25, "ts": [*ts, NOV_START + timedelta(minutes=15)], "kwh": 2.0})
    result = hourly.ingest(reads, now=NOW)
    assert result.written == 24
    assert "60-minute grid" in result.rejected.get_column("reason")[0]
    assert result.checks.select("received", "expected", "collection_rate").row(0) == (24, 24, 1.0)
    assert hourly.max_demand().get_column("kw").to_list() == [2000]
    assert hourly.typical_curve().get_column("slot").max() == 23
    with pytest.raises(IntervalError, match="steps_per_hour"):
        IntervalStore(tmp_path / "odd", steps_per_hour=3)


def test_minute_data_duplicates_are_found_within_a_quarter_hour(tmp_path: Path) -> None:
    minutes = IntervalStore(tmp_path / "minutes", steps_per_hour=60)
    ts = [NOV_START + timedelta(minutes=m) for m in (3, 1, 2, 1)]  # out of order, minute 1 twice
    result = minutes.ingest(pl.DataFrame({"meter": [1] * 4, "ts": ts, "kwh": [0.1, 0.2, 0.3, 0.25]}), now=NOW)
    assert result.written == 2
    assert result.conflicts.select("kwh", "other_kwh").rows() == [(200, 250)]


@settings(max_examples=25, deadline=None)
@given(
    st.dictionaries(
        st.tuples(st.integers(0, 40), st.integers(0, 3 * 96 - 1)),  # (meter, quarter-hour over three days)
        st.integers(0, 5_000_000),  # Wh, i.e. kWh with three decimals
        min_size=1,
        max_size=300,
    ),
    st.integers(0, 5),
)
def test_stored_totals_equal_the_input_exactly(reads: dict[tuple[int, int], int], repeats: int) -> None:
    keys = list(reads)
    resent = keys[:repeats]  # a head-end resends some reads unchanged
    frame = pl.DataFrame(
        {
            "meter": [m for m, _ in keys + resent],
            "ts": [NOV_START + timedelta(minutes=15 * q) for _, q in keys + resent],
            "kwh": [reads[k] / 1000 for k in keys + resent],
        }
    )
    with tempfile.TemporaryDirectory() as folder:
        store = IntervalStore(Path(folder))
        result = store.ingest(frame, now=NOW)
        assert (result.written, result.duplicates, result.conflicts.height) == (len(keys), len(resent), 0)
        expected: dict[tuple[int, date], int] = {}
        for (meter, quarter), wh in reads.items():
            day = (NOV_START + timedelta(minutes=15 * quarter)).date()
            expected[(meter, day)] = expected.get((meter, day), 0) + wh
        assert {(m, d): q for m, d, q in store.daily_totals().iter_rows()} == expected
        monthly = {m: q for m, _, q in store.monthly_totals().iter_rows()}
        assert monthly == {m: sum(wh for (mm, _), wh in reads.items() if mm == m) for m in monthly}
        assert set(monthly) == {m for m, _ in keys}


def test_a_retried_batch_after_a_partial_write_completes_it(store: IntervalStore) -> None:
    reads = pl.concat([profile_reads(m, ("Chicago", "FlatLoad"), days=1) for m in (1, 2, 3)])
    store.ingest(reads.filter(pl.col("meter") == 2), now=NOW)  # as if only bucket 02 had been written
    retried = store.ingest(reads, now=NOW)
    assert (retried.written, retried.duplicates, retried.conflicts.height) == (2 * 96, 96, 0)
    assert not list(store.root.rglob(".*.partial"))
    assert store.monthly_totals().height == 3
