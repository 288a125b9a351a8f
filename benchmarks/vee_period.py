"""Benchmark: period VEE (``do_run_period_vee``) over 1,000,000 accounts on PostgreSQL, end to end.

    PYTHONPATH=src .venv/bin/python benchmarks/vee_period.py [--accounts 1000000] [--reseed] [--rounds 2]

Database ``gridcare_bench_vee`` on the local server (user postgres), migrated with the app's migrations and
seeded **once** (kept between runs; ``--reseed`` rebuilds it). The set-up bypasses the actions: it COPYs straight
into the tables the period VEE reads — meters (``metering_meter``), routes of 60 stops (``readings_route``,
``readings_routestop``), the period's reading tasks and 13 months of monthly register reads
(``readings_meterread``: 有功总 of every account; 峰/平/谷 of 20 % of them in the last two months) — with the
app's indexes rebuilt after the load; and the service points (8 kVA each), under one placeholder account.
Customers, accounts and installations are not seeded (foreign keys are not checked during the load): the period
VEE does not read them.

About 2 % of the accounts carry one anomaly in the measured period (2026-11): reverse running, rollover, three
zero months, a tripled month, a missing read (task still pending after the window), a read 10 days late, a TOU
mismatch, a multiplier change. The period's reads are stored valid with their consumption and no exceptions, as
a bulk head-end load would leave them; so the measured run is the first full validation of the period: it
raises every exception, holds the blocked reads and moves their tasks. Each round runs in a transaction rolled
back at the end (the seeded state stays as it is), so the commit is not in the figure.

Printed: seconds per phase (load / engine / write), reads/s, exceptions by rule, and the engine alone on the same
batch and history (``vee.validate``) as the reference, with ``uptime`` (the machine is shared). Because other jobs
share the two cores, each round also prints the CPU time it used — this process plus the PostgreSQL server's
processes (from /proc: the backends serving it, the load's helper connection included).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import psycopg

ROOT = Path(__file__).resolve().parents[1]
SERVER = "postgres://postgres@127.0.0.1:5432"
PERIOD = "2026-11"
MONTHS = [f"{2025 + (10 + m) // 12}-{(10 + m) % 12 + 1:02d}" for m in range(13)]  # 2025-11 … 2026-11
READING_DAY = 15
STOPS = 60
TARGET_SECONDS = 10.0  # issue #11: the period VEE of 1,000,000 accounts, load and write-back included
ANOMALIES = ("reverse", "rollover", "zero", "surge", "missing", "late", "tou", "multiplier")


class Rollback(Exception):
    pass


def database_exists(name: str) -> bool:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def recreate(name: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "gridcare"), "migrate", "--verbosity", "0"],
        check=True,
        env={**os.environ, "DATABASE_URL": f"{SERVER}/{name}"},
    )


def generate(accounts: int, seed: int) -> dict[str, pl.DataFrame]:
    """Reads of 13 months, the period's tasks; values in 0.01 kWh (the column's scale)."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1, accounts + 1, dtype=np.int64)
    mean = rng.gamma(2.0, 150.0, size=(accounts, 1)) + 10  # kWh a month, ≥ 10
    noise = rng.uniform(0.9, 1.1, size=(accounts, 13))  # ±10 % month to month: no surge by itself
    monthly = (mean * noise * 100).astype(np.int64)  # 0.01 kWh
    kind = np.full(accounts, -1)
    chosen = rng.choice(accounts, size=accounts // 50, replace=False)
    kind[chosen] = rng.integers(0, len(ANOMALIES), size=chosen.size)
    flag = {name: kind == i for i, name in enumerate(ANOMALIES)}
    tou = (rng.random(accounts) < 0.2) | flag["tou"]
    monthly[flag["zero"], 10:] = 0
    monthly[flag["surge"], 12] *= 3
    base = rng.integers(0, 50_000_000, size=accounts)  # < 500,000 kWh: 13 months never reach 10**6
    base[flag["rollover"]] = 99_999_000 - monthly[flag["rollover"], :12].sum(axis=1)
    readings = base[:, None] + np.cumsum(monthly, axis=1)
    readings[:, 12] = np.where(flag["reverse"], readings[:, 11] - 5_000, readings[:, 12])
    readings[:, 12] %= 100_000_000  # a 6-digit register wraps at 10**6 kWh
    advance = readings[:, 12] - readings[:, 11]
    advance = np.where(advance < -50_000_000, advance + 100_000_000, advance)
    multiplier = np.where(flag["multiplier"], 2, 1)

    def value(x: np.ndarray) -> pl.Series:
        return pl.Series(x).cast(pl.Decimal(16, 2)) / 100

    frames = []
    for m, period in enumerate(MONTHS):
        keep = ~flag["missing"] if period == PERIOD else np.ones(accounts, dtype=bool)
        day = np.where(flag["late"] & (period == PERIOD), READING_DAY + 10, READING_DAY)
        quantity = monthly[:, m] if m < 12 else advance * multiplier
        frames.append(
            pl.DataFrame(
                {
                    "account": ids,
                    "register": "active_total",
                    "period": period,
                    "day": day,
                    "value": readings[:, m],
                    "quantity": quantity * 10,  # 0.001 kWh
                    "multiplier": multiplier if period == PERIOD else np.ones(accounts, dtype=np.int64),
                }
            ).filter(pl.Series(keep))
        )
    for m in (11, 12):  # TOU registers of the TOU accounts: 30 / 40 / 30 % of the total
        period = MONTHS[m]
        t = np.flatnonzero(tou & (~flag["missing"] if period == PERIOD else True))
        total = monthly[t, : m + 1]
        for register, share, offset in (
            ("active_peak", 30, 0),
            ("active_flat", 40, 1),
            ("active_valley", 30, 2),
        ):
            part = total * share // 100
            if register == "active_valley":
                part = total - total * 30 // 100 - total * 40 // 100
            current = part.sum(axis=1) + offset
            if m == 12:
                current = np.where(flag["tou"][t] & (register == "active_peak"), current + 50_000, current)
            frames.append(
                pl.DataFrame(
                    {
                        "account": ids[t],
                        "register": register,
                        "period": period,
                        "day": READING_DAY,
                        "value": current,
                        "quantity": (current - (part[:, :-1].sum(axis=1) + offset)) * 10,
                        "multiplier": 1,
                    }
                )
            )
    reads = pl.concat(frames, how="vertical_relaxed")
    tasks = (
        reads.filter(pl.col("period") == PERIOD)
        .select("account", "register")
        .vstack(pl.DataFrame({"account": ids[flag["missing"]], "register": "active_total"}))
    )
    print(
        f"  generated {reads.height:,} reads, {tasks.height:,} tasks; anomalies "
        + ", ".join(f"{name} {int(flag[name].sum()):,}" for name in ANOMALIES)
    )
    return {"reads": reads, "tasks": tasks, "tou": pl.DataFrame({"account": ids[tou]})}


def copy_csv(cursor: psycopg.Cursor, table: str, columns: list[str], frame: pl.DataFrame) -> None:
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, null_value="")
    buffer.seek(0)
    with cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN (FORMAT csv)') as copy:
        while chunk := buffer.read(1 << 22):
            copy.write(chunk)


