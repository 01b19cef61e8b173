"""The WSGI app behind gunicorn's asyncio worker: one hand-off to a thread per request.

web/serving.py reads every request whole on the event loop before the app sees it. a2wsgi's
bridge, which this replaces, then still read the body back through the loop and sent each
part of the response (its start, every chunk, the end) from the app's thread to the loop
and waited for it there: four or more cross-thread round trips a request, each waking the
loop and the thread in turn on a machine whose two cores are already busy. Here the body is
a BytesIO, the app runs on a thread, and a response of known length (Flask sets
Content-Length on every response it holds whole) is collected there and sent by the loop
when the thread is done: one hand-off each way. A response without a length (a generator:
server-sent events in embedded mode, a streamed export) or one longer than `buffer_limit`
is streamed instead, each chunk sent from the thread as it comes, as a2wsgi did.

The hand-off itself is a queue the threads take calls from, each answered on the loop with
one `call_soon_threadsafe`: `run_in_executor` chains a concurrent Future (with its own lock
and condition) to an asyncio one and takes the executor's locks, every request
(docs/performance.md, "The hand-off to the app's threads")."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import io
import queue
import threading
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from a2wsgi.wsgi import build_environ

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

BUFFER_LIMIT = 256 * 1024  # bytes of response held before it is streamed instead
_NO_BODY = frozenset({204, 304})


class ThreadedWSGI:
    """An ASGI app that runs the WSGI `app` on a pool of `threads` threads."""

    def __init__(self, app: Any, *, threads: int, buffer_limit: int = BUFFER_LIMIT) -> None:
        self.app = app
        self.buffer_limit = buffer_limit
        self.threads = Threads(threads, name="WSGI")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":  # websockets: not served here
            await send({"type": "websocket.close", "code": 1000})
            return
        body = await _whole_body(receive)
        environ = build_environ(scope, io.BytesIO(body))  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        call = _Call(loop, send, self.buffer_limit)
        context = contextvars.copy_context()  # the loop's context vars, as a2wsgi passed them
        await self.on_thread(loop, context.run, call.run, self.app, environ)
        if call.streamed:
            return  # the thread sent it all, the end included
        headers = call.headers
        if call.length is None and call.status not in _NO_BODY and scope["method"] != "HEAD":
            headers = [*headers, (b"content-length", b"0")]  # a stream that sent nothing
        await send({"type": "http.response.start", "status": call.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"".join(call.chunks)})

    def on_thread(self, loop: asyncio.AbstractEventLoop, fn: Any, *args: Any) -> Awaitable[Any]:
        return self.threads.run(loop, fn, *args)

    def close(self) -> None:
        """Stop the threads once they are done with what they were given."""
        self.threads.close()


class Threads:
    """`count` threads that run calls handed over from an event loop; each call's outcome is
    set on an asyncio Future on that loop. Started on first use."""

    def __init__(self, count: int, *, name: str) -> None:
        self.count, self.name = count, name
        self.work: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.started: list[threading.Thread] = []
        self.lock = threading.Lock()

    def run(self, loop: asyncio.AbstractEventLoop, fn: Any, *args: Any) -> asyncio.Future[Any]:
        if not self.started:
            self._start()
        future = loop.create_future()
        self.work.put((loop, future, fn, args))
        return future

    def close(self) -> None:
        for _ in self.started:
            self.work.put(None)
        for thread in self.started:
            thread.join()
        self.started = []

    def _start(self) -> None:
        with self.lock:
            for n in range(len(self.started), self.count):
                thread = threading.Thread(target=self._serve, name=f"{self.name}_{n}", daemon=True)
                thread.start()
                self.started.append(thread)

    def _serve(self) -> None:
        while (item := self.work.get()) is not None:
            loop, future, fn, args = item
            if future.cancelled():  # given up before it started, as an executor drops it
                continue
            try:
                outcome = (_succeed, future, fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting request
                outcome = (_fail, future, exc)
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(*outcome)
            del item, outcome  # no reference to a response or an error kept while idle


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # the request was cancelled (its client went, the worker stops)
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


class _Call:
    """One request's run of the WSGI app, on its thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, send: Send, buffer_limit: int) -> None:
        self.loop = loop
        self.send = send
        self.buffer_limit = buffer_limit
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.started = False
        self.length: int | None = None  # the response's Content-Length, if it has one
        self.chunks: list[bytes] = []
        self.size = 0
        self.streamed = False

    def run(self, app: Any, environ: dict[str, Any]) -> None:
        iterable: Iterable[bytes] = app(environ, self.start_response)
        try:
            for chunk in iterable:
                self.write(chunk)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        if not self.started:
            raise RuntimeError("the WSGI app returned without calling start_response")
        if self.streamed:
            self._send_from_thread({"type": "http.response.body", "body": b""})

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None and self.streamed:  # too late to change the status: PEP 3333
            raise exc_info[1].with_traceback(exc_info[2])
        self.started = True
        self.status = int(status.split(" ", 1)[0])
        self.headers = [
            (name.strip().lower().encode("latin-1"), value.strip().encode("latin-1"))
            for name, value in headers
        ]
        length = next((v for n, v in self.headers if n == b"content-length"), None)
        self.length = int(length) if length is not None and length.isdigit() else None
        return self.write

    def write(self, chunk: bytes) -> None:
        if not chunk:
            return
        if not self.streamed and (
            self.length is None or self.size + len(chunk) > self.buffer_limit
        ):  # a stream, or too big to hold: sent as it comes from here on
            self.streamed = True
            self._send_from_thread(
                {"type": "http.response.start", "status": self.status, "headers": self.headers}
            )
            if self.chunks:
                held, self.chunks = b"".join(self.chunks), []
                self._send_from_thread(
                    {"type": "http.response.body", "body": held, "more_body": True}
                )
        if self.streamed:
            self._send_from_thread({"type": "http.response.body", "body": chunk, "more_body": True})
            return
        self.chunks.append(chunk)
        self.size += len(chunk)

    def _send_from_thread(self, message: Message) -> None:
        """Waits until the loop has sent it: a slow reader slows the thread, not memory.
        A loop that has stopped (the worker shut down, the request was abandoned) never
        will: the app's thread is told so instead of waiting forever."""
        sending = self.send(message)
        try:
            future = asyncio.run_coroutine_threadsafe(sending, self.loop)
        except RuntimeError:  # the loop is closed
            sending.close()  # never to run: no "never awaited" left behind
            raise ConnectionError("the server stopped before the response was sent") from None
        while True:
            try:
                future.result(timeout=1.0)
                return
            except TimeoutError:
                if self.loop.is_closed():
                    sending.close()
                    raise ConnectionError(
                        "the server stopped before the response was sent"
                    ) from None


async def _whole_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away: the app sees what had arrived
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    message = await receive()
    if message["type"] == "lifespan.startup":
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
    if message["type"] == "lifespan.shutdown":
        await send({"type": "lifespan.shutdown.complete"})
