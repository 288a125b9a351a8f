"""The service desk in Chromium: a rep registers a repair call, the station head takes it through to 回单, the
rep calls back and archives; a refused step shows its message; the supervisor dashboard draws its charts."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def point(org):
    from gridcare.customers.models import Account, Customer, ServicePoint
    from gridcare.org.models import OrgUnit
    from gridcare.service.defaults import load_defaults
    from gridcare.service.rules import forget_rules

    forget_rules()
    load_defaults()
    unit = OrgUnit.objects.get(code="CG")
    customer = Customer.objects.create(
        number="CBROWSER1",
        kind="individual",
        name="李四",
        id_type="resident_id",
        id_number="330100199001011234",
        org_unit=unit,
    )
    account = Account.objects.create(number="ABROWSER1", customer=customer, name="李四", org_unit=unit)
    yield ServicePoint.objects.create(
        number="PBROWSER1",
        account=account,
        address="城关镇幸福路1号",
        org_unit=unit,
        voltage_level="220V",
        customer_class="residential",
        area_class="urban",
    )
    forget_rules()


def step(page: Page, code: str, **fields: str) -> None:
    form = page.locator(f'form[data-step="{code}"]')
    for name, value in fields.items():
        control = form.locator(f'[name="{name}"]')
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    form.locator("button[type=submit]").click()


def test_repair_call_from_intake_to_archive(page: Page, point) -> None:
    base = page.base_url  # type: ignore[attr-defined]
    login(page, "cg_rep")  # the station's desk: intake finds the customer within its data scope
    page.click('#menu a[data-menu="service:order-create"]')
    page.select_option("#id_order_type", "repair")
    page.fill("#id_lookup", "PBROWSER1")
    page.fill("#id_contact_phone", "13900001111")
    page.fill("#id_title", "家中停电")
    page.click("#action-form button[type=submit]")
    expect(page.locator("#order-status")).to_have_text("已派发")
    expect(page.locator("#order-queue")).to_contain_text("城关供电所")
    expect(page.locator("#clocks")).to_contain_text("到达现场")
    number = page.locator("#order-title").inner_text().split()[0]
    order_url = page.url

    head = page.context.browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai").new_page()  # type: ignore[union-attr]
    head.base_url = base
    login(head, "cg_head")
    head.goto(f"{base}/service/team/")
    head.click(f"text={number}")
    step(head, "take")
    expect(head.locator("#order-status")).to_have_text("已接单")
    step(head, "suspend", reason="")
    expect(head.locator(".alert-danger")).to_contain_text("原因")
    step(head, "arrive")
    step(head, "restore")
    step(head, "reply", result="更换熔断器后恢复供电", cause="equipment_fault")
    expect(head.locator("#order-status")).to_have_text("已回单")
    head.context.close()

    page.goto(order_url)
    step(page, "callback", satisfaction="5")
    expect(page.locator("#order-status")).to_have_text("已回访")
    step(page, "archive")
    expect(page.locator("#order-status")).to_have_text("已归档")
    expect(page.locator("#transitions")).to_contain_text("归档")


def test_supervisor_dashboard_draws_charts(page: Page, point) -> None:
    from gridcare.org.models import User
    from gridcare.service import actions

    actions.do_create_order(User.objects.get(username="cg_rep"), order_type="repair", service_point=point.pk)
    login(page, "cg_head")  # the supervisor of the station the order belongs to
    page.click('#menu a[data-menu="service:dashboard"]')
    expect(page.locator("#dashboard-figures")).to_have_attribute("data-charts-ready", "1")
    expect(page.locator("#chart-compliance canvas")).to_have_count(1)
    expect(page.locator("#fig-open")).to_have_text("1")


def test_compensation_buttons_keep_their_label_on_one_line(page: Page, point) -> None:
    """At 1440 px the 批准/驳回 buttons beside the note field are one line high, not one character per line."""
    from gridcare.org.models import User
    from gridcare.service import actions

    rep = User.objects.get(username="cg_rep")
    order = actions.do_create_order(
        rep, order_type="complaint", sub_type="outage", service_point=point.pk, title="停电太久"
    )
    proposed = actions.do_propose_compensation(rep, order, amount="100.00", reason="抢修超时 2 小时")
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, "cg_head")
    expect(page.locator("#current-user")).to_be_visible()
    page.goto(f"{page.base_url}{order.get_absolute_url()}")  # type: ignore[attr-defined]
    for button in (f"#approve-{proposed.pk}", f"#reject-{proposed.pk}"):
        box = page.locator(button).bounding_box()
        assert box is not None
        assert box["width"] > box["height"], (button, box)
