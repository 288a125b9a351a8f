"""``gridcare readings_ingest FILE…`` (to become ``gridcare readings ingest FILE…``): interval files (CSV, Parquet)
into the interval store with a progress bar and a summary; register-read files through their import.
The work is :func:`gridcare.readings.ingest.ingest_files`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridcare.org.models import User
from gridcare.org.selectors import system_actor
from gridcare.readings.ingest import ingest_files


class Command(BaseCommand):
    help = (
        "Ingest 15-minute interval files (CSV/Parquet: meter, ts, kwh[, kw, kvarh]) or register-read files."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", help="CSV or Parquet files")
        parser.add_argument("--user", help="act as this user (default: the system account)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = system_actor()
        if options.get("user"):
            named = User.objects.filter(username=options["user"], is_active=True).first()
            if named is None:
                raise CommandError(f"no active user {options['user']!r}")
            actor = named
        summaries = ingest_files(actor, options["files"], progress=not options["no_progress"])
        for summary in summaries:
            for line in summary.lines():
                self.stdout.write(line)
        if any(s.kind == "unreadable" for s in summaries):
            raise CommandError("some files were not ingested (see above)")
