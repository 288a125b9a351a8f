"""The customers REST API: create through actions, 400 with field errors and nothing written, masking,
audited unmasking, dated changes, contracts, filters and the fast search."""

from __future__ import annotations

import datetime as dt

import pytest

from gridcare.core.models import AuditEntry
from gridcare.customers.models import Account, Contact, Customer, ServicePoint, TariffAssignment
from gridcare.org.models import OrgUnit

from .conftest import VALID_ID


def _customer_payload(**change):
    return {
        "name": "王芳",
        "kind": "individual",
        "id_type": "resident_id",
        "id_number": VALID_ID,
        "org_unit": OrgUnit.objects.get(code="CG").pk,
        "contacts": [{"name": "王芳", "mobile": "13912345678"}],
        **change,
    }


def test_create_and_read_customer_masked(api) -> None:
    client = api("cg_rep")
    created = client.post("/api/customers/customers/", _customer_payload(), format="json")
    assert created.status_code == 201, created.content
    assert created.data["id_number"] == "1101**********002X"
    assert created.data["contacts"][0]["mobile"] == "139****5678"
    detail = client.get(f"/api/customers/customers/{created.data['id']}/")
    assert VALID_ID not in detail.content.decode() and "13912345678" not in detail.content.decode()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id_number": "110105194912310021"}, "id_number"),
        ({"id_type": "credit_code", "kind": "organisation", "id_number": "91350100M000100Y44"}, "id_number"),
        ({"contacts": [{"name": "王芳", "mobile": "1391234567"}]}, "contact_mobile"),
        ({"kind": "alien"}, "kind"),
    ],
)
def test_bad_customer_input_is_400_and_nothing_written(api, counts, change, field) -> None:
    before = counts(Customer, Contact)
    response = api("cg_rep").post("/api/customers/customers/", _customer_payload(**change), format="json")
    assert response.status_code == 400, response.content
    assert field in response.data["errors"], response.data
    assert counts(Customer, Contact) == before


def test_unmask_endpoint_needs_permission_and_writes_audit(api, make_point) -> None:
    customer = make_point("CG").account.customer
    assert (
        api("cg_rep").post(f"/api/customers/customers/{customer.pk}/unmask/", {}, format="json").status_code
        == 403
    )
    before = AuditEntry.objects.count()
    response = api("manager").post(
        f"/api/customers/customers/{customer.pk}/unmask/", {"reason": "核实"}, format="json"
    )
    assert response.status_code == 200
    assert response.data["id_number"] == VALID_ID and response.data["contacts"][0]["mobile"] == "13812345678"
    assert AuditEntry.objects.count() == before + 1
    assert AuditEntry.objects.latest("id").action == "customers.unmask"


