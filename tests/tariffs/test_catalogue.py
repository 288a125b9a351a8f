"""The tariff catalogue in the application: import, versions, trial calculation, basic-charge comparison."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile

from gridcare.core.errors import InvalidInput, PermissionRefused
from gridcare.core.models import AuditEntry
from gridcare.engine.rating import Usage
from gridcare.tariffs import actions, selectors
from gridcare.tariffs.demo import shipped_documents
from gridcare.tariffs.models import Tariff, TariffVersion

DOCS = {doc["code"]: doc for doc in shipped_documents()}
TWO_PART = next(code for code, doc in DOCS.items() if "2PART" in code)
URDB_DIR = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "urdb"


@pytest.fixture
def catalogue(staff):
    billing = staff("billing")
    return {code: actions.do_import_tariff(billing, doc) for code, doc in DOCS.items()}


def test_every_shipped_tariff_imports_with_its_versions(catalogue) -> None:
    assert set(Tariff.objects.values_list("code", flat=True)) == set(DOCS)
    for code, doc in DOCS.items():
        assert catalogue[code].versions.count() == len(doc["versions"])
    assert AuditEntry.objects.filter(action="tariffs.import_tariff").count() == len(DOCS)


def test_import_refused_without_permission(staff) -> None:
    with pytest.raises(PermissionRefused):
        actions.do_import_tariff(staff("cs_rep"), DOCS[TWO_PART])


def test_broken_definition_is_refused_and_nothing_written(staff) -> None:
    broken = copy.deepcopy(DOCS[TWO_PART])
    del broken["versions"][0]["components"][1]["prices"]
    with pytest.raises(InvalidInput) as refused:
        actions.do_import_tariff(staff("billing"), broken)
    assert "definition" in refused.value.errors
    assert Tariff.objects.count() == 0 and TariffVersion.objects.count() == 0


def test_duplicate_code_refused(catalogue, staff) -> None:
    with pytest.raises(InvalidInput) as refused:
        actions.do_import_tariff(staff("billing"), DOCS[TWO_PART])
    assert "code" in refused.value.errors


def test_new_version_closes_the_open_one_and_a_period_across_it_is_split(catalogue, staff) -> None:
    tariff = catalogue[TWO_PART]
    current = tariff.versions.get(valid_to__isnull=True)
    new_body = copy.deepcopy(current.body)
    for component in new_body["components"]:
        if component["kind"] == "energy_tou":
            component["prices"] = {
                k: str(Decimal(v) + Decimal("0.01")) for k, v in component["prices"].items()
            }
    actions.do_add_tariff_version(staff("billing"), tariff, {**new_body, "valid_from": "2026-11-16"})
    current.refresh_from_db()
    assert current.valid_to.isoformat() == "2026-11-16"
    bill = selectors.quote(
        tariff,
        Usage(
            period_start=__import__("datetime").date(2026, 11, 1),
            period_end=__import__("datetime").date(2026, 12, 1),
            energy_kwh={"peak": 3000, "flat": 3000, "valley": 3000},
            reactive_kvarh=2000,
            capacity_kva=500,
            contracted_demand_kw=300,
            max_demand_kw=280,
            basic_basis="capacity",
        ),
    )
    assert len(bill.parts) == 2
    assert {line.version_from.isoformat() for line in bill.lines if line.version_from} >= {"2026-11-16"}


def test_overlapping_version_refused(catalogue, staff) -> None:
    tariff = catalogue[TWO_PART]
    body = tariff.versions.first().body
    before = TariffVersion.objects.count()
    with pytest.raises(InvalidInput):
        actions.do_add_tariff_version(
            staff("billing"), tariff, {**body, "valid_from": "2020-01-01", "valid_to": "2030-01-01"}
        )
    assert TariffVersion.objects.count() == before


def test_quote_api_itemises_the_bill(api, catalogue) -> None:
    tariff = catalogue[TWO_PART]
    response = api("cs_rep").post(
        f"/api/tariffs/{tariff.pk}/quote/",
        {
            "period_start": "2026-03-01",
            "period_end": "2026-04-01",
            "energy_kwh": {"peak": "10000", "flat": "20000", "valley": "15000"},
            "reactive_kvarh": "20000",
            "capacity_kva": "1000",
            "contracted_demand_kw": "600",
            "max_demand_kw": "650",
            "basic_basis": "demand",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    data = response.json()
    total = sum(Decimal(line["amount"]) for line in data["lines"])
    assert Decimal(data["total"]) == total
    codes = [line["code"] for line in data["lines"]]
    assert any(code.startswith("basic") for code in codes)
    assert any(code.startswith("fund:") for code in codes)
    assert data["power_factor"] is not None


def test_quote_api_bad_input(api, catalogue) -> None:
    tariff = catalogue[TWO_PART]
    response = api("cs_rep").post(
        f"/api/tariffs/{tariff.pk}/quote/",
        {"period_start": "2026-03-01", "period_end": "2026-02-01", "energy_kwh": {"peak": "-5"}},
        format="json",
    )
    assert response.status_code == 400
    assert {"period_end", "energy_kwh"} & set(response.data["errors"])


def test_basic_charge_comparison_names_the_cheaper(catalogue) -> None:
    """A plant with 1000 kVA but a low peak (max 300 kW): demand-based is cheaper.

    By capacity: 1000 kVA × 23 元 = 23,000 元/month. By demand: contracted 400 kW (≥ 40 % of 1000), demand 300 kW
    is billed at the contracted floor? — the engine bills max(demand, 40 % of capacity) = 400 kW × 32 = 12,800 元.
    """
    result = selectors.compare_basic_charge(
        catalogue[TWO_PART],
        capacity_kva=Decimal("1000"),
        contracted_demand_kw=Decimal("400"),
        max_demand_kw=[Decimal("300")] * 12,
        year=2026,
    )
    assert result.cheaper == "demand"
    assert result.capacity_total == Decimal("276000.00")
    assert result.saving == result.capacity_total - result.demand_total
    assert all(m["capacity"] == Decimal("23000.00") for m in result.months)


def test_comparison_needs_twelve_months(api, catalogue) -> None:
    response = api("key_account").post(
        f"/api/tariffs/{catalogue[TWO_PART].pk}/compare-basic/",
        {"year": 2026, "capacity_kva": "1000", "contracted_demand_kw": "400", "max_demand_kw": ["300"] * 11},
        format="json",
    )
    assert response.status_code == 400
    assert "max_demand_kw" in response.data["errors"]


def test_urdb_import_and_broken_refused(staff) -> None:
    good = json.loads(next(URDB_DIR.glob("reoptjl_tiered_energy_demand.json")).read_text())
    tariff = actions.do_import_urdb_tariff(staff("billing"), good, code="URDB-TIERED")
    assert tariff.kind == Tariff.Kind.URDB
    for broken_path in URDB_DIR.glob("*_BROKEN.json"):
        with pytest.raises(InvalidInput) as refused:
            actions.do_import_urdb_tariff(
                staff("billing"), json.loads(broken_path.read_text()), code=broken_path.stem
            )
        assert refused.value.errors["definition"][0]
    assert Tariff.objects.filter(kind="urdb").count() == 1


def test_screens(client, staff, catalogue) -> None:
    client.force_login(staff("cs_rep"))
    assert client.get("/tariffs/").status_code == 200
    tariff = catalogue[TWO_PART]
    assert client.get(tariff.get_absolute_url()).status_code == 200
    page = client.get(
        f"/tariffs/{tariff.pk}/quote/",
        {
            "period_start": "2026-03-01",
            "period_end": "2026-04-01",
            "peak_kwh": "1000",
            "flat_kwh": "2000",
            "capacity_kva": "1000",
            "contracted_demand_kw": "500",
            "max_demand_kw": "450",
            "basic_basis": "capacity",
        },
    )
    assert page.status_code == 400
    assert "reactive_kvarh" in str(page.context["form"].errors)
    page = client.get(
        f"/tariffs/{tariff.pk}/quote/",
        {
            "period_start": "2026-03-01",
            "period_end": "2026-04-01",
            "peak_kwh": "1000",
            "flat_kwh": "2000",
            "reactive_kvarh": "900",
            "capacity_kva": "1000",
            "contracted_demand_kw": "500",
            "max_demand_kw": "450",
            "basic_basis": "capacity",
        },
    )
    assert page.status_code == 200
    assert page.context["bill"].total > 0
    assert "bill-total" in page.content.decode()
    page = client.get(
        f"/tariffs/{tariff.pk}/quote/", {"period_start": "2026-03-01", "period_end": "2026-02-01"}
    )
    assert page.status_code == 400
    page = client.get(
        f"/tariffs/{tariff.pk}/compare-basic/",
        {"year": "2026", "capacity_kva": "1000", "contracted_demand_kw": "400", "max_demand_kw": "300 " * 12},
    )
    assert page.context["comparison"].cheaper == "demand"
    page = client.get(
        f"/tariffs/{tariff.pk}/compare-basic/",
        {"year": "2026", "capacity_kva": "1000", "contracted_demand_kw": "400", "max_demand_kw": "300, abc"},
    )
    assert page.status_code == 400


def test_upload_screen(client, staff) -> None:
    client.force_login(staff("billing"))
    body = yaml.safe_dump(DOCS[TWO_PART], allow_unicode=True).encode()
    response = client.post("/tariffs/upload/", {"kind": "cn", "file": SimpleUploadedFile("t.yaml", body)})
    assert response.status_code == 302
    response = client.post(
        "/tariffs/upload/", {"kind": "cn", "file": SimpleUploadedFile("t.yaml", b"- not a mapping")}
    )
    assert response.status_code == 400
    assert Tariff.objects.count() == 1
