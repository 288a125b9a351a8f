"""Credit scores and sales budgets through the API and the screens: the same actions, scoped ids, clear
refusals (400 with the field, 404 outside scope), Chinese labels, the Excel export."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.utils import timezone

from gridcare.keyaccounts.models import CreditAdjustment, SalesExpense
from gridcare.org.models import OrgUnit

YEAR = timezone.localdate().year
MONTH = "2026-10"


@pytest.fixture
def scored(org, company, staff):
    from gridcare.keyaccounts.actions import do_designate_key_account
    from gridcare.keyaccounts.credit_actions import do_compute_credit_scores, do_load_credit_rule_defaults
    from gridcare.org.selectors import system_actor

    do_load_credit_rule_defaults(system_actor())
    account = company("信用测试厂", manager=staff("key_account"))
    do_designate_key_account(staff("manager"), account, grade="first")
    do_compute_credit_scores(system_actor(), month=MONTH)
    return account


@pytest.fixture
def line(staff):
    from gridcare.keyaccounts.budget_actions import do_set_budget

    return do_set_budget(
        staff("market_manager"),
        year=YEAR,
        region=OrgUnit.objects.get(code="CD"),
        owner=staff("sales"),
        amount="1000",
    )


def test_api_lists_scores_with_reasons_and_adjusts_within_the_limit(api, scored) -> None:
    client = api("key_account")
    listed = client.get("/api/keyaccounts/credit-scores/", {"month": MONTH}).json()
    row = next(r for r in listed["results"] if r["account"] == scored.pk)
    assert row["score"] == 100 and row["grade"] == "A" and row["reasons"] == []
    assert set(row["figures"]) >= {"punctuality_pct", "arrears_yuan", "violations"}
    made = client.post(
        "/api/keyaccounts/credit-adjustments/",
        {"account": scored.pk, "points": -10, "reason": "走访发现经营困难"},
        format="json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["status"] == "approved" and made.json()["score_after"] == 90
    again = client.get(f"/api/keyaccounts/credit-scores/{row['id']}/").json()
    assert (again["score_in_force"], again["grade_in_force"]) == (90, "A")


def test_api_refuses_a_change_without_a_reason_and_an_account_outside_scope(api, scored, company) -> None:
    client = api("key_account")
    missing = client.post(
        "/api/keyaccounts/credit-adjustments/",
        {"account": scored.pk, "points": 5, "reason": " "},
        format="json",
    )
    assert missing.status_code == 400 and "reason" in missing.json()["errors"]
    other = company("别人厂")
    outside = client.post(
        "/api/keyaccounts/credit-adjustments/",
        {"account": other.pk, "points": 5, "reason": "x"},
        format="json",
    )
    assert outside.status_code == 400 and "account" in outside.json()["errors"]
    assert not CreditAdjustment.objects.exists()


def test_api_over_the_limit_goes_to_approval_and_the_manager_decides(api, scored) -> None:
    made = (
        api("key_account")
        .post(
            "/api/keyaccounts/credit-adjustments/",
            {"account": scored.pk, "points": -20, "reason": "窃电嫌疑"},
            format="json",
        )
        .json()
    )
    assert made["status"] == "pending" and "营销服务部经理" in made["approvers"]
    decided = api("manager").post(
        f"/api/keyaccounts/credit-adjustments/{made['id']}/decide/",
        {"approve": True, "note": "同意"},
        format="json",
    )
    assert decided.status_code == 200 and decided.json()["status"] == "approved"


def test_api_compute_and_rules(api, scored) -> None:
    assert (
        api("key_account")
        .post("/api/keyaccounts/credit-scores/compute/", {"month": MONTH}, format="json")
        .status_code
        == 403
    )
    ran = api("manager").post("/api/keyaccounts/credit-scores/compute/", {"month": "2026-09"}, format="json")
    assert ran.status_code == 200 and ran.json()["scored"] >= 1
    bad = api("manager").post(
        "/api/keyaccounts/credit-rules/", {"rules": {"rules": []}, "note": "x"}, format="json"
    )
    assert bad.status_code == 400 and "rules" in bad.json()["errors"]


def test_api_budget_expense_over_budget_is_refused_then_asked_for(api, line) -> None:
    sales = api("sales")
    body = {
        "budget": line.pk,
        "day": str(timezone.localdate()),
        "category": "expense_visits",
        "amount": "1500.00",
        "description": "差旅",
    }
    refused = sales.post("/api/keyaccounts/expenses/", body, format="json")
    assert refused.status_code == 400 and "超出剩余预算" in refused.json()["errors"]["amount"][0]
    assert not SalesExpense.objects.exists()
    asked = sales.post("/api/keyaccounts/expenses/", {**body, "request_approval": True}, format="json")
    assert asked.status_code == 201 and asked.json()["status"] == "pending"
    decided = api("market_manager").post(
        f"/api/keyaccounts/expenses/{asked.json()['id']}/decide/", {"approve": True}, format="json"
    )
    assert decided.json()["status"] == "recorded"
    execution = sales.get("/api/keyaccounts/budgets/execution/", {"year": YEAR}).json()["results"]
    assert execution[0]["spent"] == "1500.00" and execution[0]["remaining"] == "-500.00"
    export = sales.get("/api/keyaccounts/budgets/export/", {"year": YEAR})
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_screens_show_the_score_on_the_360_view_and_the_lists(client: Client, staff, scored) -> None:
    from gridcare.keyaccounts.models import KeyAccount

    client.force_login(staff("key_account"))
    key = KeyAccount.objects.get(account=scored)
    html = client.get(f"/keyaccounts/accounts/{key.pk}/").content.decode()
    assert 'id="credit-score"' in html and "信用" in html and "credit-data" in html
    listing = client.get("/keyaccounts/credit/").content.decode()
    assert scored.number in listing and "信用" in listing
    form = client.post("/keyaccounts/credit/adjust/", {"account": scored.pk, "points": "-30", "reason": ""})
    assert form.status_code == 400
    sent = client.post(
        "/keyaccounts/credit/adjust/", {"account": scored.pk, "points": "-30", "reason": "欠费严重"}
    )
    assert sent.status_code == 302
    assert CreditAdjustment.objects.get().status == "pending"


def test_budget_screens_refuse_an_overrun_on_the_form_and_export(client: Client, staff, line) -> None:
    from openpyxl import load_workbook

    client.force_login(staff("sales"))
    page = client.get("/keyaccounts/budget/").content.decode()
    assert "城东县公司" in page and "1,000.00" in page
    body = {
        "budget": line.pk,
        "day": str(timezone.localdate()),
        "category": "expense_visits",
        "amount": "1500",
        "description": "差旅",
    }
    refused = client.post("/keyaccounts/budget/expenses/new/", body)
    assert refused.status_code == 400 and "超出剩余预算" in refused.content.decode()
    assert client.post("/keyaccounts/budget/expenses/new/", {**body, "amount": "200"}).status_code == 302
    export = client.get(f"/keyaccounts/budget/export/?year={YEAR}")
    sheet = load_workbook(io.BytesIO(export.content)).worksheets[0]
    assert any(row[0] == "城东县公司" and row[3] == 200 for row in sheet.iter_rows(values_only=True))
