"""Benchmark: 15-minute interval ingest with its checks into the hive-partitioned Parquet store.

    .venv/bin/python benchmarks/interval_ingest.py [--reads 50000000] [--days 30] [--seed 11]

Reads are generated in memory from the shared DOE reference-building load profiles (../shared/data/loads,
falling back to the copies in tests/data/loads): each meter gets a building profile scaled by a random
size, one read per 15 minutes over ``--days`` days from 1 November 2026, with a few anomalies (negative
reads, repeated reads, missing intervals) so every check has work.  Timed separately:

* ``IntervalStore.ingest`` — validation, duplicate/conflict detection, per meter-day checks (gaps,
  spikes, collection rate), sort, and the append of new part files;
* a plain ``pyarrow.parquet.write_to_dataset`` of the same rows partitioned the same way (the partition
  columns are computed before its clock starts) — the reference for the printed ratio.

Targets (issue #11): ≥ 278,000 reads/s sustained (one billion per hour), stretch 3,000,000/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gridcare.engine.interval_store import DEFAULT_BUCKETS, UTC_OFFSET_MS, IntervalStore

ROOT = Path(__file__).resolve().parents[1]
LOAD_DIRS = [
    ROOT.parent.parent / "shared" / "data" / "loads",
    Path("/work/shared/data/loads"),
    ROOT / "tests" / "data" / "loads",
]
START = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # 2026-11-01 00:00 Asia/Shanghai
STEPS = 96


def load_profiles() -> tuple[np.ndarray, list[str]]:
    """(profiles × 8760) hourly kWh of a 1 MWh/year building, and their names."""
    folder = next(d for d in LOAD_DIRS if (d / "total_electric_annual_kwh.json").is_file())
    annual = json.loads((folder / "total_electric_annual_kwh.json").read_text())
    rows, names = [], []
    for path in sorted(folder.glob("crb8760_norm_*.dat")):
        city, building = path.stem.removeprefix("crb8760_norm_").split("_", 1)
        if building.lower() in annual.get(city, {}):
            rows.append(np.loadtxt(path))
            names.append(f"{city}/{building}")
    return np.array(rows), names


def generate(reads: int, days: int, seed: int) -> pa.Table:
    """``reads`` interval reads (meter, ts, kwh) for ``reads // (days × 96)`` meters, with ~0.1 % anomalies."""
    rng = np.random.default_rng(seed)
    profiles, _ = load_profiles()
    per_meter = days * STEPS
    meters = max(1, reads // per_meter)
    total = meters * per_meter
    profile_of = rng.integers(0, len(profiles), size=meters)
    annual_kwh = rng.lognormal(np.log(40_000), 1.2, size=meters)  # small shops to large plants
    first_hour = (START.timetuple().tm_yday - 1) * 24 + 8  # local hour of the year of the first interval
    slot = np.arange(per_meter)
    hour = (first_hour + slot // 4) % 8760
    meter_ids = np.repeat(np.arange(1, meters + 1, dtype=np.int64) * 7 + 100_000, per_meter)
    kwh = (
        profiles[np.repeat(profile_of, per_meter), np.tile(hour, meters)] * np.repeat(annual_kwh, per_meter)
    ) / 4
    kwh *= rng.uniform(0.9, 1.1, size=total)
    kwh = np.round(kwh, 3)
    ts = np.tile(np.int64(START.timestamp() * 1000) + slot * 900_000, meters)
    anomalies = rng.choice(total, size=max(3, total // 1000), replace=False)
    third = anomalies.size // 3
    kwh[anomalies[:third]] = -kwh[anomalies[:third]] - 0.001  # negative reads
    keep = np.ones(total, dtype=bool)
    keep[anomalies[third : 2 * third]] = False  # missing intervals (gaps)
    repeat = anomalies[2 * third :]  # the same read delivered twice
    index = np.concatenate([np.flatnonzero(keep), repeat])
    return pa.table(
        {
            "meter": pa.array(meter_ids[index]),
            "ts": pa.array(ts[index], type=pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
            "kwh": pa.array(kwh[index]),
        }
    )


def plain_write(table: pa.Table, folder: Path) -> float:
    """Seconds for ``pq.write_to_dataset`` of the same rows, same partitions (columns prepared untimed)."""
    local = pc.add(table.column("ts").cast(pa.int64()), UTC_OFFSET_MS)
    month = pc.strftime(pc.cast(local, pa.timestamp("ms")), format="%Y-%m")
    bucket = pa.array(table.column("meter").to_numpy() % DEFAULT_BUCKETS)
    prepared = table.append_column("month", month).append_column("bucket", bucket)
    started = time.perf_counter()
    pq.write_to_dataset(prepared, folder, partition_cols=["month", "bucket"])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=50_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workdir", type=Path, default=None, help="where the temporary datasets go")
    args = parser.parse_args()

    started = time.perf_counter()
    table = generate(args.reads, args.days, args.seed)
    generated = time.perf_counter() - started
    print(
        f"machine: {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"generated {table.num_rows:,} reads for {table.num_rows // (args.days * STEPS):,} meters in {generated:.1f} s"
    )

    workdir = Path(tempfile.mkdtemp(prefix="interval-bench-", dir=args.workdir))
    try:
        store = IntervalStore(workdir / "store")
        started, started_cpu = time.perf_counter(), time.process_time()
        result = store.ingest(table, now=datetime(2027, 1, 1, tzinfo=UTC))
        ingest_s, ingest_cpu = time.perf_counter() - started, time.process_time() - started_cpu
        plain_s = plain_write(table, workdir / "plain")
        checks = result.checks
        print(
            f"ingest: {ingest_s:.2f} s (CPU {ingest_cpu:.2f} s, all threads), {table.num_rows / ingest_s:,.0f} reads/s "
            f"(written {result.written:,}, duplicates {result.duplicates:,}, rejected {result.rejected.height:,}, "
            f"conflicts {result.conflicts.height:,}, meter-days {checks.height:,}, "
            f"gaps {int(checks['gaps'].sum()):,}, spikes {int(checks['spikes'].sum()):,}, files {len(result.files)})"
        )
        print(f"plain pyarrow write_to_dataset: {plain_s:.2f} s, {table.num_rows / plain_s:,.0f} reads/s")
        print(f"ratio ingest / plain write (time): {ingest_s / plain_s:.2f}×")
        print(
            "target ≥ 278,000 reads/s (1e9/h):", "met" if table.num_rows / ingest_s >= 278_000 else "NOT met"
        )
        started = time.perf_counter()
        monthly = store.monthly_totals()
        query_s = time.perf_counter() - started
        print(f"DuckDB monthly totals over the dataset: {query_s:.2f} s for {monthly.height:,} meter-months")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
