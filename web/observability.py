"""Request ids, one structured access-log line per request, Prometheus metrics, headers."""

from __future__ import annotations

import logging
import os
import re
import time
import uuid

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from shared.logs import request_id_var
from shared.services.monitoring import SystemState
from web.live_stream import TICK_SCOPE_KEY

log = logging.getLogger("web.request")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"]
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _start() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
    g.request_id = rid
    g.started = time.perf_counter()
    request_id_var.set(rid)


def _finish(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "")
    _security_headers(response)
    elapsed = time.perf_counter() - g.get("started", time.perf_counter())
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    if endpoint != "/metrics":
        REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        LATENCY.labels(request.method, endpoint).observe(elapsed)
    # A live stream's events after its first are requests too, but one line per stream is
    # enough at INFO (web/live_stream.py).
    quiet = request.environ.get("asgi.scope", {}).get(TICK_SCOPE_KEY)
    log.log(
        logging.DEBUG if quiet else logging.INFO,
        "request",
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(elapsed * 1000, 2),
            "remote_addr": request.remote_addr,
        },
    )
    return response


def _security_headers(response: Response) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html":
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; object-src 'none'; "
            "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        )


class _StateCollector:
    """Attempt counts, submit-to-graded latency and queue depths, read at scrape time."""

    def __init__(self, state: SystemState) -> None:
        self.state = state

    def collect(self):  # type: ignore[no-untyped-def]
        state = self.state
        attempts = GaugeMetricFamily("exam_attempts", "Attempts by status", labels=["status"])
        for status, count in state.attempts.items():
            attempts.add_metric([status], count)
        yield attempts
        yield GaugeMetricFamily(
            "exam_oldest_ungraded_seconds",
            "Age of the oldest submitted attempt not graded yet",
            value=state.oldest_ungraded_seconds,
        )
        latency = GaugeMetricFamily(
            "exam_submit_to_graded_seconds",
            "Submit-to-graded latency over the last 5 minutes",
            labels=["quantile"],
        )
        for quantile, seconds in state.grading_latency.items():
            latency.add_metric([str(quantile)], seconds)
        yield latency
        yield GaugeMetricFamily(
            "exam_graded_last_5m",
            "Attempts graded in the last 5 minutes",
            value=state.graded_in_window,
        )
        depth = GaugeMetricFamily(
            "exam_queue_depth", "Messages waiting per queue", labels=["queue"]
        )
        for queue, count in state.queue_depth.items():
            depth.add_metric([queue], count)
        yield depth


def metrics_response(state: SystemState | None) -> Response:
    """Prometheus text; with several gunicorn workers, merged from every worker's files."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        data = generate_latest(registry)
    else:
        data = generate_latest()
    if state is not None:
        extra = CollectorRegistry()
        extra.register(_StateCollector(state))  # type: ignore[arg-type]
        data += generate_latest(extra)
    return Response(data, mimetype=CONTENT_TYPE_LATEST)


def init_observability(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
