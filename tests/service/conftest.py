"""Service-desk fixtures: the default SLA policies and dispatch rules, demo customers at the stations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

SHANGHAI = ZoneInfo("Asia/Shanghai")


def sh(*args: int) -> dt.datetime:
    """An aware Asia/Shanghai datetime."""
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def service_defaults(request: pytest.FixtureRequest) -> Iterator[None]:
    """The default policies and rules, loaded fresh for every database test (caches dropped around it)."""
    from gridcare.core.calendar import forget_calendar
    from gridcare.service.numbering import forget_bases
    from gridcare.service.rules import forget_rules

    forget_rules()
    forget_bases()
    forget_calendar()
    if "org" in request.fixturenames or "staff" in request.fixturenames or "api" in request.fixturenames:
        from gridcare.service.defaults import load_defaults

        request.getfixturevalue("org")
        load_defaults()
    yield
    forget_rules()
    forget_bases()
    forget_calendar()  # a test may have cached overrides that its rollback removed


#: the desk (service rep) of each station: intake resolves the customer within the desk's data scope
STATION_DESK = {"CG": "cg_rep", "HX": "hx_rep", "SNS": "sn_rep"}


@pytest.fixture
def place(org) -> Callable[..., Any]:
    """A customer with one account and service point at a station (``CG``, ``HX`` …); returns the point."""
    from gridcare.customers.models import Account, Customer, ServicePoint
    from gridcare.org.models import OrgUnit

    counter = iter(range(1, 10_000))

    def make(
        station: str = "CG", *, area_class: str = "urban", key_manager: Any = None, name: str = "张三"
    ) -> ServicePoint:
        n = next(counter)
        unit = OrgUnit.objects.get(code=station)
        customer = Customer.objects.create(
            number=f"C{station}{n:05d}",
            kind="individual",
            name=name,
            id_type="resident_id",
            id_number=f"3301{n:014d}",
            org_unit=unit,
        )
        account = Account.objects.create(
            number=f"A{station}{n:05d}",
            customer=customer,
            name=name,
            org_unit=unit,
            is_key_account=key_manager is not None,
            account_manager=key_manager,
        )
        return ServicePoint.objects.create(
            number=f"P{station}{n:05d}",
            account=account,
            address=f"{unit.name}幸福路{n}号",
            org_unit=unit,
            voltage_level="220V",
            customer_class="residential",
            area_class=area_class,
        )

    return make
