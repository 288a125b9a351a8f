"""Serve gridcare with gunicorn on 127.0.0.1 (production-style server, static files by WhiteNoise)."""

from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the UI and API at http://127.0.0.1:8000 with gunicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=int(os.environ.get("GRIDCARE_WORKERS", "2")))
        parser.add_argument("--threads", type=int, default=4)

    def handle(self, *args: object, **options: object) -> None:
        address = f"{options['host']}:{options['port']}"
        self.stdout.write(f"gridcare: serving on http://{address}/ (Ctrl+C to stop)")
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "gridcare.wsgi:application",
            "--bind",
            address,
            "--workers",
            str(options["workers"]),
            "--threads",
            str(options["threads"]),
            "--access-logfile",
            "-",
        ]
        os.execv(sys.executable, argv)
