"""Request ids, one structured access-log line per request, Prometheus metrics, headers.

The metrics and alerts built on them: docs/operations.md, "Metrics and alerts"."""

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

from shared.logs import connect_task_request_ids, request_id_var
from shared.services.monitoring import SystemState, connect_sent_at_stamp
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
AUTOSAVE_REJECTIONS = Counter(
    "exam_autosave_rejections",
    "Autosaves refused by error code (deadline_passed, already_submitted, validation_error, "
    "rate_limited, ...) and answers ignored as stale (reason stale_seq)",
    ["reason"],
)
SHED = Counter(
    "exam_requests_shed",
    "Requests refused with 503 overloaded before any work was done (admission control)",
    ["reason"],
)
SAVE_ENDPOINT = "attempts.save_answers"
STATUS_ENDPOINT = "attempts.status"


def count_shed(reason: str = "overloaded") -> None:
    """Call where a request is refused for load, before it does any work."""
    SHED.labels(reason).inc()


def _count_autosave(response: Response) -> None:
    # Read back from the response the view built, so the hot view stays as it is.
    body = response.get_json(silent=True) if response.is_json else None
    if not isinstance(body, dict):
        return
    if response.status_code >= 400:
        AUTOSAVE_REJECTIONS.labels(str(body.get("error", response.status_code))).inc()
    else:
        count_ignored(body.get("ignored"))


def count_ignored(ignored: list[str] | None) -> None:
    """An answered autosave's answers ignored as stale (a `seq` not newer than stored)."""
    if ignored:
        AUTOSAVE_REJECTIONS.labels("stale_seq").inc(len(ignored))


def safe_request_id(incoming: str) -> tuple[str, bool]:
    """The request's id: the client's X-Request-ID if it is safe to log, else a new one;
    and whether it was the client's."""
    if _SAFE_ID.match(incoming):
        return incoming, True
    return uuid.uuid4().hex, False


def _start() -> None:
    rid, _ = safe_request_id(request.headers.get("X-Request-ID", ""))
    g.request_id = rid
    g.started = time.perf_counter()
    request_id_var.set(rid)


def _finish(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "")
    _security_headers(response)
    elapsed = time.perf_counter() - g.get("started", time.perf_counter())
    if request.endpoint == SAVE_ENDPOINT:
        _count_autosave(response)
    # A live stream's events after its first are requests too, but one line per stream is
    # enough at INFO (web/live_stream.py).
    quiet = request.environ.get("asgi.scope", {}).get(TICK_SCOPE_KEY)
    record_request(
        request.method,
        request.url_rule.rule if request.url_rule else "unmatched",
        response.status_code,
        elapsed,
        path=request.path,
        remote_addr=request.remote_addr,
        level=logging.DEBUG if quiet else logging.INFO,
    )
    return response


def record_request(
    method: str,
    rule: str,
    status: int,
    elapsed: float,
    *,
    path: str,
    remote_addr: str | None,
    level: int = logging.INFO,
) -> None:
    """An answered request's metrics and its one access-log line (Flask's and the fast
    lane's alike: web/resources/attempts/fast_path.py)."""
    if rule != "/metrics":
        REQUESTS.labels(method, rule, str(status)).inc()
        LATENCY.labels(method, rule).observe(elapsed)
    log.log(
        level,
        "request",
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
            "remote_addr": remote_addr,
        },
    )


SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)


HTML_CSP = (
    "Content-Security-Policy",
    "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
)


def _security_headers(response: Response) -> None:
    for name, value in SECURITY_HEADERS:
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        response.headers.setdefault(*HTML_CSP)


class _StateCollector:
    """Attempt counts, grading backlog, queues, broker and heartbeats, read at scrape time
    (every API instance reports the same values: alerts take their max)."""

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
        yield GaugeMetricFamily(
            "exam_graded_last_5m",
            "Attempts graded in the last 5 minutes",
            value=state.graded_in_window,
        )
        yield GaugeMetricFamily(
            "exam_broker_up", "1 if the broker answered this scrape", value=int(state.broker_up)
        )
        yield _by_label(
            "exam_queue_depth", "Messages waiting per queue", "queue", state.queue_depth
        )
        yield _by_label(
            "exam_queue_oldest_task_age_seconds",
            "Age of the oldest message waiting per queue (Redis broker)",
            "queue",
            state.queue_oldest_seconds,
        )
        beat = GaugeMetricFamily(
            "exam_beat_heartbeat_timestamp_seconds",
            "When a beat heartbeat task last ran (Unix time)",
        )
        if state.beat_heartbeat is not None:
            beat.add_metric([], state.beat_heartbeat)
        yield beat
        yield _by_label(
            "exam_worker_heartbeat_timestamp_seconds",
            "Each worker's last heartbeat (Unix time); removed when it stops cleanly",
            "worker",
            state.worker_heartbeats,
        )
        yield _by_label(
            "exam_workers",
            "Workers with a heartbeat in the last minute, per queue they consume",
            "queue",
            state.workers_per_queue,
        )


def _by_label(name: str, doc: str, label: str, values: dict[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, value in values.items():
        family.add_metric([key], value)
    return family


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
    # Tasks sent from a request carry its id (into the worker's log lines) and their send time.
    connect_task_request_ids()
    connect_sent_at_stamp()
    if app.extensions["exam.settings"].OTEL_ENABLED:  # imported only when asked for
        from shared.tracing import trace_flask

        trace_flask(app)
