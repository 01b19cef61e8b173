"""Deliveries: claim one (a conditional UPDATE), record its answer with back-off, find what
is due, redeliver an event, and the log an admin reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from shared.errors import Conflict, NotFound
from shared.events import signing
from shared.events.http import Answer
from shared.events.models import DeliveryStatus, OutboxEvent, WebhookDelivery, WebhookEndpoint
from shared.events.outbox import PENDING_KEY
from shared.events.retry import GIVE_UP_AFTER, next_try_delay

# A send task not run this long after it was sent is taken as lost: the sweep sends again.
REQUEUE_AFTER = timedelta(minutes=5)
# Retries sooner than this go out as a countdown task; later ones are left to the sweep
# (hours-long countdowns on Redis are redelivered by its visibility timeout).
COUNTDOWN_UNDER_SECONDS = 120.0
SWEEP_LIMIT = 500
# Events (and their deliveries' log) are kept this long, then purged by the sweep.
KEEP_FOR = timedelta(days=30)

_live_endpoints = select(WebhookEndpoint.id).where(
    WebhookEndpoint.active, WebhookEndpoint.deleted_at.is_(None)
)


@dataclass(frozen=True)
class Claimed:
    """A delivery taken for one try: what to send, where, signed with what."""

    delivery_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    body: bytes
    url: str
    secret: str
    tries: int
    created_at: datetime


@dataclass(frozen=True)
class Recorded:
    """The delivery's state after a try; `retry_in` seconds if a countdown should send it."""

    status: str
    retry_in: float | None = None


def claim(session: Session, delivery_id: uuid.UUID, now: datetime) -> Claimed | None:
    """Take a due delivery of an active endpoint for one try; None if another worker has
    it, it is not due yet, it is done, or its endpoint is off. The UPDATE is the claim."""
    row = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_try_at <= now,
            WebhookDelivery.endpoint_id.in_(_live_endpoints),
        )
        .values(status=DeliveryStatus.SENDING, tries=WebhookDelivery.tries + 1, claimed_at=now)
        .returning(
            WebhookDelivery.event_id,
            WebhookDelivery.endpoint_id,
            WebhookDelivery.tries,
            WebhookDelivery.created_at,
        )
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        return None
    event = session.get(OutboxEvent, row.event_id)
    endpoint = session.get(WebhookEndpoint, row.endpoint_id)
    assert event is not None and endpoint is not None
    return Claimed(
        delivery_id=delivery_id,
        event_id=event.id,
        event_type=event.type,
        body=signing.body(event.id, event.type, event.created_at, event.data),
        url=endpoint.url,
        secret=endpoint.secret,
        tries=row.tries,
        created_at=row.created_at,
    )


def record(
    session: Session, claimed: Claimed, answer: Answer, now: datetime, *, scale: float = 1.0
) -> Recorded:
    """Delivered on a 2xx; otherwise pending again after the back-off, or failed once the
    next try would come after GIVE_UP_AFTER (both scaled by `scale` in tests)."""
    values: dict[str, object] = {"response_code": answer.status_code, "last_error": answer.error}
    retry_in = None
    if answer.ok:
        values.update(status=DeliveryStatus.DELIVERED, delivered_at=now, last_error=None)
    else:
        delay = next_try_delay(claimed.tries) * scale
        next_try = now + timedelta(seconds=delay)
        if next_try > claimed.created_at + GIVE_UP_AFTER * scale:
            values.update(status=DeliveryStatus.FAILED)
        else:
            soon = delay < COUNTDOWN_UNDER_SECONDS
            retry_in = delay if soon else None
            values.update(
                status=DeliveryStatus.PENDING, next_try_at=next_try,
                queued_at=next_try if soon else None,
            )  # fmt: skip
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == claimed.delivery_id,
            WebhookDelivery.status == DeliveryStatus.SENDING,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return Recorded(str(values["status"]), retry_in)