def test_account_and_service_point_and_dated_change(api, make_point, counts) -> None:
    point = make_point("CG")
    client = api("cg_rep")
    duplicate = client.post(
        "/api/customers/accounts/",
        {
            "customer": point.account.customer_id,
            "org_unit": point.org_unit_id,
            "number": point.account.number,
        },
        format="json",
    )
    assert duplicate.status_code == 400 and "number" in duplicate.data["errors"]
    account = client.post(
        "/api/customers/accounts/",
        {"customer": point.account.customer_id, "org_unit": point.org_unit_id},
        format="json",
    )
    assert account.status_code == 201 and account.data["number"].startswith("51")
    created = client.post(
        "/api/customers/service-points/",
        {
            "account": account.data["id"],
            "address": "城关镇人民路8号",
            "voltage_level": "380V",
            "customer_class": "commercial",
            "sub_class": "商业",
            "tariff_code": "GIC-TOU",
            "capacity_kva": "50",
            "valid_from": "2026-01-01",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.data["id"]
    before = counts(TariffAssignment)
    # tariff and capacity changes are not archive work: the station's rep is refused, the metering engineer may
    refused = client.post(
        f"/api/customers/service-points/{pk}/change-capacity/",
        {"capacity_kva": "0", "valid_from": "2026-03-01"},
        format="json",
    )
    assert refused.status_code == 403 and "servicepoint.change_terms" in refused.data["detail"]
    client = api("metering")
    bad = client.post(
        f"/api/customers/service-points/{pk}/change-capacity/",
        {"capacity_kva": "0", "valid_from": "2026-03-01"},
        format="json",
    )
    assert bad.status_code == 400 and "capacity_kva" in bad.data["errors"]
    overlap = client.post(
        f"/api/customers/service-points/{pk}/change-tariff/",
        {"tariff_code": "X", "valid_from": "2026-01-01"},
        format="json",
    )
    assert overlap.status_code == 400 and "valid_from" in overlap.data["errors"]
    assert counts(TariffAssignment) == before
    changed = client.post(
        f"/api/customers/service-points/{pk}/change-tariff/",
        {"tariff_code": "GIC-FLAT", "valid_from": "2026-03-01"},
        format="json",
    )
    assert changed.status_code == 200
    assert [p["tariff_code"] for p in changed.data["tariff_periods"]] == ["GIC-TOU", "GIC-FLAT"]
    assert changed.data["tariff_periods"][0]["valid_to"] == "2026-03-01"
    dated = client.patch(f"/api/customers/service-points/{pk}/", {"tariff_code": "Y"}, format="json")
    assert dated.status_code == 400


def test_filters_and_search(api, make_point) -> None:
    make_point("CG", name="赵建华", mobile="13700001111", address="城关镇解放街18号")
    make_point(
        "CG",
        name="钱多多",
        mobile="13800002222",
        address="城关镇建设路3号",
        voltage="380V",
        customer_class="commercial",
        capacity="100",
    )
    client = api("cg_rep")
    rows = client.get("/api/customers/service-points/", {"customer_class": "commercial"}).data["results"]
    assert [r["address"] for r in rows] == ["城关镇建设路3号"]
    assert client.get("/api/customers/accounts/", {"name": "建华"}).data["count"] == 1

    def search(q: str) -> list[str]:
        response = client.get("/api/customers/search/", {"q": q})
        assert response.status_code == 200
        return [r["name"] for r in response.data]

    assert search("赵") == ["赵建华"]  # name prefix
    assert search("建华") == []  # two characters: prefix only
    assert search("赵建华") == ["赵建华"]
    assert search("13700") == ["赵建华"]  # phone prefix
    assert search("0002222") == ["钱多多"]  # phone partial
    assert search("解放街") == ["赵建华"]  # address partial
    account = Account.objects.get(name="钱多多")
    assert search(account.number) == ["钱多多"]
    assert search(account.number[-5:]) == ["钱多多"]  # 户号 partial


def test_contract_api_and_expiring(api, make_point) -> None:
    from django.utils import timezone

    today = timezone.localdate()
    point = make_point("CG", kind="organisation", voltage="380V", customer_class="commercial", capacity="100")
    client = api("cg_rep")
    created = client.post(
        "/api/customers/contracts/",
        {
            "number": "GDHT-1",
            "account": point.account_id,
            "signed_on": str(today),
            "valid_from": str(today),
            "valid_to": str(today + dt.timedelta(days=20)),
            "capacity_kva": "100",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert [c["number"] for c in client.get("/api/customers/contracts/expiring/").data["results"]] == [
        "GDHT-1"
    ]
    assert client.get("/api/customers/contracts/expiring/", {"days": "10"}).data["count"] == 0
    ended = client.post(
        f"/api/customers/contracts/{created.data['id']}/terminate/", {"reason": "销户"}, format="json"
    )
    assert ended.status_code == 200 and ended.data["status"] == "terminated"


def test_openapi_schema_lists_the_routes(api) -> None:
    schema = api("admin").get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in (
        "/api/customers/customers/{id}/unmask/",
        "/api/customers/service-points/{id}/change-capacity/",
        "/api/metering/meters/{id}/replace/",
        "/api/metering/meters/overdue/",
        "/api/customers/search/",
    ):
        assert path in schema


def test_service_point_count_unchanged_after_refusal(api, make_point, counts) -> None:
    point = make_point()
    before = counts(ServicePoint)
    response = api("cg_rep").post(
        "/api/customers/service-points/",
        {
            "account": point.account_id,
            "address": "x",
            "voltage_level": "380V",
            "customer_class": "commercial",
            "tariff_code": "G",
            "capacity_kva": "-1",
        },
        format="json",
    )
    assert response.status_code == 400 and "capacity_kva" in response.data["errors"]
    assert counts(ServicePoint) == before
