"""Hotline lookup and intake (受理) in Chromium: the hotline finds a station's customer by phone, meter number and
address; a complaint from a known caller is registered in at most 3 interactions after the phone number; a repeat
call is linked to the customer's open order in one click."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import login
from tests.browser.test_csp import watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13655501234"
METER = "3310888000001"
ADDRESS = "河西镇滨江路18号"


@pytest.fixture
def point(org) -> Iterator[object]:
    """A customer of the 河西 station with a contact, an account, a service point and an installed meter."""
    from gridcare.customers import actions
    from gridcare.metering.actions import do_install_meter, do_register_meter
    from gridcare.org.models import OrgUnit
    from gridcare.org.selectors import system_actor
    from gridcare.service.defaults import load_defaults
    from gridcare.service.rules import forget_rules

    forget_rules()
    load_defaults()
    actor = system_actor()
    hx = OrgUnit.objects.get(code="HX")
    customer = actions.do_create_customer(
        actor,
        name="司马青",
        kind="individual",
        id_type="resident_id",
        id_number="11010519700101002X",
        org_unit=hx,
        contacts=[{"name": "司马青", "mobile": PHONE}],
    )
    account = actions.do_create_account(actor, customer=customer, org_unit=hx, number="5299000001")
    sp = actions.do_create_service_point(
        actor,
        account=account,
        address=ADDRESS,
        voltage_level="220V",
        customer_class="residential",
        tariff_code="RES-TIER",
        capacity_kva="8",
        valid_from=dt.date(2026, 1, 1),
    )
    meter = do_register_meter(
        actor,
        asset_no=METER,
        barcode=METER,
        manufacturer="华立科技",
        model_code="DDZY285",
        accuracy_class="2",
        phases=1,
        rated_current="5(60)A",
        org_unit=OrgUnit.objects.get(code="JL"),
        verified_on=dt.date(2026, 1, 5),
    )
    do_install_meter(actor, meter, sp, installed_on=dt.date(2026, 1, 10), initial_reads={"active_total": "0"})
    yield sp
    forget_rules()


def open_intake(page: Page) -> None:
    login(page, "cs_rep")  # the hotline (客服班): reads every customer of the company
    page.goto(f"{page.base_url}/service/orders/new/")  # type: ignore[attr-defined]
    expect(page.locator("#id_lookup")).to_be_focused()


def test_hotline_finds_a_station_customer_by_phone_meter_and_address(page: Page, point) -> None:
    login(page, "cs_rep")
    page.goto(f"{page.base_url}/customers/search/")  # type: ignore[attr-defined]
    for query in (PHONE, METER, ADDRESS):
        page.fill("#search-q", query)
        expect(page.locator("#search-table")).to_contain_text("5299000001")
        page.fill("#search-q", "")

    page.goto(f"{page.base_url}/service/orders/new/")  # type: ignore[attr-defined]
    for query in (METER, ADDRESS):
        page.fill("#id_lookup", query)
        expect(page.locator("#intake-suggestions [data-pick]").first).to_contain_text("5299000001")
        expect(page.locator("#intake-suggestions")).to_contain_text("136****1234")
    page.locator("#intake-suggestions [data-pick]").first.click()  # picking a hit fills the caller in
    expect(page.locator("#caller-account")).to_contain_text("5299000001")
    expect(page.locator("#id_address")).to_have_value(ADDRESS)
    page.fill("#id_lookup", PHONE)  # a whole phone number of one customer selects it without a click
    expect(page.locator("#caller-card")).to_contain_text("司马青")
    expect(page.locator("#intake-suggestions [data-pick]")).to_have_count(0)


def test_a_complaint_from_a_known_caller_takes_at_most_three_interactions(page: Page, point) -> None:
    from gridcare.service.models import WorkOrder

    problems = watch(page)
    open_intake(page)
    page.keyboard.type(PHONE)  # the number the caller rings from: typed into the focused search box
    expect(page.locator("#caller-card")).to_contain_text("司马青")
    expect(page.locator("#id_contact_name")).to_have_value("司马青")
    expect(page.locator("#id_contact_phone")).to_have_attribute("placeholder", "136****1234")
    expect(page.locator("[data-field=area_text]")).to_be_hidden()
    folder = os.environ.get("GRIDCARE_SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / "intake.png"), full_page=True)

    interactions = 0
    page.select_option("#id_order_type", "complaint")
    interactions += 1
    expect(page.locator("[data-field=sub_type]")).to_be_visible()
    expect(page.locator("#id_sub_type option[value=meter_fault]")).to_be_disabled()
    page.select_option("#id_sub_type", "service")
    interactions += 1
    page.click("#intake-submit")
    interactions += 1

    expect(page.locator("#order-status")).to_be_visible()
    assert interactions <= 3
    order = WorkOrder.objects.get()
    assert (order.order_type, order.sub_type) == ("complaint", "service")
    assert order.customer_id == point.account.customer_id
    assert (order.account_id, order.service_point_id) == (point.account_id, point.pk)
    assert (order.contact_name, order.contact_phone) == ("司马青", PHONE)
    assert order.number in page.locator("#order-title").inner_text()
    assert problems == []


def test_repair_fields_show_only_for_repairs(page: Page, point) -> None:
    open_intake(page)
    expect(page.locator("[data-field=area_class]")).to_be_hidden()
    page.select_option("#id_order_type", "repair")
    expect(page.locator("[data-field=area_text]")).to_be_visible()
    expect(page.locator("[data-field=sub_type]")).to_be_hidden()


def test_a_repeat_call_is_linked_to_the_open_order_in_one_click(page: Page, point) -> None:
    from gridcare.org.models import User
    from gridcare.service.actions import do_create_order
    from gridcare.service.models import WorkOrder

    master = do_create_order(
        User.objects.get(username="cs_rep"),
        order_type="complaint",
        sub_type="business",
        service_point=point.pk,
        title="电费异常",
    )
    open_intake(page)
    page.keyboard.type(PHONE)
    link = page.locator(f'#caller-open-orders [data-order="{master.number}"] [data-link-order]')
    expect(link).to_be_visible()
    page.locator("#caller-recent").get_by_text(master.number).wait_for()
    link.click()  # the one interaction

    expect(page.locator("#order-status")).to_be_visible()
    call = WorkOrder.objects.exclude(pk=master.pk).get()
    assert call.master_id == master.pk and call.order_type == "complaint"
    assert call.contact_phone == PHONE
    assert call.number in page.locator("#order-title").inner_text()
