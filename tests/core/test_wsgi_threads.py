"""The WSGI application under ASGI (:mod:`gridcare.core.wsgi_threads`): the environ as PEP 3333 and the ASGI
specification give it, the body read whole (in memory or spooled), an answer sent in one go or — streaming —
chunk by chunk from the thread, the iterable closed, a request whose client left not run."""

from __future__ import annotations

import threading
from collections.abc import Iterator, MutableMapping
from typing import Any

from gridcare.core.wsgi_threads import SPOOL, WSGIThreads
from tests.aio import run

Message = MutableMapping[str, Any]


class Recorder:
    """A WSGI application recording what it was given; answers with the body it read, or streams."""

    def __init__(self, *, streaming: bool = False) -> None:
        self.environ: dict[str, Any] = {}
        self.body = b""
        self.thread = ""
        self.closed = False
        self.streaming = streaming

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.environ = environ
        self.body = environ["wsgi.input"].read()
        self.thread = threading.current_thread().name
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-Seen", str(len(self.body)))])
        recorder = self

        class Answer:
            streaming = recorder.streaming

            def __iter__(self) -> Iterator[bytes]:
                if recorder.streaming:
                    yield from (b"one,", b"", b"two,", b"three")
                else:
                    yield b"read " + str(len(recorder.body)).encode()

            def close(self) -> None:
                recorder.closed = True

        return Answer()


def call(
    app: WSGIThreads, *, parts: list[bytes], headers: list[tuple[bytes, bytes]], gone: bool = False
) -> list[Message]:
    scope = {
        "type": "http", "http_version": "1.1", "method": "POST", "scheme": "https", "path": "/账务/明细",
        "root_path": "", "query_string": b"a=1&b=%E4%B8%AD", "headers": headers,
        "server": ("yx.example.cn", 443), "client": ("10.0.0.7", 51000),
    }  # fmt: skip
    sent: list[Message] = []
    waiting = list(parts)

    async def receive() -> Message:
        if waiting:
            part = waiting.pop(0)
            return {"type": "http.request", "body": part, "more_body": bool(waiting)}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    async def main() -> None:
        await app(scope, receive if not gone else _gone, send)

    run(main())
    return sent


async def _gone() -> Message:
    return {"type": "http.disconnect"}


def test_a_request_runs_in_a_thread_of_the_pool_with_the_environ_a_wsgi_server_gives() -> None:
    recorder = Recorder()
    app = WSGIThreads(recorder, threads=2)
    headers = [
        (b"content-type", b"application/json"), (b"content-length", b"11"), (b"x-request-id", b"r-1"),
        (b"accept", b"text/html"), (b"accept", b"application/json"), (b"cookie", b"a=1"), (b"cookie", b"b=2"),
    ]  # fmt: skip
    sent = call(app, parts=[b'{"x":', b"", b' "y"}'], headers=headers)
    environ = recorder.environ
    assert recorder.body == b'{"x": "y"}'  # the chunks, in order
    assert recorder.thread.startswith("wsgi") and recorder.thread != threading.current_thread().name
    assert (environ["REQUEST_METHOD"], environ["SCRIPT_NAME"], environ["QUERY_STRING"]) == (
        "POST",
        "",
        "a=1&b=%E4%B8%AD",
    )
    assert environ["PATH_INFO"].encode("latin-1").decode("utf-8") == "/账务/明细"  # PEP 3333's latin-1 text
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"], environ["REMOTE_ADDR"]) == (
        "yx.example.cn",
        "443",
        "10.0.0.7",
    )
    assert environ["wsgi.url_scheme"] == "https" and environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert (environ["CONTENT_TYPE"], environ["CONTENT_LENGTH"]) == ("application/json", "11")
    assert "HTTP_CONTENT_TYPE" not in environ and environ["HTTP_X_REQUEST_ID"] == "r-1"
    assert environ["HTTP_ACCEPT"] == "text/html,application/json"  # a header twice: one value
    assert environ["HTTP_COOKIE"] == "a=1; b=2"  # cookies joined as one cookie header
    assert sent == [
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", b"text/plain"), (b"x-seen", b"10")],
        },
        {"type": "http.response.body", "body": b"read 10"},
    ]
    assert recorder.closed  # the iterable closed (Django's request_finished)


def test_a_body_larger_than_the_spool_is_read_whole() -> None:
    recorder = Recorder()
    big = b"x" * (SPOOL + 10)
    sent = call(WSGIThreads(recorder, threads=1), parts=[big[:SPOOL], big[SPOOL:]], headers=[])
    assert recorder.body == big
    assert sent[-1]["body"] == f"read {len(big)}".encode()


def test_a_streaming_answer_is_sent_chunk_by_chunk_from_the_thread() -> None:
    recorder = Recorder(streaming=True)
    sent = call(WSGIThreads(recorder, threads=1), parts=[b""], headers=[])
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 201
    bodies = [(m["body"], m.get("more_body", False)) for m in sent[1:]]
    assert bodies == [
        (b"one,", True),
        (b"two,", True),
        (b"three", True),
        (b"", False),
    ]  # (empty chunks skipped)
    assert recorder.closed


def test_a_request_whose_client_left_before_its_body_is_not_run() -> None:
    recorder = Recorder()
    sent = call(WSGIThreads(recorder, threads=1), parts=[], headers=[], gone=True)
    assert sent == [] and recorder.environ == {}


def test_no_websocket_here() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    run(WSGIThreads(Recorder(), threads=1)({"type": "websocket", "path": "/"}, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1000}]
