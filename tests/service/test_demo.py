"""The demo builds a year of work orders with or without customers, some open, near breach and overdue."""

from __future__ import annotations

from django.utils import timezone

from gridcare.org.selectors import system_actor
from gridcare.service import demo
from gridcare.service.models import SLAClock, WorkOrder
from gridcare.service.sla import near_breach_q, overdue_q


def test_demo_without_customers_never_crashes(org) -> None:
    lines = list(demo.build(system_actor(), "tiny"))
    assert "work orders over a year" in lines[-1]
    assert WorkOrder.objects.count() >= 40
    assert not WorkOrder.objects.exclude(customer=None).exists()
    now = timezone.now()
    assert WorkOrder.objects.filter(near_breach_q(now)).exists()
    assert WorkOrder.objects.filter(overdue_q(now)).exists()
    assert WorkOrder.objects.filter(status="archived").exists()
    assert list(demo.build(system_actor(), "tiny")) == ["service: demo work orders already present"]


def test_demo_uses_customers_when_there_are_some(place) -> None:
    for station in ("CG", "HX", "SNS"):
        place(station)
    list(demo.build(system_actor(), "tiny"))
    assert WorkOrder.objects.exclude(customer=None).exists()
    assert SLAClock.objects.filter(done_at__isnull=False, breached=False).exists()
