"""Channel payments (代收) through the HTTP API, one payment per request, and the reconciliation of a channel file.

Production-style like ``headend_api_load.py`` (machinery: ``_http_load.py``): Granian as ``gridcare serve`` on
loopback (its machine API's port: the ASGI server of ``gridcare.asgi``, where the posts are served in groups),
PostgreSQL database ``gridcare_bench_ledger`` (created and migrated here), the load generator in its own
process posting ``/api/ledger/channel/payments/`` with the bank's token and a fresh ``Idempotency-Key`` per
request. About 1 % of the requests repeat an earlier transaction (the same body under another key: a bank's retry);
they must answer the first payment, so the payments posted equal the distinct transaction ids (zero duplicates).

Data set-up (bypasses the actions, bulk inserts — benchmark scaffolding, not data entry): the demo organisation,
``--accounts`` accounts each with one released-bill charge in the ledger; ledger tables emptied at each run.

    .venv/bin/python benchmarks/channel_payments.py                    # closed loop, 64 connections
    .venv/bin/python benchmarks/channel_payments.py --rate 1000 --connections 128  # open loop at 1,000/s
    .venv/bin/python benchmarks/channel_payments.py --reconcile 1000000 # + a 1,000,000-row file reconciled

Prints payments/s, p50/p99 latency, statuses, duplicates, the server CPU per payment (Granian + PostgreSQL
backends; and PostgreSQL's whole server), the machine's busy share during the run and the load average; exits non-zero below the target (≥ 1,000 payments/s, p99 ≤ 50 ms, no duplicate).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import time
from typing import Any

from _http_load import (
    SERVER_PIDS,
    django_setup,
    empty_ledger,
    ensure_database,
    machine_busy_seconds,
    percentile,
    postgres_cpu_seconds,
    process_cpu_seconds,
    run_load,
    serve,
    tree_cpu_seconds,
)

DB_NAME = "gridcare_bench_ledger"
TARGET = 1_000
P99_MS = 50.0


def prepare(accounts: int, history: int) -> dict[str, Any]:
    """The demo organisation, the bank channel, ``accounts`` accounts; the ledger emptied, then ``history`` months
    of bills paid through the channel (with the planner's statistics of a ledger in use) and one open bill each."""
    import polars as pl
    from django.db import connection, transaction
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from gridcare.customers.models import Account, Customer
    from gridcare.ledger import models as ledger
    from gridcare.ledger.bulk import post_batch
    from gridcare.org.models import OrgUnit, User

    empty_ledger()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_idempotencyrecord")
    have = Account.objects.filter(number__startswith="LB").count()
    if have < accounts:
        stations = list(OrgUnit.objects.filter(code__in=["CG", "HX", "SNS"]))
        todo = range(have, accounts)
        customers = Customer.objects.bulk_create(
            [
                Customer(
                    number=f"CL{i:08d}", kind="individual", name=f"收费压测客户{i}", id_type="resident_id",
                    id_number=f"LB{i:016d}", org_unit=stations[i % 3],
                )
                for i in todo
            ],
            batch_size=5000,
        )  # fmt: skip
        Account.objects.bulk_create(
            [Account(number=f"LB{i:08d}", customer=c, name=c.name, org_unit=c.org_unit) for i, c in zip(todo, customers, strict=True)],
            batch_size=5000,
        )  # fmt: skip
    ids = list(
        Account.objects.filter(number__startswith="LB")
        .order_by("number")
        .values_list("pk", "number")[:accounts]
    )
    bank = User.objects.get(username="bank")
    channel, _ = ledger.Channel.objects.update_or_create(
        code="ICBC", defaults={"name": "工商银行", "user": bank, "layout": {"transaction": "流水号", "account": "户号", "amount": "金额"}}
    )  # fmt: skip
    today = timezone.localdate()
    for months_ago in range(history, -1, -1):  # the earlier months' bills paid, then this month's bill open
        billed = today - dt.timedelta(days=30 * months_ago)
        ledger.Entry.objects.bulk_create(
            [
                ledger.Entry(account_id=pk, kind="charge", amount="300.00", day=billed, due_date=billed + dt.timedelta(days=10),
                             posted_by=bank)
                for pk, _ in ids
            ],
            batch_size=10000,
        )  # fmt: skip
        if months_ago:
            with transaction.atomic():
                post_batch(
                    bank, channel=channel, cashier=bank, day=billed + dt.timedelta(days=5),
                    batch=pl.DataFrame({"transaction": [f"H{months_ago}-{n}" for _, n in ids],
                                        "account": [pk for pk, _ in ids], "fen": [30000] * len(ids)}),
                )  # fmt: skip
    # the idempotency records of the days before (kept as a channel retries)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_idempotencyrecord (user_id, key, method, path, fingerprint, status_code, response, created_at) "
            "SELECT %s, 'history-' || g, 'POST', '/api/ledger/channel/payments/', md5(g::text), 201, '{}'::jsonb, "
            "now() - interval '1 day' FROM generate_series(1, %s) AS g",
            [bank.pk, history * len(ids)],
        )
    with connection.cursor() as cursor:  # (the rows of the run before removed for good, as autovacuum would)
        cursor.execute("VACUUM ANALYZE")
    return {"token": Token.objects.get_or_create(user=bank)[0].key, "accounts": [n for _, n in ids]}


