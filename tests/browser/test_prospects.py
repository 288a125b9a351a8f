"""客户备案 in Chromium, at phone width: the salesperson registers a company, sees it in the list; a second
salesperson's registration of the same company under another spelling is refused without naming the holder;
the audited "show contact" reveals the phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def register(page: Page, name: str) -> None:
    page.goto(f"{page.base_url}/keyaccounts/prospects/new/")  # type: ignore[attr-defined]
    page.fill("#id_name", name)
    page.select_option("#id_industry", "chemicals")
    page.select_option("#id_region", label="城关供电所")
    page.fill("#id_expected_capacity_kva", "2000")
    page.fill("#id_expected_annual_kwh", "3000000")
    page.fill("#id_contact_name", "李经理")
    page.fill("#id_contact_phone", "13800001111")
    page.click("#action-form button[type=submit]")


def test_register_refuse_and_show_contact(page: Page) -> None:
    from gridcare.keyaccounts.collision import forget_name_index

    forget_name_index()
    page.set_default_timeout(60_000)  # the shared machine may be busy: a slow page is not a wrong one
    page.set_default_navigation_timeout(60_000)
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "sales")
    register(page, "华东新材料科技有限公司")
    expect(page.locator("#prospect-summary")).to_contain_text("线索")
    page.click("#show-contact")
    expect(page.locator("#prospect-contact")).to_contain_text("13800001111")
    page.goto(f"{page.base_url}/keyaccounts/prospects/")  # type: ignore[attr-defined]
    expect(page.locator("#result-table")).to_contain_text("华东新材料科技有限公司")

    page.context.clear_cookies()
    login(page, "key_account")
    register(page, "华东新材料科技（集团）股份有限公司")
    alert = page.locator("#action-form .alert-danger")
    expect(alert).to_contain_text("已被备案")
    expect(alert).not_to_contain_text("杨帆")
    page.goto(f"{page.base_url}/keyaccounts/prospects/")  # type: ignore[attr-defined]
    expect(page.locator("#result-table")).not_to_contain_text("华东新材料")
    forget_name_index()
