"""The worker's own metrics: task outcomes and durations, grading latency, email failures,
served from the worker's main process, and the heartbeats beat and workers write to Redis.

Each pool process writes its samples to files (prometheus_client's multiprocess mode) in a
directory of this worker; the main process merges them per scrape on WORKER_METRICS_PORT.
Several workers, on one machine (each its own port) or many, are several scrape targets
that PromQL sums. The metrics are made on first use, after `worker_init` has chosen the
directory and switched prometheus_client to its multiprocess values.
"""

from __future__ import annotations

import hmac
import logging
import os
import shutil
import threading
import time
from functools import cache
from pathlib import Path
from typing import Any

from celery import signals

from shared.config import Settings
from shared.services.monitoring import Heartbeats

log = logging.getLogger(__name__)
# A worker heartbeat is sent every 2 s (Celery's event heartbeat); Redis needs fewer.
HEARTBEAT_EVERY_SECONDS = 10.0
# Grading waits are seconds; a backlog on exam day is minutes.
GRADING_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class WorkerMetrics:
    """The metric objects, in one registry (the default one in the worker)."""

    def __init__(self, registry: Any = None) -> None:
        from prometheus_client import REGISTRY, Counter, Histogram

        registry = registry or REGISTRY
        self.tasks = Counter(
            "exam_tasks",
            "Tasks finished, by name and outcome (success, failure, retry)",
            ["task", "outcome"],
            registry=registry,
        )
        self.task_duration = Histogram(
            "exam_task_duration_seconds",
            "Time a task ran in the worker",
            ["task"],
            buckets=TASK_BUCKETS,
            registry=registry,
        )
        self.grading_latency = Histogram(
            "exam_grading_latency_seconds",
            "From an attempt's submission to its grade, observed when the worker grades it",
            buckets=GRADING_BUCKETS,
            registry=registry,
        )
        self.email_failures = Counter(
            "exam_email_failures",
            "Emails that failed to send, by reason (send_error, unbuildable, unexpected)",
            ["reason"],
            registry=registry,
        )
        self.webhook_deliveries = Counter(
            "exam_webhook_deliveries",
            "Webhook delivery tries, by outcome (delivered, retrying, failed)",
            ["outcome"],
            registry=registry,
        )


@cache
def metrics() -> WorkerMetrics:
    """The process's metrics, created on first use (after worker_init chose where to)."""
    return WorkerMetrics()


def observe_grading_latency(seconds: float) -> None:
    metrics().grading_latency.observe(max(0.0, seconds))


def count_email_failure(reason: str) -> None:
    metrics().email_failures.labels(reason).inc()


def count_webhook_delivery(outcome: str) -> None:
    metrics().webhook_deliveries.labels(outcome).inc()


# --- the exporter ----------------------------------------------------------------------


def metrics_dir(settings: Settings) -> Path:
    # One port per worker on a machine, so the port names this worker's directory.
    return settings.VAR_DIR / f"worker-metrics-{settings.WORKER_METRICS_PORT}"


def start_exporter(settings: Settings) -> None:
    """In the worker's main process, before the pool forks: multiprocess files, a server."""
    directory = metrics_dir(settings)
    shutil.rmtree(directory, ignore_errors=True)  # counters start again with the worker
    directory.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    from prometheus_client import values

    # Celery's command line has already imported prometheus_client (Flower's plugin does),
    # which chose in-memory values: choose again now that the directory is set, before
    # the first of our metrics exists (the pool processes inherit the choice).
    values.ValueClass = values.get_value_class()
    metrics()
    from wsgiref.simple_server import make_server

    from prometheus_client import CollectorRegistry, make_wsgi_app, multiprocess
    from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))
    app = _token_guard(make_wsgi_app(registry), settings)
    server = make_server(
        settings.WORKER_METRICS_BIND,
        settings.WORKER_METRICS_PORT or 0,
        app,
        ThreadingWSGIServer,
        handler_class=_SilentHandler,
    )
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
    log.info("worker metrics on %s:%s", settings.WORKER_METRICS_BIND, server.server_port)


def _token_guard(app: Any, settings: Settings) -> Any:
    if settings.METRICS_TOKEN is None:
        return app
    expected = f"Bearer {settings.METRICS_TOKEN.get_secret_value()}".encode()

    def guarded(environ: dict[str, Any], start_response: Any) -> Any:
        given = environ.get("HTTP_AUTHORIZATION", "").encode()
        if not hmac.compare_digest(given, expected):
            start_response("401 Unauthorized", [("WWW-Authenticate", "Bearer")])
            return [b"metrics need the bearer token\n"]
        return app(environ, start_response)

    return guarded


# --- signals ---------------------------------------------------------------------------

_started: dict[str, float] = {}
_worker: dict[str, Any] = {"hostname": None, "queues": [], "last": 0.0, "store": None}


def _prerun(task_id: str | None = None, **_: Any) -> None:
    _started[task_id or ""] = time.perf_counter()


def _postrun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    began = _started.pop(task_id or "", None)
    if began is not None and task is not None:
        metrics().task_duration.labels(task.name).observe(time.perf_counter() - began)


def _outcome(outcome: str) -> Any:
    def handler(sender: Any = None, **_: Any) -> None:
        metrics().tasks.labels(getattr(sender, "name", str(sender)), outcome).inc()

    return handler


_on_success, _on_failure, _on_retry = (_outcome(o) for o in ("success", "failure", "retry"))


def connect(settings: Settings) -> None:
    """Connect the worker's metric and heartbeat signals (worker/app.py, at import)."""
    heartbeats = _worker["store"] = Heartbeats.from_settings(settings)

    def worker_init(**_: Any) -> None:
        if settings.WORKER_METRICS_PORT:
            start_exporter(settings)

    def worker_ready(sender: Any = None, **_: Any) -> None:
        _worker["hostname"] = sender.hostname
        _worker["queues"] = sorted(q.name for q in sender.task_consumer.queues)
        heartbeat()

    def heartbeat(**_: Any) -> None:
        now = time.time()
        if heartbeats is None or not _worker["hostname"]:
            return
        if now - _worker["last"] < HEARTBEAT_EVERY_SECONDS:
            return
        _worker["last"] = now
        try:
            heartbeats.worker(_worker["hostname"], _worker["queues"], now)
        except Exception as exc:  # Redis down: the worker's heartbeat goes stale, as it should
            log.warning("worker heartbeat not recorded: %s", exc)

    def worker_shutdown(**_: Any) -> None:
        if heartbeats is not None and _worker["hostname"]:
            try:  # a clean stop is no outage: exam_workers drops, no stale heartbeat stays
                heartbeats.worker_gone(_worker["hostname"])
            except Exception as exc:
                log.warning("worker heartbeat not removed: %s", exc)

    for signal, handler in (
        (signals.worker_init, worker_init),
        (signals.worker_ready, worker_ready),
        (signals.heartbeat_sent, heartbeat),
        (signals.worker_shutdown, worker_shutdown),
        (signals.task_prerun, _prerun),
        (signals.task_postrun, _postrun),
        (signals.task_success, _on_success),
        (signals.task_failure, _on_failure),
        (signals.task_retry, _on_retry),
    ):
        signal.connect(handler, weak=False)


def record_beat_heartbeat() -> None:
    """Run by the beat heartbeat task: beat sent it, a worker ran it, now."""
    if _worker["store"] is not None:
        _worker["store"].beat(time.time())
