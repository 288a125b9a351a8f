"""Every refusal of the API answers in one shape, ``{"code", "detail"}``, whoever raises it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient


@pytest.mark.django_db
def test_drf_refusals_carry_a_code_like_business_errors(api) -> None:  # type: ignore[no-untyped-def]
    anonymous = APIClient().get("/api/service/orders/")
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated" and anonymous.json()["detail"]

    missing = api("admin").get("/api/org/units/999999/")
    assert missing.status_code == 404 and missing.json()["code"] and missing.json()["detail"]

    wrong_method = api("admin").delete("/api/org/units/1/")
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"
