"""``gridcare billing run --period 2026-11 [--unit CODE | --route NUMBER | --accounts ID …] [--executor inline|process|
celery] [--workers N] [--chunk-size N] [--as USERNAME]`` — a billing run with its progress and figures;
``gridcare billing run --resume RUN`` rates the chunks of run RUN not done yet (after a crash or a kill)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db.models import Sum
from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs published

from gridcare.billing.executors import execute, start_run
from gridcare.billing.models import BillingRun, RunChunk
from gridcare.core.errors import GridcareError
from gridcare.org.models import OrgUnit, User
from gridcare.org.selectors import system_actor
from gridcare.readings.models import Route


class ProgressBar:
    """The run's progress as a tqdm bar on the command's output: chunks done of the run's chunks, with the bills,
    the accounts not billed and the amount so far (the same for every executor: it follows the chunk rows)."""

    def __init__(self, out: OutputWrapper, *, enabled: bool) -> None:
        self.out = out
        self.enabled = enabled
        self.bar: Any = None

    def __call__(self, run: BillingRun) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = tqdm(
                total=run.chunks,
                initial=run.chunks_done,
                desc=f"run {run.pk} {run.period}",
                unit="chunk",
                file=self,
                dynamic_ncols=True,
                mininterval=0.2,
            )
        self.bar.set_postfix_str(f"{run.bills:,} bills · {run.not_billed:,} not billed · {run.total:,} 元")
        self.bar.update(run.chunks_done - self.bar.n)

    def write(self, text: str) -> None:
        """tqdm's stream: the command's output as it is (the bar redraws its line with a carriage return)."""
        self.out.write(text, ending="")

    def flush(self) -> None:
        self.out.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def figures(run: BillingRun) -> list[str]:
    """The run's figures: bills per second end to end and the seconds of each phase summed over chunks."""
    sums = RunChunk.objects.filter(run=run).aggregate(
        load=Sum("load_ms"), rate=Sum("rate_ms"), write=Sum("write_ms")
    )
    seconds = run.seconds or 0.0
    rate = run.bills / seconds if seconds else 0.0
    return [
        f"run {run.pk} {run.period}: {run.get_status_display()} — {run.accounts} accounts selected, {run.bills} bills, "
        f"{run.not_billed} not billed, {run.total} 元, {run.energy_kwh} kWh",
        f"{seconds:.2f} s end to end, {rate:,.0f} bills/s ({run.executor}, {run.workers} workers, "
        f"chunks of {run.chunk_size})",
        "phases summed over chunks: load {:.2f} s · rate {:.2f} s · write {:.2f} s".format(
            (sums["load"] or 0) / 1000, (sums["rate"] or 0) / 1000, (sums["write"] or 0) / 1000
        ),
    ]


class Command(BaseCommand):
    help = "Billing runs (电费计算): start one for a period, or resume one."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="command", required=True)
        run = sub.add_parser("run", help="start (or --resume) a billing run")
        run.add_argument("--period", help="YYYY-MM")
        run.add_argument("--unit", help="code of the unit to bill (default: the whole company)")
        run.add_argument("--route", help="number of the reading route to bill")
        run.add_argument("--accounts", nargs="+", type=int, help="account ids to bill")
        run.add_argument("--executor", choices=BillingRun.Executor.values, default="inline")
        run.add_argument("--workers", type=int)
        run.add_argument("--chunk-size", type=int)
        run.add_argument("--resume", type=int, metavar="RUN", help="rate the chunks of run RUN not done yet")
        run.add_argument("--as", dest="username", help="act as this user (default: the system account)")
        run.add_argument("--quiet", action="store_true", help="no progress lines")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = system_actor()
        if options["username"]:
            named = User.objects.filter(username=options["username"]).first()
            if named is None:
                raise CommandError(f"no user {options['username']}")
            actor = named

        show = ProgressBar(self.stdout, enabled=not options["quiet"])
        started = time.perf_counter()
        try:
            if options["resume"]:
                found = BillingRun.objects.filter(pk=options["resume"]).first()
                if found is None:
                    raise CommandError(f"no billing run {options['resume']}")
                run = execute(found, progress=show)
            else:
                if not options["period"]:
                    raise CommandError("--period YYYY-MM is required (or --resume RUN)")
                run = start_run(actor, progress=show, **self._scope(options))
        except GridcareError as error:
            raise CommandError(error.message) from None
        finally:
            show.close()
        for line in figures(run):
            self.stdout.write(line)
        self.stdout.write(f"command: {time.perf_counter() - started:.2f} s")

    @staticmethod
    def _scope(options: dict[str, Any]) -> dict[str, Any]:
        scope: dict[str, Any] = {
            "period": options["period"],
            "executor": options["executor"],
            "workers": options["workers"],
            "chunk_size": options["chunk_size"],
        }
        if options["unit"]:
            unit = OrgUnit.objects.filter(code=options["unit"]).first()
            if unit is None:
                raise CommandError(f"no unit {options['unit']}")
            scope["org_unit"] = unit
        if options["route"]:
            route = Route.objects.filter(number=options["route"]).first()
            if route is None:
                raise CommandError(f"no route {options['route']}")
            scope["route"] = route
        if options["accounts"]:
            scope["accounts"] = options["accounts"]
        return scope
