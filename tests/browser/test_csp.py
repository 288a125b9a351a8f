"""Issue #9, defect 12: the Content-Security-Policy forbids inline scripts, and the UI's own assets satisfy it —
the main screens load in Chromium without a single CSP violation (and their scripts still work)."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from gridcare.customers.models import Customer
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def customer(org: None) -> Customer:
    from gridcare.customers import actions
    from gridcare.org.models import OrgUnit
    from gridcare.org.selectors import system_actor

    cg = OrgUnit.objects.get(code="CG")
    customer = actions.do_create_customer(
        system_actor(),
        name="欧阳娜",
        kind="individual",
        id_type="resident_id",
        id_number="11010519491231002X",
        org_unit=cg,
        contacts=[{"name": "欧阳娜", "mobile": "13612345678"}],
    )
    actions.do_create_account(system_actor(), customer=customer, org_unit=cg, number="5188000001")
    return customer


def watch(page: Page) -> list[str]:
    """Collect CSP violations (console errors) and script errors of the page."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    return problems


def test_main_screens_load_without_csp_violations(page: Page, customer: Customer) -> None:
    problems = watch(page)
    base: str = page.base_url  # type: ignore[attr-defined]
    response = page.goto(f"{base}/login/")
    assert response is not None
    policy = response.headers.get("content-security-policy", "")
    assert (
        "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    login(page, "cg_head")
    expect(page.locator("#current-user")).to_be_visible()  # the workbench
    # a list with filters
    page.goto(f"{base}/customers/")
    expect(page.locator("table")).to_be_visible()
    # the service dashboard draws its ECharts charts from a static script
    page.click('#menu a[data-menu="service:dashboard"]')
    expect(page.locator("#dashboard-figures")).to_have_attribute("data-charts-ready", "1")
    expect(page.locator("#chart-compliance canvas")).to_have_count(1)
    # customer 360: switching tabs (htmx) still marks the clicked tab active without an inline handler
    page.goto(f"{base}/customers/{customer.pk}/")
    tabs = page.locator("#customer-tabs .nav-link")
    expect(tabs.first).to_be_visible()
    if tabs.count() > 1:
        tabs.nth(1).click()
        expect(tabs.nth(1)).to_have_class("nav-link active")
        expect(tabs.first).to_have_class("nav-link")
    # the language switch submits by script (no onchange attribute)
    page.select_option("#language-form select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert problems == []
