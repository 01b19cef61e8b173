"""The HTTP API: `web:create_app` builds it."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_cors import CORS
from flask_smorest import Api
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.middleware.proxy_fix import ProxyFix

from shared.cache import create_cache
from shared.config import Settings, get_settings
from shared.db import replica_session_factory, session_factory
from shared.events import outbox
from shared.logs import configure_logging
from shared.messaging import create_celery
from web import errors
from web.cli import register_cli
from web.client import blp as client_blp
from web.extensions import init_db, limiter
from web.input_guard import init_input_guard
from web.observability import init_observability
from web.openapi import ClientFriendlyPlugin
from web.openapi import finish as finish_spec
from web.ops import blp as ops_blp
from web.resources.attempts.fast_path import FastLane
from web.security import BEARER, init_jwt


def create_app(
    settings: Settings | None = None, *, db: sessionmaker[Session] | None = None
) -> Flask:
    """Build the app from settings (the environment by default)."""
    settings = settings or get_settings()
    configure_logging(settings, "web")
    app = Flask(__name__)
    app.config.update(_flask_config(settings))
    app.extensions["exam.settings"] = settings
    app.extensions["exam.celery"] = create_celery(settings)
    # Webhook deliveries a request's transaction wrote are sent once it commits, with this
    # app's Celery (each request's session carries it: see web.extensions.db_session).
    outbox.send_after_commit()
    app.extensions["exam.outbox_sender"] = outbox.celery_sender(app.extensions["exam.celery"])
    app.extensions["exam.cache"] = create_cache(settings)
    # The autosave's and status poll's happy paths, before Flask's request machinery;
    # inside ProxyFix, so the lane sees the client's address.
    app.wsgi_app = app.extensions["exam.fast_lane"] = FastLane(app, app.wsgi_app)  # type: ignore[method-assign]
    if settings.PROXY_FIX_X_FOR:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.PROXY_FIX_X_FOR)  # type: ignore[method-assign]

    if settings.cors_origins:  # off unless origins are listed
        CORS(
            app,
            resources={r"/api/*": {"origins": settings.cors_origins}},
            allow_headers=["Authorization", "Content-Type", "If-None-Match", "X-Request-ID"],
            expose_headers=["ETag", "Link", "Retry-After", "X-Pagination", "X-Request-ID"],
            max_age=600,
        )
    # A replica only with the settings' own database (tests pass theirs as `db`).
    init_db(app, db or session_factory(settings), None if db else replica_session_factory(settings))
    init_observability(app)
    init_input_guard(app)
    init_jwt(app)
    limiter.init_app(app)
    api = _Api(
        app,
        spec_kwargs={
            "extra_plugins": [
                ClientFriendlyPlugin(
                    lambda endpoint: hasattr(app.view_functions.get(endpoint), "view_class")
                )
            ]
        },
    )
    api.spec.components.security_scheme(
        BEARER, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    api.spec.components.schema("Problem", schema=errors.ProblemSchema)
    errors.register_error_handlers(app)  # after Api, so our handlers win
    _register_resources(api)
    finish_spec(api.spec)
    app.register_blueprint(ops_blp)
    app.register_blueprint(client_blp)
    register_cli(app)
    return app


class _Api(Api):
    ERROR_SCHEMA = errors.ErrorSchema  # documents the contract's error shape everywhere


def _register_resources(api: Api) -> None:
    from web.resources import (
        analysis,
        attempts,
        auth,
        examday,
        exams,
        jobs,
        live,
        lti,
        notifications,
        people,
        questions,
        results,
        trust,
        webhooks,
    )

    for module in (
        auth,
        people,
        questions,
        exams,
        attempts,
        examday,
        results,
        jobs,
        notifications,
        live,
        analysis,
        webhooks,
        lti,
        trust,
    ):
        api.register_blueprint(module.blp)


API_DESCRIPTION = (
    "The online-exam API (the contract: ../shared/CONTRACT.md). Errors are application/json "
    "in the `Error` shape; a request whose Accept prefers application/problem+json gets RFC "
    "9457 problem details instead (`Problem`: the same fields, `status` the number, the "
    "reason phrase in `title`). Lists send `X-Pagination` and an RFC 8288 `Link` header. "
    "Any route may answer 503 `overloaded` with Retry-After under load."
)


def _flask_config(settings: Settings) -> dict[str, object]:
    return {
        "MAX_CONTENT_LENGTH": settings.MAX_CONTENT_LENGTH,
        "JSON_SORT_KEYS": False,
        "API_TITLE": "Exam API",
        "API_VERSION": "1",
        "OPENAPI_VERSION": "3.0.3",
        "API_SPEC_OPTIONS": {"info": {"description": API_DESCRIPTION}},
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "JWT_SECRET_KEY": settings.jwt_secret(),
        "JWT_ALGORITHM": "HS256",
        "JWT_DECODE_ALGORITHMS": ["HS256"],
        "JWT_TOKEN_LOCATION": ["headers"],
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(seconds=settings.JWT_ACCESS_TOKEN_SECONDS),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(seconds=settings.JWT_REFRESH_TOKEN_SECONDS),
        "RATELIMIT_STORAGE_URI": settings.ratelimit_storage_url,
        # X-RateLimit-* on every limited response cost a Redis round trip each; a 429 still
        # gets Retry-After (web/errors.py).
        "RATELIMIT_HEADERS_ENABLED": False,
        # If Redis is down, logins still work (unlimited) rather than failing.
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": f"{settings.REDIS_KEY_PREFIX}exam",
        **_ratelimit_storage_options(settings),
    }


def _ratelimit_storage_options(settings: Settings) -> dict[str, object]:
    """limits puts its own `LIMITS:` before every key; in the single Redis layout the rate
    limits' prefix (REDIS_KEY_PREFIX + `ratelimit`) takes its place, so that every key in
    the shared db starts with REDIS_KEY_PREFIX and a concern's prefix."""
    if settings.REDIS_LAYOUT != "single" or not settings.ratelimit_storage_url.startswith(
        ("redis://", "rediss://")
    ):
        return {}
    return {"RATELIMIT_STORAGE_OPTIONS": {"key_prefix": settings.redis_prefix("ratelimit")[:-1]}}
