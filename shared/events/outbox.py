"""The outbox: an event and its deliveries are rows written in the transaction of the change,
so an event exists if and only if the change committed. Sending happens after the commit."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event as sa_event
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from shared.config import get_settings
from shared.events.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from shared.messaging import TaskName, enqueue
from shared.models.base import utcnow

if TYPE_CHECKING:
    from celery import Celery

# session.info key: deliveries this transaction created, to send once it commits.
PENDING_KEY = "exam.webhook_deliveries"
# session.info key: the transaction changed an endpoint (drop the cached list on commit).
ENDPOINTS_CHANGED_KEY = "exam.webhook_endpoints_changed"

FAN_OUT = 500
_lock = threading.Lock()
_snapshot: tuple[float, list[tuple[uuid.UUID, frozenset[str]]]] | None = None


def invalidate() -> None:
    """Forget this process's copy of the endpoint list (after a change to an endpoint)."""
    global _snapshot
    with _lock:
        _snapshot = None


def _subscriptions(session: Session) -> list[tuple[uuid.UUID, frozenset[str]]]:
    """The active endpoints and their event types, cached per process for a few seconds:
    with no endpoint registered, a submit pays for no query at all."""
    global _snapshot
    ttl = get_settings().WEBHOOK_ENDPOINTS_CACHE_SECONDS
    with _lock:
        if _snapshot is not None and time.monotonic() - _snapshot[0] < ttl:
            return _snapshot[1]
    rows = session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.events).where(
            WebhookEndpoint.active, WebhookEndpoint.deleted_at.is_(None)
        )
    ).all()
    found = [(row.id, frozenset(row.events or ())) for row in rows]
    with _lock:
        _snapshot = (time.monotonic(), found)
    return found


def has_subscribers(session: Session, event_type: str) -> bool:
    """Whether any endpoint may want `event_type` (the cheap check before building data)."""
    return any(event_type in events for _, events in _subscriptions(session))


def _endpoints_for(session: Session, event_type: str) -> list[uuid.UUID]:
    """The endpoints subscribed now, read fresh: the cache only said there may be some."""
    rows = session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.events).where(
            WebhookEndpoint.active, WebhookEndpoint.deleted_at.is_(None)
        )
    ).all()
    return [row.id for row in rows if event_type in (row.events or ())]


def publish(session: Session, event_type: str, data: dict[str, Any]) -> uuid.UUID | None:
    """Write one event and its deliveries in the caller's transaction; its id, or None if
    no endpoint wants it (then nothing is written)."""
    ids = publish_many(session, event_type, [data])
    return ids[0] if ids else None


def publish_many(
    session: Session,
    event_type: str,
    datas: Sequence[dict[str, Any]],
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """Many events of one type: one INSERT of the events, one of their deliveries."""
    if not datas or not has_subscribers(session, event_type):
        return []
    endpoints = _endpoints_for(session, event_type)
    if not endpoints:
        return []
    now = now or utcnow()
    events = [
        {"id": uuid.uuid4(), "type": event_type, "created_at": now, "data": data} for data in datas
    ]
    deliveries = [
        {
            "id": uuid.uuid4(), "event_id": e["id"], "endpoint_id": endpoint_id,
            "status": "pending", "tries": 0, "created_at": now, "next_try_at": now,
            "queued_at": now,  # its send task goes out after the commit
        }
        for e in events
        for endpoint_id in endpoints
    ]  # fmt: skip
    session.execute(insert(OutboxEvent), events)
    session.execute(insert(WebhookDelivery), deliveries)
    session.info.setdefault(PENDING_KEY, []).extend(d["id"] for d in deliveries)
    return [e["id"] for e in events]


_sender: Callable[[list[uuid.UUID]], None] | None = None
_installed = False
# A session may carry its own sender (the web app puts its Celery app's on each request's
# session), so several apps in one process (tests, embedded tools) each send with their own.
SENDER_KEY = "outbox.sender"


def send_after_commit(sender: Callable[[list[uuid.UUID]], None] | None = None) -> None:
    """Call a sender with the deliveries a transaction created once it has committed: the
    session's own (`session.info[SENDER_KEY]`), else the process's (the worker installs its
    app's here). A rolled-back transaction sends nothing; a lost send is re-sent by the
    sweep."""
    global _sender, _installed
    if sender is not None:
        _sender = sender
    if not _installed:
        _installed = True
        sa_event.listen(Session, "after_commit", _after_commit)
        sa_event.listen(Session, "after_rollback", _after_rollback)


def _after_commit(session: Session) -> None:
    # Fired for a savepoint's release too: only the outermost commit makes rows visible.
    # (Ids of a savepoint rolled back are sent anyway: their task finds nothing, a no-op.)
    if session.in_nested_transaction():
        return
    if session.info.pop(ENDPOINTS_CHANGED_KEY, None):
        invalidate()
    ids = session.info.pop(PENDING_KEY, None)
    sender = session.info.get(SENDER_KEY, _sender)
    if ids and sender is not None:
        sender(ids)


def _after_rollback(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.info.pop(PENDING_KEY, None)
    session.info.pop(ENDPOINTS_CHANGED_KEY, None)


def celery_sender(app: Celery) -> Callable[[list[uuid.UUID]], None]:
    """A sender for `send_after_commit` that enqueues the deliveries with `app`: one task
    for one delivery, batches of many fanned out by the worker."""

    def send(ids: list[uuid.UUID]) -> None:
        texts = [str(i) for i in ids]
        if len(texts) == 1:
            enqueue(app, TaskName.DELIVER_WEBHOOK, texts)
            return
        for start in range(0, len(texts), FAN_OUT):
            enqueue(app, TaskName.DELIVER_WEBHOOKS, [texts[start : start + FAN_OUT]])

    return send
