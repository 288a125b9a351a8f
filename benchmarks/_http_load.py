"""Shared machinery of the HTTP load benchmarks (``workorder_api_load.py``, ``headend_api_load.py``).

- :func:`ensure_database` creates a benchmark's own PostgreSQL database, :func:`django_setup` points Django at it
  and migrates;
- :func:`serve` starts the server exactly as ``gridcare serve`` does (Granian WSGI, no access log; ``gunicorn`` as
  a reference) on a free loopback port and stops it afterwards;
- :func:`run_load` is the load generator, in its own process (its CPU is not the server's): asyncio, HTTP/1.1
  keep-alive. Open loop: requests are *scheduled* at a fixed rate and latency is measured from the scheduled moment,
  so a slow server cannot hide its queueing (no coordinated omission). Closed loop: each connection sends its next
  request as soon as the previous answer arrived (the maximum rate).

A *stream* is what one kind of client sends: ``{"token", "path", "bodies": [bytes…], "cycle": bool}``. Connection
``i`` uses stream ``i % len(streams)``; with ``cycle`` it picks bodies round-robin forever, without it the
connections of a stream share its bodies and stop once each was sent once. ``count`` names byte strings to count in
the answers (e.g. the per-record statuses of a batch).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def ensure_database(name: str) -> str:
    """Create the benchmark database if it does not exist; its URL (``DATABASE_URL`` wins when set)."""
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f"CREATE DATABASE {name}")
    return os.environ.get("DATABASE_URL") or f"postgres://postgres@127.0.0.1:5432/{name}"


def django_setup(database_url: str) -> None:
    """Django on ``database_url`` with this checkout's sources, migrated."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def demo_org_and_empty(*tables: type) -> None:
    """The demo organisation (built once) and the given models' tables emptied: a benchmark starts from the same
    state every run."""
    from django.core.management import call_command
    from django.db import connection

    from gridcare.org import demo as org_demo
    from gridcare.org.models import OrgUnit
    from gridcare.org.selectors import system_actor

    if not OrgUnit.objects.filter(code="GC").exists():
        call_command("load_catalogue", verbosity=0)
        list(org_demo.build(system_actor(), "small"))
    with connection.cursor() as cursor:
        names = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in tables)
        cursor.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


def empty_ledger() -> None:
    """The demo organisation and an empty ledger: the ledger benchmarks' starting state."""
    from gridcare.ledger import models as ledger

    demo_org_and_empty(
        ledger.Difference, ledger.ChannelFile, ledger.ApprovalRequest, ledger.Allocation, ledger.Entry,
        ledger.Payment, ledger.DailyClose,
    )  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: port → process id of the servers :func:`serve` runs (to read the server's CPU time)
SERVER_PIDS: dict[int, int] = {}


def postgres_cpu_seconds(database_url: str) -> float:
    """CPU seconds of the whole PostgreSQL server so far: the postmaster, every process it runs now (backends,
    WAL writer, checkpointer, autovacuum) and those it ran that have ended (Linux ``/proc``; same machine)."""
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        data_directory = conn.execute("SHOW data_directory").fetchone()[0]  # type: ignore[index]
    with open(os.path.join(data_directory, "postmaster.pid")) as handle:
        postmaster = int(handle.readline())
    with open(f"/proc/{postmaster}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    ended = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime, cstime
    return tree_cpu_seconds(postmaster) + ended


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (``/proc/stat``)."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:9]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / ticks, sum(values) / ticks


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of a process and all its descendants now alive (Linux ``/proc``)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry))
    ticks = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        fields = stats.get(pid)
        if fields is not None:
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        todo += children.get(pid, [])
    return total


