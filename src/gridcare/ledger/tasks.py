"""Celery tasks of the ledger: the month-end late-fee job (电费违约金), the same as ``gridcare ledger post-late-fees``.
Beat runs it every evening at ``LATE_FEE_JOB_HOUR`` and it posts on the last day of the month only (when
``LATE_FEE_POSTING`` includes ``month_end``); two copies at once run once (:func:`gridcare.core.locks.job_lock`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task
from celery.schedules import crontab
from django.utils import timezone

from gridcare.core.locks import JobBusy
from gridcare.ledger.conf import conf, late_fee_posting
from gridcare.worker import app as celery_app

LATE_FEES = "gridcare.ledger.tasks.month_end_late_fees"
DUNNING = "gridcare.ledger.tasks.dunning"
PLANS = "gridcare.ledger.tasks.check_plans"


def beat_schedule() -> dict[str, dict[str, Any]]:
    return {
        "ledger-month-end-late-fees": {
            "task": LATE_FEES,
            "schedule": crontab(hour=str(int(conf("LATE_FEE_JOB_HOUR"))), minute="5"),
        },
        "ledger-check-plans": {
            "task": PLANS,
            "schedule": crontab(hour=str(int(conf("DUNNING_JOB_HOUR"))), minute="0"),
        },
        "ledger-dunning": {
            "task": DUNNING,  # after the plans are checked: a broken plan is dunned the same morning
            "schedule": crontab(hour=str(int(conf("DUNNING_JOB_HOUR"))), minute="15"),
        },
    }


def register_schedule() -> None:
    for name, entry in beat_schedule().items():
        celery_app.add_periodic_task(entry["schedule"], celery_app.signature(entry["task"]), name=name)


def run_month_end(today: dt.date | None = None) -> int | None:
    """Post the month's late fees if ``today`` is the month's last day; None when it is not, when month-end
    posting is off, or when another run holds the job's lock."""
    from gridcare.ledger.latefees import do_post_late_fees
    from gridcare.org.selectors import system_actor

    today = today or timezone.localdate()
    if "month_end" not in late_fee_posting() or (today + dt.timedelta(days=1)).day != 1:
        return None
    try:
        return do_post_late_fees(system_actor(), today)
    except JobBusy:
        return None


@shared_task(name=LATE_FEES)
def month_end_late_fees() -> None:
    run_month_end()


def run_dunning() -> Any:
    """The daily dunning run as the system; None when another run holds the job's lock."""
    from gridcare.ledger.dunning import do_run_dunning
    from gridcare.org.selectors import system_actor

    try:
        return do_run_dunning(system_actor())
    except JobBusy:
        return None


@shared_task(name=DUNNING)
def dunning() -> None:
    run_dunning()


@shared_task(name=PLANS)
def check_plans() -> None:
    from gridcare.ledger.plans import do_check_plans
    from gridcare.org.selectors import system_actor

    try:
        do_check_plans(system_actor())
    except JobBusy:
        return
