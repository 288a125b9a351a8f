"""Real executors: two ``celery -A gridcare.worker worker`` processes on Redis rate a run started by the real CLI
(``gridcare billing run --executor celery``), and a run killed with SIGKILL — a worker in the middle of the run, or
the process running the run (Celery or inline) — and started again bills every account exactly once with the
totals of an inline run.

PostgreSQL and Redis only: the worker processes open the test database (``test_<name>``), which on SQLite lives in
this process's memory. On SQLite this module is not collected (tests/billing/conftest.py); CI runs it in its
PostgreSQL pass with the Redis of ``GRIDCARE_TEST_REDIS_URL`` (default db 14 of 127.0.0.1:6379, started by .ci/run).
When that Redis does not answer and ``redis-server`` is installed, the tests start one of their own on a free
port; without either they fail (never skipped).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.db.models import Count

from gridcare.billing.executors import start_run
from gridcare.billing.models import Bill, BillingRun, RunChunk
from tests.billing.conftest import PERIOD
from tests.billing.test_executors import bills_of

REDIS_URL = os.environ.get("GRIDCARE_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
ACCOUNTS = 24
CHUNK_SIZE = 2
#: seconds the whole run may take before the test gives up (the workers are real processes on a loaded machine)
DEADLINE = 180.0
SRC = Path(__file__).resolve().parents[2] / "src"


def database_url() -> str:
    """The URL of the test database (pytest-django's ``test_<name>``) for the child processes."""
    db = connection.settings_dict
    auth = quote(str(db.get("USER") or ""), safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(str(db["PASSWORD"]), safe="")
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``GRIDCARE_TEST_REDIS_URL`` if it answers, else a ``redis-server`` of the test session on a free port."""
    if answers(REDIS_URL) or shutil.which("redis-server") is None:
        yield REDIS_URL
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        until(lambda: answers(url), "the test session's redis-server", server)
        yield url
    finally:
        server.kill()
        server.wait(timeout=30)


class Cluster:
    """The child processes of one test: Celery workers on a queue of their own, and runs of the CLI."""

    def __init__(self, tmp: Path, redis_url: str) -> None:
        self.tmp = tmp
        self.redis_url = redis_url
        self.queue = f"gridcare-test-{uuid.uuid4().hex[:12]}"
        self.env = {
            **os.environ,
            "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url,
            "GRIDCARE_CELERY_QUEUE": self.queue,
            "GRIDCARE_CELERY_VISIBILITY_SECONDS": "5",
            "GRIDCARE_BILLING_STALL_SECONDS": "5",
            "GRIDCARE_BILLING_POLL_SECONDS": "0.1",
            "GRIDCARE_VAR_DIR": str(tmp / "var"),
            "GRIDCARE_INTERVAL_STORE": str(settings.GRIDCARE_INTERVAL_STORE),
        }
        self.workers: list[subprocess.Popen[bytes]] = []
        self.others: list[subprocess.Popen[bytes]] = []

    def start_worker(self) -> subprocess.Popen[bytes]:
        n = len(self.workers) + 1
        log = self.tmp / f"worker-{n}.log"
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "gridcare.worker",
                "worker",
                "--pool",
                "solo",
                "--hostname",
                f"w{n}-{self.queue}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "info",
                "--logfile",
                str(log),
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(worker)
        until(lambda: log.exists() and "ready." in log.read_text(), f"worker {n} ready", worker)
        return worker

    def billing(self, *args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "gridcare.cli", "billing", "run", "--as", "billing", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.others.append(process)
        return process

    def stop(self) -> None:
        for process in self.workers + self.others:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
        client = redis.Redis.from_url(self.redis_url)
        client.delete(self.queue)


def until(condition: Callable[[], bool], what: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what}: the process ended with {process.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {DEADLINE:.0f} s")
        time.sleep(0.05)


def finished(process: subprocess.Popen[bytes]) -> str:
    out, _ = process.communicate(timeout=DEADLINE)
    text = out.decode()
    assert process.returncode == 0, text
    return text


@pytest.fixture
def cluster(transactional_db: Any, tmp_path: Path, redis_url: str) -> Iterator[Cluster]:
    """Redis must answer: the test fails (it is never skipped) when it does not."""
    redis.Redis.from_url(redis_url).ping()
    processes = Cluster(tmp_path, redis_url)
    yield processes
    processes.stop()


@pytest.fixture
def billed_by_inline(staff: Any, customer: Any) -> list[tuple[Any, ...]]:
    """``ACCOUNTS`` accounts on two tariffs, and the bills an inline run gives them (removed again, so the run
    under test bills the same period afresh)."""
    for n in range(ACCOUNTS - 2):
        customer("CN-ZJ-RES-TIERED", {"active_total": str(90 + 41 * n)})
    for n in range(2):
        customer(
            "CN-LI-2PART-TOU",
            {
                "active_sharp": str(10 + n),
                "active_peak": "40",
                "active_flat": "30",
                "active_valley": "20",
                "reactive_total": "50",
            },
            capacity="400",
            voltage="10kV",
            customer_class="large_industry",
        )
    run = start_run(staff("billing"), period=PERIOD, chunk_size=CHUNK_SIZE)
    bills = bills_of(run)
    assert len(bills) == ACCOUNTS
    Bill.objects.filter(run=run).delete()
    return bills


def the_run(cli: subprocess.Popen[bytes]) -> BillingRun:
    """The run the CLI started (the one after the inline run of the fixture)."""
    until(lambda: BillingRun.objects.count() >= 2, "the CLI's run", cli)
    return BillingRun.objects.order_by("-pk").first()  # type: ignore[return-value]


def assert_billed_once_like_inline(run: BillingRun, expected: list[tuple[Any, ...]]) -> None:
    run.refresh_from_db()
    assert run.status == BillingRun.Status.DONE
    assert RunChunk.objects.filter(run=run).exclude(status=RunChunk.Status.DONE).count() == 0
    per_account = Bill.objects.filter(period=PERIOD).values("account").annotate(n=Count("pk"))
    assert len(per_account) == ACCOUNTS
    assert {row["n"] for row in per_account} == {1}
    assert bills_of(run) == expected
    assert run.bills == ACCOUNTS
    assert run.total == sum(b[1] for b in expected)
    assert run.chunks_done == run.chunks == ACCOUNTS // CHUNK_SIZE


def test_two_real_celery_workers_bill_like_an_inline_run(cluster: Cluster, billed_by_inline: Any) -> None:
    cluster.start_worker()
    cluster.start_worker()
    cli = cluster.billing(
        "--period", PERIOD, "--executor", "celery", "--workers", "2", "--chunk-size", str(CHUNK_SIZE)
    )
    output = finished(cli)
    run = BillingRun.objects.order_by("-pk").first()
    assert run is not None and run.executor == BillingRun.Executor.CELERY
    assert f"{ACCOUNTS // CHUNK_SIZE}/{ACCOUNTS // CHUNK_SIZE}" in output  # the progress bar reached the end
    assert f"{ACCOUNTS} bills" in output
    assert_billed_once_like_inline(run, billed_by_inline)
    assert set(RunChunk.objects.filter(run=run).values_list("attempts", flat=True)) == {1}


def test_a_worker_killed_mid_run_leaves_one_bill_per_account(cluster: Cluster, billed_by_inline: Any) -> None:
    victim = cluster.start_worker()
    cluster.start_worker()
    cli = cluster.billing(
        "--period", PERIOD, "--executor", "celery", "--chunk-size", str(CHUNK_SIZE), "--quiet"
    )
    run = the_run(cli)
    until(
        lambda: RunChunk.objects.filter(run=run, status=RunChunk.Status.DONE).count() >= 1,
        "a chunk done",
        cli,
    )
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    cluster.start_worker()  # the worker is started again; its task went back to the queue or is sent again
    finished(cli)
    assert_billed_once_like_inline(run, billed_by_inline)


@pytest.mark.parametrize("executor", ["celery", "inline"])
def test_the_process_running_the_run_killed_and_resumed(
    cluster: Cluster, billed_by_inline: Any, executor: str
) -> None:
    if executor == "celery":
        cluster.start_worker()
        cluster.start_worker()
    cli = cluster.billing(
        "--period", PERIOD, "--executor", executor, "--chunk-size", str(CHUNK_SIZE), "--quiet"
    )
    run = the_run(cli)
    until(
        lambda: RunChunk.objects.filter(run=run, status=RunChunk.Status.DONE).count() >= 1,
        "a chunk done",
        cli,
    )
    cli.send_signal(signal.SIGKILL)
    cli.wait(timeout=30)
    assert cli.returncode == -signal.SIGKILL
    run.refresh_from_db()
    if (
        executor == "inline"
    ):  # killed in the middle: nobody closed it (Celery workers close a run they finish)
        assert run.status == BillingRun.Status.RUNNING
        assert 1 <= run.chunks_done < run.chunks
    finished(cluster.billing("--resume", str(run.pk), "--quiet"))
    assert_billed_once_like_inline(run, billed_by_inline)
