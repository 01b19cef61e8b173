"""Exams, their ordered questions and per-student accommodations."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.models.base import Base, utcnow, uuid_pk
from shared.models.question import Question


class ExamStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class ResultsRelease(StrEnum):
    IMMEDIATE = "immediate"
    AFTER_CLOSE = "after_close"
    MANUAL = "manual"


class Audience(StrEnum):
    ASSIGNED = "assigned"  # the students assigned by name or through a group
    EVERYONE = "everyone"  # every active student


class Exam(Base):
    __tablename__ = "exams"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),
        CheckConstraint("audience IN ('assigned', 'everyone')", name="audience"),
        CheckConstraint(
            "results_release IN ('immediate', 'after_close', 'manual')", name="results_release"
        ),
        CheckConstraint("duration_seconds >= 1", name="duration_positive"),
        CheckConstraint("grace_seconds >= 0", name="grace_not_negative"),
        CheckConstraint("max_attempts >= 1", name="max_attempts_positive"),
        CheckConstraint(
            "opens_at IS NULL OR closes_at IS NULL OR closes_at > opens_at", name="window_order"
        ),
        Index("ix_exams_status_created_at", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ExamStatus.DRAFT)
    duration_seconds: Mapped[int] = mapped_column(Integer)
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    grace_seconds: Mapped[int] = mapped_column(Integer, default=30)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    shuffle_questions: Mapped[bool] = mapped_column(Boolean, default=False)
    shuffle_options: Mapped[bool] = mapped_column(Boolean, default=False)
    results_release: Mapped[str] = mapped_column(String(16), default=ResultsRelease.IMMEDIATE)
    show_correct_answers: Mapped[bool] = mapped_column(Boolean, default=False)
    audience: Mapped[str] = mapped_column(String(16), default=Audience.ASSIGNED)
    results_released_at: Mapped[datetime | None]
    # When students were told their results became visible (after_close / manual release).
    results_notified_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    items: Mapped[list[ExamQuestion]] = relationship(
        back_populates="exam",
        cascade="all, delete-orphan",
        order_by="ExamQuestion.position",
    )

    @property
    def question_count(self) -> int:
        return len(self.items)

    @property
    def max_score(self) -> Decimal:
        return sum((item.effective_points for item in self.items), Decimal(0))


class ExamQuestion(Base):
    """A question's place in an exam, with an optional per-exam points override."""

    __tablename__ = "exam_questions"
    __table_args__ = (
        UniqueConstraint("exam_id", "position", name="uq_exam_questions_exam_id_position"),
        CheckConstraint("points IS NULL OR points > 0", name="points_positive"),
        Index("ix_exam_questions_question_id", "question_id"),
    )

    exam_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("questions.id", ondelete="RESTRICT"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)
    points: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))

    exam: Mapped[Exam] = relationship(back_populates="items")
    question: Mapped[Question] = relationship(lazy="joined")

    @property
    def effective_points(self) -> Decimal:
        return self.points if self.points is not None else self.question.points


class Accommodation(Base):
    """Extra time for one student in one exam."""

    __tablename__ = "accommodations"
    __table_args__ = (CheckConstraint("extra_seconds >= 0", name="extra_not_negative"),)

    exam_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True
    )
    student_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    extra_seconds: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
