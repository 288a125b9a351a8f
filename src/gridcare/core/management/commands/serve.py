"""Serve gridcare with Granian on 127.0.0.1 (production-style server, static files by WhiteNoise).

Granian's HTTP layer is compiled (Rust): on a small machine it leaves the CPU to the application. Measured on the
2-vCPU development machine, work-order intake through the API reached 400–470 creations/s with it against
320–390/s with gunicorn's threaded workers (``benchmarks/workorder_api_load.py --server …``).
"""

from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the UI and API at http://127.0.0.1:8000 with Granian (WSGI)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=int(os.environ.get("GRIDCARE_WORKERS", "2")))
        parser.add_argument(
            "--threads",
            type=int,
            default=int(os.environ.get("GRIDCARE_THREADS", "2")),
            help="threads per worker running requests",
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
            "wsgi",
            "gridcare.wsgi:application",
            "--host",
            str(options["host"]),
            "--port",
            str(options["port"]),
            "--workers",
            str(options["workers"]),
            "--blocking-threads",
            str(options["threads"]),
            "--no-ws",
            "--respawn-failed-workers",
            "--no-access-log" if options["no_access_log"] else "--access-log",
        ]
        os.execv(sys.executable, argv)
