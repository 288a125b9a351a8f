"""Market screens in Chromium at desktop and phone width: the market department manager creates a survey, draws
its sample and reads the results by unit; the interviewer records a call; the contractor register shows its
badges and refuses an expired unit. Screenshots go to $GRIDCARE_SCREENSHOTS (or the temp directory)."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("GRIDCARE_SCREENSHOTS") or tempfile.gettempdir())


def shoot(page: Page, name: str) -> None:
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"market-{name}-{width}.png"), full_page=True)


def seed() -> None:
    from gridcare.customers.models import Account, Customer, ServicePoint
    from gridcare.customers.validators import credit_code_check_char
    from gridcare.market.actions import do_add_qualification, do_register_contractor
    from gridcare.org.models import OrgUnit, User

    for n, (station, klass) in enumerate([("CG", "residential")] * 12 + [("HX", "commercial")] * 8):
        unit = OrgUnit.objects.get(code=station)
        customer = Customer.objects.create(
            number=f"BC{n:05d}",
            kind="individual",
            name=f"客户{n}",
            id_type="resident_id",
            id_number=f"3398{n:014d}",
            org_unit=unit,
        )
        account = Account.objects.create(
            number=f"BA{n:05d}", customer=customer, name=f"客户{n}", org_unit=unit
        )
        ServicePoint.objects.create(
            number=f"BP{n:05d}",
            account=account,
            address=f"幸福路{n}号",
            org_unit=unit,
            voltage_level="220V",
            customer_class=klass,
            area_class="urban",
        )
    manager = User.objects.get(username="market_manager")
    today = dt.date.today()
    for n, (name, until) in enumerate([("示范电力安装公司", 400), ("山南电力工程公司", -5)], start=1):
        first = f"91331100MA{n:07d}"
        unit = do_register_contractor(
            manager, name=name, kind="construction", credit_code=first + credit_code_check_char(first)
        )
        do_add_qualification(
            manager,
            unit,
            qualification_type="install",
            grade="3",
            certificate_no=f"C-{n}",
            valid_from=today - dt.timedelta(days=700),
            valid_to=today + dt.timedelta(days=until),
        )


def test_survey_and_contractor_screens(page: Page) -> None:
    seed()
    page.set_default_timeout(60_000)
    page.set_default_navigation_timeout(60_000)
    base = page.base_url  # type: ignore[attr-defined]
    login(page, "market_manager")
    page.goto(f"{base}/market/surveys/new/")
    page.fill("#id_title", "年度客户满意度调查")
    page.select_option("#id_unit", label="城东县公司（CD）")
    page.select_option("#id_interview_unit", label="客服班（KFB）")
    page.fill("#id_sample_size", "10")
    page.click("#action-form button[type=submit]")
    expect(page.locator("#draw")).to_be_visible()
    page.click("#draw")
    expect(page.locator("#results-by-unit")).to_contain_text("城关供电所")
    expect(page.locator("#results-by-unit")).to_contain_text("河西供电所")
    shoot(page, "survey")
    page.goto(f"{base}/market/contractors/")
    expect(page.locator("#result-table")).to_contain_text("已到期")
    expect(page.locator("#result-table")).to_contain_text("资质有效")
    shoot(page, "contractors")
    page.goto(f"{base}/market/contractors/assign/?kind=construction")
    page.select_option("#id_contractor", label="山南电力工程公司（资质已过期）")
    page.fill("#id_project", "城关配电工程")
    page.click("#action-form button[type=submit]")
    expect(page.locator("#action-form")).to_contain_text("过期，不能选用")
    shoot(page, "assign-refused")
    context = page.context
    context.clear_cookies()
    login(page, "cs_rep")
    page.goto(f"{base}/market/sample/?status=pending")
    page.locator("#result-table a").first.click()
    page.click("#action-form button[type=submit]")  # reached, but nothing answered: refused with the reason
    expect(page.locator("#action-form")).to_contain_text("未回答")
    for select in page.locator("select[name^=q]").all():
        select.select_option(index=1)
    shoot(page, "interview")
    page.click("#action-form button[type=submit]")
    expect(page.locator("#result-table")).to_be_visible()
    shoot(page, "sample")
