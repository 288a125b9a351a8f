"""售电计划: the marketing manager sets a unit's monthly targets through the audited action (in scope, ≥ 0, nothing
written on a wrong figure); 售电量完成率 and 售电收入完成率 divide the month's released bills in the unit's subtree
by the plans there; the screen and the API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from django.utils import translation

from gridcare.billing.actions import do_release_bills, do_set_sales_plan
from gridcare.billing.executors import start_run
from gridcare.billing.models import Bill, SalesPlan
from gridcare.billing.workbench import revenue_vs_plan, sales_kwh_vs_plan
from gridcare.core.errors import InvalidInput, NotFound, PermissionRefused
from gridcare.core.models import AuditEntry
from gridcare.org.models import OrgUnit
from gridcare.web.workbench import AWAITING, Month, kpi_registry, kpi_rows
from tests.billing.conftest import PERIOD

pytestmark = pytest.mark.django_db

NOVEMBER = Month(2026, 11)


def unit(code: str) -> OrgUnit:
    return OrgUnit.objects.get(code=code)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def released(staff, customer) -> Decimal:
    """Bills of 500 + 450 = 950 kWh at 城关 and 700 kWh at 河西, released; 800 kWh more at 城关 left as a draft.
    Returns the 元 of 城关's released bills."""
    chengguan = [customer(registers={"active_total": "500"}), customer(registers={"active_total": "450"})]
    customer(registers={"active_total": "700"}, station="HX")
    draft = customer(registers={"active_total": "800"})
    start_run(staff("billing"), period=PERIOD)
    do_release_bills(staff("billing"), Bill.objects.exclude(account=draft))
    assert Bill.objects.get(account=draft).status != Bill.Status.RELEASED
    total = Bill.objects.filter(account__in=chengguan, status=Bill.Status.RELEASED).aggregate(s=Sum("total"))[
        "s"
    ]
    return Decimal(total)


# ------------------------------------------------------------------------------------------------ the action


def test_the_manager_sets_a_units_months_and_each_change_is_audited(staff) -> None:
    manager = staff("manager")
    plans = do_set_sales_plan(
        manager, unit("CG"), 2026, {1: ("120000", "66000.50"), 2: (Decimal("98000.125"), 0)}
    )
    assert [(p.month.isoformat(), p.kwh, p.revenue) for p in plans] == [
        ("2026-01-01", Decimal("120000.000"), Decimal("66000.50")),
        ("2026-02-01", Decimal("98000.125"), Decimal("0.00")),
    ]
    assert {p.set_by for p in plans} == {manager}
    entries = AuditEntry.objects.filter(action="billing.set_sales_plan").order_by("pk")
    assert [(e.object_id, e.before, e.after["kwh"]) for e in entries] == [
        (str(plans[0].pk), None, "120000.000"),
        (str(plans[1].pk), None, "98000.125"),
    ]

    # a change: the row is updated (one per unit and month), the audit row keeps before and after
    do_set_sales_plan(manager, unit("CG"), 2026, {1: ("125000", "66000.50"), 2: ("98000.125", "0")})
    assert SalesPlan.objects.filter(org_unit=unit("CG")).count() == 2
    assert SalesPlan.objects.get(org_unit=unit("CG"), month__month=1).kwh == Decimal("125000.000")
    last = AuditEntry.objects.filter(action="billing.set_sales_plan").latest("pk")
    assert (last.before["kwh"], last.after["kwh"]) == ("120000.000", "125000.000")
    assert AuditEntry.objects.filter(action="billing.set_sales_plan").count() == 3  # February did not change


