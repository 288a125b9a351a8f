"""Issue #9, defect 7: a tariff definition is refused unless its numbers are in bounds and its text is text.

One validation function (:func:`gridcare.engine.tariff.parse_tariff`) serves the API, the UI and files; these
tests go through the API (nothing stored) and through the engine (files and the CLI load through it).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from gridcare.engine.tariff import TariffError, list_shipped_tariffs, load_shipped_tariff, parse_tariff
from gridcare.tariffs.demo import shipped_documents
from gridcare.tariffs.models import Tariff, TariffVersion

DOCS = {doc["code"]: doc for doc in shipped_documents()}
TIERED = "CN-ZJ-RES-TIERED"


def tiered(**tier0: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOCS[TIERED])
    doc["versions"][-1]["components"][0]["tiers"][0].update(tier0)
    return doc


def flat(price: Any, **extra: Any) -> dict[str, Any]:
    return {
        "code": "T-FLAT",
        "name": "flat",
        "versions": [
            {"valid_from": "2025-01-01", "components": [{"kind": "energy_flat", "price": price, **extra}]}
        ],
    }


@pytest.mark.parametrize("price", ["-0.5", "-999999", -0.5, 1e30, "1e30", "101", 100.5, "0.1234567", "NaN"])
def test_out_of_bounds_tier_price_is_refused_by_the_api_and_nothing_is_stored(api, price: Any) -> None:
    # given a billing accountant importing the shipped tiered tariff with a tier price out of bounds
    client = api("billing")
    # when the definition is posted
    response = client.post("/api/tariffs/", {"kind": "cn", "definition": tiered(price=price)}, format="json")
    # then 400 naming the definition, and no tariff is stored (a quote can no longer bill −500 元)
    assert response.status_code == 400, response.content
    assert "definition" in response.json()["errors"]
    assert Tariff.objects.count() == 0 and TariffVersion.objects.count() == 0


def test_the_same_tariff_in_bounds_is_stored(api) -> None:
    response = api("billing").post(
        "/api/tariffs/", {"kind": "cn", "definition": tiered(price="0.538")}, format="json"
    )
    assert response.status_code == 201, response.content
    assert Tariff.objects.count() == 1


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        (flat("-0.01"), "price"),
        (flat(100.000001), "price"),
        (flat("0.5", label="\x00x"), "label"),
        (flat("0.5", label="\ud800"), "label"),
        (flat("0.5", label="\u200b\u200b"), "label"),
        (flat("0.5", label="a\x1bb"), "label"),
        ({**flat("0.5"), "name": "\ufeff"}, "name"),
        (
            {
                **flat("0.5"),
                "versions": [
                    {"valid_from": "0369-01-01", "components": [{"kind": "energy_flat", "price": "0.5"}]}
                ],
            },
            "valid_from",
        ),
        (
            {
                **flat("0.5"),
                "versions": [
                    {"valid_from": "2025-02-30", "components": [{"kind": "energy_flat", "price": "0.5"}]}
                ],
            },
            "valid_from",
        ),
    ],
)
def test_engine_refuses_out_of_bounds_numbers_bad_text_and_dates(doc: dict[str, Any], where: str) -> None:
    with pytest.raises(TariffError) as refused:
        parse_tariff(doc)
    assert where in str(refused.value)


def test_thresholds_must_increase() -> None:
    doc = tiered(upto=5000)  # above the second tier's 4800
    with pytest.raises(TariffError, match="thresholds must increase"):
        parse_tariff(doc)


def test_tou_schedule_must_cover_every_month_and_day_type() -> None:
    doc = copy.deepcopy(next(d for d in DOCS.values() if any("tou" in v for v in d["versions"])))
    version = next(v for v in doc["versions"] if "tou" in v)
    version["tou"]["rules"] = version["tou"]["rules"][:1]
    version["tou"]["rules"][0]["months"] = [1]
    with pytest.raises(TariffError, match="no rule covers"):
        parse_tariff(doc)


def test_credits_only_where_the_component_says_so() -> None:
    credit = {"kind": "fixed", "price": "-5", "per": "month", "credit": True}
    doc = flat("0.5")
    doc["versions"][0]["components"].append(credit)
    assert parse_tariff(doc).versions[0].components[-1].price == -5_000_000
    credit["credit"] = False
    with pytest.raises(TariffError, match="must not be negative"):
        parse_tariff(doc)
    credit.update(credit=True, price="5")
    with pytest.raises(TariffError, match="credit is negative"):
        parse_tariff(doc)


def test_every_shipped_tariff_is_within_the_bounds() -> None:
    for name in list_shipped_tariffs():
        load_shipped_tariff(name)


def test_nul_in_a_component_label_is_a_400_not_a_server_error(api) -> None:
    # given the repro of defect 9: a NUL / lone surrogate in a component label (PostgreSQL: DataError)
    for label in ("a\x00b", "\ud800"):
        doc = flat("0.5", label=label)
        body = json.dumps({"kind": "cn", "definition": doc})  # ASCII: the surrogate travels as \\ud800
        response = api("billing").post("/api/tariffs/", body, content_type="application/json")
        assert response.status_code == 400, response.content
        assert any("label" in field for field in response.json()["errors"])
    assert Tariff.objects.count() == 0
