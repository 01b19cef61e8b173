"""Operations endpoints outside /api/v1: health, readiness, metrics and offline API docs."""

from __future__ import annotations

import logging
from pathlib import Path

import swagger_ui_bundle
from flask import Blueprint, Response, jsonify, render_template, send_from_directory
from sqlalchemy import text

from shared.models import utcnow
from shared.services import monitoring
from web.extensions import celery_client, db_session
from web.observability import metrics_response

log = logging.getLogger(__name__)
blp = Blueprint("ops", __name__)

SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)


@blp.get("/healthz")
def healthz() -> Response:
    """The process is alive (no I/O)."""
    return jsonify(status="ok")


@blp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Database and broker reachable: 200; otherwise 503 naming what is down."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    ok = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ok else "unavailable", checks=checks), 200 if ok else 503


def _check_database() -> str:
    try:
        db_session().execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        log.warning("readiness: database check failed: %s", exc)
        return "unreachable"


def _check_broker() -> str:
    app = celery_client()
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
    try:
        state = monitoring.system_state(db_session(), celery_client(), utcnow())
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
