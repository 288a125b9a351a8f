"""The readings API: head-end batches with a result per record, idempotency, scope, decisions."""

from __future__ import annotations

import pytest

from gridcare.readings.actions import do_generate_plan, settle
from gridcare.readings.models import MeterRead, ReadException, ReadingTask

pytestmark = pytest.mark.django_db

URL = "/api/readings/headend/"


def test_headend_batch_answers_per_record(installed, api):
    """The head-end integration signs in as a company-wide account holding reading.enter (here: system).
    Given a batch with a good read, an unknown meter, a bad value and a replay, then the answer holds one
    result per record (received / rejected with the reason / duplicate) and, once settled, only the good read is
    stored."""
    meter = installed()
    good = {
        "meter": meter.asset_no,
        "register": "active_total",
        "read_at": "2026-11-15T10:00:00+08:00",
        "value": "88.5",
    }
    response = api("system").post(
        URL,
        {
            "records": [
                good,
                {**good, "meter": "NOPE"},
                {**good, "value": "x"},
                good,
                {"value": ["not", "text"]},
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["received", "rejected", "rejected", "duplicate", "rejected"]
    assert "Unknown meter" in results[1]["reason"] and "not a number" in results[2]["reason"]
    assert "read_at" in results[4]["reason"]
    settle()
    assert MeterRead.objects.count() == 1
    again = api("system").post(URL, {"records": [{**good, "value": "90"}]}, format="json").json()
    assert again["results"][0]["status"] == "conflict"
    assert MeterRead.objects.get().value == 88.5


def test_headend_idempotency_key_replays_the_first_answer(installed, api):
    meter = installed()
    body = {
        "records": [
            {
                "meter": meter.asset_no,
                "register": "active_total",
                "read_at": "2026-11-15T10:00:00+08:00",
                "value": "1",
            }
        ]
    }
    client = api("system")
    first = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    second = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    assert first.json() == second.json() and second["Idempotent-Replayed"] == "true"
    settle()
    assert MeterRead.objects.count() == 1


def test_headend_needs_the_permission_and_refuses_an_empty_batch(api):
    assert api("cs_rep").post(URL, {"records": []}, format="json").status_code == 403
    response = api("system").post(URL, {"records": []}, format="json")
    assert response.status_code == 400
    assert MeterRead.objects.count() == 0


def test_reader_lists_own_tasks_and_cannot_see_others(installed, route_for, api, system):
    mine, theirs = installed(), installed()
    route_for(mine)
    route_for(theirs, reader="reader")
    do_generate_plan(system, period="2026-11")
    listed = api("cg_reader").get("/api/readings/tasks/?period=2026-11").json()["results"]
    assert [t["meter"] for t in listed] == [mine.pk]
    other = ReadingTask.objects.get(meter=theirs)
    assert api("cg_reader").get(f"/api/readings/tasks/{other.pk}/").status_code == 404


def test_route_plan_and_exception_decision_through_the_api(installed, route_for, api, capture):
    meter = installed(initial={"active_total": "500"})
    route = route_for(meter)
    manager = api("manager")
    planned = manager.post("/api/readings/routes/plan/", {"period": "2026-11"}, format="json")
    assert planned.status_code == 200 and planned.json()["created"] == 1
    assert manager.post("/api/readings/routes/plan/", {"period": "nope"}, format="json").status_code == 400
    capture(
        [
            {
                "meter": meter.asset_no,
                "register": "active_total",
                "read_at": "2026-11-15T10:00:00+08:00",
                "value": "400",
            }
        ]
    )
    exception = ReadException.objects.get(rule="reverse_running")
    queue = manager.get(f"/api/readings/exceptions/?route={route.pk}&status=open").json()["results"]
    assert [e["id"] for e in queue] == [exception.pk]
    assert (
        manager.post(f"/api/readings/exceptions/{exception.pk}/accept/", {}, format="json").status_code == 400
    )
    decided = manager.post(
        f"/api/readings/exceptions/{exception.pk}/accept/", {"reason": "现场核实"}, format="json"
    )
    assert decided.status_code == 200 and decided.json()["status"] == "accepted"
    account = meter.service_point.account_id
    found = manager.get("/api/readings/reads/determinants/?period=2026-11").json()["results"]
    assert [d["account"] for d in found] == [account]
    # 倒走 accepted is a zero-consumption baseline (never a negative quantity for billing), see docs/readings.md
    assert found[0]["registers"]["active_total"]["quantity"] == "0.000"
