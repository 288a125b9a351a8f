"""大客户档案 and 大客户回访计划: classification by the rules as data, the annual plan from the grades' frequencies,
visits only within one's portfolio, follow-ups as work orders, completion."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.test import Client

from gridcare.core.errors import InvalidInput
from gridcare.customers.models import Account
from gridcare.keyaccounts.actions import (
    do_change_plan_item,
    do_classify_key_accounts,
    do_generate_visit_plan,
    do_record_visit,
)
from gridcare.keyaccounts.actions.visits import planned_dates
from gridcare.keyaccounts.models import KeyAccount, VisitPlanItem
from gridcare.keyaccounts.selectors import plan_completion

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(rules, company, staff):
    kam = staff("key_account")
    return {
        "important": company("城关水厂", manager=kam, capacity="800", important=True),
        "big": company(
            "河西钢铁有限公司", station="HX", manager=kam, capacity="5000", customer_class="commercial"
        ),
        "heavy_user": company(
            "山南数据中心",
            station="SNS",
            manager=kam,
            capacity="400",
            monthly_kwh="100000",
            customer_class="commercial",
        ),
        "small": company("城关小超市", capacity="50", monthly_kwh="2000", customer_class="commercial"),
    }


def test_classification_applies_the_rules_in_priority_order(accounts, staff) -> None:
    summary = do_classify_key_accounts(staff("manager"))
    grades = dict(KeyAccount.objects.values_list("account__name", "grade"))
    assert grades == {"城关水厂": "first", "河西钢铁有限公司": "general", "山南数据中心": "general"}
    assert summary["created"] == 3
    assert set(Account.objects.filter(is_key_account=True).values_list("name", flat=True)) == set(grades)
    # each account's audit row names it by number and name, as the workbench's recent actions show it
    from gridcare.core.models import AuditEntry

    named = set(
        AuditEntry.objects.filter(action="keyaccounts.classify_account").values_list("object_repr", flat=True)
    )
    assert named == {f"{a.number} {a.name}" for a in Account.objects.filter(is_key_account=True)}
    # again: nothing changes; after the steel works shrinks below every rule it stops being a key account
    assert do_classify_key_accounts(staff("manager"))["created"] == 0
    accounts["big"].service_points.update(capacity_kva=100, expected_monthly_kwh=10)
    summary = do_classify_key_accounts(staff("manager"))
    assert summary["dropped"] == 1
    assert not Account.objects.get(pk=accounts["big"].pk).is_key_account


def test_the_plan_follows_the_grade_frequency_and_is_generated_once(accounts, staff) -> None:
    do_classify_key_accounts(staff("manager"))
    created = do_generate_visit_plan(staff("key_account"), year=2027)
    assert created == 12 + 2 + 2  # grade 1 monthly, general key accounts twice a year
    assert do_generate_visit_plan(staff("key_account"), year=2027) == 0
    assert planned_dates(2027, 2) == [dt.date(2027, 4, 2), dt.date(2027, 10, 1)]
    item = VisitPlanItem.objects.filter(account=accounts["big"]).first()
    moved = do_change_plan_item(staff("key_account"), item, planned_on=dt.date(2027, 5, 20))
    assert moved.planned_on == dt.date(2027, 5, 20)
    with pytest.raises(InvalidInput):
        do_change_plan_item(staff("key_account"), item, planned_on=dt.date(2028, 1, 1))


def test_a_visit_outside_ones_portfolio_is_refused(accounts, staff, company) -> None:
    do_classify_key_accounts(staff("manager"))
    stranger = company("别人的大客户", capacity="3000", manager=staff("manager"))
    do_classify_key_accounts(staff("manager"))
    with pytest.raises(InvalidInput) as refused:
        do_record_visit(
            staff("key_account"),
            account=stranger,
            visited_on=dt.date.today(),
            people_met="厂长",
            topics="用电安全",
        )
    assert "account" in refused.value.errors
    with pytest.raises(InvalidInput) as not_key:
        do_record_visit(
            staff("key_account"),
            account=accounts["small"],
            visited_on=dt.date.today(),
            people_met="店长",
            topics="电价",
        )
    assert "account" in not_key.value.errors


def test_a_visit_completes_the_plan_and_its_follow_up_becomes_a_work_order(accounts, staff) -> None:
    from gridcare.service.defaults import load_defaults

    load_defaults()
    do_classify_key_accounts(staff("manager"))
    year = dt.date.today().year
    do_generate_visit_plan(staff("key_account"), year=year)
    item = VisitPlanItem.objects.filter(account=accounts["important"]).order_by("planned_on").first()
    visit = do_record_visit(
        staff("key_account"),
        account=accounts["important"],
        visited_on=min(item.planned_on, dt.date.today()),
        people_met="王厂长、李电工",
        topics="夏季用电保障",
        demands="申请增容 500 kVA",
        follow_up="安排现场勘查",
        plan_item=item.pk,
        create_work_order=True,
    )
    item.refresh_from_db()
    assert item.status == "done" and item.visit == visit
    assert visit.work_order is not None and visit.work_order.account_id == accounts["important"].pk
    done, due = plan_completion(VisitPlanItem.objects.filter(pk=item.pk), dt.date(year, 12, 31))
    assert (done, due) == (1, 1)


def test_portfolio_and_360_screens(accounts, staff) -> None:
    do_classify_key_accounts(staff("manager"))
    client = Client()
    client.force_login(staff("key_account"))
    page = client.get("/keyaccounts/accounts/")
    assert page.status_code == 200 and "城关水厂" in page.content.decode()
    ka = KeyAccount.objects.get(account=accounts["important"])
    detail = client.get(f"/keyaccounts/accounts/{ka.pk}/")
    body = detail.content.decode()
    assert detail.status_code == 200 and 'id="chart-trend"' in body and 'id="arrears"' in body
    other = Client()
    other.force_login(staff("sales"))
    assert other.get(f"/keyaccounts/accounts/{ka.pk}/").status_code in {403, 404}


def test_the_360_view_shows_the_ledger_arrears(accounts, staff) -> None:
    """The key-account 360 view's arrears card reads the ledger: balance, arrears and overdue days (延误天数)."""
    from decimal import Decimal

    from django.utils import timezone

    from gridcare.billing.actions import do_release_bills
    from gridcare.billing.models import Bill
    from gridcare.keyaccounts.selectors import arrears_summary
    from gridcare.ledger.models import Entry

    do_classify_key_accounts(staff("manager"))
    ka = KeyAccount.objects.get(account=accounts["important"])
    client = Client()
    client.force_login(staff("key_account"))
    assert 'id="arrears-figures"' not in client.get(f"/keyaccounts/accounts/{ka.pk}/").content.decode()
    bill = Bill.objects.create(
        account=ka.account,
        period="2026-01",
        period_start=dt.date(2025, 12, 15),
        period_end=dt.date(2026, 1, 15),
        tariff_code="T",
        energy_kwh=Decimal("1000"),
        tier_ytd_kwh=Decimal("0"),
        charges=Decimal("880.00"),
        funds=Decimal("0"),
        total=Decimal("880.00"),
    )
    do_release_bills(staff("billing"), Bill.objects.filter(pk=bill.pk), single=True)
    due = Entry.objects.get(bill=bill).due_date
    body = client.get(f"/keyaccounts/accounts/{ka.pk}/").content.decode()
    assert 'id="arrears-figures"' in body and "880.00" in body
    assert due > timezone.localdate() and "0 天" in body  # due later: not overdue yet
    later = due + dt.timedelta(days=12)
    with mock.patch("gridcare.keyaccounts.selectors.timezone.localdate", return_value=later):
        assert arrears_summary(ka.account_id)["overdue_days"] == 12  # type: ignore[index]
