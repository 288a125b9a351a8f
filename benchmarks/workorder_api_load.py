"""Work-order intake through the HTTP API under load: creations per second and latency percentiles.

Production-style: Granian (WSGI, as ``gridcare serve``, without the access log; ``--server gunicorn`` for gunicorn's
threaded workers as a reference) on loopback, PostgreSQL
database ``gridcare_bench_service`` (created and migrated here), and a load generator in a separate process
(asyncio, HTTP/1.1 keep-alive, open-loop: requests are *scheduled* at a fixed rate and latency is measured from the
scheduled moment, so a slow server cannot hide its queueing — no coordinated omission).

Each request is ``POST /api/service/orders/`` with a token and a unique ``Idempotency-Key``: a mix of repair calls
on service points (duplicate detection and dispatch rules run), complaints on accounts and anonymous enquiries.

    .venv/bin/python benchmarks/workorder_api_load.py                      # 320/s for 30 s, then the max rate
    .venv/bin/python benchmarks/workorder_api_load.py --rate 300 --seconds 60 --workers 3 --threads 2
    .venv/bin/python benchmarks/workorder_api_load.py --server gunicorn --workers 4 --threads 2   # reference

Prints the figures; exits non-zero when the target (≥ 300/s, p99 ≤ 100 ms) is missed at the chosen rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "gridcare_bench_service"
DEFAULT_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
#: the desks that register the calls, each with the station whose customers are in its data scope
DESKS = {"cg_rep": "CG", "cg_head": "CG", "hx_rep": "HX", "sn_rep": "SNS"}


def prepare(database_url: str, points: int) -> dict:
    """Create/migrate the benchmark database, the demo organisation, service defaults and customers; empty the
    work-order tables; return tokens and ids for the load generator."""
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
    from django.db import connection
    from rest_framework.authtoken.models import Token

    call_command("migrate", verbosity=0)
    from gridcare.customers.models import Account, Customer, ServicePoint
    from gridcare.org import demo as org_demo
    from gridcare.org.models import OrgUnit, User
    from gridcare.org.selectors import system_actor
    from gridcare.service.defaults import load_defaults

    if not OrgUnit.objects.filter(code="GC").exists():
        call_command("load_catalogue", verbosity=0)
        list(org_demo.build(system_actor(), "small"))
    load_defaults()
    from gridcare.core.models import IdempotencyRecord
    from gridcare.service import models as service

    work = [
        service.ServiceNotice, service.SLAClock, service.WorkOrderTransition, service.Callback,
        service.RepairRecord, service.StockMovement, service.ServiceFee, service.Compensation, service.WorkOrder,
    ]  # fmt: skip
    with connection.cursor() as cursor:
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in work)
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        cursor.execute(f"DELETE FROM {connection.ops.quote_name(IdempotencyRecord._meta.db_table)}")
    if ServicePoint.objects.filter(number__startswith="PB").count() < points:
        stations = list(OrgUnit.objects.filter(code__in=["CG", "HX", "SNS"]))
        rng = random.Random(1)
        customers = [
            Customer(
                number=f"CB{i:08d}",
                kind="individual",
                name=f"压测客户{i}",
                id_type="resident_id",
                id_number=f"33010019900101{i:04d}",
                org_unit=stations[i % 3],
            )
            for i in range(points)
        ]
        Customer.objects.bulk_create(customers, batch_size=2000)
        accounts = [
            Account(number=f"AB{i:08d}", customer=c, name=c.name, org_unit=c.org_unit)
            for i, c in enumerate(customers)
        ]
        Account.objects.bulk_create(accounts, batch_size=2000)
        ServicePoint.objects.bulk_create(
            [
                ServicePoint(
                    number=f"PB{i:08d}",
                    account=a,
                    address=f"压测路{i}号",
                    org_unit=a.org_unit,
                    voltage_level="220V",
                    customer_class="residential",
                    area_class=rng.choice(["urban", "urban", "rural", "remote"]),
                )
                for i, a in enumerate(accounts)
            ],
            batch_size=2000,
        )
    desks = []
    for username, station in DESKS.items():
        rows = list(
            ServicePoint.objects.filter(number__startswith="PB", org_unit__code=station).values_list(
                "pk", "account_id"
            )[:points]
        )
        token = Token.objects.get_or_create(user=User.objects.get(username=username))[0].key
        desks.append({"token": token, "points": [r[0] for r in rows], "accounts": [r[1] for r in rows]})
    return {"desks": desks}


def payloads(data: dict, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    bodies = []
    for _ in range(2000):
        roll = rng.random()
        if roll < 0.5:
            body = {
                "order_type": "repair",
                "service_point": rng.choice(data["points"]),
                "area_text": f"10kV 压测线 #{rng.randrange(400)}",
                "title": "停电报修",
                "channel": "api",
            }
        elif roll < 0.65:
            body = {
                "order_type": "complaint",
                "sub_type": rng.choice(["service", "outage", "business"]),
                "account": rng.choice(data["accounts"]),
                "title": "投诉",
            }
        elif roll < 0.8:
            body = {
                "order_type": "application",
                "sub_type": "reconnection",
                "account": rng.choice(data["accounts"]),
            }
        else:
            body = {"order_type": "enquiry", "title": "电价咨询", "contact_phone": "13900001111"}
        bodies.append(json.dumps(body, ensure_ascii=False).encode())
    return bodies


async def _load(
    port: int, data: dict, rate: float, seconds: float, connections: int, closed: bool, out
) -> None:  # type: ignore[no-untyped-def]
    bodies = [payloads(desk, 7 + i) for i, desk in enumerate(data["desks"])]
    queue: asyncio.Queue[float] = asyncio.Queue()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(10**9))
    pid = os.getpid()

    async def worker(index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        desk = index % len(data["desks"])
        token = data["desks"][desk]["token"]
        while True:
            scheduled = await queue.get()
            if scheduled < 0:
                break
            n = next(counter)
            body = bodies[desk][n % len(bodies[desk])]
            head = (
                f"POST /api/service/orders/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {token}\r\n"
                f"Content-Type: application/json\r\nIdempotency-Key: bench-{pid}-{n}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            writer.write(head + body)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            done = time.perf_counter()
            code = int(status_line.split()[1]) if status_line else 0
            statuses[code] = statuses.get(code, 0) + 1
            latencies.append(done - scheduled)
            if closed:
                await queue.put(time.perf_counter())
        writer.close()

    tasks = [asyncio.create_task(worker(i)) for i in range(connections)]
    start = time.perf_counter()
    if closed:
        for _ in range(connections):
            queue.put_nowait(time.perf_counter())
        await asyncio.sleep(seconds)
        while not queue.empty():
            queue.get_nowait()
    else:
        interval = 1.0 / rate
        n = 0
        while True:
            due = start + n * interval
            if due - start >= seconds:
                break
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait(due)
            n += 1
        drain_until = time.perf_counter() + 20  # in-flight work may finish; what is still queued is dropped
        while not queue.empty() and time.perf_counter() < drain_until:
            await asyncio.sleep(0.01)
    dropped = 0
    while not queue.empty():
        queue.get_nowait()
        dropped += 1
    elapsed = time.perf_counter() - start
    for _ in tasks:
        await queue.put(-1.0)
    await asyncio.wait(tasks, timeout=30)
    out.put({"latencies": latencies, "statuses": statuses, "elapsed": elapsed, "dropped": dropped})


def run_load(port: int, data: dict, rate: float, seconds: float, connections: int, closed: bool) -> dict:
    """The load generator runs in its own process (its CPU is not the server's)."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    process = ctx.Process(target=_entry, args=(port, data, rate, seconds, connections, closed, out))
    process.start()
    result = out.get(timeout=seconds + 90)
    process.join(30)
    return result


def _entry(port, data, rate, seconds, connections, closed, out) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(_load(port, data, rate, seconds, connections, closed, out))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")
    )


