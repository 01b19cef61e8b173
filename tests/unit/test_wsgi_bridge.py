"""web/wsgi_bridge.py: what the ASGI server is sent for each kind of WSGI response."""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import Any

import pytest

from web.wsgi_bridge import ThreadedWSGI, Threads


def call(app: Any, *, method: str = "GET", body: bytes = b"", limit: int = 1024) -> list[Any]:
    """The messages the bridge sends for one request whose body arrives in two parts."""
    sent: list[Any] = []
    parts = [body[: len(body) // 2], body[len(body) // 2 :]]

    async def receive() -> dict[str, Any]:
        part = parts.pop(0)
        return {"type": "http.request", "body": part, "more_body": bool(parts)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": "/x", "query_string": b"",
             "http_version": "1.1", "headers": [(b"content-type", b"text/plain")]}  # fmt: skip
    asyncio.run(ThreadedWSGI(app, threads=2, buffer_limit=limit)(scope, receive, send))
    return sent


def whole(body: bytes, status: str = "200 OK") -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body[:3], body[3:]]

    return app


def test_a_response_of_known_length_is_sent_whole_in_one_message_after_its_start():
    sent = call(whole(b"hello world"))
    assert sent == [
        {"type": "http.response.start", "status": 200,
         "headers": [(b"content-type", b"text/plain"), (b"content-length", b"11")]},
        {"type": "http.response.body", "body": b"hello world"},
    ]  # fmt: skip


def test_the_app_reads_the_whole_body_and_its_environ():
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen["body"] = environ["wsgi.input"].read()
        seen["method"], seen["type"] = environ["REQUEST_METHOD"], environ["CONTENT_TYPE"]
        start_response("201 Created", [("Content-Length", "0")])
        return []

    sent = call(app, method="PUT", body=b'{"answers": []}')
    assert seen == {"body": b'{"answers": []}', "method": "PUT", "type": "text/plain"}
    assert sent[0]["status"] == 201


def test_a_stream_is_sent_chunk_by_chunk_while_the_app_still_runs():
    delivered = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        yield b"event: 1\n\n"
        # Held back until the first event left: a bridge that waited for the end would not
        # have sent it, and this wait would time out.
        seen = delivered.wait(timeout=10)
        yield b"seen\n\n" if seen else b"held\n\n"

    messages: list[Any] = []

    async def run() -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            messages.append(message)
            if message.get("body") == b"event: 1\n\n":
                delivered.set()

        scope = {"type": "http", "method": "GET", "path": "/s", "query_string": b"",
                 "http_version": "1.1", "headers": []}  # fmt: skip
        await ThreadedWSGI(app, threads=1)(scope, receive, send)

    asyncio.run(run())
    assert [m.get("body") for m in messages] == [None, b"event: 1\n\n", b"seen\n\n", b""]
    assert messages[0]["headers"] == [(b"content-type", b"text/event-stream")]
    assert messages[-1] == {"type": "http.response.body", "body": b""}  # the end


def test_a_response_longer_than_the_limit_is_streamed_not_held():
    body = b"x" * 3000
    sent = call(whole(body), limit=1024)
    assert sent[0]["type"] == "http.response.start"
    bodies = [m["body"] for m in sent[1:]]
    assert b"".join(bodies) == body and len(bodies) > 1
    assert sent[-1] == {"type": "http.response.body", "body": b""}
    assert all(m["more_body"] for m in sent[1:-1])


def test_an_empty_stream_gets_a_zero_length_and_a_304_none():
    def empty(status: str) -> Any:
        def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            start_response(status, [("ETag", '"1"')])
            return []

        return app

    assert call(empty("200 OK"))[0]["headers"] == [(b"etag", b'"1"'), (b"content-length", b"0")]
    assert call(empty("304 Not Modified"))[0]["headers"] == [(b"etag", b'"1"')]


def test_an_error_in_the_app_reaches_the_server_which_answers_500():
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise LookupError("boom")

    with pytest.raises(LookupError):
        call(app)


def test_an_app_that_never_starts_its_response_is_an_error():
    with pytest.raises(RuntimeError, match="start_response"):
        call(lambda environ, start_response: [])


def test_a_stream_whose_server_stopped_ends_the_apps_thread_instead_of_waiting_forever():
    go, finished = threading.Event(), threading.Event()
    outcome: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        try:
            yield b"event: 1\n\n"
            go.wait(timeout=10)
            yield b"event: 2\n\n"  # sent after the loop has closed
            outcome.append("sent to nobody")
        except GeneratorExit:
            outcome.append("told the server is gone")
            raise
        finally:
            finished.set()

    bridge = ThreadedWSGI(app, threads=1)

    async def abandoned() -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            return None

        scope = {"type": "http", "method": "GET", "path": "/s", "query_string": b"",
                 "http_version": "1.1", "headers": []}  # fmt: skip
        with pytest.raises(TimeoutError):  # the worker stops while the stream runs
            await asyncio.wait_for(bridge(scope, receive, send), timeout=0.3)

    asyncio.run(abandoned())  # the loop is closed now
    go.set()
    assert finished.wait(timeout=10), "the app's thread hung on a loop that had stopped"
    assert outcome == ["told the server is gone"]
    bridge.close()  # the thread is done with whatever it raised
    gc.collect()  # a coroutine left never awaited would be reported (as an error) here


def test_the_threads_answer_each_call_on_its_loop_and_skip_one_given_up_before_it_ran():
    threads = Threads(1, name="test")
    busy, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def blocking() -> str:
        busy.set()
        release.wait(timeout=10)
        ran.append("first")
        return "first done"

    def failing() -> None:
        ran.append("failing")
        raise ValueError("the app's own error")

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        first = threads.run(loop, blocking)
        await loop.run_in_executor(None, busy.wait, 10)  # the only thread is taken
        abandoned = threads.run(loop, ran.append, "abandoned")
        abandoned.cancel()  # its client went away while it waited for a thread
        failed = threads.run(loop, failing)
        release.set()
        assert await first == "first done"
        with pytest.raises(ValueError, match="the app's own error"):
            await failed

    asyncio.run(scenario())
    threads.close()
    assert ran == ["first", "failing"]