def process_cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each process (those that exist)."""
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


@contextlib.contextmanager
def serve(
    database_url: str, *, server: str = "granian", workers: int = 3, threads: int = 2, machine: bool = False
) -> Iterator[int]:
    """Run the application server on a free port until the block ends; yields the port — with ``machine``, the
    port of ``gridcare serve``'s machine API (gridcare.asgi) instead of the UI's."""
    port, machine_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "gridcare.settings",
        "GRIDCARE_CONN_MAX_AGE": "600",
        "PYTHONPATH": str(ROOT / "src"),
    }
    if server == "granian":  # exactly ``gridcare serve``, without the access log
        command = [
            sys.executable, "-m", "gridcare.cli", "serve", "--port", str(port), "--workers", str(workers),
            "--threads", str(threads), "--no-access-log", "--machine-port", str(machine_port if machine else 0),
        ]  # fmt: skip
    else:
        command = [
            sys.executable, "-m", "gunicorn", "gridcare.wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
            "--keep-alive", "30", "--log-level", "warning",
        ]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    port = machine_port if machine else port
    SERVER_PIDS[port] = process.pid
    try:
        deadline = time.monotonic() + 90  # a busy machine takes a while to import Django in every worker
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{server} did not start on port {port}") from None
                time.sleep(0.2)
        print(
            f"{server} on 127.0.0.1:{port}{' (machine API)' if machine else ''}: {workers} workers × {threads} threads"
        )
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


async def _load(
    port: int,
    streams: list[dict[str, Any]],
    rate: float,
    seconds: float,
    connections: int,
    closed: bool,
    count: list[bytes],
    out: Any,
) -> None:
    queue: asyncio.Queue[float] = asyncio.Queue()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counted = {token.decode(): 0 for token in count}
    counter = iter(range(10**9))
    positions = [iter(range(len(s["bodies"]))) for s in streams]
    pid = os.getpid()

    async def worker(index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        which = index % len(streams)
        stream = streams[which]
        while True:
            scheduled = await queue.get()
            if scheduled < 0:
                break
            n = next(counter)
            if stream.get("cycle", True):
                body = stream["bodies"][n % len(stream["bodies"])]
            else:
                taken = next(positions[which], None)
                if taken is None:  # this stream is sent: hand the turn on, stop
                    if closed:
                        await queue.put(time.perf_counter())
                    break
                body = stream["bodies"][taken]
            head = (
                f"POST {stream['path']} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {stream['token']}\r\n"
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
            answer = await reader.readexactly(length)
            done = time.perf_counter()
            code = int(status_line.split()[1]) if status_line else 0
            statuses[code] = statuses.get(code, 0) + 1
            latencies.append(done - scheduled)
            for token in count:
                counted[token.decode()] += answer.count(token)
            if closed:
                await queue.put(time.perf_counter())
        writer.close()

    tasks = [asyncio.create_task(worker(i)) for i in range(connections)]
    start = time.perf_counter()
    cpu_start = time.process_time()
    if closed:
        for _ in range(connections):
            queue.put_nowait(time.perf_counter())
        deadline = start + seconds
        while time.perf_counter() < deadline and not all(t.done() for t in tasks):
            await asyncio.sleep(0.02)
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
    client_cpu = time.process_time() - cpu_start
    for _ in tasks:
        await queue.put(-1.0)
    await asyncio.wait(tasks, timeout=30)
    out.put(
        {
            "latencies": latencies,
            "statuses": statuses,
            "elapsed": elapsed,
            "dropped": dropped,
            "counted": counted,
            "client_cpu": client_cpu,
        }
    )


def _entry(*args: Any) -> None:
    asyncio.run(_load(*args))


def run_load(
    port: int,
    streams: list[dict[str, Any]],
    rate: float,
    seconds: float,
    connections: int,
    closed: bool,
    count: list[bytes] | None = None,
) -> dict[str, Any]:
    """Send the streams' requests from a separate process; latencies (s), statuses, elapsed (s), dropped, counts,
    and the load generator's own CPU seconds (``client_cpu``: it shares the machine with the server)."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    process = ctx.Process(
        target=_entry, args=(port, streams, rate, seconds, connections, closed, count or [], out)
    )
    process.start()
    result: dict[str, Any] = out.get(timeout=seconds + 90)
    process.join(30)
    return result


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")
    )
