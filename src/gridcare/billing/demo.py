"""Demo billing: after the readings demo, the billing accountant runs the last closed period (the month before
today) through the real run — draft bills for every account with validated reads, the others listed with the
reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.utils import timezone

from gridcare.billing.executors import start_run
from gridcare.billing.models import BillingRun
from gridcare.org.models import User


def last_closed_period(today: dt.date) -> str:
    return f"{today.replace(day=1) - dt.timedelta(days=1):%Y-%m}"


def build(actor: User, scale: str) -> Iterator[str]:
    period = last_closed_period(timezone.localdate())
    if BillingRun.objects.filter(period=period).exists():
        yield f"billing: a run of {period} is already present (use --reset to rebuild)"
        return
    accountant = User.objects.filter(username="billing").first() or actor
    run = start_run(accountant, period=period)
    yield (
        f"billing: run {run.pk} of {period} — {run.bills:,} draft bills, {run.not_billed:,} accounts not billed, "
        f"{run.total:,} 元 in {run.seconds or 0:.1f} s"
    )
