"""Benchmark (issue #13): a channel file of 1,000,000 payments reconciled AND posted ≤ 60 s on PostgreSQL.

    .venv/bin/python benchmarks/channel_file.py [--rows 1000000] [--database gridcare_chanfile_bench]

A bank's batch-debit file (代扣文件): ``--rows`` accounts each with one open bill (300.00 元), a file of one payment
per account none of which we have — 80 % pay the bill exactly, 10 % part of it (100.00), 10 % more (350.00: the
rest a prepayment). The file is imported (``do_import_channel_file``: read, matched by transaction id, one
difference per row) and its missing payments posted (``do_post_file_missing``: in chunks on two connections —
receipts, payments, entries, allocations, an audit row per chunk, the differences resolved), timed together and
apart: wall, CPU of this process and of the whole machine (the posting's backends come and go with its chunks),
rows/s, the load average. Then the ledger's invariants (``selectors.check``) and duplicates.

Scaffolding (benchmark set-up, not data entry): a dedicated database (migrated, the demo organisation), the
accounts cloned set-based in SQL from a template row (``INSERT … SELECT … generate_series``, as
``credit_scores.py``), one charge each; ledger tables emptied at each run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from typing import Any

from _http_load import django_setup, empty_ledger, ensure_database

DB_NAME = "gridcare_chanfile_bench"
TARGET_SECONDS = 60.0


def accounts(count: int) -> None:
    """``count`` benchmark accounts ``CF00000001`` … (cloned from a template; added when fewer)."""
    from django.db import transaction

    from credit_scores import clone
    from gridcare.core.rows import TableRef
    from gridcare.customers.models import Account, Customer
    from gridcare.org.models import OrgUnit

    have = Account.objects.filter(number__startswith="CF").exclude(number="CFT0").count()
    if have >= count:
        return
    started = time.perf_counter()
    unit = OrgUnit.objects.get(code="CG")
    with transaction.atomic():
        customer = Customer.objects.filter(number="CFT0").first() or Customer.objects.create(
            number="CFT0",
            kind="individual",
            name="代扣客户",
            id_type="resident_id",
            id_number="CF",
            org_unit=unit,
        )
        template = Account.objects.filter(number="CFT0").first() or Account.objects.create(
            number="CFT0", customer=customer, name="代扣户", org_unit=unit
        )
        c = TableRef(Customer)
        number = f"'CF' || lpad((g + {have})::text, 8, '0')"
        clone(
            Customer,
            customer.pk,
            count - have,
            {"number": number, "name": "'代扣客户' || g", "id_number": "'ID' || " + number},
            [],
        )
        clone(
            Account,
            template.pk,
            count - have,
            {"number": number, "name": "'代扣户' || g", "customer": f"(SELECT {c.id} FROM {c} WHERE {c.number} = {number})"},
            [],
        )  # fmt: skip
    print(f"  {count - have:,} accounts cloned in {time.perf_counter() - started:.0f} s", flush=True)


def prepare(rows: int) -> dict[str, Any]:
    """The demo organisation, the bank channel, ``rows`` accounts with one open charge each; ledger emptied."""
    from django.db import connection
    from django.utils import timezone

    from gridcare.core.rows import TableRef
    from gridcare.customers.models import Account
    from gridcare.ledger import models as ledger
    from gridcare.org.models import User

    empty_ledger()
    accounts(rows)
    bank = User.objects.get(username="bank")
    today = timezone.localdate()
    a, e = TableRef(Account), TableRef(ledger.Entry)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {e} ({e.account}, {e.kind}, {e.amount}, {e.day}, {e.due_date}, {e.posted_at}, "
            f"{e.posted_by}, {e.note}) SELECT {a.id}, 'charge', 300.00, %s, %s, now(), %s, '' FROM {a} "
            f"WHERE {a.number} LIKE 'CF%%' AND {a.number} <> 'CFT0' ORDER BY {a.number} LIMIT %s",
            [today, today + dt.timedelta(days=10), bank.pk, rows],
        )
    ledger.Channel.objects.update_or_create(
        code="ICBC", defaults={"name": "工商银行", "user": bank, "layout": {"transaction": "流水号", "account": "户号", "amount": "金额"}}
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    numbers = list(
        Account.objects.filter(number__startswith="CF")
        .exclude(number="CFT0")
        .order_by("number")
        .values_list("number", flat=True)[:rows]
    )
    return {"numbers": numbers}


def content(numbers: list[str]) -> bytes:
    """The bank's file: one payment per account — 80 % the bill, 10 % part of it, 10 % more."""
    import polars as pl

    frame = (
        pl.DataFrame({"户号": numbers})
        .with_row_index("i")
        .with_columns(
            流水号=pl.format("D{}", pl.col("i").cast(pl.String).str.zfill(10)),
            金额=pl.when(pl.col("i") % 10 == 3)
            .then(pl.lit("100.00"))
            .when(pl.col("i") % 10 == 7)
            .then(pl.lit("350.00"))
            .otherwise(pl.lit("300.00")),
        )
    )
    return frame.select("流水号", "户号", "金额").write_csv().encode()


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy so far (all cores, /proc/stat): the posting's work is spread over
    worker connections whose backends come and go, so it is counted machine-wide (measure on a quiet machine)."""
    with open("/proc/stat") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def timed(label: str, rows: int, call: Any) -> tuple[Any, float, float, float]:
    load = os.getloadavg()
    busy = machine_busy_seconds()
    cpu, wall = time.process_time(), time.perf_counter()
    result = call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    busy = machine_busy_seconds() - busy
    print(
        f"{label}: {rows:,} rows in {wall:.1f} s wall ({rows / wall:,.0f} rows/s); CPU {cpu:.1f} s this process, "
        f"{busy:.1f} s the whole machine ({busy / wall:.2f} cores busy on average); load average before "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        flush=True,
    )
    return result, wall, cpu, busy


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", default=DB_NAME, help=f"PostgreSQL database (default {DB_NAME})")
    parser.add_argument("--skip-check", action="store_true", help="no ledger check afterwards")
    args = parser.parse_args()
    database_url = ensure_database(args.database)
    django_setup(database_url)
    from django.utils import timezone

    from gridcare.ledger.models import Channel, Payment
    from gridcare.ledger.reconcile import do_import_channel_file, do_post_file_missing
    from gridcare.ledger.selectors import check
    from gridcare.org.models import User

    started = time.perf_counter()
    data = prepare(args.rows)
    file = content(data["numbers"])
    print(
        f"prepared {database_url} in {time.perf_counter() - started:.1f} s: {len(data['numbers']):,} accounts "
        f"with an open bill, a file of {len(file) / 1e6:.1f} MB",
        flush=True,
    )
    print(f"load: {os.popen('uptime').read().strip()}", flush=True)
    channel = Channel.objects.get(code="ICBC")
    actor = User.objects.get(username="billing")
    day = timezone.localdate() - dt.timedelta(days=1)
    rows = len(data["numbers"])
    record, wall_1, cpu_1, busy_1 = timed(
        "import (reconcile)",
        rows,
        lambda: do_import_channel_file(actor, channel=channel, day=day, name="daikou.csv", content=file),
    )
    print(f"  only theirs {record.only_theirs:,}, matched {record.matched:,}", flush=True)
    posted, wall_2, cpu_2, busy_2 = timed(
        "post missing (批量补记)", rows, lambda: do_post_file_missing(actor, record.pk)
    )
    wall = wall_1 + wall_2
    print(
        f"together: {rows:,} payments reconciled and posted in {wall:.1f} s wall ({rows / wall:,.0f} rows/s); CPU "
        f"{cpu_1 + cpu_2:.1f} s this process, {busy_1 + busy_2:.1f} s the whole machine; {posted.posted:,} posted, "
        f"{posted.total} 元",
        flush=True,
    )
    count = Payment.objects.filter(channel=channel).count()
    distinct = Payment.objects.filter(channel=channel).values("transaction_id").distinct().count()
    print(
        f"payments {count:,}, distinct transactions {distinct:,}, duplicates {count - distinct}", flush=True
    )
    problems: list[str] = []
    if not args.skip_check:
        checked = time.perf_counter()
        problems = check()
        print(
            f"ledger check: {'OK' if not problems else problems[:5]} ({time.perf_counter() - checked:.0f} s)",
            flush=True,
        )
    print(f"load after: {os.popen('uptime').read().strip()}")
    met = wall <= TARGET_SECONDS and count == distinct == rows and not problems and rows >= 1_000_000
    print(
        f"target (1,000,000 rows ≤ {TARGET_SECONDS:.0f} s, no duplicate, ledger OK): {'met' if met else 'NOT met'}"
        + ("" if rows >= 1_000_000 else f" — {rows:,} rows is not the target's size")
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
