"""``gridcare ledger check`` — recompute the ledger's invariants (receivable = Σ entries = Σ balances, allocations
within amounts, payments fully posted, each released bill charged once); exit code 1 on any mismatch.
``gridcare ledger post-charges [--as USERNAME]`` — post released bills not yet in the ledger (idempotent).
``gridcare ledger reconcile --channel CODE --day YYYY-MM-DD FILE [--as USERNAME]`` — import a channel's daily
file and match it against our payments (对账); ``--post-missing``: then post every payment only the channel has as
its payment of that day (批量补记: a batch-debit file, 代扣文件), all or nothing.
``gridcare ledger post-late-fees [--until YYYY-MM-DD] [--as USERNAME]`` — the month-end late-fee job (电费违约金):
the increment accrued up to the day over what was posted; two copies at once run once.
``gridcare ledger dunning [--dry-run] [--as USERNAME]`` — the dunning ladder over all accounts (催费): reminders sent,
settled cases closed, paid disconnections reconnected; the human steps due counted.
``gridcare ledger check-plans [--as USERNAME]`` — payment plans: a missed instalment breaks the plan (dunning resumes).
``gridcare ledger prepaid [--day YYYY-MM-DD] [--as USERNAME]`` — 费控 daily job: estimate the remaining balance of
every prepaid account, alert on the thresholds, disconnect remotely at zero (safe with two copies at once)."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridcare.core.errors import GridcareError
from gridcare.ledger import selectors
from gridcare.ledger.actions import do_post_bill_charges
from gridcare.ledger.models import Channel
from gridcare.org.models import User
from gridcare.org.selectors import system_actor


class Command(BaseCommand):
    help = "The account ledger (账务): check its invariants, post released bills, reconcile a channel file."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="command", required=True)
        sub.add_parser("check", help="recompute the ledger's invariants; exit code 1 on a mismatch")
        post = sub.add_parser("post-charges", help="post released bills not yet in the ledger")
        post.add_argument("--as", dest="username")
        rec = sub.add_parser("reconcile", help="import a channel's daily file and match it (对账)")
        rec.add_argument("file")
        rec.add_argument("--channel", required=True)
        rec.add_argument("--day", required=True, help="YYYY-MM-DD")
        rec.add_argument("--as", dest="username")
        rec.add_argument(
            "--post-missing",
            action="store_true",
            help="then post every payment only the channel has (批量补记, all or nothing)",
        )
        fees = sub.add_parser("post-late-fees", help="post the late fees accrued up to a day (month end)")
        fees.add_argument("--until", help="YYYY-MM-DD (default today)")
        fees.add_argument("--as", dest="username")
        plans = sub.add_parser("check-plans", help="break plans with a missed instalment, complete paid ones")
        plans.add_argument("--as", dest="username")
        dun = sub.add_parser("dunning", help="run the dunning ladder over all accounts (催费)")
        dun.add_argument("--dry-run", action="store_true", help="count only, write nothing")
        dun.add_argument("--as", dest="username")
        pre = sub.add_parser(
            "prepaid", help="费控: estimate prepaid balances, alert, disconnect at zero (daily)"
        )
        pre.add_argument("--day", help="YYYY-MM-DD (default today)")
        pre.add_argument("--as", dest="username")

    def _actor(self, username: str | None) -> User:
        if not username:
            return system_actor()
        found = User.objects.filter(username=username).first()
        if found is None:
            raise CommandError(f"Unknown user {username}")
        return found

    def handle(self, *args: Any, **options: Any) -> None:
        command = options["command"]
        try:
            if command == "check":
                self._check()
            elif command == "post-charges":
                started = time.perf_counter()
                posted = do_post_bill_charges(self._actor(options["username"]))
                self.stdout.write(f"posted {posted} bill charges in {time.perf_counter() - started:.2f} s")
            elif command == "check-plans":
                from gridcare.ledger.plans import do_check_plans

                run = do_check_plans(self._actor(options["username"]))
                self.stdout.write(f"payment plans: {run.broken} broken, {run.completed} completed")
            elif command == "dunning":
                self._dunning(options)
            elif command == "post-late-fees":
                self._post_late_fees(options)
            elif command == "prepaid":
                self._prepaid(options)
            else:
                self._reconcile(options)
        except GridcareError as exc:
            raise CommandError(exc.message) from None

    def _check(self) -> None:
        started = time.perf_counter()
        problems = selectors.check()
        self.stdout.write(f"应收电费余额 (receivable) = Σ entries = {selectors.receivable()} 元")
        self.stdout.write(f"released bills not yet in the ledger: {selectors.uncharged_bills()}")
        for problem in problems:
            self.stdout.write(f"MISMATCH {problem}")
        self.stdout.write(
            f"{'OK' if not problems else f'{len(problems)} mismatches'} in {time.perf_counter() - started:.2f} s"
        )
        if problems:
            sys.exit(1)

    def _prepaid(self, options: dict[str, Any]) -> None:
        from gridcare.ledger.prepaid_actions import do_dispatch_prepaid_events, do_run_prepaid

        day = None
        if options.get("day"):
            try:
                day = dt.date.fromisoformat(options["day"])
            except ValueError:
                raise CommandError(f"--day {options['day']!r} is not YYYY-MM-DD") from None
        actor = self._actor(options["username"])
        started = time.perf_counter()
        summary = do_run_prepaid(actor, day=day)
        sent = do_dispatch_prepaid_events(actor)  # anything still pending (a gateway that failed before)
        self.stdout.write(f"{summary.as_text()}; 已发送 {sent} in {time.perf_counter() - started:.2f} s")

    def _reconcile(self, options: dict[str, Any]) -> None:
        from gridcare.ledger.reconcile import do_import_channel_file

        channel = Channel.objects.filter(code=options["channel"]).first()
        if channel is None:
            raise CommandError(f"Unknown channel {options['channel']}")
        try:
            day = dt.date.fromisoformat(options["day"])
        except ValueError:
            raise CommandError(f"--day {options['day']!r} is not YYYY-MM-DD") from None
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}")
        actor = self._actor(options["username"])
        result = do_import_channel_file(
            actor, channel=channel, day=day, name=path.name, content=path.read_bytes()
        )
        self.stdout.write(
            f"{result.channel.code} {result.day}: {result.rows} rows — matched {result.matched}, only ours "
            f"{result.only_ours}, only theirs {result.only_theirs}, amount differs {result.amount_differs} "
            f"in {result.seconds:.2f} s"
        )
        if options.get("post_missing"):
            from gridcare.ledger.reconcile import do_post_file_missing

            posted = do_post_file_missing(actor, result.pk)
            self.stdout.write(
                f"批量补记 (missing payments posted): {posted.posted} payments, {posted.total} 元 "
                f"in {posted.seconds:.2f} s"
            )

    def _post_late_fees(self, options: dict[str, Any]) -> None:
        from gridcare.ledger.latefees import do_post_late_fees

        until = None
        if options["until"]:
            try:
                until = dt.date.fromisoformat(options["until"])
            except ValueError:
                raise CommandError(f"--until {options['until']!r} is not YYYY-MM-DD") from None
        started = time.perf_counter()
        posted = do_post_late_fees(self._actor(options["username"]), until)
        self.stdout.write(f"posted {posted} late fees in {time.perf_counter() - started:.2f} s")

    def _dunning(self, options: dict[str, Any]) -> None:
        from gridcare.ledger.dunning import do_run_dunning

        started = time.perf_counter()
        run = do_run_dunning(self._actor(options["username"]), dry_run=options["dry_run"])
        prefix = "dry run: would send" if options["dry_run"] else "sent"
        self.stdout.write(
            f"{prefix} {run.reminders} reminders, {run.settled} cases settled, {run.reconnected} reconnected; "
            f"due for the collectors: {run.due or {}} in {time.perf_counter() - started:.2f} s"
        )
