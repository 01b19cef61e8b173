"""Outbox and webhook models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, JSONType, utcnow, uuid_pk


class EventType:
    ATTEMPT_SUBMITTED = "attempt.submitted"
    ATTEMPT_GRADED = "attempt.graded"
    RESULTS_RELEASED = "results.released"
    REGRADE_FINISHED = "regrade.finished"


EVENT_TYPES = (
    EventType.ATTEMPT_SUBMITTED,
    EventType.ATTEMPT_GRADED,
    EventType.RESULTS_RELEASED,
    EventType.REGRADE_FINISHED,
)


class DeliveryStatus:
    PENDING = "pending"  # waiting for its next try (next_try_at)
    SENDING = "sending"  # claimed by a worker
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # gave up (24 h of failures, or the endpoint was deleted)


MAX_URL = 2000


class WebhookEndpoint(Base):
    """A receiver of events. Deleting one keeps the row (deleted_at): deliveries being
    written by a running transaction may still point at it."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = uuid_pk()
    url: Mapped[str] = mapped_column(String(MAX_URL))
    events: Mapped[list[str]] = mapped_column(JSONType)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Kept in clear: it signs every delivery, so it must be recoverable (docs/webhooks.md).
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()


class OutboxEvent(Base):
    """Something that happened, written in the transaction of the change itself."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_created_at", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    type: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)


class WebhookDelivery(Base):
    """One event to one endpoint: its tries, last answer and when to try next."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sending', 'delivered', 'failed')", name="status"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
        Index("ix_webhook_deliveries_event_id", "event_id"),
        # What the sweep scans: deliveries waiting for a try, by when it is due.
        Index(
            "ix_webhook_deliveries_due",
            "next_try_at",
            postgresql_where=text("status IN ('pending', 'sending')"),
            sqlite_where=text("status IN ('pending', 'sending')"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"))
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    response_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_try_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When a send task was last sent for it: the sweep re-sends only lost ones.
    queued_at: Mapped[datetime | None] = mapped_column()
    claimed_at: Mapped[datetime | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()
