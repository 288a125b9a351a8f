"""服务补偿: proposed on a work order, approved within the approver's limit by someone else, audited."""

from __future__ import annotations

import pytest

from gridcare.core.models import AuditEntry
from gridcare.service.models import Compensation

pytestmark = pytest.mark.django_db

URL = "/api/service/compensations/"


@pytest.fixture
def complaint(api, place) -> dict:
    point = place("CG")
    response = api("cg_rep").post(
        "/api/service/orders/",
        {"order_type": "complaint", "sub_type": "outage", "service_point": point.pk, "title": "停电太久"},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.data


def propose(api, order: dict, amount: str = "500.00", user: str = "cg_rep"):
    return api(user).post(
        f"/api/service/orders/{order['id']}/compensations/",
        {"amount": amount, "reason": "抢修超时 2 小时"},
        format="json",
    )


def test_propose_then_approve_within_limit(api, complaint) -> None:
    proposed = propose(api, complaint)
    assert proposed.status_code == 201, proposed.content
    assert proposed.data["status"] == "proposed" and proposed.data["amount"] == "500.00"
    approved = api("cg_head").post(f"{URL}{proposed.data['id']}/approve/", {"note": "同意"}, format="json")
    assert approved.status_code == 200, approved.content
    assert approved.data["status"] == "approved" and approved.data["decision_note"] == "同意"
    actions = list(
        AuditEntry.objects.filter(object_type="service.compensation", object_id=str(proposed.data["id"]))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["service.propose_compensation", "service.approve_compensation"]


def test_above_the_limit_names_who_may_approve_and_changes_nothing(api, complaint) -> None:
    proposed = propose(api, complaint, amount="5000.00")
    response = api("cg_head").post(f"{URL}{proposed.data['id']}/approve/", {}, format="json")
    assert response.status_code == 403, response.content
    text = str(response.data)
    assert "5000" in text and "2000" in text and "营销服务部经理" in text
    assert Compensation.objects.get(pk=proposed.data["id"]).status == "proposed"
    assert (
        api("manager").post(f"{URL}{proposed.data['id']}/approve/", {}, format="json").data["status"]
        == "approved"
    )


def test_own_proposal_cannot_be_decided_and_decided_once_only(api, complaint) -> None:
    own = propose(api, complaint, user="cg_head")
    assert own.status_code == 201, own.content
    refused = api("cg_head").post(f"{URL}{own.data['id']}/approve/", {}, format="json")
    assert refused.status_code == 403
    assert Compensation.objects.get(pk=own.data["id"]).status == "proposed"
    no_note = api("manager").post(f"{URL}{own.data['id']}/reject/", {"note": " "}, format="json")
    assert no_note.status_code == 400 and "note" in no_note.data["errors"]
    rejected = api("manager").post(
        f"{URL}{own.data['id']}/reject/", {"note": "不符合补偿条件"}, format="json"
    )
    assert rejected.status_code == 200 and rejected.data["status"] == "rejected"
    again = api("manager").post(f"{URL}{own.data['id']}/approve/", {}, format="json")
    assert again.status_code == 409


@pytest.mark.parametrize("amount", ["-5", "0", "1.234", "abc", ""])
def test_bad_amount_is_400_and_writes_nothing(api, complaint, amount) -> None:
    before = (Compensation.objects.count(), AuditEntry.objects.count())
    response = propose(api, complaint, amount=amount)
    assert response.status_code == 400, response.content
    assert (Compensation.objects.count(), AuditEntry.objects.count()) == before


def test_an_order_without_an_account_cannot_be_compensated(api) -> None:
    order = api("cs_rep").post(
        "/api/service/orders/", {"order_type": "enquiry", "title": "咨询"}, format="json"
    )
    response = propose(api, order.data, user="cs_rep")
    assert response.status_code == 400 and "order" in response.data["errors"]
    assert not Compensation.objects.exists()


def test_scope_and_permissions(api, complaint) -> None:
    proposed = propose(api, complaint)
    assert api("hx_rep").get(f"{URL}{proposed.data['id']}/").status_code == 404  # another station
    assert propose(api, complaint, user="hx_rep").status_code == 404
    assert api("cg_rep").post(f"{URL}{proposed.data['id']}/approve/", {}, format="json").status_code == 403
    assert api("cg_head").get(URL).data["count"] == 1


def test_order_page_proposes_and_decides(client, staff, complaint) -> None:
    client.force_login(staff("cg_rep"))
    page = client.get(f"/service/orders/{complaint['id']}/")
    assert page.status_code == 200 and b'id="propose-compensation"' in page.content
    client.post(f"/service/orders/{complaint['id']}/compensate/", {"amount": "300", "reason": "上门超时"})
    compensation = Compensation.objects.get(order_id=complaint["id"])
    assert compensation.amount == 300 and compensation.status == "proposed"
    assert (
        f'id="approve-{compensation.pk}"'.encode()
        not in client.get(f"/service/orders/{complaint['id']}/").content
    )
    client.force_login(staff("cg_head"))
    page = client.get(f"/service/orders/{complaint['id']}/")
    assert f'id="approve-{compensation.pk}"'.encode() in page.content
    response = client.post(f"/service/compensations/{compensation.pk}/approve/", {"note": "同意"})
    assert response.status_code == 302 and response["Location"].endswith(
        f"/service/orders/{complaint['id']}/"
    )
    compensation.refresh_from_db()
    assert compensation.status == "approved" and compensation.decided_by == staff("cg_head")
