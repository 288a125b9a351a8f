"""Serve gridcare with Granian on 127.0.0.1 (production-style server, static files by WhiteNoise).

Granian's HTTP layer is compiled (Rust): on a small machine it leaves the CPU to the application. Measured on the
2-vCPU development machine, work-order intake through the API reached 400–470 creations/s with it against
320–390/s with gunicorn's threaded workers (``benchmarks/workorder_api_load.py --server …``).

Stopping: Ctrl+C in a terminal sends SIGINT to the whole foreground process group. Granian's workers caught it
themselves half-way through their own start or shutdown and hung, leaving the server up after the first Ctrl+C. So
Granian runs in a session of its own: this command receives the signal alone, hands one SIGINT to Granian's main
process (which stops its workers in order) and, should that not finish within ``GRIDCARE_STOP_SECONDS`` (10),
kills Granian's process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from types import FrameType

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the UI and API at http://127.0.0.1:8000 with Granian (ASGI: gridcare.asgi)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("GRIDCARE_WORKERS") or default_workers()),
            help="worker processes (default: GRIDCARE_WORKERS, else the number of CPU cores)",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=int(os.environ.get("GRIDCARE_THREADS", "2")),
            help="threads per worker running the WSGI application (the lanes of gridcare.api.lane run in the "
            "worker's event loop and a serving thread of their own)",
        )
        parser.add_argument("--no-access-log", action="store_true", help="no line per request (benchmarks)")

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(
            f"gridcare: serving on http://{options['host']}:{options['port']}/ (Ctrl+C to stop)"
        )
        argv = [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "gridcare.asgi:application",
            "--host",
            str(options["host"]),
            "--port",
            str(options["port"]),
            "--workers",
            str(options["workers"]),
            "--no-ws",
            "--respawn-failed-workers",
            "--no-access-log" if options["no_access_log"] else "--access-log",
        ]
        os.environ["GRIDCARE_THREADS"] = str(options["threads"])  # (read by gridcare.asgi in each worker)
        raise SystemExit(run_until_signalled(argv))


def default_workers() -> int:
    return os.cpu_count() or 1


def run_until_signalled(argv: list[str]) -> int:
    """Run the server in its own session until it ends or the first SIGINT/SIGTERM/SIGHUP stops it."""
    server = subprocess.Popen(argv, start_new_session=True)
    stop_seconds = float(os.environ.get("GRIDCARE_STOP_SECONDS", "10"))
    deadline: list[float] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        if deadline:
            return  # already stopping
        deadline.append(time.monotonic() + stop_seconds)
        with contextlib.suppress(ProcessLookupError):
            os.kill(server.pid, signal.SIGINT)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        while True:
            try:
                code = server.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                if deadline and time.monotonic() > deadline[0]:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(server.pid, signal.SIGKILL)
                    code = server.wait()
                    break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if deadline else code
