"""Celery tasks of the service desk and their beat schedule: the SLA sweep every few minutes and the monthly
reports on the 28th (the clerks' duty: 每月28日前提交月工作报告、客户投诉处理月报表、售后服务(维修)月统计表).

The schedule is added to gridcare's Celery app (gridcare.worker) when Django starts (``ServiceConfig.ready``); the tasks call the
same management commands that operators run by hand.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.schedules import crontab
from django.core.management import call_command

from gridcare.service.conf import conf
from gridcare.worker import app as celery_app

MONTHLY_REPORTS = "gridcare.service.tasks.monthly_reports"
SLA_SWEEP = "gridcare.service.tasks.sla_sweep"


def beat_schedule() -> dict[str, dict[str, Any]]:
    return {
        "service-monthly-reports": {
            "task": MONTHLY_REPORTS,
            "schedule": crontab(day_of_month="28", hour="7", minute="0"),
        },
        "service-sla-sweep": {
            "task": SLA_SWEEP,
            "schedule": crontab(minute=f"*/{int(conf('SWEEP_EVERY_MINUTES'))}"),
        },
    }


def register_schedule() -> None:
    for name, entry in beat_schedule().items():
        celery_app.add_periodic_task(entry["schedule"], celery_app.signature(entry["task"]), name=name)


@shared_task(name=MONTHLY_REPORTS)
def monthly_reports(month: str | None = None) -> None:
    """On the 28th: the month's reports (Excel and PDF) into the reports folder."""
    call_command("service_reports", *(["--month", month] if month else []))


@shared_task(name=SLA_SWEEP)
def sla_sweep() -> None:
    call_command("sla_sweep")