def seed(accounts: int, seed_value: int) -> None:
    from django.db import connection, transaction

    from gridcare.customers.models import ServicePoint
    from gridcare.metering.models import Meter
    from gridcare.org.models import OrgUnit
    from gridcare.readings.models import MeterRead, ReadingTask, Route, RouteStop

    started = time.perf_counter()
    data = generate(accounts, seed_value)
    unit = OrgUnit.objects.create(code="BENCH", name="基准供电所", kind="station", path="/BENCH/")
    tables = [m._meta.db_table for m in (ServicePoint, Meter, Route, RouteStop, ReadingTask, MeterRead)]
    ids = pl.int_range(1, accounts + 1, eager=True, dtype=pl.Int64)
    route_of = (ids - 1) // STOPS + 1
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        cursor.execute("SET LOCAL session_replication_role = replica")  # generated references: no FK checks
        dropped = cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s) AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass)",
            [tables],
        ).fetchall()
        for name, _definition in dropped:
            cursor.execute(f'DROP INDEX "{name}"')
        now = "2026-10-01 00:00:00+00"
        registers = (
            pl.when(ids.is_in(data["tou"].get_column("account").implode()))
            .then(pl.lit('["active_total", "active_peak", "active_flat", "active_valley"]'))
            .otherwise(pl.lit('["active_total"]'))
        )
        copy_csv(
            cursor,
            Meter._meta.db_table,
            [
                "id",
                "asset_no",
                "barcode",
                "manufacturer",
                "model_code",
                "kind",
                "accuracy_class",
                "phases",
                "rated_current",
                "register_digits",
                "registers",
                "ct_ratio",
                "pt_ratio",
                "status",
                "org_unit_id",
                "service_point_id",
                "created_at",
            ],
            pl.DataFrame({"id": ids}).with_columns(
                asset_no="B" + ids.cast(pl.String).str.zfill(9),
                barcode="C" + ids.cast(pl.String).str.zfill(9),
                manufacturer=pl.lit("基准"),
                model_code=pl.lit("DDZY"),
                kind=pl.lit("electronic"),
                accuracy_class=pl.lit("2.0"),
                phases=pl.lit(1),
                rated_current=pl.lit("5(60)A"),
                register_digits=pl.lit(6),
                registers=registers,
                ct_ratio=pl.lit(1),
                pt_ratio=pl.lit(1),
                status=pl.lit("installed"),
                org_unit_id=pl.lit(unit.pk),
                service_point_id=ids,
                created_at=pl.lit(now),
            ),
        )
        copy_csv(  # the service points the reads belong to (one placeholder account: not read by the VEE)
            cursor,
            ServicePoint._meta.db_table,
            [
                "id",
                "number",
                "account_id",
                "address",
                "org_unit_id",
                "voltage_level",
                "customer_class",
                "sub_class",
                "pf_standard",
                "area_class",
                "is_important",
                "tariff_code",
                "capacity_kva",
                "expected_monthly_kwh",
                "metering_class",
            ],
            pl.DataFrame({"id": ids}).with_columns(
                number="P" + ids.cast(pl.String).str.zfill(9),
                account_id=pl.lit(1),
                address="基准路" + ids.cast(pl.String) + "号",
                org_unit_id=pl.lit(unit.pk),
                voltage_level=pl.lit("220V"),
                customer_class=pl.lit("residential"),
                sub_class=pl.lit(""),
                pf_standard=pl.lit("none"),
                area_class=pl.lit("urban"),
                is_important=pl.lit("f"),
                tariff_code=pl.lit(""),
                capacity_kva=pl.lit("8.00"),
                expected_monthly_kwh=pl.lit("0"),
                metering_class=pl.lit(""),
            ),
        )
        routes = pl.int_range(1, int(route_of.max()) + 1, eager=True, dtype=pl.Int64)
        copy_csv(
            cursor,
            Route._meta.db_table,
            [
                "id",
                "number",
                "name",
                "org_unit_id",
                "reading_day",
                "frequency",
                "mode",
                "active",
                "created_at",
            ],
            pl.DataFrame({"id": routes}).with_columns(
                number="R" + routes.cast(pl.String).str.zfill(6),
                name="基准段" + routes.cast(pl.String),
                org_unit_id=pl.lit(unit.pk),
                reading_day=pl.lit(READING_DAY),
                frequency=pl.lit("monthly"),
                mode=pl.lit("manual"),
                active=pl.lit("t"),
                created_at=pl.lit(now),
            ),
        )
        copy_csv(
            cursor,
            RouteStop._meta.db_table,
            ["id", "route_id", "service_point_id", "sequence"],
            pl.DataFrame(
                {"id": ids, "route_id": route_of, "service_point_id": ids, "sequence": (ids - 1) % STOPS + 1}
            ),
        )
        reads_in_period = data["reads"].filter(pl.col("period") == PERIOD).select("account", "register")
        tasks = (
            data["tasks"]
            .with_row_index("id", offset=1)
            .with_columns(
                pl.col("id").cast(pl.Int64),
                read=pl.col("account").is_in(
                    reads_in_period.filter(pl.col("register") == "active_total")
                    .get_column("account")
                    .implode()
                )
                | (pl.col("register") != "active_total"),
            )
        )
        copy_csv(
            cursor,
            ReadingTask._meta.db_table,
            [
                "id",
                "route_id",
                "period",
                "meter_id",
                "register",
                "service_point_id",
                "sequence",
                "due_date",
                "status",
            ],
            tasks.select(
                "id",
                ((pl.col("account") - 1) // STOPS + 1).alias("route_id"),
                pl.lit(PERIOD).alias("period"),
                "account",
                "register",
                pl.col("account").alias("point"),
                ((pl.col("account") - 1) % STOPS + 1).alias("seq"),
                pl.lit(f"{PERIOD}-{READING_DAY:02d}").alias("due"),
                pl.when("read").then(pl.lit("validated")).otherwise(pl.lit("pending")).alias("st"),
            ),
        )
        task_ids = tasks.select(
            "account", "register", pl.col("id").alias("task"), pl.lit(PERIOD).alias("period")
        )
        reads = (
            data["reads"]
            .join(task_ids, on=["account", "register", "period"], how="left")
            .with_row_index("id", offset=1)
        )
        copy_csv(
            cursor,
            MeterRead._meta.db_table,
            [
                "id",
                "meter_id",
                "register",
                "read_at",
                "value",
                "source",
                "condition",
                "service_point_id",
                "period",
                "task_id",
                "multiplier",
                "quantity",
                "status",
                "created_at",
            ],
            reads.select(
                pl.col("id").cast(pl.Int64),
                "account",
                "register",
                (pl.col("period") + "-" + pl.col("day").cast(pl.String).str.zfill(2) + " 02:00:00+00").alias(
                    "at"
                ),
                (pl.col("value").cast(pl.Float64) / 100).round(2).cast(pl.String).alias("v"),
                pl.lit("headend").alias("source"),
                pl.lit("normal").alias("condition"),
                pl.col("account").alias("point"),
                "period",
                "task",
                "multiplier",
                (pl.col("quantity").cast(pl.Float64) / 1000).cast(pl.String).alias("q"),
                pl.lit("valid").alias("status"),
                pl.lit(now).alias("created"),
            ),
        )
        loaded = time.perf_counter()
        for _name, definition in dropped:
            cursor.execute(definition)
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM \"{table}\"))"
            )
    with connection.cursor() as django_cursor:
        for table in tables:
            django_cursor.execute(f'VACUUM ANALYZE "{table}"')
    print(
        f"  seeded in {time.perf_counter() - started:.1f} s (COPY {loaded - started:.1f} s, "
        f"{len(dropped)} indexes rebuilt and analysed after)"
    )


