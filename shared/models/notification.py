"""In-app notifications, each with the state of its email."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, JSONType, utcnow, uuid_pk


class EmailStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed; if the sender died here, it is not retried (never twice)
    SENT = "sent"
    FAILED = "failed"


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(
            "email_status IN ('pending', 'sending', 'sent', 'failed')", name="email_status"
        ),
        Index("ix_notifications_user_created", "user_id", "created_at"),
        # What the email sweeps scan: the few emails not yet sent, never the whole history.
        Index(
            "ix_notifications_email_unsent",
            "email_status",
            "created_at",
            postgresql_where=text("email_status IN ('pending', 'sending')"),
            sqlite_where=text("email_status IN ('pending', 'sending')"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # One notification per event (e.g. "result:<attempt id>"): a retry can't make two.
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    email_status: Mapped[str] = mapped_column(String(16), default=EmailStatus.PENDING)
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_claimed_at: Mapped[datetime | None]
    email_sent_at: Mapped[datetime | None]
    email_error: Mapped[str | None] = mapped_column(String(500))
