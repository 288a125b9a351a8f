"""Phone layout at 390 px (iPhone 12–15 width): the page never scrolls sideways, the menu is a drawer that opens
and navigates, language switch and logout fit, and the work-order desk, an order and the customer 360 page show
their main actions. Set ``GRIDCARE_SCREENSHOT_DIR`` to keep a PNG of each screen for a look."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import login
from tests.browser.test_service_desk import point  # noqa: F401 — the fixture: a customer at the CG station

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 390


@pytest.fixture
def phone(browser: Browser, live_server, org) -> Iterator[Page]:
    context = browser.new_context(
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": WIDTH, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    page.base_url = live_server.url  # type: ignore[attr-defined]
    yield page
    context.close()


def assert_fits(page: Page, name: str) -> None:
    """No horizontal overflow of the page itself (tables scroll inside their own box), measured once the page and
    its style sheets have loaded."""
    page.wait_for_load_state("load")
    folder = os.environ.get("GRIDCARE_SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / f"phone-{name}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{name}: the page is {width} px wide"


def in_view(page: Page, selector: str) -> None:
    """Visible and inside the 390 px width."""
    locator = page.locator(selector).first
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, (selector, box)


def test_drawer_opens_and_navigates(phone: Page) -> None:
    login(phone, "cs_supervisor")
    expect(phone.locator("#workbench-title")).to_be_visible()
    expect(phone.locator("#menu a[data-menu='service:desk']")).to_be_hidden()  # collapsed into the drawer
    for selector in ("#menu-toggle", "#language-form select", "#logout"):
        in_view(phone, selector)
    assert_fits(phone, "workbench")
    phone.click("#menu-toggle")
    link = phone.locator("#menu a[data-menu='service:desk']")
    expect(link).to_be_visible()
    expect(phone.locator("#menu.offcanvas-md.show")).to_have_count(1)
    phone.wait_for_timeout(400)  # the slide-in transition, for the screenshot
    assert_fits(phone, "drawer")
    link.click()
    expect(phone.locator("#desk-title")).to_be_visible()
    expect(phone.locator("#menu a[data-menu='service:desk']")).to_be_hidden()  # closed again on the new page


def test_desk_and_order_are_usable(phone: Page, point) -> None:  # noqa: F811
    from gridcare.org.models import User
    from gridcare.service import actions

    order = actions.do_create_order(
        User.objects.get(username="cg_rep"), order_type="repair", service_point=point.pk, area_text="城关线1"
    )
    login(phone, "cg_rep")
    phone.goto(f"{phone.base_url}/service/")  # type: ignore[attr-defined]
    for selector in ("#new-order", "#queue-tabs", f"#result-table a[href='{order.get_absolute_url()}']"):
        in_view(phone, selector)
    expect(phone.locator("#filters")).to_be_hidden()  # folded behind one button: the records come first
    phone.click("#filters-toggle")
    expect(phone.locator("#filters")).to_be_visible()
    assert_fits(phone, "desk")
    phone.click(f"#result-table a[href='{order.get_absolute_url()}']")
    expect(phone.locator("h1")).to_contain_text(order.number)
    assert_fits(phone, "order")
    phone.goto(f"{phone.base_url}/service/orders/new/")  # type: ignore[attr-defined]
    in_view(phone, "#id_order_type")
    assert_fits(phone, "intake")


def test_customer_360_is_usable(phone: Page, point) -> None:  # noqa: F811
    customer = point.account.customer
    login(phone, "cg_rep")  # the station's desk keeps its customers' records
    phone.goto(f"{phone.base_url}/customers/{customer.pk}/")  # type: ignore[attr-defined]
    expect(phone.locator("#customer-name")).to_contain_text(customer.name)
    for selector in ("#new-account", "#customer-tabs", "#identity"):
        in_view(phone, selector)
    assert_fits(phone, "customer-360")
    second_tab = phone.locator("#customer-tabs a").nth(1)
    second_tab.click()
    # htmx loads the tab (or, when the click lands before htmx has started, the link loads the whole page):
    # measure once the tab is marked and htmx has finished its request, swap and settle
    expect(second_tab).to_have_class(re.compile(r"\bactive\b"))
    expect(phone.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)
    assert_fits(phone, "customer-360-tab")
