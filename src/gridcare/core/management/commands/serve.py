"""Serve gridcare with Granian on 127.0.0.1 (production-style server, static files by WhiteNoise): the UI and API
under WSGI, and beside it the machine API — the banks' and aggregators' channel — under ASGI on a port of its own
(``--machine-port``, default the next one): there a channel's posts are served in the event loop in groups
(:mod:`gridcare.api.lane`), while the UI keeps Granian's WSGI (a request under ASGI costs the application's threads
two more hand-overs: the work-order API lost 10–18 % of its top rate there).

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
    help = (
        "Serve the UI and API at http://127.0.0.1:8000 with Granian (WSGI), and the machine API of banks and "
        "aggregators at http://127.0.0.1:8001 (ASGI: gridcare.asgi)."
    )

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
            help="threads per worker running requests",
        )
        parser.add_argument(
            "--machine-port",
            type=int,
            default=int(os.environ.get("GRIDCARE_MACHINE_PORT") or -1),
            help="the machine API's port (channel payments in groups: gridcare.api.lane; default: GRIDCARE_"
            "MACHINE_PORT, else the port after --port); 0: none",
        )
        parser.add_argument("--no-access-log", action="store_true", help="no line per request (benchmarks)")

    def handle(self, *args: object, **options: object) -> None:
        host, port, machine = (
            str(options["host"]),
            int(str(options["port"])),
            int(str(options["machine_port"])),
        )
        self.stdout.write(f"gridcare: serving on http://{host}:{port}/ (Ctrl+C to stop)")
        common = [
            "--host", host, "--workers", str(options["workers"]), "--no-ws", "--respawn-failed-workers",
            "--no-access-log" if options["no_access_log"] else "--access-log",
        ]  # fmt: skip
        servers = [
            [sys.executable, "-m", "granian", "--interface", "wsgi", "gridcare.wsgi:application", "--port",
             str(port), "--blocking-threads", str(options["threads"]), *common],
        ]  # fmt: skip
        if machine:
            self.stdout.write(f"gridcare: the machine API (banks, aggregators) on http://{host}:{machine}/")
            servers.append(
                [sys.executable, "-m", "granian", "--interface", "asgi", "gridcare.asgi:application", "--port",
                 str(machine), *common]
            )  # fmt: skip
        os.environ["GRIDCARE_THREADS"] = str(options["threads"])  # (read by gridcare.asgi in each worker)
        raise SystemExit(run_until_signalled(servers))


def default_workers() -> int:
    return os.cpu_count() or 1


def run_until_signalled(servers: list[list[str]]) -> int:
    """Run the servers, each in a session of its own, until the first SIGINT/SIGTERM/SIGHUP stops them all (0) or
    one ends by itself — then the others are stopped too and its exit code is returned."""
    running = [subprocess.Popen(argv, start_new_session=True) for argv in servers]
    stop_seconds = float(os.environ.get("GRIDCARE_STOP_SECONDS", "10"))
    deadline: list[float] = []
    signalled: list[int] = []

    def stop() -> None:
        if deadline:
            return  # already stopping
        deadline.append(time.monotonic() + stop_seconds)
        for server in running:
            if server.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(server.pid, signal.SIGINT)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        signalled.append(signum)
        stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        while any(server.poll() is None for server in running):
            if deadline and time.monotonic() > deadline[0]:
                for server in running:
                    if server.poll() is None:
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(server.pid, signal.SIGKILL)
                        server.wait()
                break
            if any(server.returncode is not None for server in running):
                stop()  # one ended by itself: the others with it
            time.sleep(0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if signalled:
        return 0
    return next((server.returncode for server in running if server.returncode), 0)
