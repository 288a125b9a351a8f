"""Celery tasks of meter reading: the head-end settle job (采集入库) — started after each receipt batch commits
and swept every few minutes by beat; it calls the same function as ``gridcare readings_settle``.

Without a broker (``REDIS_URL`` unset) Celery runs tasks eagerly: the settle job runs inline once the receipt has
committed (tests, the demo, a single-machine installation)."""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app, shared_task
from celery.schedules import crontab
from django.conf import settings

from gridcare.core.locks import JobBusy
from gridcare.readings.conf import HEADEND_SETTLE_EVERY_MINUTES, settle_after_receipt

SETTLE = "gridcare.readings.tasks.settle_headend"
log = logging.getLogger(__name__)


def beat_schedule() -> dict[str, dict[str, Any]]:
    return {
        "readings-headend-settle": {
            "task": SETTLE,
            "schedule": crontab(minute=f"*/{int(HEADEND_SETTLE_EVERY_MINUTES)}"),
        },
    }


def register_schedule() -> None:
    for name, entry in beat_schedule().items():
        current_app.add_periodic_task(entry["schedule"], current_app.signature(entry["task"]), name=name)


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
