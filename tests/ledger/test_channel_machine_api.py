"""The machine API (:mod:`gridcare.api.machine`): the channel routes served through ``gridcare.wsgi`` by their
own lean handler answer exactly as the whole API does — token, permission, idempotency, refusals, headers — and
nothing else is routed there."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import get_resolver
from rest_framework.authtoken.models import Token

from gridcare.api.machine import URLCONF, machine_prefixes
from gridcare.core.models import AuditEntry, IdempotencyRecord
from gridcare.ledger.models import Payment
from gridcare.wsgi import application

pytestmark = pytest.mark.django_db

URL = "/api/ledger/channel/payments/"


def call(
    method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None, query: str = ""
) -> tuple[int, dict[str, str], bytes]:
    """One request through the production WSGI application: status, headers, body."""
    raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "testserver",
        "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(raw),
        "wsgi.errors": sys.stderr, "CONTENT_LENGTH": str(len(raw)), "CONTENT_TYPE": "application/json",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "testserver",
    }  # fmt: skip
    for name, value in (headers or {}).items():
        environ[f"HTTP_{name.upper().replace('-', '_')}"] = value
    started: list[Any] = []
    # as Django's test client: the request's start and end must not close the test's connection (its transaction)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        answer = application(environ, lambda status, pairs, exc=None: started.append((status, pairs)))
        content = b"".join(answer)
        answer.close()  # type: ignore[attr-defined]  # (what a server does: the request's end)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    status, pairs = started[0]
    return int(status.split()[0]), dict(pairs), content


@pytest.fixture
def bank(channel) -> dict[str, str]:
    return {"Authorization": f"Token {Token.objects.get_or_create(user=channel.user)[0].key}"}


def test_only_the_channel_routes_are_machine_routes() -> None:
    assert machine_prefixes() == ("/api/ledger/channel/",)
    names = {p.name for p in get_resolver(URLCONF).url_patterns[0].url_patterns}
    assert names == {"ledger-channel-arrears", "ledger-channel-payments"}


def test_a_post_through_the_machine_handler_is_taken_once_and_replayed(account, release, bank) -> None:
    acc = account()
    release(acc, "30.00")
    body = {"account": acc.number, "amount": "45.00", "transaction_id": "M-1"}
    status, headers, content = call("POST", URL, body=body, headers={**bank, "Idempotency-Key": "m1"})
    assert status == 201, content
    answer = json.loads(content)
    assert (answer["applied"], answer["prepayment"], answer["transaction_id"]) == ("30.00", "15.00", "M-1")
    assert headers["X-Request-ID"] and headers["Content-Language"] == "zh-hans"
    assert headers["X-Content-Type-Options"] == "nosniff"  # (the security middleware)
    assert headers["Content-Length"] == str(
        len(content)
    )  # (no chunked answer: the client keeps its connection)
    taken = AuditEntry.objects.get(action="ledger.take_payment")
    assert taken.request_id == headers["X-Request-ID"]  # the audit row names the request
    again = call("POST", URL, body=body, headers={**bank, "Idempotency-Key": "m1"})
    assert again[0] == 201 and again[2] == content and again[1]["Idempotent-Replayed"] == "true"
    other = call("POST", URL, body={**body, "amount": "46.00"}, headers={**bank, "Idempotency-Key": "m1"})
    assert other[0] == 409
    assert Payment.objects.count() == 1 and IdempotencyRecord.objects.count() == 1
    status, _, content = call(
        "GET", "/api/ledger/channel/arrears/", query=f"account={acc.number}", headers=bank
    )
    assert status == 200 and json.loads(content)["account"] == acc.number


def test_refusals_are_the_apis_and_write_nothing(account, bank, client, staff) -> None:
    acc = account()
    body = {"account": acc.number, "amount": "5.00", "transaction_id": "M-2"}
    assert call("POST", URL, body=body, headers={"Idempotency-Key": "n1"})[0] == 401  # no token
    client.force_login(staff("billing"))  # a browser session means nothing to a machine route
    cookie = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
    assert call("POST", URL, body=body, headers={"Idempotency-Key": "n2", "Cookie": cookie})[0] == 401
    status, _, content = call("POST", URL, body=body, headers={**bank})
    assert status == 400 and "Idempotency-Key" in json.loads(content)["errors"]
    status, _, content = call("POST", URL, body=b"{not json", headers={**bank, "Idempotency-Key": "n3"})
    assert status == 400 and json.loads(content)["code"]
    status, _, content = call(
        "POST", URL, body={**body, "amount": "5.001"}, headers={**bank, "Idempotency-Key": "n4"}
    )
    assert status == 400 and "amount" in json.loads(content)["errors"]
    status, _, _ = call("GET", "/api/ledger/channel/arrears/", query="account=%00x", headers=bank)
    assert status == 400  # the text rule on the query string
    assert call("GET", "/api/ledger/channel/nothing-here/", headers=bank)[0] == 404
    assert not Payment.objects.exists() and not IdempotencyRecord.objects.exists()


def test_other_routes_keep_the_whole_application(bank) -> None:
    status, headers, _ = call("GET", "/api/ledger/payments/", headers=bank)
    assert status == 403  # the channel account may not list payments: the whole API's permission answer
    assert "Content-Security-Policy" in headers or "Content-Security-Policy-Report-Only" in headers
