"""The channel post's lane (:mod:`gridcare.api.lane`, ``ChannelPostLane``): the ASGI application
(``gridcare.asgi``) answers an ordinary channel post in the event loop, in groups served by the lane's thread, and
hands everything else to the whole WSGI application — so every answer must be the one ``gridcare.wsgi`` gives:
the same status, body, headers, records and audit rows, only faster.

Each test drives ``gridcare.asgi.application`` with a small ASGI client and knows which path answered: the lane's
``_respond`` and the whole application (``gridcare.asgi.whole.app``) are spied on, each request carrying its own
``X-Request-ID``. The lane's thread and the WSGI threads (gridcare.core.wsgi_threads) use connections of their own, so the tests that touch the
database are transactional."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connections
from django.test.utils import override_settings
from rest_framework.authtoken.models import Token

from gridcare.core.models import AuditEntry, IdempotencyRecord
from gridcare.ledger import selectors
from gridcare.ledger.models import Payment
from tests.aio import run

URL = "/api/ledger/channel/payments/"
ARREARS = "/api/ledger/channel/arrears/"

Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]
Headers = Sequence[tuple[str, str]]

#: the headers two answers of the same kind may differ in
OWN_VALUES = {"x-request-id", "content-length", "date"}

transactional = pytest.mark.django_db(transaction=True)


# ---------------------------------------------------------------------------------------------------- clients


@dataclass(frozen=True)
class Reply:
    """An answer: status, headers (names in lower case, in order), body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key == name]
        assert len(values) <= 1, f"{name} sent {len(values)} times: {self.headers}"
        return values[0] if values else None

    @property
    def names(self) -> set[str]:
        return {name for name, _ in self.headers}

    def common(self) -> dict[str, str]:
        """The headers every answer of this kind carries alike."""
        return {name: value for name, value in self.headers if name not in OWN_VALUES}

    def data(self) -> Any:
        return json.loads(self.body)


async def asgi(
    app: ASGIApp,
    method: str,
    path: str,
    *,
    headers: Headers = (),
    body: bytes = b"",
    query: str = "",
    chunks: int = 1,
    length: bool = True,
    timeout: float = 60,
    awaitables: bool = False,
) -> Reply:
    """One request through an ASGI application, as a server sends it: the body (in ``chunks`` messages), then
    nothing until the answer is complete, then ``http.disconnect``. ``length=False``: no ``Content-Length``
    (a chunked HTTP/1.1 body, or an HTTP/2 request that does not give it). ``awaitables``: ``receive`` answers
    with an awaitable that is no coroutine, as Granian's does."""
    size = max(1, -(-len(body) // chunks))
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    given = [("content-length", str(len(body)))] if body and length else []
    sent = [("host", "testserver"), *given, *headers]
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": method, "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": query.encode(), "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in sent],
        "server": ("testserver", 80), "client": ("127.0.0.1", 52000),
    }  # fmt: skip
    answered = asyncio.Event()
    started: list[Message] = []
    content: list[bytes] = []

    async def receive() -> Message:
        if parts:
            part = parts.pop(0)
            return {"type": "http.request", "body": part, "more_body": bool(parts)}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            assert not started, "the answer started twice"
            started.append(message)
        elif message["type"] == "http.response.body":
            assert started and not answered.is_set(), "a body without its start, or after its end"
            content.append(message.get("body", b""))
            if not message.get("more_body", False):
                answered.set()

    class ServerAwaitable:
        def __await__(self) -> Any:
            return receive().__await__()

    given_receive: Any = (lambda: ServerAwaitable()) if awaitables else receive
    await asyncio.wait_for(app(scope, given_receive, send), timeout)
    assert started and answered.is_set(), f"{method} {path}: no complete answer"
    return Reply(
        started[0]["status"],
        tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in started[0]["headers"]),
        b"".join(content),
    )


