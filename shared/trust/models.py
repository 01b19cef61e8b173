"""Trust models: audit chain anchors and regrade rollback records."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, JSONType, utcnow, uuid_pk


class AuditAnchor(Base):
    """A periodic fixed point of an exam's attempt trails: the Merkle root over the chain
    heads (sorted by attempt id) at `created_at`, and the heads themselves, so a later
    verification can tell that history before the anchor was rewritten or cut short."""

    __tablename__ = "audit_anchors"
    __table_args__ = (Index("ix_audit_anchors_exam_created", "exam_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    exam_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"))
    root: Mapped[str] = mapped_column(String(64))
    chains: Mapped[int] = mapped_column(Integer)
    events: Mapped[int] = mapped_column(Integer)
    # [[attempt id, event id, hash], ...] sorted by attempt id: the leaves of `root`.
    heads: Mapped[list[Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Wherever the models are loaded, every AttemptEvent written through a session is chained.
import shared.trust.chain  # noqa: E402, F401
