"""Exams, their ordered entries (fixed questions and question pools) and per-student
accommodations."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

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
    func,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from shared.models.base import Base, utcnow, uuid_pk
from shared.models.question import Question, QuestionTag


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
    # Loaded on access only: the hot paths (start, save) read an exam without its pools.
    pools: Mapped[list[ExamPool]] = relationship(
        back_populates="exam",
        cascade="all, delete-orphan",
        order_by="ExamPool.position",
    )

    @property
    def question_count(self) -> int:
        """Questions an attempt holds: the fixed ones and every pool's draws."""
        return len(self.items) + sum(pool.count for pool in self.pools)

    @property
    def max_score(self) -> Decimal:
        """The most an attempt can score; for a pool without points, what its best draw
        gives (each attempt's own max_score is exact for its draw)."""
        fixed = sum((item.effective_points for item in self.items), Decimal(0))
        return fixed + sum((pool.max_points for pool in self.pools), Decimal(0))


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


class ExamPool(Base):
    """An entry of the exam that draws `count` distinct questions carrying `tag` for each
    attempt when it starts (never a question another entry of the exam holds). Its
    `position` is shared with the exam's fixed questions: together they are the exam order."""

    __tablename__ = "exam_pools"
    __table_args__ = (
        CheckConstraint("count >= 1", name="count_positive"),
        CheckConstraint("points IS NULL OR points > 0", name="points_positive"),
        # Which exams draw from a tag: a question edit refreshes their cached payload.
        Index("ix_exam_pools_tag", "tag"),
    )

    exam_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    tag: Mapped[str] = mapped_column(String(50))
    count: Mapped[int] = mapped_column(Integer)
    # Points of every question drawn; None: each drawn question's own points.
    points: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))

    exam: Mapped[Exam] = relationship(back_populates="pools")

    @property
    def max_points(self) -> Decimal:
        if self.points is not None:
            return self.points * self.count
        return self.best_points or Decimal(0)


def _candidate_conditions() -> list[Any]:
    """A pool's candidates: questions with its tag that no fixed entry of its exam holds."""
    fixed = (
        select(ExamQuestion.question_id)
        .where(ExamQuestion.exam_id == ExamPool.exam_id)
        .correlate(ExamPool)
    )
    return [QuestionTag.tag == ExamPool.tag, QuestionTag.question_id.not_in(fixed)]


# How many questions the pool can draw from now (GET /exams/{id}/questions shows it).
ExamPool.available = column_property(
    select(func.count()).where(*_candidate_conditions()).correlate_except(QuestionTag)
    .scalar_subquery()
)  # fmt: skip
_ranked = (
    select(
        Question.points.label("points"),
        func.row_number().over(order_by=Question.points.desc()).label("rank"),
    )
    .join(QuestionTag, QuestionTag.question_id == Question.id)
    .where(*_candidate_conditions())
    .correlate(ExamPool)
    .subquery()
)
# The sum of the `count` highest points among the candidates: the best a draw can give.
ExamPool.best_points = column_property(
    select(func.sum(_ranked.c.points)).where(_ranked.c.rank <= ExamPool.count)
    .correlate(ExamPool).scalar_subquery()
)  # fmt: skip


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
