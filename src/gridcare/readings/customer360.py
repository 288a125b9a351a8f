"""The 用电曲线/负荷 tab of the customer 360 page (客户全景视图): for each of the customer's accounts with interval
data, the load curve of a chosen day, the typical weekday/weekend curve, the split by TOU period, the load factor
and the monthly maximum demand (ECharts, drawn by ``readings/intervals.js``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from gridcare.customers.models import Customer
from gridcare.customers.tabs import CustomerTab
from gridcare.engine.tariff import PERIOD_LABELS, PERIODS
from gridcare.readings.interval_selectors import (
    SLOTS_PER_DAY,
    STEPS_PER_HOUR,
    accounts_with_intervals,
    data_months,
    day_curve,
    latest_day,
    month_key,
    monthly_overview,
    typical_curves,
)
from gridcare.web.display import with_unit

#: months of the overview table
OVERVIEW_MONTHS = 12


def _number(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _day(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def slot_labels() -> list[str]:
    minutes = 60 // STEPS_PER_HOUR
    return [f"{s * minutes // 60:02d}:{s * minutes % 60:02d}" for s in range(SLOTS_PER_DAY)]


def render_intervals(request: HttpRequest, customer: Customer) -> str:
    accounts = accounts_with_intervals(request.user, customer.pk)
    context: dict[str, Any] = {"customer": customer, "accounts": accounts}
    if not accounts:
        return render_to_string("readings/customer_intervals.html", context, request=request)
    chosen = str(request.GET.get("account") or "")
    account = next((a for a in accounts if str(a.pk) == chosen), accounts[0])
    months = data_months(account.pk)
    day = _day(request.GET.get("day"))
    month = request.GET.get("month") or (month_key(day) if day else months[0])
    if month not in months:
        month = months[0]
    if day is None or month_key(day) != month:
        day = latest_day(account.pk, month)
    overview = monthly_overview(account.pk, months[:OVERVIEW_MONTHS])
    current = next(m for m in overview if m.month == month) if month in months[:OVERVIEW_MONTHS] else None
    if current is None:
        current = monthly_overview(account.pk, [month])[0]
    curve = day_curve(account.pk, day) if day else []
    typical = typical_curves(account.pk, month)
    chart = {
        "slots": slot_labels(),
        "day": [_number(v) for v in curve],
        "weekday": [_number(v) for v in typical["weekday"]],
        "weekend": [_number(v) for v in typical["weekend"]],
        "tou": [
            {"name": PERIOD_LABELS[p], "value": float(current.tou_kwh[p])}
            for p in PERIODS
            if p in current.tou_kwh
        ],
        "months": [m.month for m in reversed(overview)],
        "demand": [float(m.max_demand_kw) for m in reversed(overview)],
        "labels": {
            "day": str(_("Load on %(day)s") % {"day": day.isoformat() if day else ""}),
            "weekday": str(_("Working day")),
            "weekend": str(_("Weekend and holiday")),
            "demand": str(_("Maximum demand")),
            "kw": "kW",
        },
    }
    percent = lambda v: with_unit(v, "%") if v is not None else "—"  # noqa: E731
    figures = {
        "kwh": with_unit(current.kwh, "kWh"),
        "max_demand": with_unit(current.max_demand_kw, "kW"),
        "load_factor": percent(current.load_factor),
        "coverage": percent(
            (Decimal(current.received * 100) / Decimal(current.expected)).quantize(Decimal("0.1"))
            if current.expected
            else None
        ),
    }
    rows = [
        (m.month, with_unit(m.kwh, "kWh"), with_unit(m.max_demand_kw, "kW"), percent(m.load_factor))
        for m in overview
    ]
    context.update(
        figures=figures,
        rows=rows,
        account=account,
        months=months,
        month=month,
        day=day,
        current=current,
        overview=overview,
        tou_rows=[
            (
                PERIOD_LABELS[p],
                with_unit(current.tou_kwh[p], "kWh"),
                percent((current.tou_kwh[p] * 100 / current.kwh).quantize(Decimal("0.1"))),
            )
            for p in PERIODS
            if p in current.tou_kwh and current.kwh
        ],
        chart=chart,
    )
    return render_to_string("readings/customer_intervals.html", context, request=request)


TABS = [
    CustomerTab(
        key="intervals", label=_("Load curve"), permission="interval.view", render=render_intervals, order=35
    )
]
