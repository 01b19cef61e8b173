"""web/serving.py's admission control: past a worker's budget (its threads running plus a
short queue) a request is answered 503 `overloaded` with Retry-After at once, from the event
loop; probes, /metrics and live streams are never refused; a queued request that gets a
thread in time is served. Driven through BufferedWSGI and its WSGI bridge with a WSGI app
that blocks its threads until the test lets them go."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from web.observability import SHED
from web.serving import SERVER_HEADER, BufferedWSGI

from .test_serving import LIVE, run_alone, scope

BUSY = "/api/v1/attempts/1/answers"


class Blocking:
    """A WSGI app whose every request holds its thread until `release` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.running = 0
        self.served: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        with self.lock:
            self.running += 1
        try:
            assert self.release.wait(timeout=10), "the test never released the app"
        finally:
            with self.lock:
                self.running -= 1
        self.served.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"ok": true}']


class Client:
    """Sends requests to the app on the running loop; each result is (messages, seconds)."""

    def __init__(self, app: BufferedWSGI) -> None:
        self.app = app

    def start(
        self, path: str, headers: list[tuple[bytes, bytes]] | None = None, method: str = "PUT"
    ) -> asyncio.Task[tuple[list[dict[str, Any]], float]]:
        request = dict(scope(headers or []), path=path, method=method)
        return asyncio.ensure_future(self._one(request))

    async def _one(self, request: dict[str, Any]) -> tuple[list[dict[str, Any]], float]:
        sent: list[dict[str, Any]] = []
        asked = 0

        async def receive() -> dict[str, Any]:
            nonlocal asked
            asked += 1
            if asked == 1:
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.sleep(3600)  # the client stays connected
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        began = time.perf_counter()
        await asyncio.wait_for(self.app(request, receive, send), timeout=10)
        return sent, time.perf_counter() - began


