"""Each position logs in with Chromium and sees its own workbench and menu."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import login
from tests.org.test_permissions import HOLDER

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Menu entries a position must (True) or must not (False) see.
MENU_EXPECTATIONS = {
    "system_admin": {"org:unit-list": True, "core:audit-log": True},
    "service_rep": {"org:unit-list": True, "core:audit-log": False},
    "customer": {"org:unit-list": False, "core:audit-log": False},
}


@pytest.mark.parametrize("position", sorted(HOLDER))
def test_position_logs_in_and_sees_its_workbench(page: Page, position: str) -> None:
    from gridcare.org.models import Position

    expected = Position.objects.get(code=position)
    login(page, HOLDER[position])
    expect(page.locator("#workbench-title")).to_contain_text(expected.name)
    expect(page.locator("#current-user")).to_contain_text(expected.name)
    if expected.responsibilities:
        expect(page.locator("#responsibilities")).to_contain_text(expected.responsibilities[0])
    for kpi in expected.kpis.all():
        expect(page.locator("#kpis")).to_contain_text(kpi.name)
    for url_name, visible in MENU_EXPECTATIONS.get(position, {}).items():
        expect(page.locator(f'#menu a[data-menu="{url_name}"]')).to_have_count(1 if visible else 0)


def test_wrong_password_is_refused(page: Page) -> None:
    login(page, "cs_rep", "wrong-password")
    expect(page.locator("#login-form .alert-danger")).to_be_visible()


def test_admin_creates_unit_filters_and_switches_language(page: Page) -> None:
    login(page, "admin")
    page.click('#menu a[data-menu="org:unit-list"]')
    page.click("text=新建")
    page.fill("#id_code", "BROWSER1")
    page.fill("#id_name", "浏览器测试班")
    page.select_option("#id_kind", "team")
    page.select_option("#id_parent", label="示范县供电公司")
    page.click("#action-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("浏览器测试班")
    page.goto(f"{page.base_url}/org/units/?name=浏览器")  # type: ignore[attr-defined]
    expect(page.locator("#result-table tbody tr")).to_have_count(1)
    page.select_option("#language-form select", "en")
    expect(page.locator("#filters")).to_contain_text("Name")
    expect(page.locator("h1")).to_contain_text("Org units")


def test_bad_form_input_shows_field_error(page: Page) -> None:
    login(page, "admin")
    page.goto(f"{page.base_url}/org/units/new/")  # type: ignore[attr-defined]
    page.fill("#id_code", "GC")
    page.fill("#id_name", "重复编码")
    page.select_option("#id_kind", "team")
    page.select_option("#id_parent", label="示范县供电公司")
    page.click("#action-form button[type=submit]")
    expect(page.locator(".invalid-feedback")).to_contain_text("已存在")