def report(label: str, result: dict) -> tuple[float, float]:
    # requests never sent because the server fell behind count as infinitely late
    lat = result["latencies"] + [float("inf")] * result["dropped"]
    ok = sum(n for code, n in result["statuses"].items() if code == 201)
    throughput = ok / result["elapsed"]
    p = {q: percentile(lat, q) * 1000 for q in (50, 90, 99, 99.9)}
    print(
        f"{label}: {len(lat)} requests in {result['elapsed']:.1f} s, {ok} created → {throughput:.0f} creations/s; "
        f"latency p50 {p[50]:.1f} ms, p90 {p[90]:.1f} ms, p99 {p[99]:.1f} ms, p99.9 {p[99.9]:.1f} ms, "
        f"max {max(lat) * 1000:.1f} ms; statuses {result['statuses']}; not sent (server behind) {result['dropped']}"
    )
    return throughput, p[99]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=320.0, help="open-loop request rate per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--points", type=int, default=3000)
    parser.add_argument("--server", choices=("granian", "gunicorn"), default="granian")
    parser.add_argument("--no-max", action="store_true", help="skip the closed-loop maximum-rate run")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    started = time.perf_counter()
    data = prepare(database_url, args.points)
    print(
        f"prepared {database_url} in {time.perf_counter() - started:.1f} s; {sum(len(d['points']) for d in data['desks'])} service points over {len(data['desks'])} desks"
    )
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "gridcare.settings",
        "GRIDCARE_CONN_MAX_AGE": "600",
        "PYTHONPATH": str(ROOT / "src"),
    }
    if args.server == "granian":  # exactly ``gridcare serve``, without the access log
        command = [
            sys.executable, "-m", "gridcare.cli", "serve", "--port", str(port), "--workers", str(args.workers),
            "--threads", str(args.threads), "--no-access-log",
        ]  # fmt: skip
    else:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "gridcare.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(args.threads),
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ]
    server = subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        print(f"{args.server} on 127.0.0.1:{port}: {args.workers} workers × {args.threads} threads")
        run_load(port, data, 50, 5, 8, False)  # warm-up: imports, connections, caches
        throughput, p99 = report(
            f"open loop at {args.rate:.0f}/s, {args.connections} connections",
            run_load(port, data, args.rate, args.seconds, args.connections, False),
        )
        if not args.no_max:
            report("closed loop (max rate), 16 connections", run_load(port, data, 0, 15, 16, True))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    from gridcare.service.models import WorkOrder

    print(
        f"work orders in the database: {WorkOrder.objects.count()}, numbers unique: "
        f"{WorkOrder.objects.values('number').distinct().count() == WorkOrder.objects.count()}"
    )
    met = throughput >= 300 and p99 <= 100
    print(f"target ≥ 300 creations/s with p99 ≤ 100 ms: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
