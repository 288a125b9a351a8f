"""The review queue screen, the bill page's review actions and the review API (Chinese, scoped, idempotent)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from rest_framework.test import APIClient

from gridcare.billing.executors import start_run
from gridcare.billing.models import Bill, BillFinding, PlausibilityRule
from gridcare.core.models import AuditEntry
from gridcare.web.workbench import Month
from tests.billing.conftest import PERIOD

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_review_queue_shows_findings_in_words_and_releases_in_bulk(staff, customer) -> None:
    zeros = [customer(registers={"active_total": "0"}) for _ in range(3)]
    plain = customer()
    big = customer(registers={"active_total": "5000"})
    PlausibilityRule.objects.create(code="large_amount", params={"threshold_yuan": 1000})
    run = start_run(staff("billing"), period=PERIOD)
    billing = client_for(staff("billing"))
    page = billing.get(f"/billing/review/?run={run.pk}&rule=zero_bill").content.decode()
    assert "异常电费审核" in page and "在用户头电费为零" in page and "户头电费为零" in page
    assert all(a.number in page for a in zeros) and plain.number not in page and big.number not in page
    table = page[page.index('id="result-table"') : page.index("</table>", page.index('id="result-table"'))]
    assert "zero_bill" not in table and "None" not in table  # the rule in words, not its code
    first = Bill.objects.get(account=zeros[0])
    done = billing.post(
        "/billing/review/release/",
        {"scope": "selected", "ids": [first.pk], "filter_run": run.pk, "filter_rule": "zero_bill"},
    )
    assert done.status_code == 302
    assert Bill.objects.get(pk=first.pk).status == "released"
    assert Bill.objects.filter(status="review").count() == 3  # two zero bills and the large one
    billing.post("/billing/review/release/", {"scope": "all", "filter_rule": "zero_bill"})
    assert Bill.objects.filter(status="review").count() == 1  # the filter's bills only
    billing.post("/billing/review/release/", {"scope": "all"})  # no filter: the whole queue
    assert not Bill.objects.filter(status="review").exists()
    assert Bill.objects.get(account=plain).status == "draft"  # not in the review filter
    reader = client_for(staff("cg_rep"))  # may view bills, may not release
    assert reader.post("/billing/review/release/", {"scope": "all"}).status_code == 403


def test_bill_page_accepts_a_finding_re_rates_and_releases(staff, customer) -> None:
    from gridcare.readings.models import MeterRead

    account = customer(registers={"active_total": "0"})
    start_run(staff("billing"), period=PERIOD)
    bill = Bill.objects.get(account=account)
    billing = client_for(staff("billing"))
    page = billing.get(f"/billing/bills/{bill.pk}/").content.decode()
    assert "审核异常" in page and "户头电费为零" in page and "重新计费" in page and "发行电费" in page
    finding = bill.findings.get()
    refused = billing.post(f"/billing/findings/{finding.pk}/accept/", {"reason": ""})
    assert refused.status_code == 302 and not BillFinding.objects.get(pk=finding.pk).accepted
    MeterRead.objects.filter(service_point__account=account).update(quantity=Decimal("300"))
    rerated = billing.post(f"/billing/bills/{bill.pk}/rerate/")
    new = Bill.objects.get(account=account)
    assert rerated["Location"] == f"/billing/bills/{new.pk}/" and new.total == Decimal("161.40")
    billing.post(f"/billing/bills/{new.pk}/release/")
    new.refresh_from_db()
    assert new.status == "released" and new.number
    page = billing.get(f"/billing/bills/{new.pk}/").content.decode()
    assert (
        new.number in page and "已发行" in page and 'id="rerate"' not in page and 'id="release"' not in page
    )
    assert AuditEntry.objects.filter(action="billing.release", object_id=str(new.pk)).exists()


def test_review_api_release_rerate_accept_and_bulk(staff, customer) -> None:
    zero = customer(registers={"active_total": "0"})
    others = [customer() for _ in range(3)]
    start_run(staff("billing"), period=PERIOD)
    api = api_for(staff("billing"))
    listed = api.get("/api/billing/bills/", {"status": "review", "rule": "zero_bill"}).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [r["account"] for r in rows] == [zero.pk]
    finding = rows[0]["findings"][0]
    assert finding["rule"] == "zero_bill" and finding["rule_label"] == "户头电费为零"
    bad = api.post(f"/api/billing/findings/{finding['id']}/accept/", {}, format="json")
    assert bad.status_code == 400 and "reason" in str(bad.json())
    ok = api.post(f"/api/billing/findings/{finding['id']}/accept/", {"reason": "空置户"}, format="json")
    assert ok.status_code == 200 and ok.json()["accepted"] is True
    assert Bill.objects.get(account=zero).status == "draft"
    single = Bill.objects.get(account=others[0])
    key = {"HTTP_IDEMPOTENCY_KEY": "release-one"}
    one = api.post(f"/api/billing/bills/{single.pk}/release/", {}, format="json", **key)
    again = api.post(f"/api/billing/bills/{single.pk}/release/", {}, format="json", **key)
    assert one.status_code == 200 and one.json()["number"] and again.json() == one.json()
    twice = api.post(f"/api/billing/bills/{single.pk}/release/", {}, format="json")
    assert twice.status_code == 409 and twice.json()["code"] == "invalid_transition"
    assert api.post(f"/api/billing/bills/{single.pk}/rerate/", {}, format="json").status_code == 409
    assert api.post("/api/billing/bills/release/", {}, format="json").status_code == 400
    bulk = api.post(f"/api/billing/bills/release/?period={PERIOD}", {"all": True}, format="json")
    assert bulk.status_code == 200 and bulk.json() == {"released": 3}
    assert Bill.objects.filter(status="released").count() == 4
    outsider = api_for(staff("hx_rep"))
    assert outsider.post(f"/api/billing/bills/{single.pk}/rerate/", {}, format="json").status_code == 403


def test_workbench_counts_bills_in_review_and_on_time_billing(staff, customer, settings) -> None:
    from gridcare.billing import actions
    from gridcare.billing.workbench import bills_in_review, on_time_billing

    customer(registers={"active_total": "0"})
    customer()
    start_run(staff("billing"), period=PERIOD)
    accountant = staff("billing")
    (todo,) = bills_in_review(accountant)
    assert todo.count == 1 and todo.url == "/billing/review/"
    assert bills_in_review(staff("cg_rep")) == []
    month = Month(2026, 11)
    assert on_time_billing(accountant, None, month) == Decimal(
        "0.0"
    )  # period ended long ago, nothing released
    actions.do_release_bills(accountant, Bill.objects.filter(status="draft"))
    assert on_time_billing(accountant, None, month) == Decimal("0.0")  # released today: far past the deadline
    settings.GRIDCARE_BILLING = {
        "RELEASE_DAYS": 100_000
    }  # deadline not reached: the released bill is on time,
    assert on_time_billing(accountant, None, month) == Decimal(
        "100.0"
    )  # the one in review is not yet counted