def test_a_negative_or_malformed_figure_is_refused_and_nothing_is_written(staff) -> None:
    manager = staff("manager")
    with pytest.raises(InvalidInput) as refused:
        do_set_sales_plan(
            manager,
            unit("CG"),
            2026,
            {1: ("1000", "500"), 2: ("-1", "500"), 3: ("10", "-0.01"), 4: ("1.0001", "1"), 5: ("abc", "1")},
        )
    errors = refused.value.errors
    assert errors["kwh_2"] == ["计划电量不能为负。 (Planned kWh cannot be negative.)"]
    assert errors["revenue_3"] == ["计划电费收入不能为负。 (Planned revenue cannot be negative.)"]
    assert "最多 3 位小数" in errors["kwh_4"][0] and "at most 3 decimals" in errors["kwh_4"][0]
    assert "须为数字" in errors["kwh_5"][0]
    assert set(errors) == {"kwh_2", "revenue_3", "kwh_4", "kwh_5"}
    assert not SalesPlan.objects.exists()  # January was right, and is not written either
    assert not AuditEntry.objects.filter(action="billing.set_sales_plan").exists()

    with pytest.raises(InvalidInput) as refused:
        do_set_sales_plan(manager, unit("CG"), 1999, {13: ("1", "1")})
    assert set(refused.value.errors) == {"year", "months"}


def test_a_unit_outside_the_write_scope_is_not_found_and_nothing_is_written(staff, system) -> None:
    """A station head given the permission plans their own station, not the neighbouring one."""
    from gridcare.org.actions import do_update_position

    head = staff("cg_head")
    position = head.position
    codes = [*position.permissions.values_list("code", flat=True), "sales_plan.set"]
    do_update_position(system, position, permissions=codes)
    head = staff("cg_head")
    with pytest.raises(NotFound):
        do_set_sales_plan(head, unit("HX"), 2026, {1: ("1000", "500")})
    assert not SalesPlan.objects.exists()
    do_set_sales_plan(head, unit("CG"), 2026, {1: ("1000", "500")})
    assert SalesPlan.objects.filter(org_unit=unit("CG")).count() == 1


def test_without_the_permission_the_action_is_refused(staff) -> None:
    with pytest.raises(PermissionRefused):
        do_set_sales_plan(staff("billing"), unit("CG"), 2026, {1: ("1000", "500")})
    assert not SalesPlan.objects.exists()


# ------------------------------------------------------------------------------------------------ the KPIs


def test_completion_is_released_kwh_over_planned_kwh(staff, released) -> None:
    """Given a plan of 1,000 kWh for 城关 in November and 950 kWh of released bills there (the draft does not
    count), 售电量完成率 is 95.0; revenue planned at twice what was billed is 50.0 %."""
    manager = staff("manager")
    do_set_sales_plan(manager, unit("CG"), 2026, {11: ("1000", released * 2)})
    assert sales_kwh_vs_plan(manager, unit("CG"), NOVEMBER) == Decimal("95.0")
    assert revenue_vs_plan(manager, unit("CG"), NOVEMBER) == Decimal("50.0")


def test_a_unit_counts_the_plans_and_sales_of_its_subtree(staff, released) -> None:
    """城东县公司 holds 城关 (950 kWh, plan 1,000) and 河西 (700 kWh, plan 650): (950 + 700) / 1,650 = 100.0 %."""
    manager = staff("manager")
    do_set_sales_plan(manager, unit("CG"), 2026, {11: ("1000", "1")})
    do_set_sales_plan(manager, unit("HX"), 2026, {11: ("650", "1")})
    assert sales_kwh_vs_plan(manager, unit("CD"), NOVEMBER) == Decimal("100.0")
    assert sales_kwh_vs_plan(manager, unit("HX"), NOVEMBER) == Decimal("107.7")  # 700 / 650
    company = OrgUnit.objects.get(parent__isnull=True)
    assert sales_kwh_vs_plan(manager, company, NOVEMBER) == Decimal("100.0")


