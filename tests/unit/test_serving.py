"""web/serving.py: a request reaches the app only once it is whole; responses still stream."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from web.serving import SERVER_HEADER, BufferedWSGI


def run_alone(make: Callable[[], Awaitable[Any]]) -> Any:
    """asyncio.run in a thread of its own: a loop another test left running in this
    thread (Playwright's sync API keeps one) can't get in the way."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def echo_app(calls: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    """A WSGI app that records what it saw and answers with the body it read."""

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        calls.append({"length": environ.get("CONTENT_LENGTH"), "body": body})
        start_response("200 OK", [("Content-Type", "text/plain"), ("Server", "leaky/1.0")])
        return [body]

    return app


def scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": "/",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }


def serve(
    app: BufferedWSGI, request: dict[str, Any], messages: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], int]:
    """Run one request; returns what was sent and how many messages the app received."""
    sent: list[dict[str, Any]] = []
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # a client that never sends the rest
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        await asyncio.wait_for(app(request, receive, send), timeout=10)

    run_alone(run)
    return sent, received


def test_a_chunked_body_reaches_the_app_whole_with_its_length():
    calls: list[dict[str, Any]] = []
    app = BufferedWSGI(echo_app(calls), threads=2, max_body=1024)
    parts = [
        {"type": "http.request", "body": b"hello ", "more_body": True},
        {"type": "http.request", "body": b"world", "more_body": False},
    ]
    sent, _ = serve(app, scope([(b"transfer-encoding", b"chunked")]), parts)
    assert calls == [{"length": "11", "body": b"hello world"}]
    start = sent[0]
    assert start["status"] == 200
    assert dict(start["headers"])[b"server"] == SERVER_HEADER  # the app's own is replaced
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"hello world"


def test_a_client_that_leaves_mid_body_never_costs_the_app_a_call():
    calls: list[dict[str, Any]] = []
    app = BufferedWSGI(echo_app(calls), threads=2, max_body=1024)
    parts = [
        {"type": "http.request", "body": b"half", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent, _ = serve(app, scope([(b"content-length", b"100")]), parts)
    assert calls == [] and sent == []


def test_a_body_declared_over_the_limit_is_never_read():
    calls: list[dict[str, Any]] = []
    app = BufferedWSGI(echo_app(calls), threads=2, max_body=1024)
    # Flask answers 413 from the declared length; the body is not waited for.
    sent, received = serve(app, scope([(b"content-length", b"5000")]), [])
    assert received == 0
    assert calls[0]["length"] == "5000"
    assert sent[0]["status"] == 200


def test_an_undeclared_body_stops_being_read_just_past_the_limit():
    calls: list[dict[str, Any]] = []
    app = BufferedWSGI(echo_app(calls), threads=2, max_body=10)
    parts = [{"type": "http.request", "body": b"x" * 8, "more_body": True} for _ in range(5)]
    serve(app, scope([(b"transfer-encoding", b"chunked")]), parts)
    assert calls[0]["length"] == "16"  # over the limit: the app (Flask) refuses it with 413
    assert len(parts) == 3  # the rest was never read


def test_a_streamed_response_leaves_chunk_by_chunk():
    first_sent = threading.Event()

    def streaming(environ, start_response):  # type: ignore[no-untyped-def]
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        yield b"event: live\ndata: 1\n\n"
        # The next event only once the first has left: a buffering server would hang here.
        assert first_sent.wait(timeout=5), "the first event was held back"
        yield b"event: live\ndata: 2\n\n"

    app = BufferedWSGI(streaming, threads=2, max_body=1024)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if b"data: 1" in message.get("body", b""):
            first_sent.set()

    run_alone(lambda: asyncio.wait_for(app(scope([]), receive, send), timeout=10))
    bodies = [m["body"] for m in sent[1:] if m.get("body")]
    assert bodies == [b"event: live\ndata: 1\n\n", b"event: live\ndata: 2\n\n"]


LIVE = "/api/v1/exams/7b0c3c1e-3f1d-4f7e-9d2a-0c6a1f2b3c4d/live"


def live_app(calls: list[dict[str, Any]], statuses: list[int]):  # type: ignore[no-untyped-def]
    """A WSGI app standing in for Flask's GET /live: answers each call with the next status."""

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        calls.append({"path": environ["PATH_INFO"], "auth": environ.get("HTTP_AUTHORIZATION")})
        status = statuses.pop(0) if statuses else 200
        start_response(f"{status} X", [("Content-Type", "application/json")])
        return [b'{"n": %d}' % len(calls) if status == 200 else b'{"error": "token_revoked"}']

    return app


def stream(app: BufferedWSGI, *, leave_after: float = 10.0) -> list[dict[str, Any]]:
    """GET the live stream; the client leaves after `leave_after` seconds."""
    sent: list[dict[str, Any]] = []
    request = dict(scope([(b"authorization", b"Bearer t")]), method="GET", path=LIVE + "/stream")
    asked = 0

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        if asked == 1:
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(leave_after)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    run_alone(lambda: asyncio.wait_for(app(request, receive, send), timeout=10))
    return sent


def events(sent: list[dict[str, Any]]) -> list[str]:
    text = b"".join(m.get("body", b"") for m in sent[1:]).decode()
    return [block for block in text.split("\n\n") if block.startswith("event:")]


def test_the_live_stream_asks_the_app_for_each_event_with_the_clients_token():
    calls: list[dict[str, Any]] = []
    app = BufferedWSGI(live_app(calls, [200, 200, 200, 401]), threads=2, max_body=1024)
    app.live.interval = 0.05

    sent = stream(app)

    assert sent[0]["status"] == 200
    assert dict(sent[0]["headers"])[b"content-type"].startswith(b"text/event-stream")
    assert calls == [{"path": LIVE, "auth": "Bearer t"}] * 4  # re-checked at every event
    assert events(sent) == [
        'event: live\ndata: {"n": 1}', 'event: live\ndata: {"n": 2}',
        'event: live\ndata: {"n": 3}', 'event: error\ndata: {"error": "token_revoked"}',
    ]  # fmt: skip
    assert sent[-1]["more_body"] is False  # a refused token ends the stream


def test_a_refused_first_event_is_the_response_itself():
    calls: list[dict[str, Any]] = []
    app = BufferedWSGI(live_app(calls, [404]), threads=2, max_body=1024)

    sent = stream(app)

    assert sent[0]["status"] == 404
    assert dict(sent[0]["headers"])[b"content-type"] == b"application/json"
    assert len(calls) == 1 and events(sent) == []


def test_a_proctor_who_leaves_ends_the_stream_and_its_calls():
    calls: list[dict[str, Any]] = []
    app = BufferedWSGI(live_app(calls, []), threads=2, max_body=1024)
    app.live.interval = 0.1

    sent = stream(app, leave_after=0.35)

    assert 3 <= len(calls) <= 5  # about one per 0.1 s, then none once the client left
    assert len(events(sent)) == len(calls)


def test_the_live_stream_of_a_worker_that_stops_ends_so_its_clients_reconnect():
    calls: list[dict[str, Any]] = []
    app = BufferedWSGI(live_app(calls, []), threads=2, max_body=1024, alive=lambda: len(calls) < 2)
    app.live.interval = 0.05

    sent = stream(app)

    assert len(calls) == 2 and sent[-1]["more_body"] is False