async def until(check, what: str, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    ends = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < ends, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


def status(result: tuple[list[dict[str, Any]], float]) -> int:
    return result[0][0]["status"]


def headers(result: tuple[list[dict[str, Any]], float]) -> dict[bytes, bytes]:
    return dict(result[0][0]["headers"])


def body(result: tuple[list[dict[str, Any]], float]) -> dict[str, Any]:
    return json.loads(b"".join(m.get("body", b"") for m in result[0][1:]))


def shed_so_far() -> float:
    return SHED.labels("overloaded")._value.get()


def test_past_the_budget_requests_are_refused_at_once_and_the_queued_one_is_served():
    wsgi = Blocking()
    app = BufferedWSGI(wsgi, threads=2, max_body=1024, queue=1, max_wait_ms=3000)
    shed_before = shed_so_far()

    async def run() -> dict[str, Any]:
        client = Client(app)
        running = [client.start(BUSY), client.start(BUSY)]
        await until(lambda: wsgi.running == 2, "both threads busy")
        queued = client.start(BUSY)
        await until(lambda: len(app.admission.waiting) == 1, "a request waiting")  # type: ignore[union-attr]
        refused = await client.start(BUSY, [(b"x-request-id", b"client-id-1")])
        unsafe = await client.start("/api/v1/exams", [(b"x-request-id", b"bad id\n")], "GET")
        # Probes and metrics are never refused, even with the budget spent: they wait their
        # turn for a thread like any request would without admission control.
        # Nor are the web client's files: a page must load to back off (its modules at once).
        never = ("/healthz", "/readyz", "/metrics", "/", "/app/main.js", "/app/api.js")
        probes = [client.start(path, method="GET") for path in never]
        await asyncio.sleep(0.2)
        assert not any(p.done() for p in probes)
        assert not queued.done()
        wsgi.release.set()
        return {
            "running": await asyncio.gather(*running),
            "queued": await queued,
            "refused": refused,
            "unsafe": unsafe,
            "probes": await asyncio.gather(*probes),
            "after": await client.start(BUSY),  # the budget is whole again
        }

    got = run_alone(run)

    assert [status(r) for r in got["running"]] == [200, 200]
    assert status(got["queued"]) == 200  # waited for a thread, got one in time
    assert [status(r) for r in got["probes"]] == [200] * 6
    assert status(got["after"]) == 200
    for refused in (got["refused"], got["unsafe"]):
        assert status(refused) == 503
        assert refused[1] < 0.05  # answered at once, not after a wait
        assert body(refused) == {
            "code": 503,
            "status": "Service Unavailable",
            "message": "the server is busy: retry after Retry-After seconds",
            "error": "overloaded",
        }
        sent = headers(refused)
        assert sent[b"retry-after"] == b"1"
        assert sent[b"cache-control"] == b"no-store"
        assert sent[b"content-type"] == b"application/json"
        assert sent[b"server"] == SERVER_HEADER
        assert sent[b"x-content-type-options"] == b"nosniff"
    assert headers(got["refused"])[b"x-request-id"] == b"client-id-1"  # echoed, as the app does
    assert len(headers(got["unsafe"])[b"x-request-id"]) == 32  # not echoed: a fresh one
    # The app never saw the refused requests: two running, the queued one, probes, the last.
    assert wsgi.served.count(BUSY) == 4 and "/api/v1/exams" not in wsgi.served
    assert shed_so_far() - shed_before == 2
    assert app.admission.running == 0 and not app.admission.waiting  # type: ignore[union-attr]


def test_a_request_queued_past_the_longest_wait_is_refused_then():
    wsgi = Blocking()
    app = BufferedWSGI(wsgi, threads=1, max_body=1024, queue=4, max_wait_ms=100)

    async def run() -> tuple[Any, Any]:
        client = Client(app)
        running = client.start(BUSY)
        await until(lambda: wsgi.running == 1, "the thread busy")
        late = await client.start(BUSY)
        wsgi.release.set()
        return await running, late

    running, late = run_alone(run)

    assert status(running) == 200
    assert status(late) == 503 and body(late)["error"] == "overloaded"
    assert 0.09 <= late[1] < 0.5  # after the longest wait, not before, not much after
    assert app.admission.running == 0 and not app.admission.waiting  # type: ignore[union-attr]


def test_queued_requests_get_threads_in_their_order_of_arrival():
    wsgi = Blocking()
    order: list[str] = []

    def app_(environ, start_response):  # type: ignore[no-untyped-def]
        order.append(environ["QUERY_STRING"])
        return wsgi(environ, start_response)

    app = BufferedWSGI(app_, threads=1, max_body=1024, queue=3, max_wait_ms=3000)

    async def run() -> list[Any]:
        client = Client(app)
        first = client.start(BUSY)
        await until(lambda: wsgi.running == 1, "the thread busy")
        queued = []
        for n in range(3):
            task = asyncio.ensure_future(
                client._one(dict(scope([]), path=BUSY, query_string=f"n={n}".encode()))
            )
            queued.append(task)
            await until(lambda n=n: len(app.admission.waiting) == n + 1, "queued")  # type: ignore[union-attr]
        wsgi.release.set()
        return [await first, *[await t for t in queued]]

    results = run_alone(run)

    assert [status(r) for r in results] == [200] * 4
    assert order == ["", "n=0", "n=1", "n=2"]


def test_a_live_stream_is_never_refused_and_its_ticks_count_against_the_budget():
    wsgi = Blocking()
    app = BufferedWSGI(wsgi, threads=2, max_body=1024, queue=0, max_wait_ms=100)
    app.live.interval = 0.05

    async def run() -> tuple[Any, Any, Any]:
        client = Client(app)
        running = client.start(BUSY)
        await until(lambda: wsgi.running == 1, "one thread busy")
        stream = client.start(LIVE + "/stream", [(b"authorization", b"Bearer t")], "GET")
        await until(lambda: wsgi.running == 2, "the stream's first tick on the other thread")
        # A tick holds a thread: with both taken, a request is refused (no queue here)...
        refused = await client.start(BUSY)
        wsgi.release.set()
        served = await running
        await until(lambda: len(wsgi.served) >= 3, "more ticks")
        stream.cancel()  # the proctor leaves
        return await asyncio.gather(stream, return_exceptions=True), refused, served

    (stream_result,), refused, running = run_alone(run)

    assert isinstance(stream_result, asyncio.CancelledError)
    assert status(running) == 200
    assert status(refused) == 503
    assert app.admission.running == 0  # type: ignore[union-attr]


def test_without_admission_control_every_request_waits_for_a_thread():
    """What the gate changes: with it off (ADMISSION_CONTROL=false), nothing is refused."""
    wsgi = Blocking()
    app = BufferedWSGI(wsgi, threads=1, max_body=1024)

    async def run() -> list[Any]:
        client = Client(app)
        tasks = [client.start(BUSY) for _ in range(4)]
        await until(lambda: wsgi.running == 1, "the thread busy")
        await asyncio.sleep(0.2)
        assert not any(t.done() for t in tasks)
        wsgi.release.set()
        return await asyncio.gather(*tasks)

    assert [status(r) for r in run_alone(run)] == [200] * 4


def test_a_client_asking_for_problem_json_is_refused_in_rfc_9457_form():
    wsgi = Blocking()
    app = BufferedWSGI(wsgi, threads=1, max_body=1024, queue=0, max_wait_ms=0)

    async def run() -> dict[str, Any]:
        client = Client(app)
        running = client.start(BUSY)
        await until(lambda: wsgi.running == 1, "the thread busy")
        problem = await client.start(BUSY, [(b"accept", b"application/problem+json")])
        plain = await client.start(BUSY, [(b"accept", b"application/json, */*")])
        wsgi.release.set()
        await running
        return {"problem": problem, "plain": plain}

    got = run_alone(run)

    assert status(got["problem"]) == 503
    assert headers(got["problem"])[b"content-type"] == b"application/problem+json"
    assert body(got["problem"]) == {
        "type": "urn:exam-api:error:overloaded",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "the server is busy: retry after Retry-After seconds",
        "instance": BUSY,
        "code": 503,
        "message": "the server is busy: retry after Retry-After seconds",
        "error": "overloaded",
    }
    assert headers(got["plain"])[b"content-type"] == b"application/json"
    assert body(got["plain"])["status"] == "Service Unavailable"
