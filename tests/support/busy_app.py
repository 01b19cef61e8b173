"""A WSGI app for admission-control drills: `/api/work` holds a thread for WORK_SECONDS (a
request's work, without the CPU, so the client's load is all that is measured), `/healthz`
answers at once, `/metrics` serves the worker's metrics as the API's /metrics merges them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

WORK_SECONDS = 0.025


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    if path == "/metrics":
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [generate_latest(registry)]
    if path == "/api/work":
        time.sleep(WORK_SECONDS)
    start_response("200 OK", [("Content-Type", "application/json"), ("X-Request-ID", "app")])
    return [b'{"ok": true}']
