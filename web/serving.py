"""How gunicorn serves the app: an event loop reads each request whole, then a thread runs it.

gunicorn's threaded worker gives a connection a thread as soon as its first byte arrives, so a
few clients sending their headers a byte a second hold every thread (docs/reliability.md,
"Threats tried"). Here gunicorn's asyncio worker parses requests on its event loop, where a
stalled connection costs a socket and no thread; the request body is read there too, up to
MAX_CONTENT_LENGTH; only a complete request is handed to the Flask app, on a pool of
`threads` threads, by web/wsgi_bridge.py (one hand-off each way; a response of known length
goes back whole, a streamed one still streams), and a slow reader is fed by the event loop. The
proctor's live stream never holds a thread at all: it runs on the event loop and borrows a
thread for a few milliseconds per event (web/live_stream.py).

Admission control (docs/performance.md, "Admission control"): before a request takes a
thread, `Admission` checks the worker's in-flight budget, `threads` running plus a short
queue. Beyond it, or once a queued request has waited `ADMISSION_MAX_WAIT_MS`, the request
is answered at once on the event loop with 503 `overloaded` and `Retry-After`: the app never
saw it, so any method may be retried. Only the API (`/api/`) is refused: health probes,
/metrics, live streams and the web client's files never are.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from gunicorn.asgi.protocol import ASGIProtocol
from gunicorn.workers import gasgi
from gunicorn.workers.gasgi import ASGIWorker
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from web.errors import PROBLEM_JSON, PROBLEM_TYPE
from web.live_stream import LiveStreams
from web.wsgi_bridge import ThreadedWSGI

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SERVER_HEADER = b"exam-api"  # no product or version to fingerprint
# Never refused for load: probes and metrics must tell the truth about an overloaded worker.
NEVER_SHED = frozenset({"/healthz", "/readyz", "/metrics"})
# Whole seconds. A shed request cost the server microseconds and load peaks are short (a
# class starting or submitting at once); clients wait this times a random 1-2 and back off
# further if refused again (web/static/app/api.js), so the retries spread out.
SHED_RETRY_AFTER = b"1"
_SAFE_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")  # as web/observability.py accepts one

log = logging.getLogger(__name__)


class Admission:
    """One worker's in-flight budget: `running` requests on threads, `queue` more waiting
    for one (first come, first served) for at most `max_wait` seconds. Event loop only."""

    def __init__(self, *, running: int, queue: int, max_wait: float) -> None:
        self.limit = running
        self.queue_limit = queue
        self.max_wait = max_wait
        self.running = 0
        self.waiting: deque[asyncio.Future[None]] = deque()

    async def enter(self) -> bool:
        """True with a slot taken (leave() gives it back); False: refuse the request."""
        if self.running < self.limit and not self.waiting:
            self.running += 1
            return True
        if len(self.waiting) >= self.queue_limit or self.max_wait <= 0:
            return False
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append(turn)
        try:
            await asyncio.wait((turn,), timeout=self.max_wait)
        except BaseException:  # cancelled while waiting: pass on a slot already handed over
            if turn.done():
                self.leave()
            else:
                self.waiting.remove(turn)
            raise
        if turn.done():
            return True  # leave() handed this request its slot
        self.waiting.remove(turn)
        return False

    def force(self) -> None:
        """Count work that is never refused (probes, live-stream ticks): it uses a thread."""
        self.running += 1

    def leave(self) -> None:
        self.running -= 1
        while self.waiting and self.running < self.limit:
            self.running += 1
            self.waiting.popleft().set_result(None)


class BufferedWSGI:
    """An ASGI app that reads the whole request, then calls the WSGI app in a thread pool."""

    def __init__(
        self,
        wsgi_app: Any,
        *,
        threads: int,
        max_body: int,
        alive: Callable[[], bool] = lambda: True,
        queue: int | None = None,
        max_wait_ms: int = 0,
        cors_origins: list[str] | tuple[str, ...] = (),
    ) -> None:
        """`queue` None: no admission control (every request waits for a thread)."""
        from web.observability import count_shed  # after gunicorn set the metrics directory

        self.bridge = ThreadedWSGI(wsgi_app, threads=threads)
        self.max_body = max_body
        self.admission = (
            None
            if queue is None
            else Admission(running=threads, queue=queue, max_wait=max_wait_ms / 1000)
        )
        self.count_shed = count_shed
        self.cors_origins = frozenset(o.encode() for o in cors_origins)
        self._shed_since_log, self._last_log = 0, 0.0
        self.live = LiveStreams(self._counted, threads=threads, alive=alive)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan: the bridge answers it
            await self.bridge(scope, receive, send)
            return
        body, disconnected = await self._read_body(scope, receive)
        if disconnected:
            return  # the client went away before its request was complete: no thread spent
        if self.live.handles(scope):
            await self.live(scope, receive, _with_server_header(send))
            return
        gate = self.admission
        if gate is None:
            await self._bridge(scope, body, receive, send)
            return
        path = scope.get("path", "")
        if path in NEVER_SHED or not path.startswith("/api/"):
            # Probes, metrics and the web client's own files: a page must load to be able
            # to back off; a browser asks for its modules all at once.
            gate.force()
        elif not await gate.enter():
            await self._shed(scope, send)
            return
        try:
            await self._bridge(scope, body, receive, send)
        finally:
            gate.leave()

    async def _bridge(self, scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
        scope = dict(scope, headers=_with_length(scope["headers"], len(body)))
        await self.bridge(scope, _replay(body, receive), _with_server_header(send))

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The bridge for live-stream ticks: never refused, but their threads count."""
        gate = self.admission
        if gate is None:
            await self.bridge(scope, receive, send)
            return
        gate.force()
        try:
            await self.bridge(scope, receive, send)
        finally:
            gate.leave()

    async def _shed(self, scope: Scope, send: Send) -> None:
        """503 `overloaded`, from the event loop: no thread, no app, nothing done."""
        self.count_shed()
        self._log_shed()
        headers = dict(scope["headers"])  # names are lower case in ASGI
        given = headers.get(b"x-request-id", b"")
        error = {
            "code": 503,
            "status": "Service Unavailable",
            "message": "the server is busy: retry after Retry-After seconds",
            "error": "overloaded",
        }
        accept = parse_accept_header(headers.get(b"accept", b"").decode("latin-1"), MIMEAccept)
        problem = accept.best_match(["application/json", PROBLEM_JSON]) == PROBLEM_JSON
        if problem:  # as web/errors.py answers a client that asks for RFC 9457
            error = {
                **error,
                "type": PROBLEM_TYPE + "overloaded",
                "title": error["status"],
                "status": 503,
                "detail": error["message"],
                "instance": scope.get("path"),
            }
        body = json.dumps(error).encode()
        response = [
            (b"content-type", PROBLEM_JSON.encode() if problem else b"application/json"),
            (b"vary", b"Accept"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", SHED_RETRY_AFTER),
            (b"cache-control", b"no-store"),
            (b"x-request-id", given if _SAFE_ID.match(given) else uuid.uuid4().hex.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]
        origin = headers.get(b"origin")
        if origin in self.cors_origins and scope.get("path", "").startswith("/api/"):
            response += [  # as flask-cors would answer (web/__init__.py), so a page can read it
                (b"access-control-allow-origin", origin),
                (b"access-control-expose-headers", b"Retry-After, X-Request-ID"),
                (b"vary", b"Origin"),
            ]
        send = _with_server_header(send)
        await send({"type": "http.response.start", "status": 503, "headers": response})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _log_shed(self) -> None:
        """One warning a minute at most: under overload a line per refusal would add load."""
        self._shed_since_log += 1
        now = time.monotonic()
        if now - self._last_log >= 60:
            log.warning(
                "overloaded: %d requests refused with 503 since the last warning",
                self._shed_since_log,
            )
            self._shed_since_log, self._last_log = 0, now

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


class _TrackedProtocol(ASGIProtocol):
    """gunicorn's connection, known to its worker so a shutdown can close it if idle."""

    def connection_made(self, transport: Any) -> None:
        self.worker.connections.add(self)
        super().connection_made(transport)

    @property
    def idle(self) -> bool:
        """Kept alive between requests: nothing read of a next one, nothing running."""
        return (
            self._awaiting_request
            and not self._finishing_calls
            and not self._request_ready.is_set()
            and self._websocket is None
            and self.reader is None  # not HTTP/2
        )


class BufferedWSGIWorker(ASGIWorker):
    """gunicorn's asyncio worker serving the WSGI app given on the command line.

    On SIGTERM, gunicorn's worker waits for every connection to close, and an idle
    keep-alive one only closes when its keep-alive time runs out: a deploy waited that long
    for nothing (with a keep-alive longer than the graceful timeout, until gunicorn's master
    killed the worker). Here idle connections are closed at once (a client reconnects, as
    after a keep-alive timeout); one in the middle of a request is answered first and closed
    after, as gunicorn does.
    """

    connections: weakref.WeakSet[_TrackedProtocol]

    def init_process(self) -> None:
        self.connections = weakref.WeakSet()
        # ASGIWorker._serve builds each connection's protocol by this module-level name.
        gasgi.ASGIProtocol = _TrackedProtocol  # type: ignore[misc]
        super().init_process()

    async def _shutdown(self) -> None:
        for connection in list(self.connections):
            if connection.idle and not connection._closed:
                connection._keepalive_timeout()  # closes it and ends its connection task
        await super()._shutdown()

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        """`threads` is the size of the app's thread pool here, not a warning."""

    def load_wsgi(self) -> None:
        from shared.config import get_settings

        settings = get_settings()
        super().load_wsgi()
        self.asgi = BufferedWSGI(
            self.asgi,
            threads=self.cfg.threads,
            max_body=settings.MAX_CONTENT_LENGTH,
            alive=lambda: self.alive,
            queue=settings.ADMISSION_QUEUE if settings.ADMISSION_CONTROL else None,
            max_wait_ms=settings.ADMISSION_MAX_WAIT_MS,
            cors_origins=settings.cors_origins,
        )
