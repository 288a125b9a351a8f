"""Builders for customer and metering tests: a customer with an account and a service point, a meter in stock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from gridcare.core.models import AuditEntry

VALID_ID = "11010519491231002X"  # GB 11643-1999 example
VALID_CREDIT_CODE = "91350100M000100Y43"


def resident_id(n: int) -> str:
    """A valid 18-digit resident ID (distinct per ``n``)."""
    from gridcare.customers.validators import resident_id_check_char

    first17 = f"11010519800101{n % 1000:03d}"
    return first17 + resident_id_check_char(first17)


def credit_code(n: int) -> str:
    """A valid unified social credit code (distinct per ``n``)."""
    from gridcare.customers.validators import credit_code_check_char

    first17 = f"91350100M{n:08d}"
    return first17 + credit_code_check_char(first17)


def id_for(kind: str, n: int) -> str:
    """The n-th test customer's ID: the first is the standard's example, the others distinct (one customer
    per ID number, issue #9 defect 11)."""
    if kind == "individual":
        return VALID_ID if n == 1 else resident_id(500 + n)
    return VALID_CREDIT_CODE if n == 1 else credit_code(n)


@pytest.fixture
def system(org):
    from gridcare.org.selectors import system_actor

    return system_actor()


@pytest.fixture
def unit(org) -> Callable[[str], Any]:
    from gridcare.org.models import OrgUnit

    return lambda code: OrgUnit.objects.get(code=code)


@pytest.fixture
def make_point(system, unit) -> Callable[..., Any]:
    """A customer with one account and one service point at a station (actions, so audited)."""
    from gridcare.customers import actions

    counter = iter(range(1, 10_000))

    def build(
        station: str = "CG",
        *,
        name: str = "张伟",
        mobile: str = "13812345678",
        kind: str = "individual",
        capacity: str = "8",
        voltage: str = "220V",
        customer_class: str = "residential",
        manager: Any = None,
        energy: str = "200",
        valid_from: dt.date = dt.date(2026, 1, 1),
        demand: str | None = None,
        address: str | None = None,
    ) -> Any:
        n = next(counter)
        customer = actions.do_create_customer(
            system,
            name=name,
            kind=kind,
            id_type="resident_id" if kind == "individual" else "credit_code",
            id_number=id_for(kind, n),
            org_unit=unit(station),
            contacts=[{"name": name, "mobile": mobile}],
        )
        account = actions.do_create_account(
            system,
            customer=customer,
            org_unit=unit(station),
            number=f"99{n:08d}",
            is_key_account=manager is not None,
            account_manager=manager,
        )
        return actions.do_create_service_point(
            system,
            account=account,
            address=address or f"城关镇幸福路{n}号",
            voltage_level=voltage,
            customer_class=customer_class,
            tariff_code="RES-TIER",
            capacity_kva=Decimal(capacity),
            contracted_demand_kw=demand,
            expected_monthly_kwh=Decimal(energy),
            valid_from=valid_from,
        )

    return build


@pytest.fixture
def make_meter(system, unit) -> Callable[..., Any]:
    from gridcare.metering import actions

    counter = iter(range(1, 10_000))

    def build(
        phases: int = 1,
        registers: list[str] | None = None,
        verified_on: dt.date = dt.date(2026, 1, 2),
        **extra: Any,
    ) -> Any:
        n = next(counter)
        return actions.do_register_meter(
            system,
            asset_no=f"TEST{n:06d}",
            barcode=f"BC{n:06d}",
            manufacturer="威胜集团",
            model_code="DDZY71",
            accuracy_class="2",
            phases=phases,
            rated_current="5(60)A",
            org_unit=unit("JL"),
            registers=registers or ["active_total"],
            verified_on=verified_on,
            **extra,
        )

    return build


@pytest.fixture
def counts() -> Callable[..., tuple[int, ...]]:
    """Row counts of the given models plus the audit log, to prove that refused input wrote nothing."""

    def snapshot(*models: Any) -> tuple[int, ...]:
        return (*(m.objects.count() for m in models), AuditEntry.objects.count())

    return snapshot
