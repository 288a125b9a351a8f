"""The rebill screens (Chinese, per permission), the rebill API (scoped, idempotent) and the workbench parts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from rest_framework.test import APIClient

from gridcare.billing.actions import do_release_bills
from gridcare.billing.executors import start_run
from gridcare.billing.models import Bill, Rebill
from gridcare.billing.rebill_actions import do_propose_rebill
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


@pytest.fixture
def released(staff, customer):
    def build(**kwargs) -> Bill:
        account = customer(**kwargs)
        start_run(staff("billing"), period=PERIOD, accounts=[account.pk])
        do_release_bills(staff("billing"), Bill.objects.filter(account=account))
        return Bill.objects.get(account=account)

    return build


def test_rebill_from_the_bill_page_through_approval_to_the_correcting_bill(staff, released) -> None:
    bill = released()
    billing = client_for(staff("billing"))
    page = billing.get(f"/billing/bills/{bill.pk}/").content.decode()
    assert 'id="rebill"' in page and "退补" in page
    assert 'id="rebill"' not in client_for(staff("cg_rep")).get(f"/billing/bills/{bill.pk}/").content.decode()
    form = billing.get(f"/billing/rebills/new/?bill={bill.pk}").content.decode()
    assert "新建退补申请" in form and "退补类型" in form and bill.number in form and "161.40 元" in form
    refused = billing.post(f"/billing/rebills/new/?bill={bill.pk}", {"kind": "theft", "reason": "窃电"})
    assert refused.status_code == 400 and "请填写此项" in refused.content.decode()  # no stolen energy
    done = billing.post(
        f"/billing/rebills/new/?bill={bill.pk}",
        {
            "kind": "theft",
            "reason": "窃电，时间无法查明",
            "period_unknown": "on",
            "submit": "on",
        },
    )
    assert done.status_code == 302
    case = Rebill.objects.get()
    assert done["Location"] == f"/billing/rebills/{case.pk}/" and case.status == "pending"
    detail = billing.get(done["Location"]).content.decode()
    assert "待审批" in detail and "营销服务部经理" in detail and "原电费" in detail and "重算电费" in detail
    assert "违约使用电费" in detail and 'id="approve"' not in detail and 'id="withdraw"' in detail
    assert (
        "额定容量 8.00 kW × 180 天 × 6 小时/天 = 8640.000 kWh" in detail
    )  # 8 kVA residential: lighting hours
    manager = client_for(staff("manager"))
    assert 'id="approve"' in manager.get(done["Location"]).content.decode()
    assert manager.post(f"/billing/rebills/{case.pk}/approve/", {"note": "证据充分"}).status_code == 302
    assert billing.post(f"/billing/rebills/{case.pk}/post/").status_code == 302
    case.refresh_from_db()
    correcting = case.items.get().correcting_bill
    assert case.status == "posted" and correcting.status == "released"
    page = billing.get(f"/billing/bills/{bill.pk}/").content.decode()
    assert case.number in page and correcting.number in page and "本账单的退补" in page
    page = billing.get(f"/billing/bills/{correcting.pk}/").content.decode()
    assert "更正账单" in page and bill.number in page and "退补账单" in page and "计算说明" not in page
    listing = billing.get("/billing/rebills/?status=posted&kind=theft&period=" + PERIOD).content.decode()
    assert (
        case.number in listing
        and "窃电" in listing
        and "theft" not in listing.split('id="result-table"')[1].split("</table>")[0]
    )
    assert case.number not in billing.get("/billing/rebills/?kind=correction").content.decode()


def test_screens_refuse_without_permission_and_outside_scope(staff, released) -> None:
    bill = released(station="HX")
    case = do_propose_rebill(
        staff("billing"), kind="theft", reason="窃电", bills=[bill.pk], params={"stolen_kwh": "10"}
    )
    rep = client_for(staff("cg_rep"))  # a station of its own: the HX case does not exist for it
    assert rep.get(f"/billing/rebills/{case.pk}/").status_code == 404
    assert case.number not in rep.get("/billing/rebills/").content.decode()
    assert rep.get("/billing/rebills/new/").status_code == 403
    assert rep.post(f"/billing/rebills/{case.pk}/post/").status_code == 403
    assert client_for(staff("hx_rep")).get(f"/billing/rebills/{case.pk}/").status_code == 200
    # the accountant may not approve (no permission): the manager may, not the accountant's own
    assert client_for(staff("billing")).post(f"/billing/rebills/{case.pk}/approve/").status_code == 403


def test_api_create_is_idempotent_and_post_makes_one_correcting_bill(staff, released) -> None:
    bill = released()
    api = api_for(staff("billing"))
    body = {
        "kind": "correction",
        "reason": "误抄",
        "bills": [bill.pk],
        "params": {"registers": {"active_total": "250"}},
        "submit": True,
    }
    key = {"HTTP_IDEMPOTENCY_KEY": "rebill-one"}
    first = api.post("/api/billing/rebills/", body, format="json", **key)
    again = api.post("/api/billing/rebills/", body, format="json", **key)
    assert first.status_code == 201 and again.json() == first.json() and Rebill.objects.count() == 1
    data = first.json()
    assert data["status"] == "approved" and data["total"] == "-26.90" and data["kind_label"] == "差错更正"
    assert data["items"][0]["explanation"]["lines"][0]["amount"] == "-26.90"
    post = {"HTTP_IDEMPOTENCY_KEY": "rebill-post"}
    one = api.post(f"/api/billing/rebills/{data['id']}/post/", {}, format="json", **post)
    two = api.post(f"/api/billing/rebills/{data['id']}/post/", {}, format="json", **post)
    assert one.status_code == 200 and two.json() == one.json() and one.json()["status"] == "posted"
    assert Bill.objects.filter(kind="correcting").count() == 1
    assert api.post(f"/api/billing/rebills/{data['id']}/post/", {}, format="json").status_code == 409
    draft_account_bill = Bill.objects.get(pk=bill.pk)
    assert draft_account_bill.total == Decimal("161.40")  # the corrected bill is as released
    bad = api.post("/api/billing/rebills/", {**body, "reason": ""}, format="json")
    assert bad.status_code == 400 and "reason" in bad.json().get("errors", bad.json())
    missing = api.post("/api/billing/rebills/", {**body, "bills": [10**9]}, format="json")
    assert missing.status_code == 404
    outsider = api_for(staff("cg_rep"))
    assert outsider.post("/api/billing/rebills/", body, format="json").status_code == 403
    manager = api_for(staff("manager"))
    assert manager.get(f"/api/billing/rebills/{data['id']}/").status_code == 200


def test_api_approval_above_the_limit(staff, released) -> None:
    bill = released()
    api = api_for(staff("billing"))
    created = api.post(
        "/api/billing/rebills/",
        {
            "kind": "theft",
            "reason": "窃电",
            "bills": [bill.pk],
            "params": {"stolen_kwh": "5000"},
            "submit": True,
        },
        format="json",
    ).json()
    assert created["status"] == "pending" and "营销服务部经理" in created["approvers"]
    assert api.post(f"/api/billing/rebills/{created['id']}/approve/", {}, format="json").status_code == 403
    manager = api_for(staff("manager"))
    rejected = manager.post(f"/api/billing/rebills/{created['id']}/reject/", {"note": ""}, format="json")
    assert rejected.status_code == 400
    approved = manager.post(f"/api/billing/rebills/{created['id']}/approve/", {"note": "同意"}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"


def test_workbench_approvals_todos_and_rebill_rate(staff, released) -> None:
    from gridcare.billing.rebill_actions import do_post_rebill, do_submit_rebill
    from gridcare.billing.workbench import my_rebills, rebill_rate, rebills_to_decide
    from gridcare.web.workbench import approvals_for

    first, second = released(), released()
    billing, manager = staff("billing"), staff("manager")
    draft = do_propose_rebill(
        billing,
        kind="correction",
        reason="误抄",
        bills=[first.pk],
        params={"registers": {"active_total": "250"}},
    )
    (todo,) = my_rebills(billing)
    assert todo.count == 1 and draft.number in todo.items[0][0]
    big = do_propose_rebill(
        billing, kind="theft", reason="窃电", bills=[second.pk], params={"stolen_kwh": "5000"}, submit=True
    )
    assert [a.url for a in rebills_to_decide(manager)] == [big.get_absolute_url()]
    assert any(a.url == big.get_absolute_url() for a in approvals_for(manager))
    assert rebills_to_decide(billing) == []
    do_post_rebill(billing, do_submit_rebill(billing, draft.pk).pk)
    from django.utils import timezone

    month = Month.of(timezone.localdate())
    assert rebill_rate(billing, None, month) == Decimal("50.0")  # 1 of the 2 bills released this month
    page = client_for(billing).get("/").content.decode()
    assert "退补率" in page and "50.0" in page and "我的退补" not in page  # nothing left to submit or post
    assert big.number in client_for(manager).get("/").content.decode()


def test_new_rebill_by_account_and_periods(staff, released) -> None:
    bill = released()
    billing = client_for(staff("billing"))
    form = billing.get("/billing/rebills/new/").content.decode()
    assert "户号" in form and "电费年月" in form
    unknown = billing.post(
        "/billing/rebills/new/",
        {
            "kind": "correction",
            "reason": "误抄",
            "account": "0000000000",
            "periods": PERIOD,
            "active_total": "250",
        },
    )
    assert (
        unknown.status_code == 400
        and "户号 0000000000 不存在或不在您的数据范围内" in unknown.content.decode()
    )
    no_bill = billing.post(
        "/billing/rebills/new/",
        {
            "kind": "correction",
            "reason": "误抄",
            "account": bill.account.number,
            "periods": "2026-05",
            "active_total": "1",
        },
    )
    assert no_bill.status_code == 400 and "2026-05 没有已发行的账单" in no_bill.content.decode()
    done = billing.post(
        "/billing/rebills/new/",
        {
            "kind": "correction",
            "reason": "误抄",
            "account": bill.account.number,
            "periods": PERIOD,
            "active_total": "250",
        },
    )
    assert done.status_code == 302
    case = Rebill.objects.get()
    assert case.status == "draft" and case.total == Decimal("-26.90")  # not submitted: the box was not ticked
    page = billing.get(done["Location"]).content.decode()
    assert 'id="submit"' in page and "草稿" in page and "差错更正" in page
    assert billing.post(f"/billing/rebills/{case.pk}/submit/").status_code == 302
    assert Rebill.objects.get().status == "approved"
