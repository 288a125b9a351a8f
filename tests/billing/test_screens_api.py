"""Billing screens (Chinese, values with units, tables) and the API (scoped, permissions declared)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from gridcare.billing.executors import start_run
from gridcare.billing.models import Bill, BillingRun
from tests.billing.conftest import PERIOD

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_run_and_bill_screens_show_the_run_and_explain_the_bill(staff, customer, system) -> None:
    from gridcare.service import actions as service

    account = customer()
    order = service.do_create_order(
        staff("cg_rep"),
        order_type="complaint",
        sub_type="service",
        service_point=account.service_points.get().pk,
        contact_phone="13900000000",
    )
    compensation = service.do_propose_compensation(staff("cg_rep"), order, amount="5.00", reason="回访超时")
    service.do_approve_compensation(staff("cs_supervisor"), compensation, note="同意")
    customer(registers={})
    billing = client_for(staff("billing"))
    form = billing.get("/billing/runs/new/")
    assert form.status_code == 200 and "发起电费计算" in form.content.decode()
    bad = billing.post("/billing/runs/new/", {"period": "2026/11", "executor": "inline"})
    assert bad.status_code == 400 and "YYYY-MM" in bad.content.decode()
    done = billing.post("/billing/runs/new/", {"period": PERIOD, "executor": "inline"})
    run = BillingRun.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/billing/runs/{run.pk}/"
    page = billing.get(f"/billing/runs/{run.pk}/").content.decode()
    assert "已完成" in page and "本期无已校核示数" in page and "计算分块" in page
    assert "1,000.00" not in page and "None" not in page
    listing = billing.get("/billing/runs/").content.decode()
    assert "电费计算批次" in listing and "全公司" in listing
    bill = Bill.objects.get(account=account)
    detail = billing.get(f"/billing/bills/{bill.pk}/").content.decode()
    assert "与账单明细一致" in detail
    assert "156.40 元" in detail  # 161.40 元 less the 5.00 元 compensation
    assert "服务补偿：回访超时" in detail and "-5.00 元" in detail
    assert "0.00 kWh → 300.00 kWh" in detail  # the tier year before and after this bill
    assert "第一档电费" in detail and "0.538 元/kWh" in detail and "300.000 kWh" in detail
    bills = billing.get(f"/billing/bills/?period={PERIOD}").content.decode()
    assert account.number in bills and "草稿" in bills


def test_a_position_without_billing_view_is_refused(staff, customer) -> None:
    customer()
    run = start_run(staff("billing"), period=PERIOD)
    assert client_for(staff("reader")).get("/billing/runs/").status_code == 403
    assert client_for(staff("reader")).get(f"/billing/runs/{run.pk}/").status_code == 403
    assert client_for(staff("cs_rep")).get("/billing/runs/new/").status_code == 403


def test_api_starts_a_run_and_lists_bills_with_lines(api, customer) -> None:
    account = customer()
    client = api("billing")
    bad = client.post("/api/billing/runs/", {"period": "2026-1"}, format="json")
    assert bad.status_code == 400 and "period" in str(bad.data)
    for year_out_of_range in ("0000-01", "9999-12"):  # found by schemathesis: year 0 was a 500
        bad = client.post("/api/billing/runs/", {"period": year_out_of_range}, format="multipart")
        assert bad.status_code == 400 and "period" in str(bad.data), bad.content
    missing = client.post("/api/billing/runs/", {"period": PERIOD, "org_unit": 999_999}, format="json")
    assert missing.status_code == 404
    created = client.post(
        "/api/billing/runs/", {"period": PERIOD}, format="json", HTTP_IDEMPOTENCY_KEY="run-1"
    )
    assert created.status_code == 201 and created.data["bills"] == 1 and created.data["status"] == "done"
    again = client.post("/api/billing/runs/", {"period": PERIOD}, format="json", HTTP_IDEMPOTENCY_KEY="run-1")
    assert again["Idempotent-Replayed"] == "true" and BillingRun.objects.count() == 1
    detail = client.get(f"/api/billing/runs/{created.data['id']}/").data
    assert detail["parts"][0]["status"] == "done"
    bills = client.get(f"/api/billing/bills/?period={PERIOD}").data["results"]
    assert [b["account"] for b in bills] == [account.pk]
    assert Decimal(bills[0]["total"]) == Decimal("161.40") and bills[0]["lines"][0]["code"] == "energy_tier1"
    assert api("reader").get("/api/billing/bills/").status_code == 403
    assert api("collector").get(f"/api/billing/bills/{bills[0]['id']}/").status_code in (200, 404)
