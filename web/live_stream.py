"""The proctor's live stream (`GET /api/v1/exams/{id}/live/stream`), served on the event loop.

A streamed WSGI response holds one of the app's few threads for its whole life, so a room of
proctors with the page open would hold the threads students' saves need. Here the stream is
an asyncio task of gunicorn's worker: it costs a socket and a timer between events, and
every `TICK_SECONDS` it borrows a thread for a few milliseconds to ask the Flask app for
`GET /api/v1/exams/{id}/live` with the client's own headers, so authentication, the admin
role, token revocation and the exam's existence are checked again at every event. The
answer is written as `event: live`; a refusal (401, 403, 404) ends the stream: as the
response itself on the first tick, as `event: error` with the error body afterwards. At
most half the threads run ticks at any moment, so however many streams are open, students
always have the other half. The route in web/resources/live serves the same stream from a
thread where there is no event loop (the Flask test client, `flask run`, gthread).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TICK_SECONDS = 2.0  # the contract asks for an event at least every 5 s
LIFETIME_SECONDS = 30 * 60  # then the client reconnects (and may land on another worker)
RETRY_MS = 2000  # how long an EventSource-style client waits before reconnecting
# Set in the scope of every tick after the first, so the access log keeps one line per
# stream at INFO rather than one per event (web/observability.py). A client can't set it.
TICK_SCOPE_KEY = "exam.live_tick"

STREAM_PATH = re.compile(
    r"^/api/v1/exams/([0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12})/live/stream$"
)
_NOT_FORWARDED = {b"accept-encoding", b"content-length", b"transfer-encoding", b"if-none-match"}
_NOT_KEPT = {b"content-type", b"content-length", b"etag", b"cache-control"}


def sse(event: str, data: bytes | str) -> bytes:
    """One server-sent event; `data` is one line of JSON."""
    text = data.decode() if isinstance(data, bytes) else data
    return f"event: {event}\ndata: {text}\n\n".encode()


def stream_headers() -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", b"text/event-stream; charset=utf-8"),
        (b"cache-control", b"no-cache, no-store"),
        (b"x-accel-buffering", b"no"),  # nginx passes each event on at once
    ]


class LiveStreams:
    """Serves live streams for an ASGI `app` (the WSGI bridge) running on `threads` threads."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        threads: int,
        alive: Callable[[], bool] = lambda: True,
        interval: float = TICK_SECONDS,
        lifetime: float = LIFETIME_SECONDS,
    ) -> None:
        self.app = app
        self.alive = alive  # False once the worker stops: streams end, clients reconnect
        self.interval = interval
        self.lifetime = lifetime
        self.threads_for_ticks = max(1, threads // 2)
        self._slots: asyncio.Semaphore | None = None  # made on the loop that serves

    def handles(self, scope: Scope) -> bool:
        return scope.get("method") == "GET" and STREAM_PATH.match(scope.get("path", "")) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = asyncio.Event()
        watcher = asyncio.ensure_future(_watch_disconnect(receive, gone))
        try:
            await self._stream(scope, send, gone)
        finally:
            watcher.cancel()

    async def _stream(self, scope: Scope, send: Send, gone: asyncio.Event) -> None:
        status, headers, body = await self._tick(scope, first=True)
        if status != 200:  # not allowed, or no such exam: the app's own answer, as it is
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        kept = [(n, v) for n, v in headers if n.lower() not in _NOT_KEPT]
        await send({"type": "http.response.start", "status": 200,
                    "headers": [*kept, *stream_headers()]})  # fmt: skip
        first = f"retry: {RETRY_MS}\n\n".encode() + sse("live", body)
        await send({"type": "http.response.body", "body": first, "more_body": True})
        ends = asyncio.get_running_loop().time() + self.lifetime
        while self.alive() and asyncio.get_running_loop().time() < ends:
            try:
                await asyncio.wait_for(gone.wait(), timeout=self.interval)
                return  # the client left: nothing more to send
            except TimeoutError:
                pass
            status, _, body = await self._tick(scope, first=False)
            if status != 200:
                await send({"type": "http.response.body", "body": sse("error", body),
                            "more_body": False})  # fmt: skip
                return
            await send({"type": "http.response.body", "body": sse("live", body), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _tick(self, scope: Scope, *, first: bool) -> tuple[int, list[Any], bytes]:
        """`GET .../live` through the app, on one of the threads set aside for ticks."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.threads_for_ticks)
        path = scope["path"].removesuffix("/stream")
        inner = dict(
            scope,
            path=path,
            raw_path=path.encode(),
            query_string=b"",
            headers=[(n, v) for n, v in scope["headers"] if n.lower() not in _NOT_FORWARDED],
        )
        if not first:
            inner[TICK_SCOPE_KEY] = True
        sent: list[Message] = []
        asked = False

        async def receive() -> Message:  # a GET without a body, then "gone" if asked again
            nonlocal asked
            if asked:
                return {"type": "http.disconnect"}
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        async with self._slots:
            try:
                await self.app(inner, receive, send)
            except Exception:  # the app failed: the client sees a 500 like any other
                return 500, _json_headers(), _error(500, "internal_error", "the live view failed")
        start = next((m for m in sent if m["type"] == "http.response.start"), None)
        if start is None:
            return 500, _json_headers(), _error(500, "internal_error", "the live view failed")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return start["status"], list(start.get("headers", [])), body


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


def _json_headers() -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json")]


def _error(status: int, error: str, message: str) -> bytes:
    phrase = "Internal Server Error" if status == 500 else str(status)
    body = {"code": status, "status": phrase, "message": message, "error": error}
    return json.dumps(body).encode()