def measure(rounds: int) -> None:
    from django.db import transaction

    from gridcare.engine import vee
    from gridcare.org.selectors import system_actor
    from gridcare.readings import periodvee
    from gridcare.readings.actions import do_run_period_vee
    from gridcare.readings.conf import vee_rules
    from gridcare.readings.models import Route
    from gridcare.readings.periods import parse_period

    actor = system_actor()
    walls: list[float] = []
    for index in range(rounds):
        server = _server_cpu()
        cpu = time.process_time()
        wall = time.perf_counter()
        try:
            with transaction.atomic():
                result = do_run_period_vee(actor, PERIOD)
                raise Rollback
        except Rollback:
            pass
        wall = time.perf_counter() - wall
        walls.append(wall)
        cpu = time.process_time() - cpu
        server = _server_cpu() - server
        s = result.seconds
        print(
            f"round {index + 1}: {wall:.2f} s wall; CPU {cpu + server:.2f} s = {cpu:.2f} s Python + "
            f"{server:.2f} s PostgreSQL — load {s['load']:.2f} / engine "
            f"{s['engine']:.2f} / write {s['write']:.2f}; {result.reads + result.missing:,} rows checked "
            f"({result.reads:,} reads + {result.missing:,} missing) → {(result.reads + result.missing) / wall:,.0f}"
            f" reads/s; {result.total_raised:,} exceptions raised, {result.reads_updated:,} reads and "
            f"{result.tasks_updated:,} tasks updated"
        )
        print("  by rule: " + ", ".join(f"{rule} {count:,}" for rule, count in result.raised.items()))
    median = sorted(walls)[len(walls) // 2]
    print(
        f"period VEE ({result.reads + result.missing:,} rows checked): median {median:.2f} s, best {min(walls):.2f} s of {rounds} "
        f"rounds — target ≤ {TARGET_SECONDS:.0f} s {'met' if median <= TARGET_SECONDS else 'NOT met'} (median)"
    )
    routes = Route.objects.all()
    marks = (_server_cpu(), time.process_time(), time.perf_counter())
    with transaction.atomic():  # as in the run: the load's work_mem is set for its transaction
        data = periodvee.load(PERIOD, routes, missing_before=__import__("datetime").date(2026, 11, 18))
    loaded = (time.perf_counter() - marks[2], time.process_time() - marks[1], _server_cpu() - marks[0])
    built = time.process_time()
    batch, _meta, history = periodvee.batch(data, periodvee.route_frame(routes, parse_period(PERIOD)))
    print(
        f"phases alone: load {loaded[0]:.2f} s wall, CPU {loaded[1]:.2f} s Python + {loaded[2]:.2f} s PostgreSQL "
        f"({data.reads.height:,} reads, {data.earlier.height:,} previous readings, "
        f"{data.history.height:,} history rows); engine batch {time.process_time() - built:.2f} s CPU"
    )
    best = min(_timed(lambda: vee.validate(batch, history, vee_rules())) for _ in range(rounds))
    print(
        f"engine alone (vee.validate on the same {batch.height:,} rows and {history.height:,} history rows): "
        f"{best:.2f} s best of {rounds}; end to end / engine = {wall / best:.1f}×"
    )


def _server_cpu() -> float:
    """CPU seconds (user + system) of the PostgreSQL server on this machine: every ``postgres`` process, and
    the postmaster's reaped children — so the backends of the load's helper connections, gone by the time the
    round ends, are counted too (and autovacuum or other databases' work, if any, while it runs)."""
    processes: dict[int, tuple[int, list[str]]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, fields = text[text.index("(") + 1 : text.rindex(")")], text.rsplit(")", 1)[1].split()
        if name == "postgres":
            processes[int(stat.parent.name)] = (int(fields[1]), fields)
    ticks = 0
    for _pid, (parent, fields) in processes.items():
        ticks += int(fields[11]) + int(fields[12])
        if parent not in processes:  # the postmaster: its children's time once they have exited
            ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def _timed(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="gridcare_bench_vee")
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    fresh = args.reseed or not database_exists(args.db)
    if fresh:
        print(f"creating and migrating {args.db} …")
        recreate(args.db)
    os.environ["DATABASE_URL"] = f"{SERVER}/{args.db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")
    import django

    django.setup()
    if fresh:
        print(f"seeding {args.accounts:,} accounts …")
        seed(args.accounts, args.seed)
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(f"python {sys.version.split()[0]}, polars {pl.__version__}, {os.cpu_count()} CPUs")
    measure(args.rounds)
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
