"""Key-account fixtures: the shipped rules, organisations with service points at the stations, prospects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def fresh_index() -> Iterator[None]:
    """Each test's database is rolled back: the process's name index must not remember its rows."""
    from gridcare.keyaccounts.collision import forget_name_index

    forget_name_index()
    yield
    forget_name_index()


@pytest.fixture
def rules(org) -> None:
    from gridcare.keyaccounts.actions import do_load_rule_defaults
    from gridcare.org.selectors import system_actor

    do_load_rule_defaults(system_actor())


def _code(first17: str) -> str:
    from gridcare.customers.validators import credit_code_check_char

    return first17 + credit_code_check_char(first17)


@pytest.fixture
def company(org) -> Callable[..., Any]:
    """An organisation with one account and service point at a station; returns the account."""
    from gridcare.customers.models import Account, Customer, ServicePoint
    from gridcare.org.models import OrgUnit

    counter = iter(range(1, 10_000))

    def make(
        name: str = "示范机械厂",
        *,
        station: str = "CG",
        manager: Any = None,
        capacity: str = "1250",
        monthly_kwh: str = "50000",
        important: bool = False,
        customer_class: str = "large_industry",
        credit_code: str | None = None,
    ) -> Account:
        n = next(counter)
        unit = OrgUnit.objects.get(code=station)
        customer = Customer.objects.create(
            number=f"KT{station}{n:05d}",
            kind="organisation",
            name=name,
            id_type="credit_code",
            id_number=credit_code or _code(f"91330100MA{n:07d}"),
            org_unit=unit,
        )
        account = Account.objects.create(
            number=f"AT{station}{n:05d}", customer=customer, name=name, org_unit=unit, account_manager=manager
        )
        ServicePoint.objects.create(
            number=f"PT{station}{n:05d}",
            account=account,
            address=f"{unit.name}工业路{n}号",
            org_unit=unit,
            voltage_level="10kV",
            customer_class=customer_class,
            area_class="urban",
            is_important=important,
            capacity_kva=Decimal(capacity),
            expected_monthly_kwh=Decimal(monthly_kwh),
        )
        return account

    return make


@pytest.fixture
def register(staff) -> Callable[..., Any]:
    """Register a prospect as a demo user; returns the :class:`Registration`."""
    from gridcare.keyaccounts.actions import do_register_prospect
    from gridcare.org.models import OrgUnit

    def make(username: str = "sales", name: str = "华东新材料科技有限公司", **extra: Any) -> Any:
        data: dict[str, Any] = {
            "name": name,
            "industry": "manufacturing",
            "region": OrgUnit.objects.get(code=extra.pop("region", "CG")),
            "expected_capacity_kva": "2000",
            "expected_annual_kwh": "3000000",
            "contact_name": "李经理",
            "contact_phone": "13800001111",
        }
        data.update(extra)
        return do_register_prospect(staff(username), **data)

    return make
