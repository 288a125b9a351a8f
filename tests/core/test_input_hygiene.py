"""Issue #9, defects 7 and 9: input is bounded and clean everywhere, and no input makes a server error.

The text rule lives in one place (:func:`gridcare.engine.text.text_problem`); the API's JSON parser applies it
to every string of every body (and bounds size and depth), the middleware to every query string and UI form.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import override_settings

from gridcare.core.models import CalendarOverride
from gridcare.engine.text import text_problem

OVERRIDES = "/api/calendar/overrides/"


def post_raw(client, path: str, body: str):  # type: ignore[no-untyped-def]
    # json.dumps escapes to ASCII: a lone surrogate travels as \ud800, as an attacker would send it
    return client.post(path, body, content_type="application/json")


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("复电 (reconnection)", True),
        ("line one\nline two\tend", True),
        ("", True),
        ("a\x00b", False),
        ("\ud800", False),
        ("bell\x07", False),
        ("esc\x1b[31m", False),
        ("\x85", False),
        ("\u200b\u200c\u200d", False),
        ("\ufeff", False),
        ("\xa0\xa0", False),
        ("\u3164", False),
    ],
)
def test_the_text_rule(value: str, accepted: bool) -> None:
    assert (text_problem(value) is None) is accepted


@pytest.mark.parametrize("reason", ["a\x00b", "\ud800", "x\x1by", "\u200b", "\ufeff\xa0"])
def test_bad_text_in_a_json_body_is_400_naming_the_field_and_nothing_is_written(api, reason: str) -> None:
    # given a calendar maintainer and an override whose reason is not text
    body = json.dumps({"day": "2026-12-01", "is_working_day": False, "reason": reason})
    # when it is posted
    response = post_raw(api("admin"), OVERRIDES, body)
    # then 400 naming "reason", and no override exists
    assert response.status_code == 400, response.content
    assert "reason" in response.json()["errors"]
    assert CalendarOverride.objects.count() == 0


def test_bad_text_nested_in_a_body_names_its_path(api) -> None:
    body = json.dumps(
        {"day": "2026-12-01", "is_working_day": False, "reason": "ok", "extra": [{"k": "\x00"}]}
    )
    response = post_raw(api("admin"), OVERRIDES, body)
    assert response.status_code == 400
    assert "extra.0.k" in response.json()["errors"]
    assert CalendarOverride.objects.count() == 0


def test_json_nested_5000_levels_is_400_not_a_recursion_error(api) -> None:
    # given the repro: a body nested 5,000 levels deep
    body = "[" * 5000 + "]" * 5000
    response = post_raw(api("admin"), OVERRIDES, body)
    assert response.status_code == 400
    assert CalendarOverride.objects.count() == 0
    # and just past the cap (65 levels) is refused too, while 10 levels parse
    deep = json.dumps(
        {"day": "2026-12-01", "is_working_day": False, "reason": "x", "n": [[[[[[[[[[1]]]]]]]]]]}
    )
    assert post_raw(api("admin"), OVERRIDES, deep).status_code == 201
    assert post_raw(api("admin"), OVERRIDES, "[" * 66 + "]" * 66).status_code == 400


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_over_the_size_limit_is_413(api) -> None:
    body = json.dumps({"day": "2026-12-01", "is_working_day": False, "reason": "x" * 2000})
    response = post_raw(api("admin"), OVERRIDES, body)
    assert response.status_code == 413
    assert CalendarOverride.objects.count() == 0


def test_nan_and_malformed_json_are_400(api) -> None:
    for body in ('{"day": "2026-12-01", "is_working_day": false, "reason": NaN}', '{"day": ', "\xff"):
        assert post_raw(api("admin"), OVERRIDES, body).status_code == 400


def test_bad_text_in_a_query_string_is_400(api) -> None:
    response = api("cs_rep").get("/api/service/orders/", {"title": "a\x00b"})
    assert response.status_code == 400
    assert "title" in response.json()["errors"]


def test_bad_text_in_a_ui_form_is_refused_and_nothing_is_written(client, staff) -> None:
    client.force_login(staff("admin"))
    response = client.post(
        "/calendar/override/", {"day": "2026-12-01", "is_working_day": "on", "reason": "\u200b\u200b"}
    )
    assert response.status_code == 400
    assert "reason" in response.content.decode()
    assert CalendarOverride.objects.count() == 0


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/customers/contracts/expiring/?days=99999999999", "days"),
        ("/api/customers/contracts/expiring/?days=-1", "days"),
        ("/api/customers/contracts/?expiring_within=99999999999", "expiring_within"),
        ("/api/customers/contracts/?expiring_within=1.5", "expiring_within"),
    ],
)
def test_huge_day_counts_are_400_naming_the_field_not_an_overflow(api, path: str, field: str) -> None:
    response = api("cs_rep").get(path)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_expiring_contracts_within_bounds_still_answer(api) -> None:
    assert api("cs_rep").get("/api/customers/contracts/expiring/?days=3660").status_code == 200
    assert api("cs_rep").get("/api/customers/contracts/?expiring_within=30").status_code == 200


def test_deadline_refuses_year_0369_and_answers_in_shanghai_time(api) -> None:
    client = api("cs_rep")
    old = client.post(
        OVERRIDES + "deadline/", {"start": "0369-01-01T00:00:00Z", "working_days": 3}, format="json"
    )
    assert old.status_code == 400
    assert "start" in old.json()["errors"]
    ok = client.post(
        OVERRIDES + "deadline/", {"start": "2026-03-02T09:00:00+08:00", "working_days": 3}, format="json"
    )
    assert ok.status_code == 200
    assert ok.json()["deadline"].endswith("+08:00")


def test_day_check_declared_shape_and_year_range(api) -> None:
    client = api("cs_rep")
    assert set(client.get(OVERRIDES + "day/", {"date": "2026-10-10"}).json()) == {"date", "is_working_day"}
    too_old = client.get(OVERRIDES + "day/", {"date": "0369-01-01"})
    assert too_old.status_code == 400 and "date" in too_old.json()["errors"]
    assert client.get(OVERRIDES + "day/").status_code == 400


def test_a_non_numeric_id_is_404_not_another_route(api) -> None:
    assert api("cs_rep").get(OVERRIDES + "abc/").status_code == 404


def test_schema_declares_what_the_api_answers(api) -> None:
    schema = api("admin").get("/api/schema/?format=json").json()
    operations = [op for ops in schema["paths"].values() for op in ops.values() if isinstance(op, dict)]
    # every operation declares the common errors
    assert all({"400", "401", "403", "404"} <= set(op["responses"]) for op in operations)
    components = schema["components"]["schemas"]
    # read-only enums that may be "" say so (sub_type and cause of a work order, area_class of an SLA policy)
    order = components["WorkOrder"]["properties"]
    for name in ("sub_type", "cause"):
        assert "BlankEnum" in json.dumps(order[name]), name
    assert "BlankEnum" not in json.dumps(order["area_class"])  # never blank on an order
    policies = [c for c in components.values() if {"milestone", "area_class"} <= set(c.get("properties", {}))]
    assert policies and all("BlankEnum" in json.dumps(c["properties"]["area_class"]) for c in policies)
    # the history and the day check answer their own shapes
    history = schema["paths"]["/api/service/orders/{id}/history/"]["get"]["responses"]["200"]
    assert "History" in json.dumps(history)
    day = schema["paths"]["/api/calendar/overrides/day/"]["get"]["responses"]["200"]
    assert "WorkingDay" in json.dumps(day)


def test_dates_bounded_in_calendar_overrides(api) -> None:
    body = {"day": "0369-01-01", "is_working_day": False, "reason": "x"}
    assert api("admin").post(OVERRIDES, body, format="json").status_code == 400
    assert CalendarOverride.objects.count() == 0


def test_bad_text_in_an_api_form_post_is_400(api) -> None:
    for content in ("multipart", "urlencoded"):
        data = {"day": "2026-12-01", "is_working_day": "false", "reason": "\u200b"}
        client = api("admin")
        if content == "multipart":
            response = client.post(OVERRIDES, data, format="multipart")
        else:
            from urllib.parse import urlencode

            response = client.post(
                OVERRIDES, urlencode(data), content_type="application/x-www-form-urlencoded"
            )
        assert response.status_code == 400, (content, response.content)
        assert "reason" in response.json()["errors"]
    assert CalendarOverride.objects.count() == 0


def _nested(depth: int) -> Any:
    doc: Any = 1
    for _ in range(depth):
        doc = [doc]
    return doc


@pytest.mark.parametrize(
    "text",
    [
        '{"records": [{"meter": "M1", "value": "1.00"}, {"meter": "M2", "value": 2}]}',
        json.dumps({"a": {"b": _nested(66)}, "c": [{"d": _nested(70)}]}),
        json.dumps(_nested(65)),
        '{"label": "\\u0000"}',  # an escaped NUL: the full check
        '{"label": "a\x7fb"}',  # DEL is allowed raw by JSON, refused by the text rule
        '{"label": "\\u200b"}',
        '{"标签": "分时"}',
        '"plain"',
    ],
)
def test_json_fast_path_finds_exactly_what_the_full_check_finds(text: str) -> None:
    from gridcare.engine.text import iter_json_problems, iter_text_problems

    assert list(iter_json_problems(text, json.loads(text))) == list(iter_text_problems(json.loads(text)))
