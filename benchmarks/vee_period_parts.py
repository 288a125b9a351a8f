"""Where the period VEE's CPU goes: one ``do_run_period_vee`` round (rolled back) with the CPU of this process
and of the PostgreSQL server (its backend and the load's helper connection) measured around each phase.

    PYTHONPATH=src .venv/bin/python benchmarks/vee_period_parts.py [--db gridcare_bench_vee] [--period 2026-11]

Run ``benchmarks/vee_period.py`` once first: it seeds the database (1,000,000 accounts). Each phase function is
wrapped: Python CPU from ``time.process_time`` (every thread of the process: Polars' threads count), PostgreSQL's
from ``/proc`` (every ``postgres`` process, in clock ticks); only functions called a few times are wrapped, so the
wrappers cost nothing measurable. Prints ``uptime`` too: on a shared machine the CPU per phase inflates with the
load.
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import time
from typing import Any

SERVER = "postgres://postgres@127.0.0.1:5432"


class _Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="gridcare_bench_vee")
    parser.add_argument("--period", default="2026-11")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"{SERVER}/{args.db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")
    import django

    django.setup()
    from django.db import transaction

    from gridcare.customers import bulk as customers_bulk
    from gridcare.org.selectors import system_actor
    from gridcare.readings import periodvee
    from gridcare.readings.actions import period as run
    from vee_period import _server_cpu as backend_seconds  # every PostgreSQL process: the load's helper too

    spent: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0.0])

    def wrap(owner: Any, name: str, label: str) -> None:
        inner = getattr(owner, name)

        @functools.wraps(inner)
        def timed(*a: Any, **k: Any) -> Any:
            cpu, server = time.process_time(), backend_seconds()
            try:
                return inner(*a, **k)
            finally:
                line = spent[label]
                line[0] += time.process_time() - cpu
                line[1] += backend_seconds() - server
                line[2] += 1

        setattr(owner, name, timed)

    wrap(periodvee, "load", "load (the queries, COPY into Polars)")
    wrap(periodvee, "_previous", "batch: previous readings")
    wrap(periodvee, "_history", "batch: history")
    wrap(periodvee, "batch", "batch (all)")
    wrap(run.vee, "validate", "engine (vee.validate)")
    wrap(run, "_decide", "decide")
    wrap(customers_bulk.BulkWriter, "insert", "write: COPY exceptions")
    wrap(run, "update_rows", "write: UPDATEs (exceptions, reads, tasks)")
    wrap(run.audit, "bulk_record", "write: audit rows")
    wrap(run, "_write", "write (all)")
    print(f"uptime: {os.popen('uptime').read().strip()}")
    cpu, server, wall = time.process_time(), backend_seconds(), time.perf_counter()
    try:
        with transaction.atomic():
            result = run.do_run_period_vee(system_actor(), args.period)
            raise _Rollback
    except _Rollback:
        pass
    print(
        f"round: {time.perf_counter() - wall:.1f} s wall; CPU {time.process_time() - cpu:.2f} s Python + "
        f"{backend_seconds() - server:.2f} s PostgreSQL backend; {result.reads:,} reads, "
        f"{result.total_raised:,} exceptions raised"
    )
    for label, (python, database, calls) in spent.items():
        print(f"  {label:44s} ×{int(calls):<6d} Python {python:6.2f} s   backend {database:6.2f} s")
    print(f"uptime: {os.popen('uptime').read().strip()}")


if __name__ == "__main__":
    main()