def wsgi(
    method: str, path: str, *, headers: Headers = (), body: bytes = b"", query: str = "", length: bool = True
) -> Reply:
    """One request through the production WSGI application (``gridcare.wsgi``), as in
    ``test_channel_machine_api``: the path the lane must not differ from (``length=False``: no
    ``CONTENT_LENGTH``, as the WSGI threads give a request without ``Content-Length``)."""
    from gridcare.wsgi import application

    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "testserver",
        "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": BytesIO(body),
        "wsgi.errors": sys.stderr, "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "testserver",
    }  # fmt: skip
    for name, value in headers:
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    if not length:
        del environ["CONTENT_LENGTH"]
    started: list[tuple[str, list[tuple[str, str]]]] = []
    answer = application(environ, lambda status, pairs, exc=None: started.append((status, pairs)))
    try:
        content = b"".join(answer)
    finally:
        getattr(answer, "close", lambda: None)()  # the request's end, as a server ends it
    status, pairs = started[0]
    return Reply(int(status.split()[0]), tuple((k.lower(), v) for k, v in pairs), content)


def post_headers(
    token: str | None, key: str | None, request_id: str, *extra: tuple[str, str]
) -> list[tuple[str, str]]:
    """An ordinary channel post's headers (``None`` leaves a header out)."""
    headers = [("content-type", "application/json"), ("x-request-id", request_id)]
    if token is not None:
        headers.append(("authorization", f"Token {token}"))
    if key is not None:
        headers.append(("idempotency-key", key))
    return headers + list(extra)


def payload(account: str, amount: str, transaction_id: str, **more: str) -> bytes:
    return json.dumps(
        {"account": account, "amount": amount, "transaction_id": transaction_id, **more}
    ).encode()


# ------------------------------------------------------------------------------------------- the application


@dataclass
class Served:
    """``gridcare.asgi.application`` and who answered what: the request ids the lane answered, and those the whole
    application was given (its path when a request had no id)."""

    app: ASGIApp
    lane: list[str] = field(default_factory=list)
    whole: list[str] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)

    def by(self, request_id: str) -> str:
        """Which path answered the request: ``lane`` or ``whole`` (anything else fails the test)."""
        where = (request_id in self.lane, request_id in self.whole)
        assert where in ((True, False), (False, True)), f"{request_id}: lane {where[0]}, whole {where[1]}"
        assert self.lane.count(request_id) + self.whole.count(request_id) == 1, f"{request_id} answered twice"
        return "lane" if where[0] else "whole"

    def call(self, method: str, path: str, **kwargs: Any) -> Reply:
        return run(asgi(self.app, method, path, **kwargs))

    def post(self, headers: Headers, body: bytes, **kwargs: Any) -> Reply:
        return self.call("POST", URL, headers=headers, body=body, **kwargs)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    import gridcare.asgi
    from gridcare.api import lane as lanes
    from gridcare.ledger import api as ledger_api

    record = Served(gridcare.asgi.application)
    respond = lanes._respond
    wsgi_app = gridcare.asgi.whole.app
    serve_posts = ledger_api._serve_posts

    async def lane_answered(send: Any, answer: Any, request: Any, *, secure: bool) -> None:
        record.lane.append(request.request_id)
        await respond(send, answer, request, secure=secure)

    def whole_given(environ: Any, start_response: Any) -> Any:
        record.whole.append(environ.get("HTTP_X_REQUEST_ID") or environ["PATH_INFO"])
        return wsgi_app(environ, start_response)

    def group_served(grouped: list[Any]) -> Any:
        if threading.current_thread().name.startswith("lane:"):
            record.groups.append(len(grouped))
        return serve_posts(grouped)

    monkeypatch.setattr(lanes, "_respond", lane_answered)
    monkeypatch.setattr(gridcare.asgi.whole, "app", whole_given)
    monkeypatch.setattr(ledger_api, "_serve_posts", group_served)
    # the lane's and the WSGI threads close their connections after each group or request (as with
    # GRIDCARE_CONN_MAX_AGE=0), so none is left open on the test database when the test ends
    monkeypatch.setitem(connections["default"].settings_dict, "CONN_MAX_AGE", 0)
    monkeypatch.setattr(selectors, "_CALLER_CHANNELS", {})  # (a channel remembered from an earlier test)
    cache.clear()  # the throttle's counts
    yield record
    cache.clear()


