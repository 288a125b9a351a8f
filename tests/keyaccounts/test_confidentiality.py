"""客户信息保密: an unconverted prospect is seen by its owner and the managers above (prospect.view_all within
their data scope) — for every other position it does not exist: not in lists, search, exports or the API, and
its page answers 404 (403 where the position has no prospect screen at all). Every view of its contact is
audited."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from gridcare.core.models import AuditEntry
from gridcare.keyaccounts.actions import do_view_prospect_contact
from gridcare.org.models import User

pytestmark = pytest.mark.django_db

#: 杨帆's (sales, 市场拓展组 under 市场部) prospect is seen by him, the market department manager (subtree of 市场部),
#: the marketing service department manager and the vice president (whole company)
SEE_SALES = {"sales", "market_manager", "manager", "vp"}
#: 陈明's (key_account, 大客户室 under 营销服务部) is not seen by the market department manager
SEE_KEY_ACCOUNT = {"key_account", "manager", "vp"}
EVERYONE = [
    "vp",
    "manager",
    "cs_supervisor",
    "cs_rep",
    "repair",
    "key_account",
    "sales",
    "billing",
    "reader",
    "collector",
    "metering",
    "auditor",
    "load",
    "market_manager",
    "admin",
    "cg_head",
    "cg_rep",
    "hx_rep",
    "sn_rep",
    "customer",
]
NAME = "华东新材料科技有限公司"


@pytest.fixture
def prospects(register):
    a = register("sales", name=NAME, credit_code="91330100MA2B3C4D5N").prospect
    b = register("key_account", name="河西食品加工有限公司").prospect
    return {"sales": a, "key_account": b}


def web(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("username", EVERYONE)
def test_each_position_sees_only_what_it_may(prospects, staff, api, username) -> None:
    user = staff(username)
    client = web(user)
    for holder, seen_by in (("sales", SEE_SALES), ("key_account", SEE_KEY_ACCOUNT)):
        prospect = prospects[holder]
        visible = username in seen_by
        detail = client.get(f"/keyaccounts/prospects/{prospect.pk}/")
        listing = client.get("/keyaccounts/prospects/", {"q": prospect.name[:4]})
        export = client.get("/keyaccounts/prospects/", {"export": "xlsx"})
        by_api = api(username).get(f"/api/keyaccounts/prospects/{prospect.pk}/")
        search_api = api(username).get("/api/keyaccounts/prospects/", {"q": prospect.name[:4]})
        contact = client.post(f"/keyaccounts/prospects/{prospect.pk}/contact/")
        if visible:
            assert detail.status_code == 200 and prospect.number in detail.content.decode()
            assert prospect.number in listing.content.decode()
            assert prospect.number in _cells(export.content)
            assert by_api.status_code == 200
            assert [row["id"] for row in search_api.json()["results"]] == [prospect.pk]
            assert contact.status_code == 302
            continue
        has_screen = user.position is not None and any(
            code in {p.code for p in user.position.permissions.all()}
            for code in ("prospect.register", "prospect.view_all")
        )
        expected = {404} if has_screen else {403, 404}
        assert detail.status_code in expected, (username, holder)
        assert by_api.status_code in expected
        assert contact.status_code in expected
        assert prospect.number not in listing.content.decode()
        assert export.status_code in {200, 403} and prospect.number not in _cells(export.content)
        assert search_api.status_code in {200, 403}
        if search_api.status_code == 200:
            assert search_api.json()["results"] == []


def _cells(content: bytes) -> str:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True)
    except Exception:  # a refused export is an HTML page, not a workbook
        return ""
    return " ".join(str(c) for row in book.active.iter_rows(values_only=True) for c in row if c is not None)


def test_the_api_masks_the_phone_and_the_contact_view_is_audited(prospects, api) -> None:
    prospect = prospects["sales"]
    listed = api("sales").get(f"/api/keyaccounts/prospects/{prospect.pk}/").json()
    assert listed["contact_phone"] != "13800001111" and listed["contact_phone"].endswith("1111")
    before = AuditEntry.objects.filter(action="keyaccounts.view_contact", object_id=str(prospect.pk)).count()
    shown = api("manager").post(
        f"/api/keyaccounts/prospects/{prospect.pk}/contact/", HTTP_IDEMPOTENCY_KEY="c-1"
    )
    assert shown.status_code == 200 and shown.json()["contact_phone"] == "13800001111"
    web(User.objects.get(username="sales")).post(f"/keyaccounts/prospects/{prospect.pk}/contact/")
    entries = AuditEntry.objects.filter(action="keyaccounts.view_contact", object_id=str(prospect.pk))
    assert entries.count() == before + 2
    assert {e.actor.username for e in entries} == {"manager", "sales"}


def test_contact_of_a_prospect_outside_scope_is_not_found(prospects, staff) -> None:
    from gridcare.core.errors import NotFound

    with pytest.raises(NotFound):
        do_view_prospect_contact(staff("market_manager"), prospects["key_account"])
    assert not AuditEntry.objects.filter(action="keyaccounts.view_contact").exists()


def test_api_registration_collision_is_409_without_the_holder(prospects, api) -> None:
    answer = api("key_account").post(
        "/api/keyaccounts/prospects/",
        {
            "name": "华东新材料科技股份有限公司",
            "industry": "chemicals",
            "region": "CG",
            "expected_capacity_kva": "100",
            "expected_annual_kwh": "1000",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="reg-1",
    )
    assert answer.status_code == 409
    body = answer.content.decode()
    assert answer.json()["code"] == "already_registered"
    assert "杨帆" not in body and prospects["sales"].number not in body and "sales" not in body
    managers = api("market_manager").get("/api/keyaccounts/collisions/").json()["results"]
    assert managers[0]["holder"] == "杨帆"
    assert api("sales").get("/api/keyaccounts/collisions/").status_code == 403


def test_staff_leaving_hands_prospects_and_planned_visits_to_the_successor(prospects, staff) -> None:
    from gridcare.org.actions import do_staff_leave

    successor = staff("market_manager")
    do_staff_leave(staff("admin"), staff("sales"), successor=successor)
    prospects["sales"].refresh_from_db()
    assert prospects["sales"].owner == successor
    assert AuditEntry.objects.filter(action="org.transfer_owned", object_type="keyaccounts.prospect").exists()
