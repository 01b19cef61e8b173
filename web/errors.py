"""The contract's error shape for every error, and domain errors mapped to HTTP in one place."""

from __future__ import annotations

import json
import logging
import time
from http import HTTPStatus
from typing import Any

import marshmallow as ma
from flask import Flask, Response, jsonify, request
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


class ProblemSchema(ErrorSchema):
    """The same error as RFC 9457 problem details (application/problem+json), sent when the
    request's Accept prefers it: today's fields, with `status` the number and the reason
    phrase in `title`."""

    type = ma.fields.String(
        required=True, metadata={"description": "urn:exam-api:error:<machine code>"}
    )
    title = ma.fields.String(required=True, metadata={"description": "HTTP reason phrase"})
    status = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    detail = ma.fields.String(metadata={"description": "Same as message"})
    instance = ma.fields.String(metadata={"description": "The request's path"})


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


PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE = "urn:exam-api:error:"


def wants_problem_json() -> bool:
    """The client's Accept ranks application/problem+json above application/json."""
    best = request.accept_mimetypes.best_match(["application/json", PROBLEM_JSON])
    return best == PROBLEM_JSON and request.accept_mimetypes[PROBLEM_JSON] > 0


def problem_details(body: dict[str, Any]) -> dict[str, Any]:
    """An error body as RFC 9457 problem details, keeping every field of today's shape but
    one: `status` is the number there (RFC 9457), and the reason phrase moves to `title`.
    `type` names the machine code (`urn:exam-api:error:<error>`), `detail` is `message`."""
    problem = dict(body)
    problem["type"] = PROBLEM_TYPE + str(body.get("error") or "about:blank")
    problem["title"] = body.get("status") or HTTPStatus(int(body["code"])).phrase
    problem["status"] = int(body["code"])
    problem["detail"] = body.get("message")
    problem["instance"] = request.path
    return problem


def _as_problem(response: Response) -> Response:
    """after_request: every JSON error (ours, flask-smorest's, the JWT loaders', a 500) in
    the media type the client prefers; plain JSON, as ever, unless it asks."""
    if response.status_code < 400 or response.mimetype != "application/json":
        return response
    response.vary.add("Accept")
    if not wants_problem_json():
        return response
    body = response.get_json(silent=True)
    if not isinstance(body, dict) or "code" not in body or "error" not in body:
        return response
    response.set_data(json.dumps(problem_details(body)))
    response.mimetype = PROBLEM_JSON
    return response


def register_error_handlers(app: Flask) -> None:
    app.after_request(_as_problem)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(errors.DomainError, handle_domain_error)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(PoolTimeout, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)
