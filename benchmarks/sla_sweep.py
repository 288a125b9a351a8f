"""The SLA sweep over a million open work orders: warnings at 80 % and escalations on breach, set-based.

Generates N open orders (default 1,000,000) with their clocks directly by COPY into PostgreSQL database
``gridcare_bench_service`` — a mix of field repairs (arrival 45/90/120 min, restoration 3/4 h: elapsed clocks) and
complaints / reports / applications (answer in 4–9 working days: working-day clocks), started over the last weeks,
some paused — with deadlines computed by the engine, and warned/escalated flags as earlier sweeps left them, except
for a share of clocks that crossed their thresholds since the last sweep. Then times ``gridcare.service.sla.sweep``
(load with COPY → engine → bulk writes) at a working moment, twice: the first sweep sends the due notices, the
second (nothing new) is the steady state. Prints the figures.

    .venv/bin/python benchmarks/sla_sweep.py                  # 1,000,000 orders
    .venv/bin/python benchmarks/sla_sweep.py --orders 200000 --due-share 0.05
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "gridcare_bench_service"
DEFAULT_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"


def setup(database_url: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
            conn.execute(f"CREATE DATABASE {DB_NAME}")
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    from gridcare.org import demo as org_demo
    from gridcare.org.models import OrgUnit
    from gridcare.org.selectors import system_actor

    call_command("migrate", verbosity=0)
    if not OrgUnit.objects.filter(code="GC").exists():
        call_command("load_catalogue", verbosity=0)
        list(org_demo.build(system_actor(), "small"))


def _copy(cursor, table: str, columns: list[str], rows: io.StringIO) -> None:  # type: ignore[no-untyped-def]
    rows.seek(0)
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy:
        while block := rows.read(1 << 20):
            copy.write(block)


def _ts(seconds: np.ndarray) -> np.ndarray:
    """ISO timestamps (UTC) of epoch seconds, '' for -1."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").astype(object) + "+00"
    return np.where(seconds < 0, "", text)


