"""The demo's billing: twelve monthly runs through the real run, each reviewed (findings accepted with a reason) and
released before the next; a few bills left in review in the last period; every account billed every month or
listed not billed with the reason."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gridcare.billing.models import Bill, BillFinding, BillingRun, NotBilled, Rebill
from gridcare.customers.models import Account

pytestmark = pytest.mark.django_db

#: why the demo leaves an account of a period unbilled: a connection (业扩) later in the year (no tariff or no meter
#: yet), the readings demo's missing reads and open exceptions, and the large-industry accounts billed by contracted
#: demand (the rating refuses the demand basis until the month's maximum demand reaches billing)
DEMO_REASONS = {
    NotBilled.Reason.NO_TARIFF,
    NotBilled.Reason.MISSING_READS,
    NotBilled.Reason.OPEN_EXCEPTIONS,
    NotBilled.Reason.MISSING_DEMAND,
}


def build_tiny_demo(system) -> list[str]:  # noqa: ANN001 - the fixture's user
    from gridcare.billing import demo as billing_demo
    from gridcare.customers import demo as customers_demo
    from gridcare.metering import demo as metering_demo
    from gridcare.readings import demo as readings_demo

    customers_demo.SCALES["tiny"] = 40
    metering_demo.STOCK["tiny"] = 30
    try:
        list(customers_demo.build(system, "tiny"))
        list(metering_demo.build(system, "tiny"))
        list(readings_demo.build(system, "tiny"))
    finally:
        del customers_demo.SCALES["tiny"], metering_demo.STOCK["tiny"]
    return list(billing_demo.build(system, "tiny"))


def test_demo_periods_are_the_twelve_closed_months() -> None:
    from gridcare.billing.demo import demo_periods

    assert demo_periods(dt.date(2026, 12, 3)) == ["2025-12", *(f"2026-{m:02d}" for m in range(1, 12))]
    assert demo_periods(dt.date(2026, 1, 31))[0] == "2025-01"
    assert demo_periods(dt.date(2026, 1, 31))[-1] == "2025-12"
    assert demo_periods(dt.date(2026, 2, 1)) == [*(f"2025-{m:02d}" for m in range(2, 13)), "2026-01"]


def test_demo_bills_twelve_months_reviews_and_releases(system, staff, tariffs) -> None:
    from gridcare.billing import demo as billing_demo

    lines = build_tiny_demo(system)
    periods = billing_demo.demo_periods(timezone.localdate())
    runs = list(BillingRun.objects.order_by("period"))
    assert [r.period for r in runs] == periods, lines
    assert {r.status for r in runs} == {BillingRun.Status.DONE}
    run_lines = [line for line in lines if line.startswith("billing: run ")]
    assert len(run_lines) == billing_demo.MONTHS and all("released" in line for line in run_lines), lines
    assert lines[-2].startswith("billing: rebills") and "not made" not in "".join(lines), lines
    assert lines[-1].startswith("billing: sales plans"), lines

    released = Bill.objects.filter(status="released")
    assert released.exists() and not released.filter(number=None).exists()
    assert released.values("number").distinct().count() == released.count()
    assert not released.filter(due_date=None).exists()
    in_review = Bill.objects.filter(status="review")
    assert in_review.count() <= billing_demo.LEFT_IN_REVIEW
    assert not in_review.exclude(period=periods[-1]).exists()  # earlier months are released in full
    accepted = BillFinding.objects.filter(accepted=True)
    assert accepted.exists() and not accepted.filter(reason="").exists()
    assert not Bill.objects.filter(status="draft").exists()
    kinds = set(Rebill.objects.values_list("kind", flat=True))
    assert kinds == {"correction", "meter_error", "violation", "theft"}, lines
    assert Rebill.objects.filter(status="pending").count() == 1
    above = Rebill.objects.filter(status="posted", decided_by__username="manager")
    assert above.exists() and all(c.authority_amount > 2000 for c in above)
    correcting = Bill.objects.filter(kind="correcting")
    assert correcting.count() == Rebill.objects.filter(status="posted").count()
    assert not correcting.exclude(status="released").exists()

    # every active account, every period: its one regular bill, or listed not billed with a demo reason
    accounts = set(Account.objects.filter(status="active").values_list("pk", flat=True))
    for run in runs:
        billed = list(Bill.objects.filter(run=run).values_list("account_id", flat=True))
        assert len(billed) == len(set(billed))
        listed = dict(NotBilled.objects.filter(run=run).values_list("account_id", "reason"))
        assert set(billed) | set(listed) == accounts, run.period
        assert not set(billed) & set(listed)
        assert set(listed.values()) <= DEMO_REASONS, (run.period, set(listed.values()))
    full_year = [
        a
        for a in accounts
        if Bill.objects.filter(account_id=a, kind="regular").count() == billing_demo.MONTHS
    ]
    assert len(full_year) >= len(accounts) // 2  # most accounts are connected the whole year

    # the manager's sales plan: every station that sold in a billed month has that month's plan, and its completion
    # rates read 95–105 % (the demo's factors; the plans are rounded to whole kWh and to 分)
    from gridcare.billing.models import SalesPlan
    from gridcare.billing.workbench import revenue_vs_plan, sales_kwh_vs_plan
    from gridcare.org.models import OrgUnit
    from gridcare.web.workbench import Month

    manager = staff("manager")
    plans = SalesPlan.objects.select_related("org_unit")
    assert plans.exists() and {p.org_unit.kind for p in plans} == {OrgUnit.Kind.STATION}
    assert {f"{p.month:%Y-%m}" for p in plans} <= set(periods)
    for plan in plans:
        month = Month.of(plan.month)
        for kpi in (sales_kwh_vs_plan, revenue_vs_plan):
            value = kpi(manager, plan.org_unit, month)
            assert value is not None and 94 <= value <= 106, (plan, kpi.__name__, value)
    last = Month.of(dt.date.fromisoformat(f"{periods[-1]}-01"))
    company = OrgUnit.objects.get(parent__isnull=True)
    assert sales_kwh_vs_plan(manager, company, last) is not None


def test_demo_billing_is_not_built_twice(system, staff, tariffs) -> None:
    from gridcare.billing import demo as billing_demo

    build_tiny_demo(system)
    bills = Bill.objects.count()
    again = list(billing_demo.build(system, "tiny"))
    assert len(again) == 1 and "already present" in again[0]
    assert Bill.objects.count() == bills


def test_demo_bills_the_accounts_read_at_the_scales_read_in_part(system, staff, tariffs) -> None:
    """medium and large read only the first meters: their runs bill the accounts on the routes (a list)."""
    from gridcare.billing.demo import demo_accounts
    from gridcare.readings.models import RouteStop

    build_tiny_demo(system)
    assert demo_accounts("tiny") is None and demo_accounts("small") is None
    on_routes = set(RouteStop.objects.values_list("service_point__account_id", flat=True))
    assert demo_accounts("large") == demo_accounts("medium") == sorted(on_routes)
