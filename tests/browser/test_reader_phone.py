"""The reader's route screen on a 390 px phone: tasks in walking order, entry, result per entry, progress."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import login
from tests.browser.test_phone import assert_fits, in_view, phone  # noqa: F401 — the 390 px page fixture
from tests.customers.conftest import make_meter, make_point, system, unit  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reader_enters_a_route_on_the_phone(phone: Page, make_point, make_meter, system, unit) -> None:  # noqa: F811
    from gridcare.metering.actions import do_install_meter
    from gridcare.org.models import User
    from gridcare.readings.actions import do_create_route, do_generate_plan

    meters = []
    for _ in range(2):
        meter = make_meter()
        do_install_meter(
            system,
            meter,
            make_point("CG"),
            installed_on=dt.date(2026, 6, 1),
            initial_reads={"active_total": "0"},
        )
        meter.refresh_from_db()
        meters.append(meter)
    route = do_create_route(
        system,
        number="CG-PHONE",
        name="城关手机段",
        org_unit=unit("CG"),
        reader=User.objects.get(username="cg_reader"),
        reading_day=15,
        service_points=[m.service_point_id for m in meters],
    )
    do_generate_plan(system, period="2026-11")
    login(phone, "cg_reader")
    phone.goto(f"{phone.base_url}/readings/routes/{route.pk}/read/?period=2026-11")  # type: ignore[attr-defined]
    expect(phone.locator("#progress-text")).to_have_text("已抄 0 / 2")
    first = phone.locator("#reading-form li.card").first
    expect(first).to_contain_text(meters[0].asset_no)
    in_view(phone, "#reading-form input[name^='value-']")
    in_view(phone, "#reading-form button[type='submit']")
    assert_fits(phone, "reader-route")
    first.locator("input[name^='value-']").fill("123.4")
    phone.click("#reading-form button[type='submit']")
    expect(phone.locator("#progress-text")).to_have_text("已抄 1 / 2")
    expect(phone.locator(".progress-bar")).to_have_attribute("style", "width: 50%")
    expect(phone.locator("[data-result='accepted']")).to_have_count(1)
    assert_fits(phone, "reader-route-saved")
