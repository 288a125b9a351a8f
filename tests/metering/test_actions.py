"""Meter actions: install / remove / replace with register reads in one audited action, bad input refused with
nothing written, on-site tests and the verification plan, status moves, the overdue list."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from gridcare.core.errors import InvalidInput, InvalidTransition, PermissionRefused
from gridcare.core.models import AuditEntry
from gridcare.metering import actions
from gridcare.metering.models import Installation, InstallationRead, Meter, OnSiteTest
from gridcare.metering.selectors import overdue_meters

TABLES = (Meter, Installation, InstallationRead, OnSiteTest)
TOU = ["active_total", "active_peak", "active_valley"]


def test_install_records_reads_plan_and_audit(make_point, make_meter, system) -> None:
    point = make_point(voltage="10kV", customer_class="large_industry", capacity="2500", demand="1500")
    meter = make_meter(phases=3, registers=TOU, ct_ratio=40, pt_ratio=100)
    installation = actions.do_install_meter(
        system,
        meter,
        point,
        installed_on=dt.date(2026, 2, 10),
        initial_reads={"active_total": "100.5", "active_peak": "40", "active_valley": "60.5"},
    )
    meter.refresh_from_db()
    assert (meter.status, meter.service_point, meter.org_unit) == ("installed", point, point.org_unit)
    assert installation.multiplier == meter.multiplier == 4000
    assert {r.register: r.value for r in installation.reads.all()} == {
        "active_total": Decimal("100.50"),
        "active_peak": Decimal("40.00"),
        "active_valley": Decimal("60.50"),
    }
    assert point.metering_class == "II"
    assert meter.next_test_due == dt.date(2026, 3, 10)  # new installation: within one month
    assert meter.rotation_due == dt.date(2034, 1, 2)  # electronic: 8 years after verification
    entry = AuditEntry.objects.filter(action="metering.install_meter").latest("id")
    assert entry.after["initial_reads"]["active_total"] == "100.50" and entry.after["multiplier"] == 4000


def test_installing_an_installed_meter_is_refused(make_point, make_meter, system, counts) -> None:
    meter = make_meter()
    actions.do_install_meter(
        system, meter, make_point(), installed_on=dt.date(2026, 2, 1), initial_reads={"active_total": 0}
    )
    other = make_point()
    before = counts(*TABLES)
    with pytest.raises(InvalidInput) as refused:
        actions.do_install_meter(
            system, meter, other, installed_on=dt.date(2026, 2, 2), initial_reads={"active_total": 0}
        )
    assert "已安装" in refused.value.errors["meter"][0]
    assert counts(*TABLES) == before


def test_second_meter_on_a_service_point_is_refused(make_point, make_meter, system) -> None:
    point = make_point()
    actions.do_install_meter(
        system, make_meter(), point, installed_on=dt.date(2026, 2, 1), initial_reads={"active_total": 0}
    )
    with pytest.raises(InvalidInput) as refused:
        actions.do_install_meter(
            system, make_meter(), point, installed_on=dt.date(2026, 2, 1), initial_reads={"active_total": 0}
        )
    assert "service_point" in refused.value.errors


@pytest.mark.parametrize(
    ("reads", "key"),
    [
        ({}, "final_reads.active_peak"),
        (None, "final_reads.active_total"),
        ({"active_total": "10", "active_peak": "5"}, "final_reads.active_valley"),
        ({"active_total": "-1", "active_peak": "5", "active_valley": "5"}, "final_reads.active_total"),
        ({"active_total": "100000000", "active_peak": "5", "active_valley": "5"}, "final_reads.active_total"),
    ],
)
def test_removing_without_final_reads_is_refused(make_point, make_meter, system, counts, reads, key) -> None:
    meter = make_meter(phases=3, registers=TOU)
    actions.do_install_meter(
        system,
        meter,
        make_point(),
        installed_on=dt.date(2026, 2, 1),
        initial_reads={"active_total": 1, "active_peak": 1, "active_valley": 0},
    )
    before = counts(*TABLES)
    with pytest.raises(InvalidInput) as refused:
        actions.do_remove_meter(system, meter, removed_on=dt.date(2026, 3, 1), final_reads=reads)
    assert key in refused.value.errors
    assert counts(*TABLES) == before
    assert Meter.objects.get(pk=meter.pk).status == "installed"


def test_remove_closes_the_installation(make_point, make_meter, system) -> None:
    meter = make_meter()
    point = make_point()
    actions.do_install_meter(
        system, meter, point, installed_on=dt.date(2026, 2, 1), initial_reads={"active_total": 5}
    )
    with pytest.raises(InvalidInput):
        actions.do_remove_meter(
            system, meter, removed_on=dt.date(2026, 1, 1), final_reads={"active_total": 9}
        )
    installation = actions.do_remove_meter(
        system, meter, removed_on=dt.date(2026, 3, 1), final_reads={"active_total": 95}
    )
    meter.refresh_from_db()
    assert installation.removed_on == dt.date(2026, 3, 1)
    assert installation.reads.get(event="remove").value == Decimal("95.00")
    assert (meter.status, meter.service_point, meter.next_test_due) == ("removed", None, None)
    with pytest.raises(InvalidInput):
        actions.do_remove_meter(
            system, meter, removed_on=dt.date(2026, 3, 2), final_reads={"active_total": 95}
        )


def test_replace_is_atomic(make_point, make_meter, system, counts) -> None:
    point = make_point()
    old, new = make_meter(), make_meter()
    actions.do_install_meter(
        system, old, point, installed_on=dt.date(2026, 2, 1), initial_reads={"active_total": 0}
    )
    before = counts(*TABLES)
    with pytest.raises(InvalidInput) as refused:  # the new meter's reads are missing: the old one stays
        actions.do_replace_meter(
            system,
            old,
            new,
            replaced_on=dt.date(2026, 4, 1),
            final_reads={"active_total": 50},
            initial_reads={},
        )
    assert "initial_reads.active_total" in refused.value.errors
    assert counts(*TABLES) == before and Meter.objects.get(pk=old.pk).status == "installed"
    installed = actions.do_replace_meter(
        system,
        old,
        new,
        replaced_on=dt.date(2026, 4, 1),
        final_reads={"active_total": 50},
        initial_reads={"active_total": 0},
    )
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, new.status, new.service_point) == ("removed", "installed", point)
    assert installed.reason == "replace"
    history = list(
        Installation.objects.filter(service_point=point).order_by("id").values_list("meter_id", "removed_on")
    )
    assert history == [(old.pk, dt.date(2026, 4, 1)), (new.pk, None)]
    assert (
        AuditEntry.objects.filter(action="metering.replace_meter").count() == 3
    )  # service point + both meters


def test_replacing_with_an_installed_meter_is_refused(make_point, make_meter, system) -> None:
    a, b = make_meter(), make_meter()
    actions.do_install_meter(
        system, a, make_point(), installed_on=dt.date(2026, 2, 1), initial_reads={"active_total": 0}
    )
    actions.do_install_meter(
        system, b, make_point(), installed_on=dt.date(2026, 2, 1), initial_reads={"active_total": 0}
    )
    with pytest.raises(InvalidInput) as refused:
        actions.do_replace_meter(
            system,
            a,
            b,
            replaced_on=dt.date(2026, 3, 1),
            final_reads={"active_total": 1},
            initial_reads={"active_total": 1},
        )
    assert "new_meter" in refused.value.errors


def test_unverified_or_expired_meter_cannot_be_installed(make_point, make_meter, system) -> None:
    expired = make_meter(verified_on=dt.date(2017, 1, 1))
    with pytest.raises(InvalidInput) as refused:
        actions.do_install_meter(
            system, expired, make_point(), installed_on=dt.date(2026, 2, 1), initial_reads={"active_total": 0}
        )
    assert "届满" in refused.value.errors["meter"][0]


def test_on_site_tests_drive_the_plan(make_point, make_meter, system) -> None:
    point = make_point(voltage="10kV", customer_class="large_industry", capacity="12000", demand="6000")
    meter = make_meter(phases=3)
    actions.do_install_meter(
        system, meter, point, installed_on=dt.date(2026, 2, 1), initial_reads={"active_total": 0}
    )
    actions.do_record_onsite_test(system, meter, tested_on=dt.date(2026, 2, 20), result="passed")
    meter.refresh_from_db()
    assert meter.next_test_due == dt.date(2026, 5, 20)  # class I: every 3 months
    actions.do_record_onsite_test(
        system, meter, tested_on=dt.date(2026, 9, 30), result="out_of_tolerance", error_percent=Decimal("2.5")
    )
    meter.refresh_from_db()
    # replace within 3 working days of the business calendar: the National Day holiday does not count
    from gridcare.core.calendar import is_working_day

    days = [
        dt.date(2026, 10, 1) + dt.timedelta(days=i)
        for i in range((meter.replace_due - dt.date(2026, 9, 30)).days)
    ]
    assert sum(is_working_day(d) for d in days) == 3 and is_working_day(meter.replace_due)
    assert meter.replace_due > dt.date(2026, 10, 7)
    # a capacity reduction changes the class and so the next test date (class III: yearly)
    from gridcare.customers.actions import do_change_capacity

    do_change_capacity(system, point, capacity_kva="400", valid_from=dt.date(2026, 10, 1))
    meter.refresh_from_db()
    assert meter.next_test_due == dt.date(2027, 9, 30)


def test_overdue_list(make_point, make_meter, system, staff) -> None:
    today = timezone.localdate()
    meter = make_meter(verified_on=today - dt.timedelta(days=90))
    actions.do_install_meter(
        system,
        meter,
        make_point(),
        installed_on=today - dt.timedelta(days=60),
        initial_reads={"active_total": 0},
    )
    fresh = make_meter(verified_on=today)
    actions.do_install_meter(
        system, fresh, make_point(), installed_on=today, initial_reads={"active_total": 0}
    )
    assert list(overdue_meters(staff("metering"))) == [meter]
    actions.do_record_onsite_test(system, meter, tested_on=today, result="passed")
    assert not overdue_meters(staff("metering")).exists()  # class V: no periodic test after the first


def test_status_moves_and_refusals(make_meter, system, staff) -> None:
    meter = make_meter()
    with pytest.raises(InvalidTransition):
        actions.do_change_meter_status(system, meter, status="installed")
    actions.do_change_meter_status(system, meter, status="under_test", reason="抽检")
    meter = actions.do_change_meter_status(system, meter, status="in_stock", verified_on=dt.date(2026, 3, 1))
    assert meter.rotation_due == dt.date(2034, 3, 1)
    actions.do_change_meter_status(system, meter, status="scrapped")
    with pytest.raises(InvalidTransition):
        actions.do_change_meter_status(system, meter, status="in_stock")
    with pytest.raises(PermissionRefused):
        actions.do_change_meter_status(staff("cg_rep"), meter, status="in_stock")


def test_register_meter_bad_input(system, unit, counts, make_meter) -> None:
    existing = make_meter()
    before = counts(Meter)
    with pytest.raises(InvalidInput) as refused:
        actions.do_register_meter(
            system,
            asset_no=existing.asset_no,
            barcode="X1",
            manufacturer="",
            model_code="M",
            accuracy_class="9",
            phases=2,
            rated_current="5A",
            org_unit=unit("JL"),
            registers=["active_peak"],
            ct_ratio=0,
        )
    assert {"asset_no", "manufacturer", "accuracy_class", "phases", "registers", "ct_ratio"} <= set(
        refused.value.errors
    )
    assert counts(Meter) == before