@pytest.fixture
def token(channel: Any) -> str:
    return str(Token.objects.get_or_create(user=channel.user)[0].key)


def nothing_posted() -> None:
    assert not Payment.objects.exists()
    assert not IdempotencyRecord.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="ledger.take").exists()


# ------------------------------------------------------------------------------------------------ the tests


@transactional
def test_a_good_post_is_taken_by_the_lane_as_the_view_takes_it(
    served: Served, account, release, token
) -> None:
    acc = account()
    release(acc, "30.00")
    reply = served.post(
        post_headers(token, "good-1", "lane-good-1"), payload(acc.number, "45.00", "L-1"), chunks=3
    )
    assert reply.status == 201, reply.body
    assert served.by("lane-good-1") == "lane"
    payment = Payment.objects.select_related("account", "channel").get()
    assert reply.data() == {
        "receipt": payment.number,
        "account": acc.number,
        "amount": "45.00",
        "applied": "30.00",
        "prepayment": "15.00",
        "transaction_id": "L-1",
        "received_at": payment.received_at.isoformat(),
    }
    assert payment.channel is not None and payment.channel.code == "TESTBANK"
    assert (payment.amount, payment.method) == (Decimal("45.00"), "channel")
    assert reply.header("x-request-id") == "lane-good-1"
    assert reply.header("content-type") == "application/json"
    assert reply.header("content-length") == str(len(reply.body))
    assert reply.header("idempotent-replayed") is None
    taken = AuditEntry.objects.get(action="ledger.take_payment")
    assert (taken.request_id, taken.object_id) == ("lane-good-1", str(payment.pk))  # the audit row names it
    record = IdempotencyRecord.objects.get()
    assert (record.key, record.status_code, record.response) == ("good-1", 201, reply.data())
    assert selectors.check() == []


@transactional
def test_a_retry_is_replayed_by_the_lane_and_either_path_replays_the_other(
    served: Served, account, release, token
) -> None:
    acc = account()
    release(acc, "30.00")
    body = payload(acc.number, "45.00", "R-1")
    first = served.post(post_headers(token, "again-1", "again-first"), body)
    assert first.status == 201 and served.by("again-first") == "lane"
    again = served.post(post_headers(token, "again-1", "again-second"), body)
    assert again.status == 201 and served.by("again-second") == "lane"
    assert again.body == first.body
    assert again.header("idempotent-replayed") == "true"
    assert again.header("x-request-id") == "again-second"
    # the lane's key is the view's key: the WSGI path replays what the lane took …
    through_wsgi = wsgi("POST", URL, headers=post_headers(token, "again-1", "again-wsgi"), body=body)
    assert (through_wsgi.status, through_wsgi.body) == (201, first.body)
    assert through_wsgi.header("idempotent-replayed") == "true"
    # … and the lane what the WSGI path took
    other = payload(acc.number, "5.00", "R-2")
    taken = wsgi("POST", URL, headers=post_headers(token, "again-2", "again-wsgi-2"), body=other)
    assert taken.status == 201, taken.body
    replayed = served.post(post_headers(token, "again-2", "again-lane-2"), other)
    assert (replayed.status, replayed.body) == (201, taken.body)
    assert replayed.header("idempotent-replayed") == "true" and served.by("again-lane-2") == "lane"
    assert Payment.objects.count() == 2 and IdempotencyRecord.objects.count() == 2
    assert AuditEntry.objects.filter(action="ledger.take_payment").count() == 2
    assert selectors.check() == []


@transactional
def test_a_key_used_for_another_body_is_the_whole_applications_409(
    served: Served, account, release, token
) -> None:
    acc = account()
    release(acc, "30.00")
    first = served.post(post_headers(token, "reused", "reused-first"), payload(acc.number, "45.00", "C-1"))
    assert first.status == 201 and served.by("reused-first") == "lane"
    other = payload(acc.number, "46.00", "C-1")
    refused = served.post(post_headers(token, "reused", "reused-other"), other)
    assert refused.status == 409, refused.body
    assert served.by("reused-other") == "whole"
    expected = wsgi("POST", URL, headers=post_headers(token, "reused", "reused-wsgi"), body=other)
    assert (refused.status, refused.body) == (expected.status, expected.body)
    assert refused.common() == expected.common()
    assert Payment.objects.count() == 1 and IdempotencyRecord.objects.count() == 1
    assert AuditEntry.objects.filter(action="ledger.take_payment").count() == 1