def generate(n: int, now: dt.datetime, due_share: float, seed: int = 2026) -> tuple[int, float]:
    """N open orders and their clocks, COPYed in chunks; returns (clocks, seconds)."""
    from django.db import connection

    from gridcare.core.calendar import get_calendar
    from gridcare.engine import sla as engine
    from gridcare.org.models import OrgUnit, User

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    units = list(
        OrgUnit.objects.filter(code__in=["CG", "HX", "SNS", "WX", "KF"]).values_list("id", flat=True)
    )
    users = list(
        User.objects.filter(
            username__in=["cg_head", "hx_rep", "sn_rep", "repair", "cs_supervisor"]
        ).values_list("id", flat=True)
    )
    calendar = get_calendar()
    at = engine.epoch_seconds(now)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE service_servicenotice, service_slaclock, service_workordertransition, service_callback, "
            "service_repairrecord, service_stockmovement, service_servicefee, service_workorder RESTART IDENTITY CASCADE"
        )
    raw = connection.connection
    clocks_total = 0
    chunk = 200_000
    next_id = 1
    for first in range(0, n, chunk):
        size = min(chunk, n - first)
        ids = np.arange(next_id, next_id + size)
        next_id += size
        repair = rng.random(size) < 0.5
        # orders: started within the last 3 days (repairs) or 20 days (others)
        age = np.where(repair, rng.integers(60, 3 * 86400, size), rng.integers(3600, 20 * 86400, size))
        created = at - age
        unit = rng.choice(units, size)
        assignee = np.where(rng.random(size) < 0.7, rng.choice(users, size), -1)
        area = rng.choice(np.array(["urban", "rural", "remote"]), size, p=[0.6, 0.3, 0.1])
        order_type = np.where(
            repair,
            "repair",
            rng.choice(np.array(["complaint", "report", "application"]), size, p=[0.5, 0.2, 0.3]),
        )
        status = rng.choice(np.array(["dispatched", "taken", "processing"]), size)
        buf = io.StringIO()
        created_text = _ts(created)
        for i in range(size):
            a = assignee[i]
            buf.write(
                f'GDB{ids[i]:09d},{order_type[i]},"",api,{status[i]},"","","","","","",{area[i]},f,f,bench,"",'
                f'{unit[i]},{unit[i]},{unit[i]},{"" if a < 0 else a},{created_text[i]},0,0,"","",f,ok\n'
            )
        with raw.cursor() as cursor:
            _copy(
                cursor,
                "service_workorder",
                [
                    "number",
                    "order_type",
                    "sub_type",
                    "channel",
                    "status",
                    "paused_from",
                    "pause_reason",
                    "contact_name",
                    "contact_phone",
                    "address",
                    "area_text",
                    "area_class",
                    "is_key_account",
                    "is_important",
                    "title",
                    "description",
                    "unit_id",
                    "intake_unit_id",
                    "queue_unit_id",
                    "assignee_id",
                    "created_at",
                    "escalation_level",
                    "reopen_count",
                    "cause",
                    "result",
                    "first_contact_resolution",
                    "sla_state",
                ],
                buf,
            )
        # clocks: repairs → arrival (45/90/120 min) or restoration after arrival; others → answer in 4–9 wd
        kind = np.where(repair, engine.ELAPSED, engine.WORKING)
        by_area = {"urban": 45, "rural": 90, "remote": 120}
        amount = np.where(repair, np.vectorize(by_area.get)(area), rng.choice([4, 6, 9], size))
        # a share of clocks "due now": started so that the 80 % moment or the deadline fell in the last 5 minutes
        due = rng.random(size) < due_share
        breach = due & (rng.random(size) < 0.4)
        minutes = amount * 60
        start = created.copy()
        elapsed_due = due & repair
        start[elapsed_due & ~breach] = (
            at
            - (minutes[elapsed_due & ~breach] * 8 // 10)
            - rng.integers(0, 300, (elapsed_due & ~breach).sum())
        )
        start[elapsed_due & breach] = (
            at - minutes[elapsed_due & breach] - rng.integers(0, 300, (elapsed_due & breach).sum())
        )
        # restoration clocks for half the older repairs (arrived): 3 or 4 h
        restoration = repair & ~due & (rng.random(size) < 0.5)
        amount = np.where(restoration, np.where(area == "urban", 180, 240), amount)
        paused_since = np.where(rng.random(size) < 0.03, at - rng.integers(60, 7200, size), -1)
        paused = np.where(rng.random(size) < 0.1, rng.integers(60, 86400, size), 0)
        ratio = np.full(size, 800)
        ev = engine.evaluate(
            calendar,
            at - 300,
            start,
            kind,
            amount,
            ratio,
            paused,
            paused_since,
            np.zeros(size, bool),
            np.zeros(size, bool),
        )
        # flags as the sweep five minutes ago left them (it ran during working hours)
        warned = ev.state >= engine.WARNING
        escalated = ev.state == engine.BREACHED
        deadline = engine.deadlines(calendar, start, kind, amount, paused)
        warn_at = engine.warning_times(calendar, start, kind, amount, ratio, paused)
        milestone = np.where(restoration, "restoration", np.where(repair, "arrival", "answer"))
        clock_kind = np.where(kind == engine.WORKING, "working", "elapsed")
        start_text, deadline_text, warn_text = _ts(start), _ts(deadline), _ts(warn_at)
        since_text = _ts(paused_since)
        prev_text = _ts(np.full(size, at - 300))
        buf = io.StringIO()
        for i in range(size):
            buf.write(
                f"{ids[i]},{milestone[i]},{clock_kind[i]},{amount[i]},800,{start_text[i]},{paused[i]},{since_text[i]},"
                f"{deadline_text[i]},{warn_text[i]},,,{prev_text[i] if warned[i] else ''},{prev_text[i] if escalated[i] else ''}\n"
            )
        with raw.cursor() as cursor:
            _copy(
                cursor,
                "service_slaclock",
                [
                    "order_id",
                    "milestone",
                    "clock",
                    "amount",
                    "warn_permille",
                    "start_at",
                    "paused_seconds",
                    "paused_since",
                    "deadline",
                    "warn_at",
                    "done_at",
                    "breached",
                    "warned_at",
                    "escalated_at",
                ],
                buf,
            )
        raw.commit()
        clocks_total += size
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE service_workorder")
        cursor.execute("ANALYZE service_slaclock")
    return clocks_total, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument(
        "--due-share",
        type=float,
        default=0.03,
        help="share of clocks crossing a threshold since the last sweep",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep existing data (reset the flags of the last run)"
    )
    args = parser.parse_args()
    setup(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    from django.db import connection

    from gridcare.service.models import ServiceNotice, SLAClock, WorkOrder
    from gridcare.service.sla import sweep

    # a fixed working moment: Tuesday 2026-11-24 10:00 Asia/Shanghai
    now = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    if not args.reuse or WorkOrder.objects.count() != args.orders:
        clocks, seconds = generate(args.orders, now, args.due_share)
        print(f"generated {args.orders:,} open orders / {clocks:,} clocks by COPY in {seconds:.1f} s")
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE service_workorder SET escalation_level = 0, sla_state = 'ok' WHERE escalation_level > 0"
            )
            cursor.execute("UPDATE service_slaclock SET warned_at = NULL WHERE warned_at = %s", [now])
            cursor.execute("UPDATE service_slaclock SET escalated_at = NULL WHERE escalated_at = %s", [now])
            cursor.execute("DELETE FROM service_servicenotice WHERE sent_at = %s", [now])
    open_orders = WorkOrder.objects.count()
    for label in ("first sweep (sends the due notices)", "second sweep (steady state)"):
        started = time.perf_counter()
        result = sweep(now)
        elapsed = time.perf_counter() - started
        print(
            f"{label}: {open_orders:,} open orders, {result.clocks:,} open clocks → {result.warnings:,} warnings, "
            f"{result.escalations:,} escalations, {result.refreshed:,} deadlines refreshed in {elapsed:.2f} s "
            f"(load {result.timings.get('load')} s, engine {result.timings.get('compute')} s, "
            f"prepare {result.timings.get('prepare')} s, write {result.timings.get('write')} s, of which notices {result.timings.get('write_notices')} s)"
        )
    print(
        f"notices in the database: {ServiceNotice.objects.count():,}; clocks escalated: "
        f"{SLAClock.objects.filter(escalated_at=now).count():,}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
