"""How gunicorn serves the app: an event loop reads each request whole, then a thread runs it.

gunicorn's threaded worker gives a connection a thread as soon as its first byte arrives, so a
few clients sending their headers a byte a second hold every thread (docs/reliability.md,
"Threats tried"). Here gunicorn's asyncio worker parses requests on its event loop, where a
stalled connection costs a socket and no thread; the request body is read there too, up to
MAX_CONTENT_LENGTH; only a complete request is handed to the Flask app, through a2wsgi's
WSGI-to-ASGI bridge, on a pool of `threads` threads. Responses leave as the app yields them
(a streamed response still streams), and a slow reader is fed by the event loop. The
proctor's live stream never holds a thread at all: it runs on the event loop and borrows a
thread for a few milliseconds per event (web/live_stream.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from a2wsgi import WSGIMiddleware
from gunicorn.workers.gasgi import ASGIWorker

from web.live_stream import LiveStreams

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SERVER_HEADER = b"exam-api"  # no product or version to fingerprint


class BufferedWSGI:
    """An ASGI app that reads the whole request, then calls the WSGI app in a thread pool."""

    def __init__(
        self,
        wsgi_app: Any,
        *,
        threads: int,
        max_body: int,
        alive: Callable[[], bool] = lambda: True,
    ) -> None:
        self.bridge = WSGIMiddleware(wsgi_app, workers=threads)
        self.max_body = max_body
        self.live = LiveStreams(self.bridge, threads=threads, alive=alive)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan: a2wsgi answers it
            await self.bridge(scope, receive, send)
            return
        body, disconnected = await self._read_body(scope, receive)
        if disconnected:
            return  # the client went away before its request was complete: no thread spent
        if self.live.handles(scope):
            await self.live(scope, receive, _with_server_header(send))
            return
        scope = dict(scope, headers=_with_length(scope["headers"], len(body)))
        await self.bridge(scope, _replay(body, receive), _with_server_header(send))

    async def _read_body(self, scope: Scope, receive: Receive) -> tuple[bytes, bool]:
        """The body, read on the event loop; one past the limit is enough for Flask's 413."""
        declared = _declared_length(scope["headers"])
        if declared is not None and declared > self.max_body:
            return b"", False  # never read: Flask answers 413 from the header alone
        chunks, size = [], 0
        while size <= self.max_body:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"", True
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks), False


def _declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _with_length(headers: list[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    """The request as the app sees it: a body of known length (a chunked one is now whole)."""
    if _declared_length(headers) is not None or not length:
        return headers
    kept = [(n, v) for n, v in headers if n.lower() != b"transfer-encoding"]
    return [*kept, (b"content-length", str(length).encode())]


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` for the bridge: the buffered body once, then the client's later messages."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _with_server_header(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(n, v) for n, v in message.get("headers", []) if n.lower() != b"server"]
            message = dict(message, headers=[*headers, (b"server", SERVER_HEADER)])
        await send(message)

    return sending


class BufferedWSGIWorker(ASGIWorker):
    """gunicorn's asyncio worker serving the WSGI app given on the command line."""

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        """`threads` is the size of the app's thread pool here, not a warning."""

    def load_wsgi(self) -> None:
        from shared.config import get_settings

        super().load_wsgi()
        self.asgi = BufferedWSGI(
            self.asgi,
            threads=self.cfg.threads,
            max_body=get_settings().MAX_CONTENT_LENGTH,
            alive=lambda: self.alive,
        )