@transactional
def test_the_lanes_answers_carry_the_whole_applications_headers(served: Served, account, token) -> None:
    acc = account()
    lane = served.post(post_headers(token, "h-lane", "h-lane"), payload(acc.number, "5.00", "H-1"))
    through_wsgi = wsgi(
        "POST", URL, headers=post_headers(token, "h-wsgi", "h-wsgi"), body=payload(acc.number, "5.00", "H-2")
    )
    # a cookie sends the post to the whole application, inside the ASGI application (its WSGI threads)
    whole = served.post(
        post_headers(token, "h-whole", "h-whole", ("cookie", "probe=1")), payload(acc.number, "5.00", "H-3")
    )
    assert (lane.status, through_wsgi.status, whole.status) == (201, 201, 201)
    assert served.by("h-lane") == "lane" and served.by("h-whole") == "whole"
    assert lane.names == through_wsgi.names == whole.names
    assert lane.common() == through_wsgi.common() == whole.common()
    # the replays alike
    lane_again = served.post(
        post_headers(token, "h-lane", "h-lane-again"), payload(acc.number, "5.00", "H-1")
    )
    wsgi_again = wsgi(
        "POST",
        URL,
        headers=post_headers(token, "h-wsgi", "h-wsgi-again"),
        body=payload(acc.number, "5.00", "H-2"),
    )
    assert served.by("h-lane-again") == "lane"
    assert lane_again.header("idempotent-replayed") == wsgi_again.header("idempotent-replayed") == "true"
    assert lane_again.names == wsgi_again.names
    assert lane_again.common() == wsgi_again.common()
    assert Payment.objects.count() == 3


