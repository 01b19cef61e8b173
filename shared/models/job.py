"""Tracked background jobs (bulk regrades, their rollbacks) and their per-attempt results."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, JSONType, utcnow, uuid_pk


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


_SCORE_CHANGE_ACTIVE = "kind IN ('regrade', 'rollback') AND status IN ('queued', 'running')"


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name="status"),
        # One regrade of an exam at a time: a second one while it runs is refused.
        Index(
            "uq_jobs_one_active_per_exam",
            "kind",
            "exam_id",
            unique=True,
            postgresql_where=text("status IN ('queued', 'running')"),
            sqlite_where=text("status IN ('queued', 'running')"),
        ),
        # Regrades and rollbacks of one exam change the same scores: one at a time.
        Index(
            "uq_jobs_one_score_change_per_exam",
            "exam_id",
            unique=True,
            postgresql_where=text(_SCORE_CHANGE_ACTIVE),
            sqlite_where=text(_SCORE_CHANGE_ACTIVE),
        ),
        Index("ix_jobs_status_updated", "status", "updated_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(32))
    exam_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    # A regrade keeps grades given by hand unless asked to replace them.
    replace_manual: Mapped[bool] = mapped_column(Boolean, default=False)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    # The keys the whole job grades with, captured at its start: {question_id: definition}.
    keys: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # What the job was asked (e.g. a force-submit's student ids) and what it found.
    params: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_by: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))
    # A rollback's job: the regrade or rollback it undoes; a job is rolled back at most once.
    rollback_of: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), unique=True
    )


class JobItem(Base):
    """What a job did to one attempt; its key makes a redelivered chunk a no-op."""

    __tablename__ = "job_items"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    attempt_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True
    )
    ok: Mapped[bool] = mapped_column(Boolean, default=True)
    changed: Mapped[bool] = mapped_column(Boolean, default=False)
    old_score: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    new_score: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    # Question ids whose grade by hand the regrade kept.
    kept_manual: Mapped[list[str] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReplacedGrades(Base):
    """What a real regrade or rollback found in one attempt and what it wrote instead, in
    the transaction that changed it: a rollback restores `before` where `after` still holds."""

    __tablename__ = "replaced_grades"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    attempt_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True
    )
    # {"attempt": {score, max_score, pending_manual}, "answers": {question_id: {points_awarded,
    # is_correct, needs_manual, key_version, feedback, graded_by, graded_at}}}, as JSON text.
    before: Mapped[dict[str, Any]] = mapped_column(JSONType)
    after: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
