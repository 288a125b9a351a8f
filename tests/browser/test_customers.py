"""Customer 360 in Chromium: search as you type, open the customer, switch tabs, and the audited "show"."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def point(org):
    from gridcare.customers import actions
    from gridcare.metering.actions import do_install_meter, do_register_meter
    from gridcare.org.models import OrgUnit
    from gridcare.org.selectors import system_actor

    actor = system_actor()
    cg = OrgUnit.objects.get(code="CG")
    customer = actions.do_create_customer(
        actor,
        name="欧阳娜",
        kind="individual",
        id_type="resident_id",
        id_number="11010519491231002X",
        org_unit=cg,
        contacts=[{"name": "欧阳娜", "mobile": "13612345678"}],
    )
    account = actions.do_create_account(actor, customer=customer, org_unit=cg, number="5188000001")
    sp = actions.do_create_service_point(
        actor,
        account=account,
        address="城关镇朝阳路66号",
        voltage_level="220V",
        customer_class="residential",
        tariff_code="RES-TIER",
        capacity_kva="8",
        valid_from=dt.date(2026, 1, 1),
    )
    meter = do_register_meter(
        actor,
        asset_no="3310777000001",
        barcode="3310777000001",
        manufacturer="华立科技",
        model_code="DDZY285",
        accuracy_class="2",
        phases=1,
        rated_current="5(60)A",
        org_unit=OrgUnit.objects.get(code="JL"),
        verified_on=dt.date(2026, 1, 5),
    )
    do_install_meter(actor, meter, sp, installed_on=dt.date(2026, 1, 10), initial_reads={"active_total": "0"})
    return sp


def test_search_open_360_and_switch_tabs(page: Page, point) -> None:
    login(page, "cg_rep")
    page.click('#menu a[data-menu="customers:search"]')
    page.fill("#search-q", "朝阳路66")
    expect(page.locator("#search-table tbody tr")).to_have_count(1)
    expect(page.locator("#search-table")).to_contain_text("欧阳娜")
    page.click("#search-table tbody tr a")
    expect(page.locator("#customer-name")).to_contain_text("欧阳娜")
    expect(page.locator("#id-number")).to_have_text("1101**********002X")
    expect(page.locator("#contacts")).to_contain_text("136****5678")
    expect(page.locator("#unmask")).to_have_count(0)
    expect(page.locator("#tab-accounts")).to_contain_text("5188000001")
    page.click('#customer-tabs a[data-tab="service_points"]')
    expect(page.locator("#tab-service-points")).to_contain_text("城关镇朝阳路66号")
    page.click('#customer-tabs a[data-tab="meters"]')
    expect(page.locator("#tab-meters")).to_contain_text("3310777000001")
    page.click('#customer-tabs a[data-tab="history"]')
    expect(page.locator("#tab-history")).to_contain_text("新建客户")  # the action in words, not its code


def test_manager_shows_sensitive_data_and_it_is_audited(page: Page, point) -> None:
    from gridcare.core.models import AuditEntry

    login(page, "manager")
    page.goto(f"{page.base_url}/customers/{point.account.customer_id}/")  # type: ignore[attr-defined]
    page.click("#unmask")
    expect(page.locator("#unmasked")).to_contain_text("11010519491231002X")
    expect(page.locator("#unmasked")).to_contain_text("13612345678")
    assert AuditEntry.objects.filter(action="customers.unmask", actor__username="manager").count() == 1


def test_capacity_change_form_keeps_history(page: Page, point) -> None:
    # capacity is a financial term (servicepoint.change_terms), not the service rep's archive work
    login(page, "metering")
    page.goto(f"{page.base_url}/customers/service-points/{point.pk}/capacity/")  # type: ignore[attr-defined]
    page.fill("#id_capacity_kva", "0")
    page.fill("#id_valid_from", "2026-06-01")
    page.click("#action-form button[type=submit]")
    expect(page.locator(".invalid-feedback")).to_contain_text("大于 0")
    page.fill("#id_capacity_kva", "12")
    page.click("#action-form button[type=submit]")
    table = page.locator('table.periods[data-field="capacity_kva"]')
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text("2026-06-01")
    expect(table).to_contain_text("12.00")
