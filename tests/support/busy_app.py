"""A WSGI app for admission-control drills: `/api/work` holds a thread for WORK_SECONDS (a
request's work, without the CPU, so the client's load is all that is measured), `/api/slow`
holds one for SLOW_SECONDS, `/healthz` answers at once, `/metrics` serves the worker's metrics
as the API's /metrics merges them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

THREADS = 2  # gunicorn's threads for the app in these drills (the e2e `gunicorn` fixture)
WORK_SECONDS = 0.025
SLOW_SECONDS = 5.0


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    if path == "/metrics":
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [generate_latest(registry)]
    if path == "/api/work":
        time.sleep(WORK_SECONDS)
    elif path == "/api/slow":  # in flight while a test stops the server
        time.sleep(SLOW_SECONDS)
    start_response("200 OK", [("Content-Type", "application/json"), ("X-Request-ID", "app")])
    return [b'{"ok": true}']


def serve(procs: Any, **env: str) -> str:
    """Starts this app under deploy/gunicorn.conf.py in `procs`; its base URL once it answers."""
    from tests.support.http import answers
    from tests.support.processes import wait_until
    from tests.support.servers import free_port

    port = free_port()
    procs.start("web", "gunicorn", "-c", "deploy/gunicorn.conf.py", "tests.support.busy_app:app",
                API_BIND=f"127.0.0.1:{port}", **env)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(f"{base}/healthz"), 30, f"gunicorn at {base}", interval=0.2)
    except AssertionError:
        raise AssertionError(procs.logs()) from None
    return base