def test_no_plan_no_value(staff, released) -> None:
    manager = staff("manager")
    assert sales_kwh_vs_plan(manager, unit("CG"), NOVEMBER) is None
    assert revenue_vs_plan(manager, unit("CG"), NOVEMBER) is None
    do_set_sales_plan(manager, unit("CG"), 2026, {10: ("1000", "500")})  # another month's plan
    assert sales_kwh_vs_plan(manager, unit("CG"), NOVEMBER) is None
    do_set_sales_plan(manager, unit("CG"), 2026, {11: ("0", "0")})  # a plan of nothing: nothing to measure
    assert sales_kwh_vs_plan(manager, unit("CG"), NOVEMBER) is None


def test_the_kpis_are_registered_as_unit_figures_and_no_longer_awaited(staff, released) -> None:
    for code in ("sales_kwh_vs_plan", "revenue_vs_plan"):
        assert code not in AWAITING
        assert kpi_registry()[code].per_person is False
    manager = staff("manager")
    do_set_sales_plan(manager, unit("CG"), 2026, {11: ("1000", released)})
    do_set_sales_plan(manager, unit("HX"), 2026, {11: ("0", "0")})
    rows = {
        r.definition.code: r
        for r in kpi_rows(manager, manager.position.kpis.all(), NOVEMBER.next().first_day)
    }
    # the company's figure: all its released bills (城关 950 + 河西 700 kWh) over the plans in it (城关's 1,000)
    assert rows["sales_kwh_vs_plan"].unit_before == Decimal("165.0")
    assert rows["sales_kwh_vs_plan"].unit_now is None  # no plan for December
    assert rows["sales_kwh_vs_plan"].cells[0][0] == "—"  # not a person's figure
    assert rows["sales_kwh_vs_plan"].link_before == "/billing/sales-plan/?year=2026"
    vp = staff("vp")  # reads the figure, does not set the plan: the link opens the billing reports
    (vp_row,) = [
        r
        for r in kpi_rows(vp, vp.position.kpis.all(), NOVEMBER.next().first_day)
        if r.computed and r.definition.code == "revenue_vs_plan"
    ]
    assert vp_row.unit_before == rows["revenue_vs_plan"].unit_before  # the same company figure
    assert vp_row.unit_before is not None and vp_row.unit_before > 100  # 河西's revenue against its plan of 0
    assert vp_row.link_before is not None
    assert vp_row.link_before.startswith(reverse("billing:reports"))


# ------------------------------------------------------------------------------------------------ the API


def test_the_api_sets_a_plan_once_per_idempotency_key(api, staff) -> None:
    client = api("manager")
    body = {"org_unit": unit("CG").pk, "year": 2026, "months": {"11": {"kwh": "1000", "revenue": "550.00"}}}
    url = "/api/billing/sales-plans/"
    first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="plan-cg-2026-11")
    assert first.status_code == 201, first.content
    assert [(row["month"], row["kwh"], row["revenue"]) for row in first.json()] == [
        ("2026-11-01", "1000.000", "550.00")
    ]
    again = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="plan-cg-2026-11")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert AuditEntry.objects.filter(action="billing.set_sales_plan").count() == 1

    listed = client.get(url, {"year": 2026, "unit": unit("CD").pk}).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [(r["unit_name"], r["kwh"]) for r in rows] == [("城关供电所", "1000.000")]

    refused = client.post(url, {**body, "months": {"11": {"kwh": "-5", "revenue": "1"}}}, format="json")
    assert refused.status_code == 400 and "计划电量不能为负" in refused.content.decode()
    assert api("billing").post(url, body, format="json").status_code == 403


# ------------------------------------------------------------------------------------------------ the screen


