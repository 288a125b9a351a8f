"""The collector's screens in Chromium: the counter with the late-fee explanation, the 催费工作台 (desktop and phone)."""

from __future__ import annotations

import datetime as dt
import os
from unittest import mock

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.conftest import login
from tests.customers.conftest import make_point, system, unit  # noqa: F401
from tests.ledger.conftest import account, cashier, release  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("GRIDCARE_SHOTS", "/tmp")


def test_collector_sees_late_fee_and_dunning_screens(page: Page, account, release, cashier) -> None:  # noqa: F811
    from gridcare.ledger.latefees import do_post_late_fees

    acc = account(customer_class="commercial")
    past = timezone.now() - dt.timedelta(days=80)
    with mock.patch("django.utils.timezone.now", return_value=past):
        release(acc, "1234.50", period=f"{timezone.localdate(past):%Y-%m}")
    me = cashier()
    do_post_late_fees(me)
    login(page, me.username)
    page.goto(f"{page.base_url}/ledger/counter/?account={acc.pk}")  # type: ignore[attr-defined]
    expect(page.locator(".late-fee-explanation")).to_contain_text("天 × 1,234.50 元 × 2‰")
    expect(page.locator("#open-items")).to_contain_text("申请减免")
    page.screenshot(path=f"{SHOTS}/collect-counter-desktop.png", full_page=True)
    page.goto(f"{page.base_url}/ledger/dunning/")  # type: ignore[attr-defined]
    expect(page.locator("#dunning-rows")).to_contain_text(acc.number)
    expect(page.locator("#dunning-rows")).to_contain_text("催费提醒")
    page.screenshot(path=f"{SHOTS}/collect-dunning-desktop.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#dunning-rows")).to_contain_text(acc.number)
    page.screenshot(path=f"{SHOTS}/collect-dunning-390.png", full_page=True)