def bodies(accounts: list[str], count: int, seed: int = 1) -> tuple[list[bytes], int]:
    """``count`` payment posts over the accounts; ~1 % repeat an earlier transaction. The distinct transactions."""
    rng = random.Random(seed)
    out: list[bytes] = []
    sent: list[bytes] = []
    for n in range(count):
        if sent and rng.random() < 0.01:
            out.append(sent[rng.randrange(len(sent))])
            continue
        body = json.dumps(
            {"account": accounts[n % len(accounts)], "amount": f"{50 + n % 300}.{n % 100:02d}", "transaction_id": f"B{n:010d}"}
        ).encode()  # fmt: skip
        sent.append(body)
        out.append(body)
    return out, len(sent)


def wal_position() -> int:
    """PostgreSQL's write-ahead log position in bytes (what a run wrote: the difference of two)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        return int(cursor.fetchone()[0])


def pg_backends(database: str) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database]
        )
        return [row[0] for row in cursor.fetchall()]


def reconcile(rows: int) -> None:
    """A channel file of ``rows`` payments reconciled against as many of ours (scaffolded by bulk insert)."""
    from django.utils import timezone

    from gridcare.customers.models import Account
    from gridcare.ledger.models import Channel, Payment
    from gridcare.ledger.reconcile import do_import_channel_file
    from gridcare.org.models import User

    channel = Channel.objects.get(code="ICBC")
    day = timezone.localdate() - dt.timedelta(days=1)
    account = Account.objects.filter(number__startswith="LB").first()
    started = time.perf_counter()
    Payment.objects.bulk_create(
        (
            Payment(number=f"BR{i:012d}", account=account, amount="10.00", method="channel", channel=channel,
                    transaction_id=f"R{i:010d}", cashier=channel.user, day=day)
            for i in range(rows)
        ),
        batch_size=20000,
    )  # fmt: skip
    print(f"reconcile set-up: {rows:,} payments of ours inserted in {time.perf_counter() - started:.1f} s")
    lines = [f"R{i:010d},{account.number},{'10.00' if i % 1000 else '10.01'}" for i in range(1, rows + 1)]
    content = ("流水号,户号,金额\n" + "\n".join(lines) + "\n").encode()
    actor = User.objects.get(username="billing")
    cpu = time.process_time()
    started = time.perf_counter()
    record = do_import_channel_file(actor, channel=channel, day=day, name="bench.csv", content=content)
    print(
        f"reconciliation of {record.rows:,} rows: {time.perf_counter() - started:.1f} s wall, "
        f"{time.process_time() - cpu:.1f} s CPU (this process) — matched {record.matched:,}, only ours "
        f"{record.only_ours:,}, only theirs {record.only_theirs:,}, amount differs {record.amount_differs:,}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--payments", type=int, default=30_000)
    parser.add_argument(
        "--history",
        type=int,
        default=6,
        help="months of paid bills in the ledger before the run (0: a new ledger)",
    )
    parser.add_argument(
        "--connections", type=int, default=64, help="the load generator's connections (a bank's many tellers)"
    )
    parser.add_argument("--rate", type=float, default=0, help="open loop at this rate (0: closed loop)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="threads per Granian worker for the WSGI application (the posts themselves are served by the lane of "
        "gridcare.api.lane in the worker's event loop; these threads answer only what the lane leaves to them)",
    )
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument(
        "--reconcile", type=int, default=0, help="rows of a channel file reconciled afterwards"
    )
    parser.add_argument("--reconcile-only", action="store_true", help="only the reconciliation (no HTTP run)")
    parser.add_argument("--database", default=DB_NAME, help=f"PostgreSQL database (default {DB_NAME})")
    args = parser.parse_args()
    database_url = ensure_database(args.database)
    django_setup(database_url)
    started = time.perf_counter()
    data = prepare(args.accounts, args.history)
    print(
        f"prepared {database_url} in {time.perf_counter() - started:.1f} s: {len(data['accounts'])} accounts"
    )
    print(f"load: {os.popen('uptime').read().strip()}")
    if args.reconcile_only:
        reconcile(args.reconcile or 1_000_000)
        print(f"load after: {os.popen('uptime').read().strip()}")
        return 0
    load_bodies, distinct = bodies(data["accounts"], args.payments)
    stream = [
        {
            "token": data["token"],
            "path": "/api/ledger/channel/payments/",
            "bodies": load_bodies,
            "cycle": False,
        }
    ]
    database = database_url.rsplit("/", 1)[1]
    with serve(database_url, workers=args.workers, threads=args.threads, machine=True) as port:
        warm_bodies, _ = bodies(data["accounts"][-50:], 50, seed=2)
        warm = [{**json.loads(b), "transaction_id": f"W{i}"} for i, b in enumerate(warm_bodies)]
        warm_stream = [
            {
                "token": data["token"],
                "path": "/api/ledger/channel/payments/",
                "cycle": False,
                "bodies": [json.dumps(w).encode() for w in warm],
            }
        ]
        run_load(port, warm_stream, 0, 10, 2, True)  # imports, connections, caches
        server = SERVER_PIDS[port]
        backends_before = process_cpu_seconds(pg_backends(database))
        postgres_before, machine_before = postgres_cpu_seconds(database_url), machine_busy_seconds()
        wal_before = wal_position()
        server_before = tree_cpu_seconds(server)
        result = run_load(port, stream, args.rate, args.seconds, args.connections, not args.rate)
        server_cpu = tree_cpu_seconds(server) - server_before
        backends_after = process_cpu_seconds(pg_backends(database))
        postgres_all = postgres_cpu_seconds(database_url) - postgres_before
        machine_after = machine_busy_seconds()
        wal = wal_position() - wal_before
    pg_cpu = sum(v - backends_before.get(pid, 0.0) for pid, v in backends_after.items())
    busy, ticked = (after - before for after, before in zip(machine_after, machine_before, strict=True))
    from gridcare.ledger.models import Payment
    from gridcare.ledger.selectors import check

    lat = result["latencies"]
    elapsed = result["elapsed"]
    rate = len(lat) / elapsed
    posted = Payment.objects.filter(transaction_id__startswith="B").count()
    distinct_txns = (
        Payment.objects.filter(transaction_id__startswith="B").values("transaction_id").distinct().count()
    )
    sent_distinct = len({b for b in load_bodies[: len(lat)]})
    duplicates = posted - distinct_txns
    p99 = percentile(lat, 99) * 1000
    print(
        f"channel payments over HTTP: {len(lat):,} requests in {elapsed:.1f} s over {args.connections} connections "
        f"({'open loop at ' + str(args.rate) + '/s' if args.rate else 'closed loop'}) → {rate:,.0f} payments/s; "
        f"latency p50 {percentile(lat, 50) * 1000:.1f} ms, p99 {p99:.1f} ms; statuses {result['statuses']}; "
        f"dropped {result['dropped']}"
    )
    print(
        f"payments posted {posted:,} for {sent_distinct:,} distinct transactions sent ({distinct:,} prepared) — "
        f"duplicates {duplicates}"
    )
    done = max(len(lat), 1)
    print(
        f"server CPU per payment: {1000 * (server_cpu + pg_cpu) / done:.2f} ms (Granian {1000 * server_cpu / done:.2f} ms"
        f" + PostgreSQL {1000 * pg_cpu / done:.2f} ms); load generator CPU {1000 * result['client_cpu'] / done:.2f} ms"
        f" per request ({result['client_cpu'] / elapsed:.0%} of a core)"
    )
    print(
        f"PostgreSQL in all (backends, WAL writer, checkpointer, autovacuum): {1000 * postgres_all / done:.2f} ms "
        f"per payment, WAL {wal / done / 1024:.1f} KiB per payment; the machine busy {busy / ticked:.0%} of its "
        f"{os.cpu_count()} cores during the run"
    )
    print(
        f"implied on a quiet 2-core machine (server alone): {2000 / max(1000 * (server_cpu + pg_cpu) / done, 1e-9):,.0f}"
        " payments/s at full CPU"
    )
    problems = check()
    print(f"ledger check: {'OK' if not problems else problems[:5]}")
    if args.reconcile:
        reconcile(args.reconcile)
    print(f"load after: {os.popen('uptime').read().strip()}")
    met = rate >= TARGET and p99 <= P99_MS and duplicates == 0 and posted == sent_distinct and not problems
    print(
        f"target ≥ {TARGET:,} payments/s, p99 ≤ {P99_MS:.0f} ms, no duplicate: {'met' if met else 'NOT met'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
