"""``gridcare sla_sweep`` — run the SLA sweep once (warnings at 80 %, escalations on breach)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from gridcare.core.context import origin
from gridcare.core.locks import JobBusy
from gridcare.org.selectors import system_actor
from gridcare.service.actions import do_sla_sweep


class Command(BaseCommand):
    help = "Evaluate every open SLA clock and send the warnings and escalations due now."

    def handle(self, *args: object, **options: object) -> None:
        started = time.perf_counter()
        with origin(job_id=f"sla-sweep-{int(time.time())}"):
            try:
                result = do_sla_sweep(system_actor())
            except JobBusy as busy:  # another sweep is running: this tick is skipped, the next one comes
                self.stdout.write(busy.message)
                return
        self.stdout.write(
            f"sla sweep: {result.clocks} open clocks, {result.warnings} warnings, {result.escalations} escalations, "
            f"{result.refreshed} deadlines refreshed{' (working-day notices held back: outside working hours)' if result.held_back else ''} "
            f"in {time.perf_counter() - started:.2f} s {result.timings}"
        )
