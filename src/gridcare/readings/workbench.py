"""The readings app's part of the workbench registry (gridcare.web.workbench): its actions in words."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.core.access import has_perm
from gridcare.customers.models import ServicePoint
from gridcare.readings.interval_selectors import collection_rate, problem_days
from gridcare.readings.store import interval_conf
from gridcare.web.workbench import KPI, Month, Todo, Value

VERBS = {
    "readings.create_route": _("Created reading route"),
    "readings.reorder_route": _("Reordered reading route"),
    "readings.split_route": _("Split reading route"),
    "readings.merge_routes": _("Merged reading routes into"),
    "readings.generate_plan": _("Generated the reading plan of"),
    "readings.load_vee_defaults": _("Loaded the validation rules"),
    "readings.accept_exception": _("Accepted the reading exception"),
    "readings.correct_exception": _("Corrected the reading of"),
    "readings.order_reread": _("Ordered a re-read of"),
    "readings.estimate": _("Estimated the reading of"),
    "readings.approve_estimate": _("Approved the estimate of"),
    "readings.capture": _("Received"),
    "readings.capture_read": _("Entered reading"),
    "readings.ingest_intervals": _("Received interval data"),
}

#: who follows up data collection (负荷管理专责): failing meter-days are their to-do
COLLECTION_FOLLOW_UP = "loadcontrol.notice"


def _month_span(month: Month) -> tuple[dt.date, dt.date]:
    """The month's days up to yesterday (today's data are still arriving)."""
    return month.first_day, min(month.last_day, timezone.localdate() - dt.timedelta(days=1))


def data_collection_rate(user: Any, unit: Any, month: Month) -> Value:
    """采集成功率 — 15-minute intervals received ÷ expected from the interval meters of the unit, in the month."""
    first, last = _month_span(month)
    if last < first:
        return None
    if unit is not None and not ServicePoint.objects.filter(org_unit__path__startswith=unit.path).exists():
        unit = None  # a team holding no service points (负荷管理班) follows every metering point it reads
    return collection_rate(user, first, last, unit=unit)


def collection_link(user: Any, unit: Any, month: Month) -> str:
    first, last = _month_span(month)
    query = {"day_from": first.isoformat(), "day_to": max(first, last).isoformat()}
    return f"{reverse('readings:interval-quality')}?{urlencode(query)}"


KPIS = [KPI("data_collection_rate", data_collection_rate, collection_link, per_person=False)]


def failing_meter_days(user: Any) -> list[Todo]:
    """采集异常 — meter-days with gaps, spikes, conflicting or rejected values in the last days."""
    if not has_perm(user, COLLECTION_FOLLOW_UP) or not has_perm(user, "interval.view"):
        return []
    since = timezone.localdate() - dt.timedelta(days=int(interval_conf("LOOKBACK_DAYS")))
    rows = problem_days(user).filter(day__gte=since).select_related("meter")
    first = [
        (
            f"{d.meter.asset_no} {d.day:%Y-%m-%d}",
            f"{reverse('readings:interval-days')}?meter_asset_no={d.meter.asset_no}",
            None,
        )
        for d in rows[:5]
    ]
    url = (
        f"{reverse('readings:interval-days')}?{urlencode({'problem': 'any', 'day_from': since.isoformat()})}"
    )
    return [
        Todo(
            "readings.interval_problems",
            _("Meter-days with collection problems"),
            rows.count(),
            url,
            "warning",
            tuple(first),
        )
    ]


TODOS = [failing_meter_days]
