"""Market fixtures: uploads go to a temporary media directory; customers at the stations; prospects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.keyaccounts.conftest import company, fresh_index, register  # noqa: F401  (fixtures)

PDF = b"%PDF-1.4\n%%EOF\n"
XLSX = b"PK\x03\x04" + b"\x00" * 40


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.MEDIA_ROOT = tmp_path / "media"
    yield settings.MEDIA_ROOT


@pytest.fixture
def customers(org) -> Callable[..., list[Any]]:
    """``customers("CG", 10, "residential")``: that many active accounts at the station, each with a service
    point of the class; returns the accounts."""
    from gridcare.customers.models import Account, Customer, ServicePoint
    from gridcare.org.models import OrgUnit

    counter = iter(range(1, 100_000))

    def make(station: str = "CG", count: int = 1, customer_class: str = "residential") -> list[Any]:
        unit = OrgUnit.objects.get(code=station)
        made = []
        for _ in range(count):
            n = next(counter)
            customer = Customer.objects.create(
                number=f"MC{station}{n:05d}",
                kind="individual",
                name=f"客户{n}",
                id_type="resident_id",
                id_number=f"3399{n:014d}",
                org_unit=unit,
            )
            account = Account.objects.create(
                number=f"MA{station}{n:05d}", customer=customer, name=f"客户{n}", org_unit=unit
            )
            ServicePoint.objects.create(
                number=f"MP{station}{n:05d}",
                account=account,
                address=f"{unit.name}幸福路{n}号",
                org_unit=unit,
                voltage_level="220V",
                customer_class=customer_class,
                area_class="urban",
            )
            made.append(account)
        return made

    return make
