"""Customer actions: creation, bad input (a clear error and nothing written), dated changes keeping history,
masking and audited unmasking, contracts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gridcare.core.errors import InvalidInput, PermissionRefused
from gridcare.core.models import AuditEntry
from gridcare.customers import actions
from gridcare.customers.models import (
    Account,
    CapacityPeriod,
    ClassPeriod,
    Contact,
    Customer,
    DemandPeriod,
    ServicePoint,
    SupplyContract,
    TariffAssignment,
)
from gridcare.customers.selectors import expiring_contracts, period_on

from .conftest import VALID_CREDIT_CODE, VALID_ID

ALL = (
    Customer,
    Contact,
    Account,
    ServicePoint,
    TariffAssignment,
    CapacityPeriod,
    DemandPeriod,
    ClassPeriod,
    SupplyContract,
)


def test_create_customer_account_and_service_point_writes_audit(make_point) -> None:
    point = make_point("CG", capacity="8")
    assert point.account.customer.contacts.get().mobile == "13812345678"
    assert point.number == f"{point.account.number}01"
    assert point.tariff_code == "RES-TIER" and point.capacity_kva == Decimal("8.00")
    assert point.metering_class == "V"  # 220 V is single-phase
    assert TariffAssignment.objects.get(service_point=point).valid_from == dt.date(2026, 1, 1)
    actions_logged = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "customers.create_customer",
        "customers.create_account",
        "customers.create_service_point",
    } <= actions_logged
    # the audit log never holds the clear ID number
    created = AuditEntry.objects.filter(action="customers.create_customer").latest("id")
    assert created.after["id_number"] == "1101**********002X"


def test_duplicate_account_number_is_refused_and_nothing_written(make_point, system, unit, counts) -> None:
    point = make_point()
    before = counts(*ALL)
    with pytest.raises(InvalidInput) as refused:
        actions.do_create_account(
            system, customer=point.account.customer, org_unit=unit("CG"), number=point.account.number
        )
    assert "number" in refused.value.errors and "已存在" in refused.value.errors["number"][0]
    assert counts(*ALL) == before


@pytest.mark.parametrize(
    ("kind", "id_type", "id_number", "field"),
    [
        ("individual", "resident_id", "110105194912310021", "id_number"),
        ("organisation", "credit_code", "91350100M000100Y44", "id_number"),
        ("organisation", "resident_id", VALID_ID, "id_type"),
    ],
)
def test_bad_id_numbers_are_refused(system, unit, counts, kind, id_type, id_number, field) -> None:
    before = counts(*ALL)
    with pytest.raises(InvalidInput) as refused:
        actions.do_create_customer(
            system,
            name="某某",
            kind=kind,
            id_type=id_type,
            id_number=id_number,
            org_unit=unit("CG"),
            contacts=[{"name": "某某", "mobile": "13812345678"}],
        )
    assert field in refused.value.errors
    assert counts(*ALL) == before


@pytest.mark.parametrize("mobile", ["12345678901", "1381234567", "138-1234-5678"])
def test_bad_mobile_is_refused(system, unit, counts, mobile) -> None:
    before = counts(*ALL)
    with pytest.raises(InvalidInput) as refused:
        actions.do_create_customer(
            system,
            name="李四",
            kind="individual",
            id_type="resident_id",
            id_number=VALID_ID,
            org_unit=unit("CG"),
            contacts=[{"name": "李四", "mobile": mobile}],
        )
    assert "手机号" in refused.value.errors["contact_mobile"][0]
    assert counts(*ALL) == before


@pytest.mark.parametrize("capacity", ["0", "-5"])
def test_capacity_not_above_zero_is_refused(make_point, system, counts, capacity) -> None:
    point = make_point()
    before = counts(*ALL)
    with pytest.raises(InvalidInput) as refused:
        actions.do_change_capacity(system, point, capacity_kva=capacity, valid_from=dt.date(2026, 6, 1))
    assert "大于 0" in refused.value.errors["capacity_kva"][0]
    with pytest.raises(InvalidInput):
        actions.do_create_service_point(
            system,
            account=point.account,
            address="x路1号",
            voltage_level="380V",
            customer_class="commercial",
            tariff_code="GIC",
            capacity_kva=capacity,
        )
    assert counts(*ALL) == before


def test_capacity_change_closes_the_period_and_keeps_history(make_point, system) -> None:
    point = make_point(voltage="380V", customer_class="commercial", capacity="250")
    assert point.metering_class == "IV"
    point = actions.do_change_capacity(
        system, point, capacity_kva="400", valid_from=dt.date(2026, 6, 1), reason="增容"
    )
    point = actions.do_change_capacity(
        system, point, capacity_kva="2000", valid_from=dt.date(2026, 9, 1), reason="增容"
    )
    periods = list(
        CapacityPeriod.objects.filter(service_point=point).values_list(
            "valid_from", "valid_to", "capacity_kva"
        )
    )
    assert periods == [
        (dt.date(2026, 1, 1), dt.date(2026, 6, 1), Decimal("250.00")),
        (dt.date(2026, 6, 1), dt.date(2026, 9, 1), Decimal("400.00")),
        (dt.date(2026, 9, 1), None, Decimal("2000.00")),
    ]
    assert point.capacity_kva == Decimal("2000.00")
    point.refresh_from_db()
    assert point.metering_class == "II"  # ≥ 2,000 kVA
    assert period_on(CapacityPeriod, point, dt.date(2026, 5, 31)).capacity_kva == Decimal("250.00")
    assert period_on(CapacityPeriod, point, dt.date(2026, 6, 1)).capacity_kva == Decimal("400.00")
    entry = AuditEntry.objects.filter(action="customers.change_capacity").latest("id")
    assert entry.before == {"capacity_kva": "400.00", "valid_from": "2026-06-01"}
    assert entry.after == {"capacity_kva": "2000.00", "valid_from": "2026-09-01"}
    assert entry.note == "增容"


@pytest.mark.parametrize("start", [dt.date(2026, 1, 1), dt.date(2025, 12, 1), dt.date(2026, 3, 1)])
def test_overlapping_periods_are_refused(make_point, system, counts, start) -> None:
    point = make_point()
    actions.do_change_tariff(system, point, tariff_code="RES-TOU", valid_from=dt.date(2026, 4, 1))
    before = counts(*ALL)
    with pytest.raises(InvalidInput) as refused:
        actions.do_change_tariff(system, point, tariff_code="RES-FLAT", valid_from=start)
    assert "重叠" in refused.value.errors["valid_from"][0]
    assert counts(*ALL) == before


def test_same_value_is_not_a_change(make_point, system) -> None:
    point = make_point()
    with pytest.raises(InvalidInput):
        actions.do_change_tariff(system, point, tariff_code="RES-TIER", valid_from=dt.date(2026, 3, 1))


def test_tariff_and_class_changes_keep_history(make_point, system) -> None:
    point = make_point()
    actions.do_change_tariff(system, point, tariff_code="RES-TOU", valid_from=dt.date(2026, 3, 1))
    actions.do_change_class(
        system, point, customer_class="commercial", sub_class="商业", valid_from=dt.date(2026, 5, 1)
    )
    assert list(
        TariffAssignment.objects.filter(service_point=point).values_list("tariff_code", "valid_to")
    ) == [
        ("RES-TIER", dt.date(2026, 3, 1)),
        ("RES-TOU", None),
    ]
    classes = ClassPeriod.objects.filter(service_point=point).values_list(
        "customer_class", "sub_class", "valid_to"
    )
    assert list(classes) == [("residential", "", dt.date(2026, 5, 1)), ("commercial", "商业", None)]
    point.refresh_from_db()
    assert (point.tariff_code, point.customer_class) == ("RES-TOU", "commercial")
    with pytest.raises(InvalidInput) as refused:
        actions.do_change_class(
            system, point, customer_class="commercial", sub_class="城镇居民", valid_from=dt.date(2026, 7, 1)
        )
    assert "sub_class" in refused.value.errors


def test_contracted_demand_must_be_40_percent_of_capacity(make_point, system) -> None:
    point = make_point(voltage="10kV", customer_class="large_industry", capacity="1000", demand="600")
    with pytest.raises(InvalidInput) as refused:
        actions.do_change_demand(system, point, contracted_demand_kw="300", valid_from=dt.date(2026, 2, 1))
    assert "40%" in refused.value.errors["contracted_demand_kw"][0]
    actions.do_change_demand(system, point, contracted_demand_kw="450", valid_from=dt.date(2026, 2, 1))
    assert DemandPeriod.objects.filter(service_point=point).count() == 2


def test_unmasking_is_permission_checked_and_audited(make_point, staff) -> None:
    point = make_point("CG")
    customer = point.account.customer
    with pytest.raises(PermissionRefused):
        actions.do_unmask_customer(staff("cg_rep"), customer)
    before = AuditEntry.objects.filter(action="customers.unmask").count()
    data = actions.do_unmask_customer(staff("manager"), customer, reason="客户来电核实")
    assert data["id_number"] == VALID_ID and data["contacts"][0]["mobile"] == "13812345678"
    entry = AuditEntry.objects.filter(action="customers.unmask").latest("id")
    assert AuditEntry.objects.filter(action="customers.unmask").count() == before + 1
    assert (
        entry.actor == staff("manager")
        and entry.object_id == str(customer.pk)
        and entry.note == "客户来电核实"
    )


def test_contracts_and_the_expiring_list(make_point, system, staff) -> None:
    from django.test import override_settings
    from django.utils import timezone

    today = timezone.localdate()
    point = make_point("CG", kind="organisation", voltage="380V", customer_class="commercial", capacity="100")
    soon = actions.do_create_contract(
        system,
        account=point.account,
        number="HT-1",
        signed_on=today,
        valid_from=today - dt.timedelta(days=300),
        valid_to=today + dt.timedelta(days=45),
        capacity_kva="100",
    )
    actions.do_create_contract(
        system,
        account=point.account,
        number="HT-2",
        signed_on=today,
        valid_from=today,
        valid_to=today + dt.timedelta(days=200),
        capacity_kva="100",
    )
    assert soon.supplier_name == "示范县供电公司" and soon.customer_name == point.account.customer.name
    assert list(expiring_contracts(staff("manager")).values_list("number", flat=True)) == ["HT-1"]
    with override_settings(GRIDCARE_CUSTOMERS={"contract_expiry_days": 30}):
        assert not expiring_contracts(staff("manager")).exists()
    with pytest.raises(InvalidInput) as refused:
        actions.do_create_contract(
            system,
            account=point.account,
            number="HT-1",
            signed_on=today,
            valid_from=today,
            valid_to=today,
            capacity_kva="0",
        )
    assert {"number", "valid_to", "capacity_kva"} <= set(refused.value.errors)


def test_account_manager_must_be_a_key_account_manager(make_point, system, staff) -> None:
    point = make_point()
    with pytest.raises(InvalidInput) as refused:
        actions.do_update_account(system, point.account, account_manager=staff("cg_rep"))
    assert "account_manager" in refused.value.errors
    account = actions.do_update_account(
        system, point.account, account_manager=staff("key_account"), is_key_account=True
    )
    assert account.account_manager == staff("key_account")


def test_position_without_customer_manage_cannot_create(staff, unit) -> None:
    with pytest.raises(PermissionRefused):
        actions.do_create_customer(
            staff("billing"),
            name="x",
            kind="individual",
            id_type="resident_id",
            id_number=VALID_ID,
            org_unit=unit("CG"),
        )


def test_organisation_with_credit_code(system, unit) -> None:
    customer = actions.do_create_customer(
        system,
        name="示范县宏达水泥有限公司",
        kind="organisation",
        id_type="credit_code",
        id_number=VALID_CREDIT_CODE.lower(),
        org_unit=unit("HX"),
    )
    assert customer.id_number == VALID_CREDIT_CODE
