"""Benchmark: the billing accountant's reports over N released bills on PostgreSQL — the monthly sales summary
(售电量、电费汇总 with its reconciliation) and the bill register (电费发行清单) as an Excel file.

    .venv/bin/python benchmarks/billing_reports.py [--accounts 20000] [--reseed]

Seeds accounts as ``benchmarks/billing_run.py`` does, in its own database ``gridcare_bench_documents``; bills
the period inline if it has no released bills yet and releases them all (the audited bulk release), then times
``sales_summary`` and ``register_sheet`` + ``build_report`` (wall and CPU time of this process, which excludes the
database server's time) and prints the load average: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import billing_run  # noqa: E402
from benchmarks.billing_run import PERIOD, seed, setup  # noqa: E402

DB_NAME = "gridcare_bench_documents"
T = TypeVar("T")


def timed(label: str, work: Callable[[], T]) -> T:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    print(
        f"{label}: {time.perf_counter() - wall:.2f} s wall, {time.process_time() - cpu:.2f} s CPU (this process)"
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    billing_run.DB_NAME = DB_NAME  # not the billing-run benchmark's database: it truncates the bills
    setup(f"postgres://postgres@127.0.0.1:5432/{DB_NAME}")
    from django.db import connection
    from django.db.models import Sum

    from gridcare.billing.actions import do_release_bills
    from gridcare.billing.executors import start_run
    from gridcare.billing.models import Bill, BillingRun, BillLine, NotBilled, RunChunk
    from gridcare.billing.reports import Selection, register_sheet, sales_summary
    from gridcare.customers.models import Account
    from gridcare.org.models import User
    from gridcare.org.selectors import system_actor
    from gridcare.web.excel import build_report

    if args.reseed or Account.objects.count() != args.accounts:
        print(f"seeded {args.accounts:,} accounts in {seed(args.accounts):.1f} s")
        with connection.cursor() as cursor:
            for model in (BillLine, Bill, NotBilled, RunChunk, BillingRun):
                cursor.execute(f"TRUNCATE {model._meta.db_table} CASCADE")
    if not Bill.objects.filter(period=PERIOD, status="released").exists():
        with connection.cursor() as cursor:
            for model in (BillLine, Bill, NotBilled, RunChunk, BillingRun):
                cursor.execute(f"TRUNCATE {model._meta.db_table} CASCADE")
        timed("billing run (inline)", lambda: start_run(system_actor(), period=PERIOD, executor="inline"))
        accountant = User.objects.get(username="billing")
        timed("release (bulk)", lambda: do_release_bills(accountant, Bill.objects.filter(period=PERIOD)))
    accountant = User.objects.get(username="billing")
    bills = Bill.objects.filter(period=PERIOD, status="released").count()
    lines = BillLine.objects.filter(bill__period=PERIOD, bill__status="released").count()
    print(f"{bills:,} released bills with {lines:,} lines in {PERIOD}")
    summary = timed(
        "sales summary (3 set-based queries)", lambda: sales_summary(Selection(PERIOD), accountant)
    )
    print(
        f"  {len(summary.rows)} groups, {summary.bills:,} bills, {summary.total:,} 元, "
        f"difference {summary.difference} 元"
    )
    expected = Bill.objects.filter(period=PERIOD, status="released").aggregate(s=Sum("total"))["s"]
    assert summary.total == expected
    data = timed(
        "bill register .xlsx (2 queries + openpyxl write-only)",
        lambda: build_report([register_sheet(Selection(PERIOD), accountant)]),
    )
    print(f"  {len(data):,} bytes")
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    print(f"machine: {os.cpu_count()} cores; uptime: {uptime}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
