"""Issue #11 point 6: the demo's year of reads goes through the real capture path and leaves every anomaly the
issue names on the queue — and the exchanged account's billing quantity spans both meters."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcare.metering.models import Installation, InstallationRead
from gridcare.readings.models import MeterRead, ReadException, ReadingTask
from gridcare.readings.selectors import billing_determinants


@pytest.fixture
def demo(system):
    from gridcare.customers import demo as customers_demo
    from gridcare.metering import demo as metering_demo
    from gridcare.readings import demo as readings_demo

    customers_demo.SCALES["tiny"] = 40
    metering_demo.STOCK["tiny"] = 30
    try:
        list(customers_demo.build(system, "tiny"))
        list(metering_demo.build(system, "tiny"))
        return list(readings_demo.build(system, "tiny"))
    finally:
        del customers_demo.SCALES["tiny"], metering_demo.STOCK["tiny"]


def test_demo_reads_carry_every_anomaly(demo, staff) -> None:
    assert "2 meters exchanged mid-period" in demo[-1] and "1 estimate awaiting approval" in demo[-1]
    rules = set(ReadException.objects.values_list("rule", flat=True))
    assert {"reverse_running", "rollover", "zero_consumption", "surge_previous"} <= rules, rules
    assert ReadException.objects.filter(status=ReadException.Status.ESTIMATED).count() == 1
    past = sorted(set(ReadingTask.objects.values_list("period", flat=True)))[-1]
    assert ReadingTask.objects.filter(period=past, status=ReadingTask.Status.PENDING).exists()  # missing read
    # the billing accountant may decide every exception of the demo (its scope is the company)
    from gridcare.core.access import restrict

    everything = ReadException.objects.count()
    assert restrict(ReadException.objects.all(), staff("billing"), write=True).count() == everything


def test_exchanged_accounts_are_billed_across_both_meters(demo, staff) -> None:
    """For both demo exchanges (one new meter from zero, one refurbished meter that rolls over): the period's
    quantity is old final − old previous + new current − new initial (modulo the new register's range)."""
    swaps = list(Installation.objects.filter(removed_on__isnull=False))
    assert len(swaps) == 2

    def install_read(installation: Installation, event: str) -> Decimal:
        return InstallationRead.objects.get(
            installation=installation, event=event, register="active_total"
        ).value

    for old in swaps:
        new = Installation.objects.get(service_point=old.service_point, installed_on=old.removed_on)
        period = f"{old.removed_on:%Y-%m}"
        previous = (
            MeterRead.objects.filter(meter=old.meter, register="active_total", status="valid")
            .order_by("-read_at")
            .values_list("value", flat=True)
            .first()
        )
        current = MeterRead.objects.get(meter=new.meter, register="active_total", period=period).value
        span = Decimal(10) ** new.meter.register_digits
        new_leg = current - install_read(new, "install")
        new_leg += span if new_leg < 0 else 0  # the refurbished meter rolled over
        expected = (install_read(old, "remove") - previous + new_leg) * old.multiplier
        account = old.service_point.account_id
        (lines,) = billing_determinants(staff("billing"), period=period, accounts=[account])
        assert lines.registers["active_total"].quantity == expected
        assert 0 < expected < 10_000
