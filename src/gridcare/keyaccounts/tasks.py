"""Celery tasks of key accounts: the daily expiry of idle prospect registrations (备案过期释放, ``gridcare
keyaccounts expire``) and the monthly credit scores (信用评价, ``gridcare keyaccounts credit``); two copies at once
run each once (:func:`gridcare.core.locks.job_lock`)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.schedules import crontab
from django.core.management import call_command

from gridcare.keyaccounts.conf import conf
from gridcare.worker import app as celery_app

EXPIRE = "gridcare.keyaccounts.tasks.expire_registrations"
CREDIT = "gridcare.keyaccounts.tasks.credit_scores"


def beat_schedule() -> dict[str, dict[str, Any]]:
    return {
        "keyaccounts-expire-registrations": {
            "task": EXPIRE,
            "schedule": crontab(hour=str(int(conf("EXPIRE_AT_HOUR"))), minute="10"),
        },
        "keyaccounts-credit-scores": {
            "task": CREDIT,
            "schedule": crontab(
                day_of_month=str(int(conf("CREDIT_RUN_DAY"))),
                hour=str(int(conf("CREDIT_RUN_HOUR"))),
                minute="20",
            ),
        },
    }


def register_schedule() -> None:
    for name, entry in beat_schedule().items():
        celery_app.add_periodic_task(entry["schedule"], celery_app.signature(entry["task"]), name=name)


@shared_task(name=EXPIRE)
def expire_registrations() -> None:
    call_command("keyaccounts", "expire")


@shared_task(name=CREDIT)
def credit_scores() -> None:
    """The monthly credit scores of last month (信用评价); a second copy at once skips (job lock)."""
    call_command("keyaccounts", "credit")
