"""Build the demo utility: every app's ``demo.py`` contributes its part, in app order."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridcare.core.context import origin
from gridcare.core.discovery import app_modules
from gridcare.org.selectors import system_actor

SCALES = ("small", "medium", "large")


def refresh_statistics() -> None:
    """ANALYZE on PostgreSQL after the bulk load: until autovacuum gets to it the planner still believes the tables
    hold what they held before the demo, and picks plans fit for a few rows — a ledger report's correlated
    subquery over a sequential scan took 67 s on the small demo instead of 0.02 s."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


class Command(BaseCommand):
    help = "Create the demo power supply company (org chart, staff per position, and each app's demo data)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=SCALES, default="small")
        parser.add_argument("--reset", action="store_true", help="Start from an empty SQLite database.")

    def handle(self, *args: Any, **options: Any) -> None:
        database = settings.DATABASES["default"]
        if options["reset"]:
            if not database["ENGINE"].endswith("sqlite3"):
                raise CommandError(
                    "--reset only deletes the embedded SQLite database; drop other databases yourself."
                )
            from django.db import connections

            connections.close_all()
            path = database["NAME"]
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("load_defaults", verbosity=0)  # catalogue, tariffs, SLA policies, dispatch rules
        actor = system_actor()
        started = time.perf_counter()
        with origin(job_id=f"demo-{int(time.time())}"):
            for _config, module in app_modules("demo"):
                for line in module.build(actor, options["scale"]):
                    self.stdout.write(line)
        refresh_statistics()
        self.stdout.write(f"demo ready in {time.perf_counter() - started:.1f} s")
