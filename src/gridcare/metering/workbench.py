"""Metering on the workbench: the verification plan's completion and overdue meters (unit figures), and the
metering actions in words."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.metering.models import Meter, OnSiteTest
from gridcare.metering.selectors import due_q, overdue_q
from gridcare.web.workbench import KPI, Month, Value, ratio, scoped


def plan_completion(user: Any, unit: Any, month: Month) -> Value:
    """检定轮换计划完成率 — on-site tests done in the month against those done plus the meters still due in it."""
    done = (
        scoped(OnSiteTest.objects.all(), user, unit, person=())
        .filter(month.date_range_q("tested_on"))
        .count()
    )
    still_due = (
        scoped(Meter.objects.all(), user, unit, person=())
        .filter(due_q(month.first_day, month.last_day))
        .count()
    )
    return ratio(done, done + still_due)


def overdue_verifications(user: Any, unit: Any, month: Month) -> Value:
    """超期未检表数 — installed meters past a test, rotation or replacement date at the month's end (today for
    the running month)."""
    day = min(month.last_day, timezone.localdate())
    return scoped(Meter.objects.all(), user, unit, person=()).filter(overdue_q(day)).count()


def _link(name: str) -> Any:
    def link(user: Any, unit: Any, month: Month) -> str:
        return reverse(name)

    return link


KPIS = [
    KPI("plan_completion", plan_completion, _link("metering:plan"), per_person=False),
    KPI("overdue_verifications", overdue_verifications, _link("metering:overdue"), per_person=False),
]

VERBS = {
    "metering.register_meter": _("Registered meter"),
    "metering.install_meter": _("Installed meter"),
    "metering.remove_meter": _("Removed meter"),
    "metering.replace_meter": _("Replaced meter"),
    "metering.record_test": _("Recorded an on-site test of"),
    "metering.change_status": _("Changed the status of meter"),
    "metering.demo_chunk": _("Loaded demo meters"),
    "metering.demo_stock": _("Loaded demo meter stock"),
    "metering.import_meter": _("Imported meter"),
}
