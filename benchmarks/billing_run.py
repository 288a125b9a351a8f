"""Benchmark: a billing run of N accounts end to end on PostgreSQL (issue #12 target: 1,000,000 bills ≤ 60 s).

    .venv/bin/python benchmarks/billing_run.py [--accounts 1000000] [--executor process|celery] [--workers 2]
                                              [--chunk-size 5000] [--reseed]

``--executor celery`` starts ``--workers`` Celery workers (``celery -A gridcare.worker worker -c 1``) on
``REDIS_URL`` (default ``redis://127.0.0.1:6379/13``) for the run and stops them after.

Database ``gridcare_bench_billing`` or the one ``DATABASE_URL`` names (created if missing). Set-up bypasses the actions: N customers, accounts,
service points (90 % Zhejiang annual tiers with one total register, 10 % Shanghai general I&C TOU with peak /
flat / valley registers), their tariff assignments, capacities, meters and validated reads of period 2026-11 are
generated server-side (INSERT … SELECT generate_series) and kept: a later call with the same N reuses them
(``--reseed`` rebuilds). Each call then empties the billing tables and runs the billing of 2026-11 through the
real path (the audited start action, chunks loaded set-based, batch-rated, written with COPY) with the chosen
executor, and prints bills/s, the seconds per phase (load / rate / write, summed over chunks), the peak memory
of a worker, the CPU seconds of the client processes, the floor (a COPY of the same bill and line rows alone)
and the ratio to it, and the engine-only rate of the same bills (``rate_batch`` on ready arrays) as reference ratio.
The machine is shared: the load average (``uptime``) is printed with the figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "gridcare_bench_billing"
DEFAULT_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
PERIOD = "2026-11"
TOU_EVERY = 10  # every 10th account is on the TOU tariff


def setup(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[-1].split("?")[0] or DB_NAME  # the database of DATABASE_URL
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    from gridcare.org import demo as org_demo
    from gridcare.org.models import OrgUnit
    from gridcare.org.selectors import system_actor
    from gridcare.tariffs.defaults import load

    call_command("migrate", verbosity=0)
    if not OrgUnit.objects.filter(code="GC").exists():
        call_command("load_catalogue", verbosity=0)
        list(org_demo.build(system_actor(), "small"))
    list(load(system_actor()))


def insert_select(model: Any, n: int, exprs: dict[str, str], params: dict[str, Any] | None = None) -> None:
    """INSERT n rows of ``model`` generated server-side from ``g`` = 1..n; every other column takes its field's
    Python default (a constant or a callable evaluated once)."""
    from django.db import connection

    from gridcare.core.rows import TableRef, column_of

    ref = TableRef(model)
    columns, values, args = [], [], []
    for field in model._meta.concrete_fields:
        name = field.name
        if name in exprs:
            columns.append(connection.ops.quote_name(column_of(field)))
            values.append(exprs[name])
            continue
        if field.primary_key or field.null:
            continue
        if not field.has_default() and not (field.blank and field.empty_strings_allowed):
            raise SystemExit(f"{model.__name__}.{name} needs a value")
        default = field.get_default()
        columns.append(connection.ops.quote_name(column_of(field)))
        values.append("%s")
        args.append(field.get_db_prep_save(default, connection))
    sql = f"INSERT INTO {ref} ({', '.join(columns)}) SELECT {', '.join(values)} FROM generate_series(1, %s) g"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*args, n])


def seed(n: int) -> float:
    from django.db import connection, transaction

    from gridcare.customers.models import Account, CapacityPeriod, Customer, ServicePoint, TariffAssignment
    from gridcare.metering.models import Meter
    from gridcare.org.models import OrgUnit
    from gridcare.readings.models import MeterRead

    started = time.perf_counter()
    unit = OrgUnit.objects.get(code="CG").pk
    meter_unit = OrgUnit.objects.get(code="JL").pk
    tou = f"(g %% {TOU_EVERY} = 0)"
    with transaction.atomic():
        with connection.cursor() as cursor:
            for model in (
                MeterRead,
                Meter,
                CapacityPeriod,
                TariffAssignment,
                ServicePoint,
                Account,
                Customer,
            ):
                cursor.execute(f"TRUNCATE {model._meta.db_table} CASCADE")
        insert_select(
            Customer,
            n,
            {
                "id": "g",
                "number": "'BC' || g",
                "kind": "'individual'",
                "name": "'用户' || g",
                "id_type": "'resident_id'",
                "id_number": "'B' || lpad(g::text, 17, '0')",
                "org_unit": str(unit),
            },
        )
        insert_select(
            Account,
            n,
            {"id": "g", "number": "'BA' || g", "customer": "g", "name": "'用户' || g", "org_unit": str(unit)},
        )
        insert_select(
            ServicePoint,
            n,
            {
                "id": "g",
                "number": "'BP' || g",
                "account": "g",
                "address": "'幸福路' || g || '号'",
                "org_unit": str(unit),
                "voltage_level": "'220V'",
                "customer_class": f"CASE WHEN {tou} THEN 'commercial' ELSE 'residential' END",
                "tariff_code": f"CASE WHEN {tou} THEN 'CN-SH-GIC-TOU' ELSE 'CN-ZJ-RES-TIERED' END",
                "capacity_kva": "8",
            },
        )
        start = "DATE '2026-01-01'"
        insert_select(
            TariffAssignment,
            n,
            {
                "service_point": "g",
                "valid_from": start,
                "tariff_code": f"CASE WHEN {tou} THEN 'CN-SH-GIC-TOU' ELSE 'CN-ZJ-RES-TIERED' END",
            },
        )
        insert_select(CapacityPeriod, n, {"service_point": "g", "valid_from": start, "capacity_kva": "8"})
        insert_select(
            Meter,
            n,
            {
                "id": "g",
                "asset_no": "'BM' || g",
                "barcode": "'BB' || g",
                "manufacturer": "'威胜集团'",
                "model_code": "'DDZY71'",
                "accuracy_class": "'2'",
                "phases": "1",
                "rated_current": "'5(60)A'",
                "status": "'installed'",
                "org_unit": str(meter_unit),
                "service_point": "g",
            },
        )
        read_at = "TIMESTAMPTZ '2026-11-15 10:00:00+08'"
        common = {
            "meter": "g",
            "read_at": read_at,
            "source": "'headend'",
            "service_point": "g",
            "period": f"'{PERIOD}'",
        }
        residential = n - n // TOU_EVERY
        insert_select(
            MeterRead,
            residential,
            {
                **common,
                "meter": f"g + (g - 1) / {TOU_EVERY - 1}",  # skip every 10th id (the TOU accounts)
                "service_point": f"g + (g - 1) / {TOU_EVERY - 1}",
                "register": "'active_total'",
                "value": "1000",
                "quantity": "100 + (g * 37) %% 400",
            },
        )
        for register, base in (("active_peak", 300), ("active_flat", 350), ("active_valley", 250)):
            insert_select(
                MeterRead,
                n // TOU_EVERY,
                {
                    **common,
                    "meter": f"g * {TOU_EVERY}",
                    "service_point": f"g * {TOU_EVERY}",
                    "register": f"'{register}'",
                    "value": "1000",
                    "quantity": f"{base} + (g * 13) %% 200",
                },
            )
        with connection.cursor() as cursor:
            for model in (Customer, Account, ServicePoint, Meter):
                table = model._meta.db_table
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n})")
            cursor.execute("ANALYZE")
    return time.perf_counter() - started


def engine_only(n: int) -> float:
    """Bills/s of the engine alone on the same bills (ready arrays, no database)."""
    from gridcare.engine.batch import BatchInput, compile_catalog, rate_batch
    from gridcare.engine.tariff import load_shipped_tariff

    tiered = load_shipped_tariff("zhejiang_residential_tiered")
    tou = load_shipped_tariff("shanghai_general_ic_tou")
    catalog = compile_catalog([tiered, tou])
    g = np.arange(1, n + 1, dtype=np.int64)
    is_tou = g % TOU_EVERY == 0
    version = np.where(
        is_tou, catalog.index_on(tou.code, dt.date(2026, 10, 15)), catalog.index_of(tiered.code, 0)
    )
    energy = np.zeros((n, 5), dtype=np.int64)
    energy[:, 4] = np.where(is_tou, 0, (100 + (g * 37) % 400) * 1000)
    for column, base in ((1, 300), (2, 350), (3, 250)):
        energy[:, column] = np.where(is_tou, (base + (g * 13) % 200) * 1000, 0)
    x = BatchInput.monthly(version, energy, days=31, billing_month=11, capacity=np.full(n, 8000))
    started = time.perf_counter()
    rate_batch(catalog, x)
    return n / (time.perf_counter() - started)


def copy_floor(run_id: int) -> float:
    """Seconds to COPY the run's bill and line rows alone into tables shaped like the real ones (same columns,
    defaults and indexes; no foreign keys or triggers): the floor an end-to-end run cannot beat. The rows are
    first copied out to a file (not timed)."""
    import tempfile

    from django.db import connection, transaction

    from gridcare.billing.models import Bill, BillLine

    bills, lines = Bill._meta.db_table, BillLine._meta.db_table
    bill_fk = BillLine._meta.get_field("bill").column
    timed = 0.0
    with tempfile.TemporaryDirectory() as tmp, transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        for table, query in (
            (bills, f"SELECT * FROM {bills} WHERE run_id = {run_id}"),
            (
                lines,
                f"SELECT l.* FROM {lines} l JOIN {bills} b ON b.id = l.{bill_fk} WHERE b.run_id = {run_id}",
            ),
        ):
            path = Path(tmp) / table
            with path.open("wb") as out, raw.copy(f"COPY ({query}) TO STDOUT") as copy:
                for block in copy:
                    out.write(block)
            cursor.execute(f"CREATE TEMP TABLE floor_{table} (LIKE {table} INCLUDING ALL)")
            started = time.perf_counter()
            with path.open("rb") as source, raw.copy(f"COPY floor_{table} FROM STDIN") as copy:
                while block := source.read(1 << 20):
                    copy.write(block)
            timed += time.perf_counter() - started
        transaction.set_rollback(True)
    return timed


def celery_workers(n: int, database_url: str) -> list[subprocess.Popen[bytes]]:
    """``n`` Celery worker processes (``celery -A gridcare.worker worker -c 1``) on the benchmark's database and
    ``REDIS_URL`` (default Redis db 13)."""
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT / "src")}
    celery = str(Path(sys.executable).with_name("celery"))
    workers = [
        subprocess.Popen(
            [
                celery,
                "-A",
                "gridcare.worker",
                "worker",
                "-c",
                "1",
                "-n",
                f"bench{k}@%h",
                "--loglevel",
                "WARNING",
            ],
            env=env,
        )
        for k in range(n)
    ]
    time.sleep(8)  # let them connect to the broker
    return workers


def descendants(root: int) -> list[int]:
    """The processes below ``root`` (pool workers, Celery workers and their pool children), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class WorkerPeak(threading.Thread):
    """Samples the resident high-water mark (VmHWM) of every process below this one twice a second: a worker's
    own peak since it started. (``RUSAGE_CHILDREN``'s maxrss is no measure of it: a spawned worker is forked
    before it execs, and the fork counts this process's memory — which grows with the run's account list.)"""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kb = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.5):
            for pid in descendants(os.getpid()):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--executor", default="process", choices=["inline", "process", "celery"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if args.executor == "celery":
        os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
    setup(database_url)
    from django.db import connection
    from django.db.models import Sum

    from gridcare.billing.executors import start_run
    from gridcare.billing.models import Bill, BillingRun, BillLine, NotBilled, RunChunk
    from gridcare.customers.models import Account
    from gridcare.org.selectors import system_actor

    if args.reseed or Account.objects.count() != args.accounts:
        print(f"seeded {args.accounts:,} accounts with validated reads in {seed(args.accounts):.1f} s")
    else:
        print(f"reusing the seeded {args.accounts:,} accounts (--reseed rebuilds them)")
    with connection.cursor() as cursor:
        for model in (BillLine, Bill, NotBilled, RunChunk, BillingRun):
            cursor.execute(f"TRUNCATE {model._meta.db_table} CASCADE")
    workers = celery_workers(args.workers, database_url) if args.executor == "celery" else []
    watcher = WorkerPeak()
    watcher.start()
    try:
        cpu = cpu_seconds()
        started = time.perf_counter()
        run = start_run(
            system_actor(),
            period=PERIOD,
            executor=args.executor,
            workers=args.workers,
            chunk_size=args.chunk_size,
        )
        elapsed = time.perf_counter() - started
    finally:
        watcher.halt.set()
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
    cpu = cpu_seconds() - cpu  # this process and its pool / Celery workers (not the database server)
    floor = copy_floor(run.pk)
    phases = RunChunk.objects.filter(run=run).aggregate(l=Sum("load_ms"), r=Sum("rate_ms"), w=Sum("write_ms"))
    lines = BillLine.objects.filter(bill__run=run).count()
    engine = engine_only(args.accounts)
    peak_mb = watcher.peak_kb / 1024  # inline: the chunks ran in this process
    if args.executor == "inline":
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    print(
        f"billing run {PERIOD}: {run.bills:,} bills ({lines:,} lines), {run.not_billed:,} not billed, "
        f"{run.total:,} 元, executor {args.executor} × {run.workers}, chunks of {run.chunk_size:,} ({run.chunks})"
    )
    print(
        f"end to end {elapsed:.1f} s → {run.bills / elapsed:,.0f} bills/s (target: 1,000,000 in ≤ 60 s); "
        f"CPU {cpu:.1f} s (client processes)"
    )
    print(
        f"floor (COPY of the same bill and line rows alone): {floor:.1f} s → ratio {elapsed / floor:.1f}× (goal ≤ 2×)"
    )
    print(
        "phases summed over chunks: load {:.1f} s · rate {:.1f} s · write {:.1f} s".format(
            (phases["l"] or 0) / 1000, (phases["r"] or 0) / 1000, (phases["w"] or 0) / 1000
        )
    )
    print(
        f"engine only (rate_batch on ready arrays): {engine:,.0f} bills/s → end to end is {engine * elapsed / max(run.bills, 1):.0f}× slower"
    )
    print(f"peak memory of a worker process: {peak_mb:,.0f} MB")
    print(f"machine: {os.cpu_count()} cores; uptime: {uptime}")
    assert Bill.objects.filter(run=run).count() == run.bills
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
