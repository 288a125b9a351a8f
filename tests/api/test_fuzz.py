"""API fuzzing in the suite (issue #9): schemathesis over the whole OpenAPI schema, 0 failures.

A throwaway database (an SQLite file in a temporary folder, or a fresh PostgreSQL database beside the one in
``DATABASE_URL``) gets the catalogue and the small demo; ``gridcare serve`` answers on a free port; schemathesis
(in its own Python 3.13 environment, ``make fuzz-env``) runs every phase — examples, coverage, fuzzing and
stateful sequences, destructive operations included — as a superuser on existing objects (every operation
reaches its logic) and as a station's service rep on generated ids (403 and 404 paths), with the checks

* ``not_a_server_error``: no 5xx, whatever the input;
* ``status_code_conformance``: every answer is declared in the schema (see :mod:`gridcare.api.schema`);
* ``response_schema_conformance``: every answer has the declared shape.

Bounded: ``GRIDCARE_FUZZ_EXAMPLES`` cases per operation and phase (default 5), a fixed seed
(``GRIDCARE_FUZZ_SEED``) so a failure reproduces. The figures are printed (run with ``-s``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(os.environ.get("GRIDCARE_SCHEMATHESIS", ROOT / ".venv-fuzz" / "bin" / "schemathesis"))
MAX_EXAMPLES = int(os.environ.get("GRIDCARE_FUZZ_EXAMPLES", "5"))
SEED = os.environ.get("GRIDCARE_FUZZ_SEED", "20260911")
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
SUPERUSER = ("fuzz", "fuzz-2026-not-a-secret")
CHANNEL = (
    "bank",
    "gridcare2026",
)  # the demo's bank (gridcare.org.demo), on the machine port's channel routes
#: the server's base URL → its machine API's (``gridcare serve --machine-port``: the channel's lane)
MACHINE: dict[str, str] = {}
RESTRICTED = ("cs_rep", "gridcare2026")  # a station's service rep of the demo (gridcare.org.demo)

pytestmark = pytest.mark.fuzz


def _gridcare(*args: str, env: dict[str, str], **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "gridcare.cli", *args],
        env=env,
        cwd=ROOT,
        text=True,
        capture_output=True,
        **kwargs,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def throwaway_env() -> Iterator[dict[str, str]]:
    """The environment of a server on a database made for this run and dropped after it."""
    with tempfile.TemporaryDirectory(prefix="gridcare-fuzz-") as var:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "GRIDCARE_VAR_DIR": var, "GRIDCARE_DEBUG": "0"}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        url = os.environ.get("DATABASE_URL", "")
        if not url.startswith("postgres"):
            env.pop("DATABASE_URL", None)
            yield env
            return
        import psycopg

        parts = urllib.parse.urlsplit(url)
        name = f"gridcare_fuzz_{os.getpid()}"
        admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        env["DATABASE_URL"] = urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
        try:
            yield env
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def server(throwaway_env: dict[str, str]) -> Iterator[str]:
    """``gridcare serve`` on the demo utility plus a superuser; yields the base URL."""
    env = throwaway_env
    demo = _gridcare("demo", "--scale", "small", env=env, timeout=600)
    assert demo.returncode == 0, demo.stderr[-3000:]
    user, password = SUPERUSER
    made = _gridcare(
        "createsuperuser",
        "--noinput",
        "--username",
        user,
        "--email",
        "fuzz@example.invalid",
        env={**env, "DJANGO_SUPERUSER_PASSWORD": password},
        timeout=120,
    )
    assert made.returncode == 0, made.stderr[-3000:]
    port, machine = _free_port(), _free_port()
    # the server's log goes to a file: a pipe nobody reads fills up and blocks the server
    log = open(Path(env["GRIDCARE_VAR_DIR"]) / "serve.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gridcare.cli",
            "serve",
            "--port",
            str(port),
            "--machine-port",
            str(machine),
            "--workers",
            "1",
            "--no-access-log",
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/login/", timeout=2)
                urllib.request.urlopen(f"http://127.0.0.1:{machine}/login/", timeout=2)
                break
            except OSError:
                assert process.poll() is None, Path(log.name).read_text()[-3000:]
                time.sleep(0.5)
        MACHINE[base] = f"http://127.0.0.1:{machine}"
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _token(base: str, username: str, password: str) -> str:
    body = urllib.parse.urlencode({"username": username, "password": password}).encode()
    with urllib.request.urlopen(f"{base}/api/auth/token/", data=body, timeout=30) as answer:
        return str(json.load(answer)["token"])


@pytest.mark.parametrize(
    "who", [SUPERUSER, RESTRICTED, CHANNEL], ids=["superuser", "service_rep", "bank_on_the_machine_port"]
)
def test_schemathesis_finds_no_failure(server: str, who: tuple[str, str], tmp_path: Path) -> None:
    assert SCHEMATHESIS.exists(), (
        f"{SCHEMATHESIS} is missing: run `make fuzz-env` (Python 3.13 + schemathesis)"
    )
    token = _token(server, *who)
    # the bank fuzzes the channel's routes where its posts are served (the lane: gridcare.api.lane)
    target = MACHINE[server] if who == CHANNEL else server
    only = ["--include-path-regex", "^/api/ledger/channel/"] if who == CHANNEL else []
    config = tmp_path / "schemathesis.toml"
    # the superuser works on existing objects (id 1 of every kind exists in the demo), so that every
    # operation reaches its logic; the service rep keeps generated ids (404 outside his scope or at random)
    config.write_text('[parameters]\n"path.id" = 1\n' if who == SUPERUSER else "")
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "run",
        f"{server}/api/schema/",
        "--url",
        target,
        *only,
        "--header",
        f"Authorization: Token {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        SEED,
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--no-shrink",
        "--no-color",
        "--output-sanitize",
        "true",
        "--request-timeout",
        "60",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    started = time.perf_counter()
    run = subprocess.run(command, text=True, capture_output=True, timeout=1800, cwd=tmp_path)
    seconds = time.perf_counter() - started
    out = run.stdout + run.stderr
    tested = re.search(r"Tested:\s*(\d+)", out)
    cases = re.search(r"Test cases:\s*\n\s*(\d+) generated", out)
    failures = re.search(r"(\d+) (?:unique )?failures?", out.split("Test cases:")[-1])
    print(
        f"\nschemathesis as {who[0]}: {tested.group(1) if tested else '?'} operations, "
        f"{cases.group(1) if cases else '?'} cases, {failures.group(1) if failures else 0} failures, "
        f"{seconds:.0f} s (seed {SEED}, {MAX_EXAMPLES} examples per operation and phase)"
    )
    assert run.returncode == 0, out[-20000:]
