"""Attempts, their saved answers and their append-only event trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, JSONType, utcnow, uuid_pk

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class AttemptStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    GRADED = "graded"


class SubmitReason(StrEnum):
    STUDENT = "student"
    TIMEOUT = "timeout"
    ADMIN = "admin"  # force-submitted by an admin


class Attempt(Base):
    __tablename__ = "attempts"
    __table_args__ = (
        CheckConstraint("status IN ('in_progress', 'submitted', 'graded')", name="status"),
        CheckConstraint(
            "submit_reason IS NULL OR submit_reason IN ('student', 'timeout', 'admin')",
            name="submit_reason",
        ),
        UniqueConstraint("exam_id", "student_id", "attempt_number", name="uq_attempts_number"),
        # At most one attempt in progress per exam and student: two concurrent starts can't
        # both create one, whatever the application does.
        Index(
            "uq_attempts_one_in_progress",
            "exam_id",
            "student_id",
            unique=True,
            postgresql_where=text("status = 'in_progress'"),
            sqlite_where=text("status = 'in_progress'"),
        ),
        # What the expiry sweep scans: in-progress attempts by the time they expire.
        Index(
            "ix_attempts_in_progress_expires_at",
            "expires_at",
            postgresql_where=text("status = 'in_progress'"),
            sqlite_where=text("status = 'in_progress'"),
        ),
        # What the grading sweep scans: submitted attempts not graded yet.
        Index(
            "ix_attempts_submitted_at",
            "submitted_at",
            postgresql_where=text("status = 'submitted'"),
            sqlite_where=text("status = 'submitted'"),
        ),
        Index("ix_attempts_student_started", "student_id", "started_at"),
        Index("ix_attempts_graded_at", "graded_at"),  # recent grading latency (metrics)
        Index("ix_attempts_exam_status", "exam_id", "status"),
        # The proctor's live view: running attempts by last save, recent submissions.
        Index(
            "ix_attempts_exam_running_activity",
            "exam_id",
            "last_activity_at",
            postgresql_where=text("status = 'in_progress'"),
            sqlite_where=text("status = 'in_progress'"),
        ),
        Index("ix_attempts_exam_submitted_at", "exam_id", "submitted_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    exam_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exams.id", ondelete="RESTRICT"))
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    attempt_number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=AttemptStatus.IN_PROGRESS)
    submit_reason: Mapped[str | None] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    # min(started_at + duration + extra time, closes_at): the time the student sees.
    deadline: Mapped[datetime]
    # deadline + grace: saves are accepted until then, and the sweep submits after it.
    expires_at: Mapped[datetime]
    # Time an admin added to this attempt alone (POST /attempts/{id}/extend), on top of the
    # capped deadline: it may pass closes_at. Reset when the attempt is reopened.
    extended_seconds: Mapped[int] = mapped_column(Integer, default=0)
    # A reopened attempt's deadline counts from its reopening, not from its start.
    reopened_at: Mapped[datetime | None]
    reopen_seconds: Mapped[int | None] = mapped_column(Integer)
    # How often it was reopened: each grading after a reopening tells the student again.
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime | None]
    graded_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When grading was last asked for; the grading sweep re-sends stale requests.
    grade_requested_at: Mapped[datetime | None]
    score: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    max_score: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    pending_manual: Mapped[int] = mapped_column(Integer, default=0)
    # The student's own order, fixed at start so a resume shows the same exam.
    question_order: Mapped[list[str]] = mapped_column(JSONType)
    option_order: Mapped[dict[str, list[str]] | None] = mapped_column(JSONType)
    # Questions drawn from the exam's pools at start: {question_id: {"entry": the pool's
    # position, "points": the pool's points as a string, or None for the question's own}}.
    # Stored, never drawn again: resume, grading, regrade and results all read these.
    drawn: Mapped[dict[str, dict[str, Any]] | None] = mapped_column(JSONType)
    # The seed of the draw: with the candidate lists of the exam version at start (sorted
    # ids), `shared.services.pools.draw` gives the same questions again.
    draw_seed: Mapped[int | None] = mapped_column(BigInteger)
    # Bumped on every status or score change; the status endpoint's ETag.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # SHA-256 (hex) of the final answers' canonical encoding, written by the submission
    # itself (shared/trust/receipts.py); the receipt signs it.
    answers_sha256: Mapped[str | None] = mapped_column(String(64))


class Answer(Base):
    """The last saved response to one question of one attempt, and its grade."""

    __tablename__ = "answers"
    __table_args__ = (
        Index(
            "ix_answers_pending_manual",
            "question_id",
            postgresql_where=text("needs_manual"),
            sqlite_where=text("needs_manual"),
        ),
    )

    attempt_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("questions.id", ondelete="RESTRICT"), primary_key=True
    )
    response: Mapped[Any] = mapped_column(JSONType, nullable=True)
    # The client's sequence number of the save that wrote `response`; a lower one is stale.
    seq: Mapped[int | None] = mapped_column(BigInteger)
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    points_awarded: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    is_correct: Mapped[bool | None] = mapped_column(Boolean)
    needs_manual: Mapped[bool] = mapped_column(Boolean, default=False)
    feedback: Mapped[str | None] = mapped_column(Text)
    graded_at: Mapped[datetime | None]
    graded_by: Mapped[uuid.UUID | None]
    key_version: Mapped[int | None] = mapped_column(Integer)


class AttemptEvent(Base):
    """Append-only trail of what happened to an attempt, for admins. Every kind but `saved`
    is a hash chain per attempt (shared/trust/chain.py, docs/receipts-and-audit.md)."""

    __tablename__ = "attempt_events"
    __table_args__ = (Index("ix_attempt_events_attempt_id", "attempt_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    attempt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # SHA-256 (hex) of the attempt's previous chained event (64 zeros for the first), and
    # of this one; both NULL for `saved` events, which the chain leaves out.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