@transactional
def test_every_refusal_is_the_whole_applications_answer(
    served: Served, account, token, cashier, staff, settings
) -> None:
    acc = account()
    other = str(Token.objects.get_or_create(user=cashier())[0].key)  # may post, but is no channel
    reader = str(Token.objects.get_or_create(user=staff("billing"))[0].key)  # may not post
    good = "good"  # (the channel's own token, a key of the case's own)

    def case(
        status: int,
        name: str,
        body: bytes | None = None,
        *,
        caller: str | None = good,
        key: str | None = good,
        content_type: str = "application/json",
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        headers = post_headers(
            token if caller == good else caller, f"key-{name}" if key == good else key, name
        )
        headers = [(k, content_type if k == "content-type" else v) for k, v in headers]
        return status, name, headers, payload(acc.number, "5.00", f"T-{name}") if body is None else body

    cases = [
        case(401, "no-token", caller=None),
        case(401, "wrong-token", caller="0" * 40),
        case(400, "no-key", key=None),
        case(400, "blank-key", key="   "),
        case(400, "long-key", key="k" * 129),
        case(400, "bad-json", b"{not json"),
        case(400, "not-an-object", b"[1, 2]"),
        case(400, "zero", payload(acc.number, "0", "T-zero")),
        case(400, "negative", payload(acc.number, "-1", "T-negative")),
        case(400, "three-places", payload(acc.number, "1.234", "T-three")),
        case(400, "usd", payload(acc.number, "5.00", "T-usd", currency="USD")),
        case(400, "no-transaction", json.dumps({"account": acc.number, "amount": "5.00"}).encode()),
        case(404, "unknown-account", payload("NOPE0001", "5.00", "T-unknown")),
        case(403, "not-a-channel", caller=other),
        case(403, "may-not-post", caller=reader),
        case(415, "text-plain", content_type="text/plain"),
        case(413, "too-large", payload(acc.number, "5.00", "T-large", note="x" * 2_700_000)),
    ]
    for status, name, headers, body in cases:
        asgi_reply = served.post(headers, body)
        wsgi_reply = wsgi("POST", URL, headers=_own_id(headers), body=body)
        assert wsgi_reply.status == status, (name, wsgi_reply.body)
        assert (asgi_reply.status, asgi_reply.body) == (wsgi_reply.status, wsgi_reply.body), name
        assert asgi_reply.common() == wsgi_reply.common(), name
        assert served.by(name) == "whole", name
    # a throttled channel: the whole application's 429 (the wait it names may tick between the two)
    with override_settings(GRIDCARE_THROTTLE_RATES={**settings.GRIDCARE_THROTTLE_RATES, "channel": "0/d"}):
        _, _, headers, body = case(429, "throttled")
        asgi_reply = served.post(headers, body)
        wsgi_reply = wsgi("POST", URL, headers=_own_id(headers), body=body)
    assert asgi_reply.status == wsgi_reply.status == 429
    assert re.sub(rb"\d+", b"N", asgi_reply.body) == re.sub(rb"\d+", b"N", wsgi_reply.body)
    assert asgi_reply.names == wsgi_reply.names  # (Retry-After)
    assert served.by("throttled") == "whole"
    nothing_posted()


def _own_id(headers: Headers) -> list[tuple[str, str]]:
    """The same request with a request id of its own (for the WSGI path's twin)."""
    return [(k, f"{v}-wsgi" if k == "x-request-id" else v) for k, v in headers]


@transactional
def test_unusual_but_good_posts_are_left_to_the_whole_application_which_takes_them(
    served: Served, account, token
) -> None:
    acc = account()
    cases = [
        ("query", [], "via=test"),
        ("cookie", [("cookie", "probe=1")], ""),
        ("language-cookie", [("cookie", "django_language=en")], ""),
        ("accept-twice", [("accept", "application/json"), ("accept", "application/json")], ""),
        ("accept-any-application", [("accept", "application/*")], ""),
    ]
    for name, extra, query in cases:
        reply = served.post(
            post_headers(token, f"key-{name}", name, *extra),
            payload(acc.number, "5.00", f"U-{name}"),
            query=query,
        )
        assert reply.status == 201, (name, reply.body)
        assert served.by(name) == "whole", name
    assert Payment.objects.count() == len(cases)
    audited = AuditEntry.objects.filter(action="ledger.take_payment").values_list("request_id", flat=True)
    assert sorted(audited) == sorted(name for name, _, _ in cases)


@transactional
def test_a_body_without_content_length_is_answered_as_the_whole_application_answers_it(
    served: Served, account, token
) -> None:
    """A body without ``Content-Length`` (chunked, or HTTP/2): the whole application — Django in the WSGI threads —
    reads no body then; the lane must not answer it otherwise."""
    acc = account()
    lane = served.post(
        post_headers(token, "unsized-asgi", "unsized-asgi"), payload(acc.number, "5.00", "N-1"), length=False
    )
    whole = served.post(
        post_headers(token, "unsized-whole", "unsized-whole", ("cookie", "probe=1")),
        payload(acc.number, "5.00", "N-2"),
        length=False,
    )
    direct = wsgi(
        "POST",
        URL,
        headers=post_headers(token, "unsized-wsgi", "unsized-wsgi"),
        body=payload(acc.number, "5.00", "N-3"),
        length=False,
    )
    assert served.by("unsized-whole") == "whole"
    assert (whole.status, whole.body) == (direct.status, direct.body)
    assert (lane.status, lane.body) == (whole.status, whole.body), (
        f"answered by the {served.by('unsized-asgi')}"
    )
    assert Payment.objects.count() == [whole.status, direct.status].count(201) + (lane.status == 201)
    assert Payment.objects.filter(transaction_id="N-1").exists() == (whole.status == 201)


@transactional
def test_what_the_lane_accepts_the_whole_application_answers_alike(served: Served, account, token) -> None:
    """The lane takes any ``Accept`` naming ``application/json`` or ``*/*``; for each, its answer must be what the
    whole application answers to the same post (status and body) — the whole application's content negotiation
    refuses some of them (406) and renders others differently (``indent``)."""
    acc = account()
    differences = []
    for n, accept in enumerate(
        [
            "*/*",
            "application/json",
            "text/html, application/json;q=0.9",
            "application/json; indent=4",
            "application/json-patch+json",
            "application/jsonl",
        ]
    ):
        asked = ("accept", accept)
        lane = served.post(
            post_headers(token, f"lane-{n}", f"accept-lane-{n}", asked),
            payload(acc.number, "5.00", f"A-L{n}"),
        )
        whole = wsgi(
            "POST",
            URL,
            headers=post_headers(token, f"wsgi-{n}", f"accept-wsgi-{n}", asked),
            body=payload(acc.number, "5.00", f"A-W{n}"),
        )
        lane_shape = (lane.status, _shape(lane.body))
        whole_shape = (whole.status, _shape(whole.body))
        if lane_shape != whole_shape:
            differences.append((accept, served.by(f"accept-lane-{n}"), lane_shape, whole_shape))
    assert differences == [], "\n".join(
        f"Accept {d[0]!r} ({d[1]}): lane {d[2]} != WSGI {d[3]}" for d in differences
    )
    posted = [Payment.objects.filter(transaction_id__startswith=f"A-{via}").count() for via in "LW"]
    assert posted[0] == posted[1], f"the lane posted {posted[0]}, the WSGI path {posted[1]}"


def _shape(body: bytes) -> bytes:
    """The answer's layout with its own values blanked (receipt, amounts, ids, time)."""
    return re.sub(rb'"[^"]*"', b'""', body)


@transactional
def test_the_throttle_counts_a_post_once_on_either_path(served: Served, account, token, settings) -> None:
    """With two posts a day allowed: a post the whole application refuses (an unknown account), then two good
    posts — the WSGI path answers 404, 201, 429; the ASGI application must answer the same."""
    acc = account()
    rates = {**settings.GRIDCARE_THROTTLE_RATES, "channel": "2/d"}

    def sequence(post: Callable[[str, bytes], Reply], via: str) -> list[int]:
        cache.clear()
        bodies = [
            payload("NOPE0001", "5.00", f"{via}-0"),
            payload(acc.number, "5.00", f"{via}-1"),
            payload(acc.number, "6.00", f"{via}-2"),
        ]
        return [post(f"{via}-{n}", body).status for n, body in enumerate(bodies)]

    with override_settings(GRIDCARE_THROTTLE_RATES=rates):
        through_wsgi = sequence(
            lambda rid, body: wsgi("POST", URL, headers=post_headers(token, rid, rid), body=body), "w"
        )
        through_asgi = sequence(lambda rid, body: served.post(post_headers(token, rid, rid), body), "a")
    assert through_wsgi == [404, 201, 429]
    assert through_asgi == through_wsgi


@transactional
def test_many_posts_at_once_are_grouped_each_taken_once(served: Served, account, release, token) -> None:
    """30 posts in one event loop at once — 24 transactions, 6 of them sent twice under the same key — each
    transaction is taken once, both answers to a key are the same, and the ledger holds."""
    accounts = [account() for _ in range(4)]
    for acc in accounts:
        release(acc, "50.00")
    posts = [(f"many-{n}", payload(accounts[n % 4].number, f"{10 + n}.00", f"MT-{n}")) for n in range(24)]
    repeats = [(key, body) for key, body in posts[:6]]
    requests = [(key, body, f"rid-{i}") for i, (key, body) in enumerate(posts + repeats)]

    async def all_at_once() -> list[Reply]:
        return await asyncio.gather(
            *(
                asgi(
                    served.app,
                    "POST",
                    URL,
                    headers=post_headers(token, key, rid),
                    body=body,
                    chunks=1 + i % 3,
                )
                for i, (key, body, rid) in enumerate(requests)
            )
        )

    replies = run(all_at_once())
    assert [r.status for r in replies] == [201] * 30, [r.body for r in replies if r.status != 201]
    by_key: dict[str, list[Reply]] = {}
    for (key, _, rid), reply in zip(requests, replies, strict=True):
        by_key.setdefault(key, []).append(reply)
        assert reply.header("x-request-id") == rid
    assert all(len({r.body for r in answers}) == 1 for answers in by_key.values())
    for key, _ in repeats:  # one of the two took it, the other replays it
        assert sorted(str(r.header("idempotent-replayed")) for r in by_key[key]) == ["None", "true"]
    assert Payment.objects.count() == 24
    assert sorted(str(t) for t in Payment.objects.values_list("transaction_id", flat=True)) == sorted(
        f"MT-{n}" for n in range(24)
    )
    assert len(set(Payment.objects.values_list("number", flat=True))) == 24
    assert AuditEntry.objects.filter(action="ledger.take_payment").count() == 24
    assert IdempotencyRecord.objects.count() == 24
    assert selectors.check() == []
    for _, _, rid in requests:
        served.by(rid)  # each answered once, by one path
    assert {rid for _, _, rid in requests[:24]} <= set(served.lane)  # the first of each key: always the lane
    assert set(served.whole) <= {rid for _, _, rid in requests[24:]}  # only a key twice in one group goes on
    assert sum(served.groups) >= 24 and max(served.groups) > 1  # served in groups


@transactional
def test_the_other_routes_are_the_whole_applications(served: Served, account, token) -> None:
    acc = account()
    auth = [("authorization", f"Token {token}"), ("x-request-id", "arrears")]
    arrears = served.call("GET", ARREARS, headers=auth, query=f"account={acc.number}")
    assert arrears.status == 200, arrears.body
    assert arrears.header("content-type") == "application/json"
    assert arrears.data()["account"] == acc.number
    assert arrears.body == wsgi("GET", ARREARS, headers=auth, query=f"account={acc.number}").body
    assert served.by("arrears") == "whole"
    page = served.call("GET", "/login/", headers=[("x-request-id", "login-page")])
    assert page.status == 200
    assert (page.header("content-type") or "").startswith("text/html")
    assert b"<form" in page.body and b"password" in page.body
    assert served.by("login-page") == "whole"
    # the lane's own address with another method: the whole application's 405
    got = served.call("GET", URL, headers=auth[:1] + [("x-request-id", "get-payments")])
    expected = wsgi("GET", URL, headers=auth)
    assert expected.status == 405 and (got.status, got.body) == (expected.status, expected.body)
    assert served.by("get-payments") == "whole"
    assert not served.lane


def test_lifespan_startup_and_shutdown_are_completed() -> None:
    from gridcare.asgi import application

    async def lifespan() -> list[Message]:
        incoming: asyncio.Queue[Message] = asyncio.Queue()
        sent: list[Message] = []
        for kind in ("lifespan.startup", "lifespan.shutdown"):
            incoming.put_nowait({"type": kind})

        async def send(message: Message) -> None:
            sent.append(message)

        await asyncio.wait_for(
            application({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, incoming.get, send), 10
        )
        return sent

    assert run(lifespan()) == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]


@transactional
def test_bodies_in_several_messages_reach_the_whole_application_from_the_servers_awaitables(
    served: Served, account, release, cashier, token
) -> None:
    """The server's ``receive`` gives awaitables that are no coroutines (Granian's): the WSGI application reads a
    body of several messages through the WSGI threads all the same — a counter payment (no lane), and a channel
    post the lane hands on (a cookie)."""
    acc = account()
    release(acc, "30.00")
    teller = str(Token.objects.get_or_create(user=cashier())[0].key)
    counter = served.call(
        "POST",
        "/api/ledger/payments/",
        headers=[
            ("authorization", f"Token {teller}"),
            ("content-type", "application/json"),
            ("x-request-id", "c1"),
        ],
        body=json.dumps({"account": acc.number, "amount": "12.00", "method": "cash"}).encode(),
        chunks=3,
        awaitables=True,
    )
    assert counter.status == 201, counter.body
    assert counter.data()["amount"] == "12.00" and served.by("c1") == "whole"
    handed_on = served.post(
        post_headers(token, "aw-1", "c2", ("cookie", "a=b")),
        payload(acc.number, "5.00", "AW-1"),
        chunks=3,
        awaitables=True,
    )
    assert handed_on.status == 201, handed_on.body
    assert served.by("c2") == "whole"
    assert Payment.objects.filter(account=acc).count() == 2
