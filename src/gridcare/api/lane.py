"""快速通道 (lanes): the machine API's busiest write served in the ASGI event loop, in groups, without a thread per
waiting request.

Under WSGI a channel post waiting for its group (:class:`gridcare.core.gather.Gatherer`) holds a server thread, and
a group is only as large as the threads waiting: at 32 threads a worker spent 2.75 ms of CPU per payment, of which
the group's own work was about 0.7 ms — the rest was the request pipeline and the threads handing the interpreter
to one another. Under ASGI (``gridcare.asgi``, what ``gridcare serve`` runs) a :class:`Lane` takes the ordinary
request of its route — a token, an ``Idempotency-Key``, a JSON body of the expected shape with valid values —
checks it in the event loop and hands it to the lane's serving thread (:class:`gridcare.core.gather.ServingThread`),
which authenticates the group's tokens, checks permission, throttle and the caller's standing, and serves the group
as the API's group commit does, with the same records and answers.

A lane has no answer of its own for anything but success: every other request — no token, bad input, a refusal,
a throttled caller, a key used for another request, a post its group could not take, anything unusual — goes to
the whole application (``gridcare.wsgi`` in threads: :mod:`gridcare.core.wsgi_threads`), which answers it exactly as before. So a lane is
only faster, never different (``tests/ledger/test_channel_lane.py`` compares both paths' answers and headers).
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import close_old_connections
from rest_framework.renderers import JSONRenderer

from gridcare.core.context import new_request_id
from gridcare.core.gather import Alone, ServingThread

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

T = TypeVar("T")


@dataclass(frozen=True)
class LaneRequest:
    """What a lane sees of a request: header names in lower case (a repeated header is not the ordinary request:
    such a request goes to the whole application), the body, the request id its audit rows name."""

    path: str
    query: bytes
    headers: dict[str, str]
    body: bytes
    request_id: str


@dataclass(frozen=True)
class Answer:
    """A lane's answer: the status and the data the API's view answers (rendered by DRF's JSON renderer)."""

    status: int
    data: Any
    replayed: bool = False


class Lane(Generic[T]):
    """One route's lane: :meth:`prepare` in the event loop (no database: the item, or None for the whole
    application), :meth:`serve` in the serving thread (one answer per item: an :class:`Answer`, or ``ALONE`` for
    the whole application)."""

    name = ""
    method = "POST"
    #: at most this many items a group; fewer than ``gather`` wait up to ``wait`` seconds for more
    limit = 200
    gather = 1
    wait = 0.0

    @property
    def path(self) -> str:
        raise NotImplementedError

    def prepare(self, request: LaneRequest) -> T | None:
        raise NotImplementedError

    def serve(self, items: list[T]) -> Sequence[Answer | Alone]:
        raise NotImplementedError


def with_lanes(whole: ASGIApp, lanes: Sequence[Lane[Any]]) -> ASGIApp:
    """The ASGI application: each lane's route through the lane, everything else (and what a lane leaves) to
    ``whole``."""
    routes = {(lane.method, lane.path): lane for lane in lanes}
    serving = {
        lane: ServingThread(
            lane.serve,
            limit=lane.limit,
            name=f"lane:{lane.name}",
            between=close_old_connections,
            gather=lane.gather,
            wait=lane.wait,
        )
        for lane in lanes
    }
    limit: int = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        lane = (
            routes.get((scope.get("method", ""), scope.get("path", ""))) if scope["type"] == "http" else None
        )
        if lane is None:
            await whole(scope, receive, send)
            return
        chunks, complete = await _read(receive, limit)
        body = b"".join(chunks)
        request = _request(scope, body) if complete and len(body) <= limit else None
        if request is not None:
            secure = _secure(scope, request)
            try:
                item = lane.prepare(request) if secure or not settings.SECURE_SSL_REDIRECT else None
            except Exception:  # the whole application answers it (and logs its own errors)
                log.exception("lane %s: a request could not be prepared", lane.name)
                item = None
            if item is not None:
                answer = await serving[lane].submit(item)
                if isinstance(answer, Answer):
                    await _respond(send, answer, request, secure=secure)
                    return
        await whole(scope, _replaying(body, complete, receive), send)

    return application


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read(receive: Receive, limit: int) -> tuple[list[bytes], bool]:
    """The body's chunks, all of it or (stopping) just over ``limit`` bytes; whether that was the whole body."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return chunks, False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return chunks, True
        if size > limit:
            return chunks, False


def _replaying(body: bytes, complete: bool, receive: Receive) -> Receive:
    """``receive`` for the whole application: the body read so far, then the rest as it comes."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replay


def _secure(scope: Scope, request: LaneRequest) -> bool:
    """Whether Django would take the request as made over HTTPS: its scheme, or behind a proxy the header of
    ``SECURE_PROXY_SSL_HEADER`` (a request the whole application redirects to HTTPS is left to it)."""
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:
        name, value = proxy
        given = request.headers.get(name.removeprefix("HTTP_").replace("_", "-").lower())
        if given is not None:
            return given.split(",", 1)[0].strip() == value
    return bool(scope.get("scheme") == "https")


def _request(scope: Scope, body: bytes) -> LaneRequest | None:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        if name in headers or name == "cookie":  # (a cookie may choose the language: the whole application's)
            return None
        headers[name] = raw_value.decode("latin-1")
    incoming = headers.get("x-request-id", "")
    return LaneRequest(
        path=scope["path"],
        query=scope.get("query_string", b""),
        headers=headers,
        body=body,
        request_id=incoming[:64] if incoming and incoming.isascii() else new_request_id(),
    )


async def _respond(send: Send, answer: Answer, request: LaneRequest, *, secure: bool) -> None:
    content = JSONRenderer().render(answer.data)
    headers = [
        *_fixed_headers(secure),
        (b"content-length", str(len(content)).encode()),
        (b"x-request-id", request.request_id.encode()),
    ]
    if answer.replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


@functools.cache
def _fixed_headers(secure: bool) -> tuple[tuple[bytes, bytes], ...]:
    """The headers every answer of the machine API carries (gridcare.api.machine's middleware and DRF's view):
    the security middleware's, the language, the content type and ``Allow``."""
    from django.core.handlers.wsgi import WSGIRequest
    from django.http import HttpResponse
    from django.middleware.security import SecurityMiddleware

    request = WSGIRequest(
        {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "wsgi.input": io.BytesIO(), "SERVER_NAME": "lane", "SERVER_PORT": "80",
         "wsgi.url_scheme": "https" if secure else "http"}
    )  # fmt: skip
    response = HttpResponse(content_type="application/json")
    SecurityMiddleware(lambda r: response).process_response(request, response)
    response.headers["Allow"] = "POST, OPTIONS"
    response.headers["Content-Language"] = settings.LANGUAGE_CODE
    return tuple(
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in response.items()
    )
