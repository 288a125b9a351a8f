"""Celery tasks of meter reading and their beat schedule, added to gridcare's Celery app (gridcare.worker) when Django starts
(``ReadingsConfig.ready``), like the service desk's:

- each night, the period VEE (抄表期校核) of the routes whose reading window closed yesterday (reading day + the
  on-time tolerance); the same action as ``gridcare readings vee``, two copies kept apart by the period's job lock;
- the head-end settle job (采集入库), started after each receipt batch commits and swept every few minutes; the
  same function as ``gridcare readings settle``. Without a broker (``REDIS_URL`` unset) Celery runs tasks eagerly:
  the settle job then runs inline once the receipt has committed (tests, the demo, a single machine).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from celery.schedules import crontab
from django.conf import settings
from django.utils import timezone

from gridcare.core.context import origin
from gridcare.core.locks import JobBusy
from gridcare.org.selectors import system_actor
from gridcare.readings.actions import PeriodVeeResult, do_run_period_vee
from gridcare.readings.actions.routes import reads_in
from gridcare.readings.conf import HEADEND_SETTLE_EVERY_MINUTES, on_time_days, settle_after_receipt
from gridcare.readings.models import Route
from gridcare.worker import app as celery_app

PERIOD_VEE = "gridcare.readings.tasks.period_vee"
SETTLE = "gridcare.readings.tasks.settle_headend"
#: when the nightly run starts (Asia/Shanghai), overridable with ``GRIDCARE_READINGS_VEE_AT = "HH:MM"``
DEFAULT_VEE_AT = "01:30"
log = logging.getLogger(__name__)


def beat_schedule() -> dict[str, dict[str, Any]]:
    hour, minute = str(getattr(settings, "GRIDCARE_READINGS_VEE_AT", DEFAULT_VEE_AT)).split(":")
    return {
        "readings-period-vee": {"task": PERIOD_VEE, "schedule": crontab(hour=hour, minute=minute)},
        "readings-headend-settle": {
            "task": SETTLE,
            "schedule": crontab(minute=f"*/{int(HEADEND_SETTLE_EVERY_MINUTES)}"),
        },
    }


def register_schedule() -> None:
    for name, entry in beat_schedule().items():
        celery_app.add_periodic_task(entry["schedule"], celery_app.signature(entry["task"]), name=name)


def closed_yesterday(today: dt.date) -> tuple[str, list[Route]]:
    """The period and the active routes whose reading window closed yesterday: reading day + tolerance."""
    day = today - dt.timedelta(days=1 + on_time_days())
    period = f"{day:%Y-%m}"
    start = day.replace(day=1)
    routes = [r for r in Route.objects.filter(active=True, reading_day=day.day) if reads_in(r, start)]
    return period, routes


def run_closed_windows(today: dt.date | None = None) -> PeriodVeeResult | None:
    """The period VEE of the routes whose window closed yesterday; None when there are none or another run of
    the period holds its lock (the next night's run, or the CLI, takes it up)."""
    today = today or timezone.localdate()
    period, routes = closed_yesterday(today)
    if not routes:
        return None
    with origin(job_id=f"readings-period-vee-{today:%Y%m%d}"):
        try:
            return do_run_period_vee(system_actor(), period, routes=routes, today=today)
        except JobBusy:
            return None


@shared_task(name=PERIOD_VEE)
def period_vee() -> None:
    run_closed_windows()


@shared_task(name=SETTLE)
def settle_headend() -> int:
    """Settle every pending head-end receipt; the number settled (0 when another copy holds the job)."""
    from gridcare.readings.actions.headend import settle

    try:
        return sum(chunk.receipts for chunk in settle())
    except JobBusy:
        return 0


def schedule_settle() -> None:
    """After a receipt batch commits: start the settle job (unless turned off for a receipt-only run)."""
    if not settle_after_receipt():
        return
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", True):  # no broker configured: settle here and now
        try:
            settle_headend()
        except Exception:  # the receipt has committed and is answered; the sweep settles what is left
            log.exception("head-end settle after receipt failed; the periodic sweep will retry")
    else:
        settle_headend.delay()
