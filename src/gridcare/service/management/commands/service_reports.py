"""``gridcare service_reports --month 2026-10`` — the month's complaint, repair and work reports (Excel + PDF).

Scheduled by Celery beat on the 28th (``gridcare.service.tasks``); without ``--month`` it reports the current month
(on the 28th: the month so far, as the clerks' duty requires 每月28日前提交).
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from gridcare.core.locks import JobBusy, job_lock
from gridcare.service.reports import write_all
from gridcare.service.selectors import month_bounds


class Command(BaseCommand):
    help = "Write the monthly service reports (客户投诉处理月报表, 售后服务(维修)月统计表, 月工作报告) as Excel and PDF."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="YYYY-MM (default: the current month)")
        parser.add_argument("--out", help="folder (default: <var>/reports/service/<month>)")

    def handle(self, *args: object, **options: object) -> None:
        month = str(options.get("month") or f"{timezone.localdate():%Y-%m}")
        try:
            month_bounds(month)
        except ValueError:
            raise CommandError(f"--month must look like 2026-10, not {month!r}") from None
        out = options.get("out")
        try:
            with job_lock(f"service.reports.{month}"):  # two runs at once would write the same files
                for path in write_all(month, Path(str(out)) if out else None):
                    self.stdout.write(str(path))
        except JobBusy as busy:
            self.stdout.write(busy.message)
