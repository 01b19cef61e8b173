"""A/B lever of the serving layer for bench/ab.py: the WSGI bridge behind gunicorn's asyncio
worker, a2wsgi's (before) against web/wsgi_bridge.py (now). Both serve the same small WSGI
app (an autosave-sized request and answer, a few microseconds of its own work) to 100
requests at a time, 8 in flight, on 4 threads as a gunicorn worker does; the figures are per
batch of 100, so what differs is the bridge: its hand-offs between the loop and the threads.
CPU is the whole process's, the threads' included."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from a2wsgi import WSGIMiddleware

from web.wsgi_bridge import ThreadedWSGI

BATCH, IN_FLIGHT, THREADS = 100, 8, 4
ANSWER = b'{"saved": [{"question_id": "8d6c0a52-55cb-4f1c-9d1e-3f7b2f0e9a11", "seq": 3}]}'
SCOPE = {
    "type": "http", "method": "PUT", "path": "/api/v1/attempts/a/answers", "query_string": b"",
    "http_version": "1.1", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000),
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"120")],
}  # fmt: skip


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(ANSWER)))])  # fmt: skip
    return [ANSWER]


async def _batch(bridge: Any) -> None:
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one() -> None:
        asked = False

        async def receive() -> dict[str, Any]:
            nonlocal asked
            if asked:
                return {"type": "http.disconnect"}
            asked = True
            return {"type": "http.request", "body": b"x" * 120, "more_body": False}

        async def send(message: Any) -> None:
            return None

        async with slots:
            await bridge(SCOPE, receive, send)

    await asyncio.gather(*(one() for _ in range(BATCH)))


class ExecutorBridge(ThreadedWSGI):
    """The bridge as it was until 2026-12-07: the hand-off through run_in_executor."""

    def __init__(self, wsgi_app: Any, *, threads: int) -> None:
        super().__init__(wsgi_app, threads=threads)
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="WSGI")

    def on_thread(self, loop: asyncio.AbstractEventLoop, fn: Any, *args: Any) -> Any:
        return loop.run_in_executor(self.executor, fn, *args)


def levers() -> list[dict[str, Any]]:
    loop = asyncio.new_event_loop()  # one loop for every batch, as a worker has
    before = WSGIMiddleware(app, workers=THREADS)
    now = ThreadedWSGI(app, threads=THREADS)
    executor = ExecutorBridge(app, threads=THREADS)
    return [
        {
            "lever": f"WSGI bridge: one hand-off per request ({BATCH} requests per figure)",
            "where": "every API request",
            "clock": time.process_time,  # the app and the hand-offs run on the pool's threads
            "variants": {
                "a2wsgi, each message through the loop": lambda _: loop.run_until_complete(
                    _batch(before)
                ),
                "web/wsgi_bridge.py, now": lambda _: loop.run_until_complete(_batch(now)),
            },
        },
        {
            "lever": f"hand-off to the app's threads ({BATCH} requests per figure)",
            "where": "every API request",
            "clock": time.process_time,
            "variants": {
                "run_in_executor": lambda _: loop.run_until_complete(_batch(executor)),
                "a queue, answered with call_soon_threadsafe": lambda _: loop.run_until_complete(
                    _batch(now)
                ),
            },
        },
    ]
