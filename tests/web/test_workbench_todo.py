"""The workbench is a to-do list: every demo position's page renders its KPIs with values or a "pending" note
(never "None"), its queue and approvals; recent actions read as words; every audited action has its words."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import translation

from gridcare.core.actions import REGISTRY
from gridcare.org.models import KPIDefinition
from gridcare.service import actions
from gridcare.web.workbench import (
    AWAITING,
    PENDING_NOTE,
    action_verbs,
    describe_action,
    format_value,
    kpi_registry,
    pending_note,
)
from tests.org.test_permissions import HOLDER

pytestmark = pytest.mark.django_db

RAW = re.compile(r"\bNone\b|service\.[a-z_]+|\{'|\[\{")


@pytest.mark.parametrize("position", sorted(HOLDER))
def test_each_position_sees_its_kpis_with_values_or_a_pending_note(
    client: Client, staff, position: str
) -> None:
    user = staff(HOLDER[position])
    client.force_login(user)
    page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    body = html[html.index('id="workbench-title"') :]
    assert not RAW.search(body), RAW.search(body)
    for kpi in user.position.kpis.all():
        row = re.search(rf'<tr data-kpi="{kpi.code}">(.*?)</tr>', html, re.S)
        assert row, kpi.code
        if kpi.code in kpi_registry():
            assert row.group(1).count("data-kpi-cell") == 4
        else:
            assert "data-kpi-pending" in row.group(1) and pending_note(kpi.code) in row.group(1)
            assert re.search(r"待\S+模块上线后计算", row.group(1)), row.group(1)
    assert 'id="todos"' in html and 'id="approvals"' in html


def test_every_catalogue_kpi_with_data_today_is_computed(org) -> None:
    """The service desk, metering, customer, meter-reading and data-collection KPIs are computed; the others wait for their
    modules."""
    computed = {
        "sla_compliance",
        "complaint_handling_time",
        "repeat_complaint_rate",
        "first_contact_resolution",
        "intake_to_dispatch",
        "callback_completion",
        "record_completeness",
        "satisfaction",
        "complaint_rate",
        "on_time_arrival",
        "on_time_restoration",
        "repeat_repair_rate",
        "plan_completion",
        "overdue_verifications",
        "new_customers",
        "new_capacity",
        "on_time_reading",
        "actual_read_rate",
        "reading_accuracy",
        "anomaly_follow_up",
        "exceptions_before_billing",
        "estimates_awaiting_approval",
        "data_collection_rate",  # readings: the interval data's meter-day checks
        "on_time_billing",  # billing: bills released within the days after their period
        "rebill_rate",  # billing: bills corrected by the rebills posted in the month
        "reconciliation_difference",  # billing: the released bills' lines against their totals
        "sales_kwh_vs_plan",  # billing: released kWh of the month over the units' sales plans
        "revenue_vs_plan",  # billing: released 元 of the month over the units' sales plans
        "collection_rate",  # ledger: payments allocated to the bills released in the month
        "arrears_aging",  # ledger: average days overdue of the open arrears
        "ka_revenue_collection",  # ledger: the key accounts' collection rate
        "overdue_days",  # ledger: the key accounts' average days overdue
        "bad_debt_rate",  # ledger: the key accounts' write-offs and arrears > 365 days over billed
        "reconnection_time",  # ledger: hours from the clearing payment to the power back on
        "visit_plan_completion",  # keyaccounts: planned visits done by their date
        "pipeline_conversion",  # keyaccounts: prospects won of those decided
        "ka_revenue",  # keyaccounts: key accounts' charges posted in the month
        "budget_variance",  # keyaccounts: spending against the prorated sales expense budget
        "survey_coverage",  # market: customers reached by the month's surveys of those in their scope
    }
    catalogue = set(KPIDefinition.objects.values_list("code", flat=True))
    assert computed <= catalogue
    assert set(kpi_registry()) == computed
    # every other KPI of the catalogue names the module its data will come with, and none is both
    assert catalogue - computed - set(AWAITING) == set()
    assert not set(AWAITING) & computed
    with translation.override("zh-hans"):
        assert pending_note("dispute_turnaround") == "待计量纠纷模块上线后计算"


def test_every_audited_action_has_words() -> None:
    with translation.override("zh-hans"):
        ours = [code for code, spec in REGISTRY.items() if spec.function.__module__.startswith("gridcare.")]
        missing = sorted(code for code in ours if code not in action_verbs())
        assert len(ours) >= 60
        assert missing == []
        assert (
            describe_action("service.create_order", "GD202610080001 客户投诉")
            == "受理工单 GD202610080001 客户投诉"
        )
        assert str(PENDING_NOTE) == "待抄表、电费、收费等模块上线后计算"


def test_recent_actions_read_as_words(client: Client, staff) -> None:
    desk = staff("cg_rep")
    order = actions.do_create_order(desk, order_type="enquiry", title="电价咨询")
    client.force_login(desk)
    html = client.get("/").content.decode()
    recent = html[html.index('id="recent"') :]
    assert f"受理工单 {order}" in recent
    assert "service.create_order" not in html


def test_values_carry_units_and_thousands_separators() -> None:
    from decimal import Decimal

    assert format_value(Decimal("96.5"), "%") == "96.5%"
    assert format_value(12345, "户") == "12,345 户"
    assert format_value(None, "小时") == "—"
