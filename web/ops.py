"""Operations endpoints outside /api/v1: health, readiness, metrics and offline API docs."""

from __future__ import annotations

import hmac
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import swagger_ui_bundle
from celery import Celery
from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
)
from sqlalchemy import text

from shared.models import utcnow
from shared.services import monitoring
from web.errors import error_response
from web.extensions import celery_client, db_session, settings
from web.observability import metrics_response

log = logging.getLogger(__name__)
blp = Blueprint("ops", __name__)

SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)


@blp.get("/healthz")
def healthz() -> Response:
    """The process is alive (no I/O)."""
    return jsonify(status="ok")


# Probes come every few seconds from every load balancer: the broker is asked at most this
# often per process, in a thread, and a probe waits for the answer only briefly, so an
# unresponsive broker slows no probe past a load balancer's timeout.
BROKER_CHECK_SECONDS = 5.0
BROKER_CHECK_WAIT_SECONDS = 0.5
_broker_checks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readyz-broker")


@blp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """200 while this instance can serve saves (the database answers); the broker's state is
    reported but doesn't count: saves and submissions are kept while it is down, and a
    sweep sends their tasks later, so a broker outage must not empty the load balancer."""
    checks = {"database": _check_database(), "broker": _broker_check_cached()}
    if checks["database"] != "ok":
        return jsonify(status="unavailable", checks=checks), 503
    status = "ok" if checks["broker"] == "ok" else "degraded"
    return jsonify(status=status, checks=checks), 200


def _broker_check_cached() -> str:
    """The broker's last known state, refreshed every BROKER_CHECK_SECONDS."""
    entry = current_app.extensions.setdefault(
        "exam.broker_state", {"at": 0.0, "state": "unknown", "pending": None}
    )
    if entry["pending"] is None and time.monotonic() - entry["at"] > BROKER_CHECK_SECONDS:
        entry["pending"] = _broker_checks.submit(_check_broker, celery_client())
    pending = entry["pending"]
    if pending is not None:
        try:
            entry["state"] = pending.result(timeout=BROKER_CHECK_WAIT_SECONDS)
        except FutureTimeout:  # still trying: a later probe reads its answer
            return entry["state"] if entry["state"] != "unknown" else "unreachable"
        entry["at"], entry["pending"] = time.monotonic(), None
    return str(entry["state"])


def _check_database() -> str:
    try:
        db_session().execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        log.warning("readiness: database check failed: %s", exc)
        return "unreachable"


def _check_broker(app: Celery) -> str:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            # Declaring a queue is idempotent and makes a real round trip on every transport.
            with conn.channel() as channel:
                channel.queue_declare(queue="default", durable=True, auto_delete=False)
        return "ok"
    except Exception as exc:
        log.warning("readiness: broker check failed: %s", exc)
        return "unreachable"


@blp.get("/metrics")
def metrics() -> Response:
    """Prometheus text; with METRICS_TOKEN set, only for `Authorization: Bearer <token>`."""
    token = settings().METRICS_TOKEN
    if token is not None:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, f"Bearer {token.get_secret_value()}".encode()):
            response = error_response(401, message="metrics need the bearer token")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
    if "exam.heartbeats" not in current_app.extensions:  # None in embedded mode
        current_app.extensions["exam.heartbeats"] = monitoring.Heartbeats.from_settings(settings())
    heartbeats = current_app.extensions["exam.heartbeats"]
    try:
        state = monitoring.system_state(db_session(), celery_client(), utcnow(), heartbeats)
    except Exception as exc:  # the database is down: serve the process metrics anyway
        log.warning("metrics: system state unavailable: %s", exc)
        state = None
    return metrics_response(state)


@blp.get("/api/docs")
def docs() -> Response:
    """Swagger UI served from the installed package: works with no internet."""
    response = Response(render_template("docs.html"), mimetype="text/html")
    # Swagger UI sets style attributes from script; nothing else is relaxed.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
    return response


@blp.get("/api/docs/assets/<path:filename>")
def docs_assets(filename: str) -> Response:
    return send_from_directory(SWAGGER_DIR, filename, max_age=86400)
