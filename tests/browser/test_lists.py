"""Lists in Chromium: a long select becomes searchable (Tom Select), a customer is found by typing and picking it
filters the list; the pager's page size keeps the filters."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_accounts(org):
    from gridcare.customers import actions
    from gridcare.org.models import OrgUnit
    from gridcare.org.selectors import system_actor

    actor = system_actor()
    cg = OrgUnit.objects.get(code="CG")
    accounts = []
    for n, (name, id_number) in enumerate(
        [("欧阳娜", "11010519491231002X"), ("司马青", "110105198001010016")]
    ):
        customer = actions.do_create_customer(
            actor,
            name=name,
            kind="individual",
            id_type="resident_id",
            id_number=id_number,
            org_unit=cg,
            contacts=[{"name": name, "mobile": "13612345678"}],
        )
        accounts.append(
            actions.do_create_account(actor, customer=customer, org_unit=cg, number=f"518800000{n}")
        )
    return accounts


def test_long_select_is_searchable_and_picking_a_customer_filters(page: Page, two_accounts) -> None:
    from gridcare.org.models import OrgUnit

    wanted = two_accounts[1]
    login(page, "manager")
    expect(page.locator("#current-user")).to_be_visible()
    page.goto(f"{page.base_url}/customers/accounts/")  # type: ignore[attr-defined]
    expect(page.locator("#result-table tbody tr")).to_have_count(2)
    # the unit list is long: typed into, not scrolled
    assert OrgUnit.objects.count() > 15
    expect(page.locator("select[name=under].tomselected")).to_have_count(1)
    # the customer is searched on the server and picked
    control = page.locator("select[name=customer] + .ts-wrapper .ts-control")
    control.click()
    page.keyboard.type("司马")
    option = page.locator(".ts-dropdown .option", has_text="司马青")
    expect(option).to_have_count(1)
    expect(page.locator(".ts-dropdown .option", has_text="欧阳娜")).to_have_count(0)
    option.click()
    page.click("#filters button[type=submit]")
    page.wait_for_url("**customer=**")
    expect(page.locator("#result-table tbody tr")).to_have_count(1)
    expect(page.locator("#result-table tbody")).to_contain_text(wanted.number)
    assert f"customer={wanted.customer_id}" in page.url
    # the page size keeps the filter
    page.select_option("#page-size-select", "50")
    page.wait_for_url("**size=50**")
    assert f"customer={wanted.customer_id}" in page.url
    expect(page.locator("#result-table tbody tr")).to_have_count(1)


def test_the_auditor_picks_a_person_by_typing(page: Page) -> None:
    from gridcare.org.models import User

    hotline = User.objects.get(username="cs_rep")
    login(page, "auditor")
    expect(page.locator("#current-user")).to_be_visible()
    page.goto(f"{page.base_url}/system/audit/")  # type: ignore[attr-defined]
    page.locator("#id_actor + .ts-wrapper .ts-control").click()
    page.keyboard.type(hotline.display_name[:2])
    option = page.locator(".ts-dropdown .option", has_text=hotline.display_name).first
    expect(option).to_be_visible()
    option.click()
    page.click("#filters button[type=submit]")
    page.wait_for_url(f"**actor={hotline.pk}**")
    expect(page.locator("#id_actor + .ts-wrapper .ts-control")).to_contain_text(hotline.display_name)


def test_the_desk_status_filter_is_a_chinese_multi_select(page: Page) -> None:
    """The status multi-select shows chips and a Chinese placeholder, never the browser's "0 selected"."""
    login(page, "cs_rep")
    expect(page.locator("#current-user")).to_be_visible()
    page.goto(f"{page.base_url}/service/orders/")  # type: ignore[attr-defined]
    expect(page.locator("select[name=status].tomselected")).to_have_count(1)
    control = page.locator("select[name=status] + .ts-wrapper .ts-control")
    expect(control.locator("input")).to_have_attribute("placeholder", "全部状态")
    control.click()
    for status in ("已派发", "处理中"):
        page.keyboard.type(status)
        expect(page.locator(".ts-dropdown .option.active", has_text=status)).to_have_count(1)
        page.keyboard.press("Enter")
    expect(control.locator(".item")).to_have_count(2)
    page.keyboard.press("Escape")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**status=**")
    assert page.url.count("status=") == 2
