"""The collection manager's screens in a real browser: arrears aging (账龄) and the prepaid accounts (费控户) with
an account's card, at desktop width and on a 390 px phone — Chinese labels, amounts in 元, tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from tests.browser.conftest import login
from tests.customers.conftest import make_meter, make_point, system, unit  # noqa: F401
from tests.ledger.conftest import cashier  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path("/tmp/gridcare-shots")


@pytest.fixture
def data(make_point, make_meter, system, cashier, staff):  # noqa: F811
    from gridcare.ledger.actions import do_take_payment
    from gridcare.ledger.models import Entry, PrepaidEstimate
    from gridcare.ledger.prepaid_actions import do_enrol_prepaid
    from gridcare.metering.actions import do_install_meter

    today = timezone.localdate()
    a = make_point("CG").account
    b = make_point("HX", customer_class="commercial", manager=staff("key_account")).account
    for account, amount, days in [(a, "100.00", 10), (a, "200.00", 100), (b, "400.00", 400)]:
        Entry.objects.create(
            account=account,
            kind="charge",
            amount=Decimal(amount),
            day=today - dt.timedelta(days=days + 20),
            due_date=today - dt.timedelta(days=days),
            posted_by=system,
        )
    do_take_payment(cashier(), account=a, amount="150.00", method="cash")
    point = make_point("CG", name="李娜")
    do_install_meter(
        system, make_meter(), point, installed_on=dt.date(2026, 6, 1), initial_reads={"active_total": "0"}
    )
    do_enrol_prepaid(cashier(), account=point.account.number)
    PrepaidEstimate.objects.create(
        account=point.account,
        day=today,
        since=today - dt.timedelta(days=3),
        credit=Decimal("40.00"),
        consumption_kwh=Decimal("48"),
        price=Decimal("0.6"),
        consumed=Decimal("28.80"),
        remaining=Decimal("11.20"),
        daily_kwh=Decimal("24"),
        days_left=Decimal("0.8"),
        status="low",
        source="interval",
    )
    return point.account


@pytest.mark.parametrize("width", [1280, 390])
def test_aging_and_prepaid_screens(page: Page, data, width: int) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": width, "height": 900})
    login(page, "manager")
    page.goto(f"{page.base_url}/ledger/reports/aging/")  # type: ignore[attr-defined]
    table = page.locator("#report-table")
    assert "91–180 天" in table.inner_text()
    assert "居民生活" in table.inner_text() and "550.00" in table.inner_text()
    page.screenshot(path=str(SHOTS / f"aging-{width}.png"), full_page=True)
    page.goto(f"{page.base_url}/ledger/prepaid/")  # type: ignore[attr-defined]
    rows = page.locator("#prepaid-table").inner_text()
    assert data.number in rows and "余额不足" in rows and "11.20" in rows and "0.8 天" in rows
    page.screenshot(path=str(SHOTS / f"prepaid-{width}.png"), full_page=True)
    page.click(f"text={data.number}")
    card = page.locator("#prepaid-card").inner_text()
    assert "剩余电费" in card and "0.600000 元/kWh" in card
    page.screenshot(path=str(SHOTS / f"prepaid-card-{width}.png"), full_page=True)
