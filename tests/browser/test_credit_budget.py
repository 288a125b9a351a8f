"""Credit score and sales budget in Chromium: the key account manager sees the score, grade, reasons and history
chart on the 360 view; the salesperson's expense over budget is refused on the form with the figures (desktop
and phone width; screenshots under /tmp for a look)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_credit_card_and_budget_overrun(page: Page) -> None:
    from gridcare.customers.models import Account, Customer, ServicePoint
    from gridcare.keyaccounts.actions import do_designate_key_account
    from gridcare.keyaccounts.budget_actions import do_set_budget
    from gridcare.keyaccounts.credit_actions import do_compute_credit_scores, do_load_credit_rule_defaults
    from gridcare.ledger.models import Entry
    from gridcare.org.models import OrgUnit, User
    from gridcare.org.selectors import system_actor

    page.set_default_timeout(60_000)
    page.set_default_navigation_timeout(60_000)
    unit = OrgUnit.objects.get(code="CG")
    kam = User.objects.get(username="key_account")
    customer = Customer.objects.create(
        number="KB1",
        kind="organisation",
        name="浏览器机械厂",
        id_type="credit_code",
        id_number="X1",
        org_unit=unit,
    )
    account = Account.objects.create(
        number="AB1", customer=customer, name="浏览器机械厂", org_unit=unit, account_manager=kam
    )
    ServicePoint.objects.create(
        number="PB1",
        account=account,
        address="工业路1号",
        org_unit=unit,
        voltage_level="10kV",
        customer_class="large_industry",
        area_class="urban",
        capacity_kva=Decimal(2000),
        expected_monthly_kwh=Decimal(1),
    )
    key = do_designate_key_account(User.objects.get(username="manager"), account, grade="first")
    Entry.objects.create(
        account=account,
        kind="charge",
        amount=Decimal("80000"),
        day=dt.date(2026, 8, 10),
        due_date=dt.date(2026, 8, 25),
        posted_by=User.objects.get(username="billing"),
    )
    do_load_credit_rule_defaults(system_actor())
    for month in ("2026-08", "2026-09", "2026-10"):
        do_compute_credit_scores(system_actor(), month=month)
    line = do_set_budget(
        User.objects.get(username="market_manager"),
        year=timezone.localdate().year,
        region=OrgUnit.objects.get(code="CD"),
        owner=User.objects.get(username="sales"),
        amount="1000",
    )

    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "key_account")
    page.goto(f"{page.base_url}/keyaccounts/accounts/{key.pk}/")  # type: ignore[attr-defined]
    expect(page.locator("#credit-score")).to_contain_text("D")
    expect(page.locator("#credit-reasons")).to_contain_text("最长延误天数")
    expect(page.locator("#chart-credit")).to_have_attribute("data-charts-ready", "1")
    page.locator("#credit").screenshot(path="/tmp/credit-card-desktop.png")

    page.context.clear_cookies()
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "sales")
    page.goto(f"{page.base_url}/keyaccounts/budget/expenses/new/?budget={line.pk}")  # type: ignore[attr-defined]
    page.fill("#id_amount", "1500")
    page.select_option("#id_category", "expense_visits")
    page.fill("#id_description", "差旅")
    page.click("#action-form button[type=submit]")
    expect(page.locator("#action-form")).to_contain_text("超出剩余预算")
    page.screenshot(path="/tmp/expense-refused-390.png", full_page=True)
    page.goto(f"{page.base_url}/keyaccounts/budget/")  # type: ignore[attr-defined]
    expect(page.locator("#budget-lines")).to_contain_text("城东县公司")
    page.screenshot(path="/tmp/budget-390.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path="/tmp/budget-desktop.png", full_page=True)
