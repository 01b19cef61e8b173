"""The contract's error shape for every error, and domain errors mapped to HTTP in one place."""

from __future__ import annotations

import logging
import time
from http import HTTPStatus
from typing import Any

import marshmallow as ma
from flask import Flask, Response, jsonify
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from shared import errors
from web.extensions import limiter

log = logging.getLogger(__name__)

# Machine codes for errors raised without one (404 from routing, 413 from werkzeug, ...).
DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}

DOMAIN_STATUS: dict[type[errors.DomainError], int] = {
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.InvalidInput: 422,
    errors.InvalidCredentials: 401,
    errors.PermissionDenied: 403,
    errors.ServiceUnavailable: 503,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
}

RETRY_AFTER_SECONDS = "2"


class ErrorSchema(ma.Schema):
    """Every error response: HTTP code, reason phrase, message and a machine code."""

    code = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = ma.fields.String(required=True, metadata={"description": "HTTP reason phrase"})
    message = ma.fields.String(metadata={"description": "What went wrong, for humans"})
    error = ma.fields.String(required=True, metadata={"description": "Machine error code"})
    errors = ma.fields.Dict(metadata={"description": "Per-field messages (422)"})


def error_body(status: int, error: str | None = None, message: str | None = None) -> dict[str, Any]:
    phrase = HTTPStatus(status).phrase
    return {
        "code": status,
        "status": phrase,
        "message": message or phrase,
        "error": error or DEFAULT_CODES.get(status, phrase.lower().replace(" ", "_")),
    }


def error_response(status: int, error: str | None = None, message: str | None = None) -> Response:
    response = jsonify(error_body(status, error, message))
    response.status_code = status
    return response


def handle_http_exception(exc: HTTPException) -> Response:
    """abort(..., message=, error=, errors=, headers=) and werkzeug's own errors."""
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    message = data.get("message") or (exc.description if status < 500 else None)
    body = error_body(status, data.get("error"), message)
    field_errors = data.get("errors") or data.get("messages")
    if field_errors:
        body["errors"] = field_errors
    response = jsonify(body)
    response.status_code = status
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    if exc.response is not None:  # e.g. flask-limiter's Retry-After, 405's Allow
        for name in ("Retry-After", "Allow"):
            if name in exc.response.headers:
                response.headers[name] = exc.response.headers[name]
    if status == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    if status == 429 and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = _retry_after()
    return response


def _retry_after() -> str:
    """Seconds until the breached limit's window resets (at least one)."""
    breached = limiter.current_limit
    if breached is None:
        return "1"
    return str(max(1, int(breached.reset_at - time.time())))


def handle_domain_error(exc: errors.DomainError) -> Response:
    status = next(s for cls, s in DOMAIN_STATUS.items() if isinstance(exc, cls))
    body = error_body(status, exc.code, exc.message)
    if isinstance(exc, errors.InvalidInput) and exc.errors:
        body["errors"] = {"json": exc.errors}
    response = jsonify(body)
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def handle_database_error(exc: Exception) -> Response:
    """A lost or saturated database is a 503 the client retries; nothing was acknowledged."""
    # OperationalError covers connection loss, admin shutdown and statement timeouts.
    outage = isinstance(exc, OperationalError | PoolTimeout) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )
    if not outage:
        return handle_unexpected(exc)
    log.warning("database unavailable: %s", exc.__class__.__name__)
    response = error_response(503, "service_unavailable", "database unavailable, retry shortly")
    response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def handle_unexpected(exc: Exception) -> Response:
    log.exception("unhandled error")
    return error_response(500, "internal_error", "internal error; it has been logged")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(errors.DomainError, handle_domain_error)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(PoolTimeout, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)
