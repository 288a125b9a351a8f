"""Reads of the metering app that need care: metering class of a service point, the verification plan."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from gridcare.core.access import restrict
from gridcare.metering.conf import rules
from gridcare.metering.models import Meter
from gridcare.metering.rules import metering_class, next_test_due


def metering_class_of(point: Any) -> str:
    """计量装置分类 of a service point from its expected monthly energy, capacity and phases."""
    return metering_class(
        point.expected_monthly_kwh or Decimal(0), point.capacity_kva or Decimal(0), point.phases, rules()
    )


def refresh_metering_class(point: Any) -> str:
    """Recompute the class after a change of capacity, voltage or energy, and the installed meter's test date."""
    klass = metering_class_of(point)
    if klass != point.metering_class:
        type(point)._default_manager.filter(pk=point.pk).update(metering_class=klass)
        point.metering_class = klass
    for meter in Meter.objects.filter(service_point=point, status=Meter.Status.INSTALLED):
        due = next_test_due(meter.installed_on, meter.last_tested_on, klass, rules())
        if due != meter.next_test_due:
            Meter.objects.filter(pk=meter.pk).update(next_test_due=due)
    return klass


def overdue_q(today: dt.date) -> Q:
    """Installed meters whose on-site test, rotation or out-of-tolerance replacement is past due."""
    return Q(status=Meter.Status.INSTALLED) & (
        Q(next_test_due__lt=today) | Q(rotation_due__lt=today) | Q(replace_due__lt=today)
    )


def due_q(start: dt.date, end: dt.date) -> Q:
    """Installed meters with a test, rotation or replacement falling in ``[start, end]`` (the plan)."""
    return Q(status=Meter.Status.INSTALLED) & (
        Q(next_test_due__range=(start, end))
        | Q(rotation_due__range=(start, end))
        | Q(replace_due__range=(start, end))
    )


def overdue_meters(user: Any, today: dt.date | None = None) -> QuerySet[Meter]:
    """超期未检/未轮换表计 in the user's scope."""
    today = today or timezone.localdate()
    return restrict(Meter.objects.filter(overdue_q(today)), user)


def plan_items(meter: Meter, start: dt.date, end: dt.date) -> list[tuple[str, dt.date]]:
    """What a meter is due for in the window: on-site test, rotation, replacement."""
    items = []
    for label, due in (
        ("test", meter.next_test_due),
        ("rotation", meter.rotation_due),
        ("replace", meter.replace_due),
    ):
        if due is not None and due <= end:
            items.append((label, due))
    return sorted(items, key=lambda item: item[1])