def test_the_manager_sees_and_sets_the_plan_on_the_screen(staff, released) -> None:
    manager = client_for(staff("manager"))
    url = reverse("billing:sales-plan")
    data = {"org_unit": unit("CG").pk, "year": 2026, "kwh_11": "1000", "revenue_11": str(released * 2)}
    answer = manager.post(url, data)
    assert answer.status_code == 302 and "year=2026" in answer["Location"]
    page = manager.get(url, {"year": 2026})
    text = page.content.decode()
    assert page.status_code == 200
    for label in ("售电计划", "计划电量", "实际售电量", "售电量完成率", "计划电费收入", "售电收入完成率"):
        assert label in text, label
    # sales figures in 万 as Chinese reports give them: 1,000 kWh = 0.10 万kWh
    assert text.count("0.10 万kWh") >= 2 and " 万元" in text and "95.0%" in text and "50.0%" in text

    form = manager.get(
        url, {"year": 2026, "unit": unit("CG").pk}
    ).content.decode()  # a unit's plans, to change
    assert 'name="kwh_11"' in form and 'value="1000.000"' in form

    wrong = manager.post(url, {**data, "kwh_11": "-1"})
    assert wrong.status_code == 400 and "计划电量不能为负" in wrong.content.decode()
    assert SalesPlan.objects.get().kwh == Decimal("1000.000")


def test_the_screen_is_refused_to_a_customer_service_rep(staff) -> None:
    rep = client_for(staff("cs_rep"))
    assert rep.get(reverse("billing:sales-plan")).status_code == 403
    refused = rep.post(reverse("billing:sales-plan"), {"org_unit": unit("CG").pk, "year": 2026, "kwh_1": "1"})
    assert refused.status_code == 403
    assert not SalesPlan.objects.exists()


def test_the_years_completion_counts_only_the_planned_months(staff) -> None:
    """October planned (1,000 kWh, nothing sold), November sold 950 kWh without a plan: the year reads 0.0 %, not
    95.0 % — an unplanned month's sales do not make up for a planned one."""
    from gridcare.billing.reports import Sold
    from gridcare.billing.views import _plan_lines

    plans: list[Sold | None] = [None] * 12
    plans[9] = Sold(Decimal("1000"), Decimal("500.00"))
    actual = [Sold()] * 12
    actual[10] = Sold(Decimal("950.000"), Decimal("480.00"))
    with translation.override("en"):
        lines = {line.label: line.cells for line in _plan_lines(unit("CG"), plans, actual)}
    assert lines["Energy completion"][9] == "0.0%" and lines["Energy completion"][10] == "—"
    assert lines["Energy completion"][12] == "0.0%" and lines["Revenue completion"][12] == "0.0%"
    assert lines["Energy sold"][12] == "0.10 万kWh" and lines["Planned revenue"][12] == "0.05 万元"


@pytest.mark.django_db(transaction=True)
def test_two_people_setting_a_new_month_at_once_both_succeed_one_after_the_other(staff) -> None:
    """Given two plans for the same unit's new month sent at the same moment, then neither fails on the unique key:
    the second waits for the first and changes its row — one plan, two audited changes."""
    from tests.concurrency import run_together

    manager = staff("manager")
    figures = [("1000", "500.00"), ("2000", "900.00")]
    results = run_together(
        [lambda f=f: do_set_sales_plan(manager, unit("CG"), 2026, {3: f}) for f in figures]
    )
    assert all(isinstance(r, list) for r in results), results
    plan = SalesPlan.objects.get()
    assert (str(plan.kwh), str(plan.revenue)) in {("1000.000", "500.00"), ("2000.000", "900.00")}
    assert AuditEntry.objects.filter(action="billing.set_sales_plan").count() == 2


@pytest.mark.parametrize(
    "query", [{"year": "0.0"}, {"year": "2026.5"}, {"year": "99999"}, {"month_number": "13"}]
)
def test_a_bad_year_or_month_in_the_query_is_a_400_naming_it(api, query) -> None:
    """Given a year or month that is no whole number in its range (the fuzzer sent ?year=0.0), then the answer is
    a 400 naming the parameter, not a server error."""
    answer = api("manager").get("/api/billing/sales-plans/", query)
    assert answer.status_code == 400, answer.content
    assert next(iter(query)) in answer.content.decode()
