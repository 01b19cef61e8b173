"""Per-app services the views use: settings, the request's DB session, Celery, limiter, JWT."""

from __future__ import annotations

from typing import cast

from celery import Celery
from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from sqlalchemy.orm import Session, sessionmaker

from shared.cache import Cache
from shared.config import Settings
from shared.events import outbox
from shared.messaging import enqueue, enqueue_emails
from web.token_cache import CachingJWTManager

# Module-level because route decorators (@limiter.limit) need it at import time.
limiter = Limiter(key_func=get_remote_address)
jwt = CachingJWTManager()


def settings() -> Settings:
    return cast(Settings, current_app.extensions["exam.settings"])


def cache() -> Cache:
    return cast(Cache, current_app.extensions["exam.cache"])


def celery_client() -> Celery:
    """The Celery app used only to send tasks by name (web never imports worker)."""
    return cast(Celery, current_app.extensions["exam.celery"])


def send_task(name: str, *args: object, **options: object) -> bool:
    """Send a task by name, after the commit; never fails the request (a sweep repairs)."""
    return enqueue(celery_client(), name, args, **options)


def send_emails(notification_ids: list[object]) -> None:
    """Many emails (an import, a release) in a few broker messages, after the commit."""
    enqueue_emails(celery_client(), notification_ids)


def db_session() -> Session:
    """The request's session, opened on first use and closed when the request ends."""
    if "db_session" not in g:
        factory = cast(sessionmaker[Session], current_app.extensions["exam.session_factory"])
        g.db_session = factory()
        g.db_session.info[outbox.SENDER_KEY] = current_app.extensions["exam.outbox_sender"]
    return cast(Session, g.db_session)


def read_session() -> Session:
    """For reads that tolerate lag (roster, exports): the replica's session when
    DATABASE_REPLICA_URL is set, else the request's own."""
    factory = current_app.extensions.get("exam.replica_session_factory")
    if factory is None:
        return db_session()
    if "read_session" not in g:
        g.read_session = factory()
    return cast(Session, g.read_session)


def _close_session(exc: BaseException | None) -> None:
    for name in ("db_session", "read_session"):
        session = g.pop(name, None)
        if session is not None:
            session.close()  # rolls back anything the view did not commit


def init_db(
    app: Flask, factory: sessionmaker[Session], replica: sessionmaker[Session] | None = None
) -> None:
    app.extensions["exam.session_factory"] = factory
    app.extensions["exam.replica_session_factory"] = replica
    app.teardown_appcontext(_close_session)


def client_address() -> str:
    return get_remote_address() or request.remote_addr or "unknown"
