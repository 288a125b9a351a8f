"""Benchmark: VEE over 1,000,000 accounts' monthly register reads (consumption + every default rule).

    .venv/bin/python benchmarks/vee_batch.py [--accounts 1000000] [--seed 5]

Synthetic November reads: 80 % single-register accounts (有功总), 20 % TOU accounts (total + 峰/平/谷), of
which a quarter also read maximum demand; history = the three previous months and the same month last
year of every account's total register.  About 2 % of the accounts carry one anomaly each (rollover,
reverse running, zero ×3, surge, meter exchange, missing read, TOU mismatch, demand over capacity, late
read, multiplier change, estimate on a new remote route).  Generation and validation are timed apart;
the figure is the engine's share of the ≤ 10 s target (loading history from PostgreSQL and writing the
exceptions back come with the readings app).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date

import numpy as np
import polars as pl

from gridcare.engine.vee import validate

PERIOD = date(2026, 11, 1)
ANOMALIES = (
    "rollover",
    "reverse",
    "zero",
    "surge",
    "exchange",
    "missing",
    "tou",
    "demand",
    "late",
    "multiplier",
    "estimate",
)


def generate(accounts: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(batch, history) in the engine's columnar form; quantities in 0.001 kWh."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1, accounts + 1, dtype=np.int64)
    monthly = (rng.gamma(2.0, 150.0, size=accounts) * 1000).astype(np.int64) + 10_000  # ≥ 10 kWh
    multiplier = np.where(rng.random(accounts) < 0.1, 40, 1).astype(np.int64)
    advance = monthly // multiplier
    previous = rng.integers(0, 900_000_000, size=accounts)
    current = previous + advance
    tou = rng.random(accounts) < 0.2
    anomaly = np.full(accounts, -1)
    chosen = rng.choice(accounts, size=accounts // 50, replace=False)
    anomaly[chosen] = rng.integers(0, len(ANOMALIES), size=chosen.size)
    kind = {name: anomaly == i for i, name in enumerate(ANOMALIES)}
    tou |= kind["tou"] | kind["demand"]
    digits = np.full(accounts, 6, dtype=np.int64)
    previous[kind["rollover"]] = 999_999_000 - advance[kind["rollover"]] // 2
    current = np.where(kind["rollover"], (previous + advance) % 10**9, current)
    current = np.where(kind["reverse"], previous - 5_000, current)
    current = np.where(kind["zero"], previous, current)
    current = np.where(kind["surge"], previous + advance * 3, current)
    read_day = np.where(kind["late"], 29, 25)
    mult_now = np.where(kind["multiplier"], multiplier * 2, multiplier)
    exchanged = kind["exchange"]
    old_final = np.where(exchanged, previous + advance // 2, 0)
    new_initial = np.zeros(accounts, dtype=np.int64)
    current = np.where(exchanged, advance - advance // 2, current)
    total = pl.DataFrame(
        {
            "account": ids,
            "register": "total",
            "period": PERIOD,
            "previous": previous,
            "current": pl.Series(current).scatter(np.flatnonzero(kind["missing"]), None),
            "digits": digits,
            "multiplier": mult_now,
            "read_day": pl.Series([date(2026, 11, d) for d in (25, 29)])[(read_day == 29).astype(np.int64)],
            "reading_day": date(2026, 11, 25),
            "estimated": kind["estimate"],
            "remote_cycle": pl.Series(np.where(kind["estimate"], 2, 0)).replace(0, None),
            "capacity": pl.Series(np.where(tou, monthly * 2 // 720 * 1000 // 1000 + 50_000, 0)).replace(
                0, None
            ),
            "hours": 720,
            "exchanged": exchanged,
            "old_final": old_final,
            "new_initial": new_initial,
        }
    )
    tou_rows = total.filter(pl.Series(tou))
    split = {"peak": 35, "flat": 40, "valley": 25}
    parts = []
    for register, pct in split.items():
        share = pl.col("previous") * pct // 100
        parts.append(
            tou_rows.with_columns(
                register=pl.lit(register),
                previous=share,
                current=share + (pl.col("current") - pl.col("previous")).abs() * pct // 100,
                exchanged=pl.lit(False),
            )
        )
    mismatch = pl.Series(kind["tou"][tou])
    parts[0] = parts[0].with_columns(
        current=pl.when(mismatch).then(pl.col("current") + 50_000).otherwise(pl.col("current"))
    )
    demand_rows = tou_rows.filter(pl.Series(kind["demand"][tou] | (rng.random(int(tou.sum())) < 0.25)))
    demand = demand_rows.with_columns(
        register=pl.lit("demand"),
        previous=pl.lit(None, pl.Int64),
        current=pl.when(pl.Series(kind["demand"][demand_rows.get_column("account").to_numpy() - 1]))
        .then(pl.col("capacity") * 2)
        .otherwise(pl.col("capacity") // 2)
        // pl.col("multiplier"),
        exchanged=pl.lit(False),
    )
    batch = pl.concat([total, *parts, demand])
    history = pl.concat(
        [
            pl.DataFrame(
                {
                    "account": ids,
                    "register": "total",
                    "period": date(2026 - (months // 12), 11 - months % 12, 1),
                    "quantity": np.where(kind["zero"] & (months < 3), 0, monthly),
                    "multiplier": multiplier,
                }
            )
            for months in (1, 2, 3, 12)
        ]
    )
    return batch, history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--rounds", type=int, default=3, help="timed runs; the best and the median are printed"
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"polars {pl.__version__}, load average {os.getloadavg()[0]:.1f}"
    )
    started = time.perf_counter()
    batch, history = generate(args.accounts, args.seed)
    print(
        f"generated {batch.height:,} register reads of {args.accounts:,} accounts "
        f"and {history.height:,} history rows in {time.perf_counter() - started:.1f} s"
    )
    timings, cpu = [], []
    for _ in range(max(1, args.rounds)):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = validate(batch, history)
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    elapsed, median = min(timings), sorted(timings)[len(timings) // 2]
    frame = result.frame
    flagged = frame.get_column("account").n_unique()
    print(
        f"consumption + validate: best {elapsed:.2f} s, median {median:.2f} s of {len(timings)} "
        f"({batch.height / elapsed:,.0f} reads/s; CPU {min(cpu):.2f} s, all threads); "
        f"{frame.height:,} exceptions on {flagged:,} accounts ({flagged / args.accounts:.1%}), "
        f"{result.blocked_rows().len():,} reads blocked"
    )
    with pl.Config(tbl_rows=len(ANOMALIES) + 5):
        print(frame.group_by("rule", "severity").len().sort("len", descending=True))
    print("engine share of the ≤ 10 s target:", "met" if elapsed <= 10 else "NOT met")


if __name__ == "__main__":
    main()
