"""The 用电曲线/负荷 tab of the customer 360 page in Chromium: its ECharts canvases draw, on a desktop and on a
390 px phone, loaded with the page or through the tab (htmx), without a console error."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import login
from tests.customers.conftest import make_meter, make_point, system, unit  # noqa: F401  (fixtures)
from tests.readings.conftest import installed  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def with_intervals(installed, system, settings, tmp_path) -> Any:  # noqa: F811
    from gridcare.readings.actions.intervals import do_ingest_intervals

    settings.GRIDCARE_INTERVAL_STORE = tmp_path / "intervals"
    meter = installed()
    start = dt.datetime(2026, 11, 9)
    count = 3 * 96
    do_ingest_intervals(
        system,
        pl.DataFrame(
            {
                "meter": [meter.asset_no] * count,
                "ts": [start + dt.timedelta(minutes=15 * n) for n in range(count)],
                "kwh": [f"{1 + (n % 96) / 48:.3f}" for n in range(count)],
            }
        ),
        source="api",
    )
    return meter.service_point.account.customer_id


@pytest.mark.parametrize("width", [1366, 390])
def test_load_curve_tab_draws_its_charts(page: Page, with_intervals, width: int) -> None:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": width, "height": 900})
    login(page, "load")
    base = page.base_url  # type: ignore[attr-defined]
    page.goto(f"{base}/customers/{with_intervals}/?tab=intervals")
    expect(page.locator("body")).to_have_attribute("data-interval-charts", "ready")
    for chart in ("#chart-day", "#chart-typical", "#chart-demand"):
        expect(page.locator(f"{chart} canvas")).to_have_count(1)
        assert page.locator(chart).bounding_box()["width"] <= width  # type: ignore[index]
    expect(page.locator("#fig-max-demand")).to_contain_text("kW")
    # the same tab reached through the tab bar (htmx) draws again; a new day redraws
    page.goto(f"{base}/customers/{with_intervals}/")
    page.click("[data-tab=intervals]")
    expect(page.locator("#chart-day canvas")).to_have_count(1)
    page.fill("#iv-day", "2026-11-10")
    page.dispatch_event("#iv-day", "change")
    expect(page.locator(".card-header", has_text="2026-11-10")).to_have_count(1)
    expect(page.locator("#chart-day canvas")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    assert not errors, errors