def due(session: Session, now: datetime, limit: int = SWEEP_LIMIT) -> list[uuid.UUID]:
    """Due deliveries whose send task was never sent (a retry left to the sweep) or was
    lost; marked queued now. SKIP LOCKED: two sweeps split the work."""
    ids = list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_try_at <= now,
                WebhookDelivery.endpoint_id.in_(_live_endpoints),
                or_(
                    WebhookDelivery.queued_at.is_(None),
                    WebhookDelivery.queued_at < now - REQUEUE_AFTER,
                ),
            )
            .order_by(WebhookDelivery.next_try_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids))
            .values(queued_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids


def release_interrupted(session: Session, now: datetime, older_than: timedelta) -> int:
    """Tries a crash interrupted (`sending` for long) become due again: a webhook is sent
    at least once, and receivers dedupe on the event id."""
    return session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.status == DeliveryStatus.SENDING,
            WebhookDelivery.claimed_at < now - older_than,
        )
        .values(
            status=DeliveryStatus.PENDING,
            next_try_at=now,
            queued_at=None,
            last_error="interrupted while sending",
        )  # fmt: skip
        .execution_options(synchronize_session=False)
    ).rowcount


def give_up_expired(session: Session, now: datetime, *, scale: float = 1.0) -> int:
    """Pending deliveries older than GIVE_UP_AFTER (an endpoint switched off for a day)."""
    return session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.created_at < now - GIVE_UP_AFTER * scale,
        )
        .values(status=DeliveryStatus.FAILED, last_error="gave up: not delivered within 24 h")
        .execution_options(synchronize_session=False)
    ).rowcount


def purge_old(
    session: Session, now: datetime, keep_for: timedelta = KEEP_FOR, limit: int = 5000
) -> int:
    """Delete events older than `keep_for` with their deliveries (none still waits: a day
    after its creation a delivery is delivered or failed); how many events went."""
    ids = list(
        session.scalars(
            select(OutboxEvent.id)
            .where(OutboxEvent.created_at < now - keep_for)
            .order_by(OutboxEvent.created_at)
            .limit(limit)
        )
    )
    if not ids:
        return 0
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(ids)))
    return session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(ids))).rowcount


def redeliver(
    session: Session, endpoint_id: uuid.UUID, delivery_id: uuid.UUID, now: datetime
) -> WebhookDelivery:
    """A new try of the same event to the same endpoint: a new delivery in the log, with
    the same event id (the receiver dedupes on it), sent after the commit."""
    original = session.get(WebhookDelivery, delivery_id)
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if original is None or endpoint is None or original.endpoint_id != endpoint_id:
        raise NotFound("delivery not found")
    if endpoint.deleted_at is not None:
        raise NotFound("webhook not found")
    if not endpoint.active:
        raise Conflict("this webhook is inactive: activate it to redeliver")
    delivery = WebhookDelivery(
        id=uuid.uuid4(), event_id=original.event_id, endpoint_id=endpoint_id,
        status=DeliveryStatus.PENDING, tries=0, created_at=now, next_try_at=now, queued_at=now,
    )  # fmt: skip
    session.add(delivery)
    session.flush()
    session.info.setdefault(PENDING_KEY, []).append(delivery.id)
    return delivery


def log(
    session: Session, endpoint_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[list[tuple[WebhookDelivery, str]], int]:
    """An endpoint's deliveries with their event types, newest first."""
    where = WebhookDelivery.endpoint_id == endpoint_id
    total = session.scalar(select(func.count()).select_from(WebhookDelivery).where(where)) or 0
    rows = session.execute(
        select(WebhookDelivery, OutboxEvent.type)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .where(where)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return [(delivery, event_type) for delivery, event_type in rows], total


def event_type(session: Session, event_id: uuid.UUID) -> str:
    """The type of an outbox event."""
    return session.scalar(select(OutboxEvent.type).where(OutboxEvent.id == event_id)) or ""
