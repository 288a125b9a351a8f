"""Builders of the ledger tests: accounts at a station, released bills of any total (through the real release,
which posts the charges), station cashiers and a payment channel with its integration account."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.customers.conftest import make_meter, make_point, system, unit  # noqa: F401


@pytest.fixture
def account(make_point) -> Callable[..., Any]:  # noqa: F811
    def build(station: str = "CG", **kwargs: Any) -> Any:
        return make_point(station, **kwargs).account

    return build


@pytest.fixture
def release(staff) -> Callable[..., Any]:
    """A released bill of ``total`` 元 for ``account`` (a correcting bill with ``correcting=True``)."""
    from gridcare.billing.actions import do_release_bills
    from gridcare.billing.models import Bill

    months = iter(range(1, 10_000))

    def build(account: Any, total: str, *, correcting: bool = False, period: str | None = None) -> Any:
        n = next(months)
        period = period or f"{2000 + n // 12:04d}-{n % 12 + 1:02d}"
        year, month = (int(x) for x in period.split("-"))
        bill = Bill.objects.create(
            account=account,
            period=period,
            period_start=dt.date(year, month, 1),
            period_end=dt.date(year, month, 28),
            kind=Bill.Kind.CORRECTING if correcting else Bill.Kind.REGULAR,
            tariff_code="RES-TIER",
            energy_kwh=Decimal("100"),
            tier_ytd_kwh=Decimal("0"),
            charges=Decimal(total),
            funds=Decimal("0"),
            total=Decimal(total),
        )
        do_release_bills(staff("billing"), Bill.objects.filter(pk=bill.pk), single=True)
        bill.refresh_from_db()
        return bill

    return build


@pytest.fixture
def cashier(system, unit) -> Callable[[str, str], Any]:  # noqa: F811
    """A collector (收费员) at a station, created once per username."""
    from gridcare.org import actions
    from gridcare.org.models import Position, User

    def build(username: str = "cg_cashier", station: str = "CG") -> Any:
        found = User.objects.filter(username=username).first()
        if found is not None:
            return found
        return actions.do_create_staff(
            system,
            username=username,
            password="gridcare2026",
            full_name=f"收费员{username}",
            position=Position.objects.get(code="collector"),
            org_unit=unit(station),
            employee_no=f"T{abs(hash(username)) % 10**6:06d}",
            phone="13900000000",
        )

    return build


@pytest.fixture
def channel(system, unit) -> Any:  # noqa: F811
    """The test bank channel and its API-only integration account."""
    from gridcare.ledger.models import Channel
    from gridcare.org import actions
    from gridcare.org.models import Position

    user = actions.do_create_staff(
        system,
        username="bank_test",
        password="gridcare2026",
        full_name="测试银行代收",
        position=Position.objects.get(code="channel_integration"),
        org_unit=unit("SF"),
        employee_no="T999001",
        phone="13900000001",
    )
    return Channel.objects.create(
        code="TESTBANK",
        name="测试银行",
        user=user,
        layout={"transaction": "流水号", "account": "户号", "amount": "金额"},
    )
