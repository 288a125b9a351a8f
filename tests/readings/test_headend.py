"""Head-end capture (采集系统接口) through the set-based capture path: the integration account, one audit row per
batch, COPY on PostgreSQL and bulk inserts on SQLite with the same results, bad input per record, replays and
idempotent retries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from gridcare.core.access import data_scope, permission_codes
from gridcare.core.models import AuditEntry
from gridcare.readings import bulk
from gridcare.readings.actions import settle
from gridcare.readings.models import HeadEndRead, MeterRead, ReadException, ReadingTask
from tests.readings.conftest import at

pytestmark = pytest.mark.django_db
URL = "/api/readings/headend/"


def _record(meter: Any, day: str, value: str, **extra: Any) -> dict[str, Any]:
    return {
        "meter": meter.asset_no,
        "register": "active_total",
        "read_at": f"{day}T00:15:00+08:00",
        "value": value,
        **extra,
    }


def test_integration_account_holds_only_the_permission_to_submit_reads(staff):
    """The demo head-end account (position headend_integration) submits reads company-wide and nothing else."""
    account = staff("headend")
    assert account.position.code == "headend_integration"
    assert permission_codes(account) == frozenset({"reading.enter"})
    assert data_scope(account) == "company"


def test_integration_account_posts_reads_but_opens_no_customer_screen(installed, api, staff):
    """Given the integration account, when it posts a batch, then the read is received and, once settled, stored
    as entered by the account; when it asks for customer data (API lists, the customer and reading screens),
    then it is refused."""
    meter = installed(station="HX")  # another station: the account's write scope is the whole company
    client = api("headend")
    answer = client.post(URL, {"records": [_record(meter, "2026-11-15", "12.5")]}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["results"][0]["status"] == "received"
    settle()
    read = MeterRead.objects.get(meter=meter)
    assert (read.source, read.entered_by_id, read.value) == ("headend", staff("headend").pk, Decimal("12.50"))
    for path in ("/api/customers/customers/", "/api/readings/reads/", "/api/metering/meters/"):
        assert client.get(path).status_code == 403, path
    browser = Client()
    browser.force_login(staff("headend"))
    for name in ("customers:customer-list", "readings:exception-list", "metering:meter-list"):
        assert browser.get(reverse(name)).status_code == 403, name


def test_one_audit_row_per_batch_with_counts_and_read_ids(installed, capture, system):
    """Given a batch of reads, when it is captured, then one audit row records it (counts, source, first and last
    read id) and no row per read — the reads themselves carry who entered them, the source and when."""
    meters = [installed() for _ in range(3)]
    before = AuditEntry.objects.count()
    results = capture([_record(m, "2026-11-15", "10") for m in meters] + [{"meter": "NOPE", "read_at": "x"}])
    assert [r["status"] for r in results] == ["accepted"] * 3 + ["rejected"]
    entries = list(AuditEntry.objects.order_by("id")[before:])
    assert [e.action for e in entries] == ["readings.capture"]
    ids = sorted(r["read"] for r in results[:3])
    assert entries[0].object_id == "headend"
    assert entries[0].after == {
        "records": 4,
        "records_accepted": 3,
        "records_rejected": 1,
        "first_read": ids[0],
        "last_read": ids[-1],
    }
    reads = MeterRead.objects.filter(pk__in=ids)
    assert {(r.source, r.entered_by_id) for r in reads} == {("headend", system.pk)}
    assert all(r.created_at is not None for r in reads)


def test_copy_on_postgresql_and_bulk_insert_on_sqlite_store_the_same(
    installed, route_for, capture, system, monkeypatch
):
    """The same batch stores the same rows on either database: consumption, multiplier, status, the period's task
    (moved to validated or exception), the VEE exception. PostgreSQL takes the COPY path (ids from the sequence,
    which the ORM then continues), SQLite bulk inserts."""
    copied: list[str] = []
    real_copy = bulk.copy_rows

    def spy(model: Any, fields: Any, rows: Any) -> int:
        copied.append(model._meta.model_name)
        return real_copy(model, fields, rows)

    monkeypatch.setattr(bulk, "copy_rows", spy)
    from gridcare.readings.actions import do_generate_plan

    plain = installed(initial={"active_total": "100"})
    ct = installed(initial={"active_total": "50"}, ct_ratio=20)
    route_for(plain, ct)
    do_generate_plan(system, period="2026-11")
    results = capture([_record(plain, "2026-11-15", "180.5"), _record(ct, "2026-11-15", "40")])
    assert [r["status"] for r in results] == ["accepted", "accepted"]
    first, second = (MeterRead.objects.get(pk=r["read"]) for r in results)
    assert (first.quantity, first.multiplier, first.status, first.period) == (
        Decimal("80.500"),
        1,
        "valid",
        "2026-11",
    )
    assert first.task is not None and first.task.status == ReadingTask.Status.VALIDATED
    assert second.multiplier == 20 and second.status == "held"  # 40 < 50: reverse running blocks
    assert second.task is not None and second.task.status == ReadingTask.Status.EXCEPTION
    assert results[1]["exceptions"] and set(results[1]["exceptions"]) == set(
        ReadException.objects.filter(read=second).values_list("rule", flat=True)
    )
    later = MeterRead.objects.create(
        meter=plain, register="active_total", read_at=at("2026-11-20"), value=Decimal("181"), source="manual",
        service_point_id=plain.service_point_id, period="2026-11",
    )  # fmt: skip
    assert later.pk > max(first.pk, second.pk)
    if connection.vendor == "postgresql":
        assert copied == ["meterread", "readexception"]
    else:
        assert copied == []


def test_batch_with_every_kind_of_bad_input_keeps_the_good_records(installed, make_meter, api, system):
    """Given a head-end batch mixing valid reads with an unknown meter, a removed meter, a register the meter
    lacks, a future time, a non-numeric, a negative and a too-wide value, then each bad record is rejected with its
    reason and every valid one is received, then stored when settled."""
    from gridcare.metering.actions import do_remove_meter

    meter = installed(register_digits=5)
    other = installed()
    removed = installed()
    do_remove_meter(system, removed, removed_on=dt.date(2026, 10, 1), final_reads={"active_total": "5"})
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    good = _record(meter, "2026-11-15", "120.5")
    batch = [
        good,
        {**good, "meter": "NO-SUCH-METER"},
        {**good, "meter": removed.asset_no},
        {**good, "register": "reactive_total"},
        {**good, "read_at": future},
        {**good, "value": "12,5kWh"},
        {**good, "value": "-3"},
        {**good, "value": "123456"},
        _record(other, "2026-11-15", "7"),
    ]
    answer = api("headend").post(URL, {"records": batch}, format="json")
    assert answer.status_code == 200, answer.content
    results = answer.json()["results"]
    assert [r["index"] for r in results] == list(range(len(batch)))
    assert [r["status"] for r in results] == ["received"] + ["rejected"] * 7 + ["received"]
    reasons = [r["reason"] for r in results[1:8]]
    for reason, expected in zip(
        reasons,
        [
            "Unknown meter",
            "not installed",
            "no such register",
            "future",
            "not a number",
            "negative",
            "More digits",
        ],
        strict=True,
    ):
        assert expected in reason, (expected, reason)
    assert HeadEndRead.objects.count() == 2
    settle()
    assert MeterRead.objects.count() == 2


def test_records_of_the_wrong_shape_are_rejected_one_by_one(installed, api):
    meter = installed()
    good = _record(meter, "2026-11-15", "1")
    answer = api("headend").post(
        URL,
        {"records": [good, "not an object", {**good, "meter": {"x": 1}}, {"meter": meter.asset_no}]},
        format="json",
    )
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["received", "rejected", "rejected", "rejected"]
    assert (
        "object" in results[1]["reason"]
        and "meter" in results[2]["reason"]
        and "read_at" in results[3]["reason"]
    )


@pytest.mark.parametrize("body", [{}, {"records": "x"}, {"records": []}, []])
def test_a_bad_envelope_is_refused_whole(api, body):
    answer = api("headend").post(URL, body, format="json")
    assert answer.status_code == 400 and answer.json()["code"]
    assert MeterRead.objects.count() == 0 and HeadEndRead.objects.count() == 0


def test_replays_in_and_across_batches_are_duplicates_or_conflicts(installed, api):
    """Given reads already received (and settled), when a later batch repeats some with the same value and others
    with another value, then the same are duplicates (nothing written), the others conflicts queued for review,
    the stored values unchanged and held."""
    a, b = installed(), installed()
    client = api("headend")
    first = client.post(
        URL, {"records": [_record(a, "2026-11-15", "10"), _record(b, "2026-11-15", "20")]}, format="json"
    )
    assert [r["status"] for r in first.json()["results"]] == ["received", "received"]
    settle()
    again = client.post(
        URL,
        {
            "records": [
                _record(a, "2026-11-15", "10"),
                _record(b, "2026-11-15", "21"),
                _record(a, "2026-11-15", "10"),
            ]
        },
        format="json",
    )
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "conflict", "duplicate"]
    assert MeterRead.objects.count() == 2
    assert MeterRead.objects.get(meter=b).value == Decimal("20.00")
    exception = ReadException.objects.get(rule="conflicting_replay")
    assert exception.proposed_value == Decimal("21.00")
    assert exception.read == MeterRead.objects.get(meter=b) and exception.read.status == "held"
    assert again.json()["results"][1]["read"] == exception.read.pk


def test_the_same_http_batch_retried_with_its_idempotency_key_runs_once(installed, api):
    """Given a batch posted with an Idempotency-Key, when the head-end retries it (say the answer was lost), then
    the first answer comes back marked as replayed, and nothing is stored or audited twice."""
    meters = [installed() for _ in range(3)]
    body = {"records": [_record(m, "2026-11-15", "5") for m in meters]}
    client = api("headend")
    first = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="he-2026-11-15-001")
    audited = AuditEntry.objects.filter(action="readings.receive").count()
    assert audited == 1
    second = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="he-2026-11-15-001")
    assert second.status_code == 200 and second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert second.content == first.content  # byte for byte: the answer was built in its stored form
    assert HeadEndRead.objects.count() == 3
    assert AuditEntry.objects.filter(action="readings.receive").count() == audited
    settle()
    assert MeterRead.objects.count() == 3
    other = client.post(
        URL, {"records": body["records"][:1]}, format="json", HTTP_IDEMPOTENCY_KEY="he-2026-11-15-001"
    )
    assert other.status_code == 409


def test_the_receipt_answer_is_built_in_the_idempotency_records_stored_form(installed, api):
    """The view builds its thousand results already as an idempotency record gives them back (plain values,
    keys in jsonb order), so the API does not round-trip them through JSON: the same as ``as_stored`` of a plain
    copy, key order included — for every kind of result (received, duplicate, conflict, rejected, no access)."""
    import json

    from gridcare.api.base import StoredForm, as_stored

    a, b = installed(), installed()
    client = api("headend")
    client.post(
        URL, {"records": [_record(a, "2026-11-15", "5"), _record(b, "2026-11-15", "7")]}, format="json"
    )
    records = [
        _record(a, "2026-11-15", "5"),  # duplicate
        _record(b, "2026-11-15", "8"),  # conflict (queued on the pending receipt)
        _record(a, "2026-11-16", "6"),  # received
        {
            "meter": "NO-SUCH-METER",
            "register": "active_total",
            "read_at": "2026-11-16T00:15:00+08:00",
            "value": "1",
        },
        {**_record(b, "2026-11-16", ""), "condition": "no_access"},
        "not an object",
    ]
    response = client.post(URL, {"records": records}, format="json", HTTP_IDEMPOTENCY_KEY="stored-form-1")
    assert response.status_code == 200
    assert type(response.data) is StoredForm
    statuses = [r["status"] for r in response.data["results"]]
    assert statuses == ["duplicate", "conflict", "received", "rejected", "no_access", "rejected"]
    assert response.data["results"][1]["exceptions"] == ["conflicting_replay"]
    plain = json.loads(json.dumps(response.data))
    assert json.dumps(as_stored(plain)) == json.dumps(response.data)  # same values, same key order


def test_an_administrator_rotates_the_integration_token(installed, staff):
    """The demo integration account has a token from the start; `gridcare rotate_token headend` issues a new one,
    the old one stops working at once, and the rotation is audited without the key."""
    from io import StringIO

    from django.core.management import call_command
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    account = staff("headend")
    old = Token.objects.get(user=account).key
    out = StringIO()
    call_command("rotate_token", "headend", stdout=out)
    new = out.getvalue().strip()
    assert new and new != old and Token.objects.get(user=account).key == new
    meter = installed()
    body = {"records": [_record(meter, "2026-11-15", "3")]}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert client.post(URL, body, format="json").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert client.post(URL, body, format="json").json()["results"][0]["status"] == "received"
    entry = AuditEntry.objects.filter(action="org.rotate_token", object_id=str(account.pk)).latest("id")
    assert entry.after == {"replaced": True} and new not in str(entry.after)


@pytest.mark.django_db(transaction=True)
def test_two_batches_with_the_same_reads_at_the_same_time(installed, system):
    """Given two head-end batches carrying the same reads, sent at the same moment (PostgreSQL: two connections
    really overlapping), then one stores each read and the other answers duplicate — no unique-key error."""
    from gridcare.readings.actions import capture_reads
    from tests.concurrency import run_together

    meters = [installed() for _ in range(5)]
    batch = [_record(m, "2026-11-15", "42") for m in meters]
    results = run_together([lambda: capture_reads(system, batch, source="headend")] * 2)
    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = sorted(tuple(r.status for r in result) for result in results)
    assert statuses == [("accepted",) * 5, ("duplicate",) * 5]
    assert MeterRead.objects.count() == 5
