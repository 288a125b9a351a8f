"""``gridcare readings_settle`` — settle the pending head-end receipts now (采集入库), a chunk per transaction.

The same job runs after each receipt batch commits and on the Celery beat sweep; copies running at once share
the work on PostgreSQL (each receipt is settled once)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from gridcare.core.context import origin
from gridcare.core.locks import JobBusy
from gridcare.readings.actions.headend import settle
from gridcare.readings.conf import HEADEND_SETTLE_CHUNK


def settle_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chunk", type=int, default=HEADEND_SETTLE_CHUNK, help="receipts per transaction")


def run_settle(command: BaseCommand, options: dict[str, Any]) -> None:
    """Settle now and print what was settled (also ``gridcare readings settle`` in the readings group)."""
    started = time.perf_counter()
    with origin(job_id=f"readings-settle-{int(time.time())}"):
        try:
            chunks = settle(chunk=options["chunk"])
        except JobBusy as busy:  # another copy is settling: this run is skipped
            command.stdout.write(busy.message)
            return
    seconds = time.perf_counter() - started
    receipts = sum(c.receipts for c in chunks)
    counts: dict[str, int] = {}
    for chunk in chunks:
        for key, value in {**chunk.counts, **chunk.conflicts}.items():
            counts[key] = counts.get(key, 0) + value
    detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    command.stdout.write(
        f"settled {receipts} receipts in {len(chunks)} chunks, {seconds:.2f} s"
        f" ({receipts / seconds if seconds else 0:,.0f} reads/s){': ' + detail if detail else ''}"
    )


class Command(BaseCommand):
    help = "Settle pending head-end receipts through the capture path (consumption, VEE, tasks, exceptions)."

    def add_arguments(self, parser: CommandParser) -> None:
        settle_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        run_settle(self, options)
