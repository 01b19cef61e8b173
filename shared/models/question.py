"""The question bank."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.models.base import Base, JSONType, utcnow, uuid_pk
from shared.question_types import QUESTION_TYPES

_TYPES_SQL = ", ".join(f"'{t}'" for t in QUESTION_TYPES)


class Question(Base):
    __tablename__ = "questions"
    __table_args__ = (
        CheckConstraint(f"type IN ({_TYPES_SQL})", name="type"),
        CheckConstraint("points > 0", name="points_positive"),
        Index("ix_questions_type_created_at", "type", "created_at"),
        Index("ix_questions_created_at", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    type: Mapped[str] = mapped_column(String(20))
    prompt: Mapped[str] = mapped_column(Text)
    options: Mapped[list[dict[str, str]] | None] = mapped_column(JSONType)
    correct_answer: Mapped[Any] = mapped_column(JSONType, nullable=True)
    points: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(1))
    scoring: Mapped[str | None] = mapped_column(String(20))
    tolerance: Mapped[Decimal | None] = mapped_column(Numeric(30, 12))
    case_sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    explanation: Mapped[str | None] = mapped_column(Text)
    # Bumped by every change to how answers are scored; a regrade reports the version used.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    tag_rows: Mapped[list[QuestionTag]] = relationship(
        back_populates="question",
        cascade="all, delete-orphan",
        order_by="QuestionTag.position",
        lazy="selectin",
    )
    # Every version of the key, so a result shows the key it was graded with.
    key_versions: Mapped[list[QuestionKey]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )

    def snapshot_key(self) -> QuestionKey:
        """This version's key, as a row to keep."""
        return QuestionKey(
            question_id=self.id, version=self.version, correct_answer=self.correct_answer
        )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    @property
    def option_ids(self) -> list[str]:
        return [o["id"] for o in self.options or []]


class QuestionTag(Base):
    """One tag of a question, in its own table so filtering by tag uses an index."""

    __tablename__ = "question_tags"
    __table_args__ = (Index("ix_question_tags_tag", "tag"),)

    question_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    question: Mapped[Question] = relationship(back_populates="tag_rows")


class QuestionKey(Base):
    """The key of one version of a question, kept when the key is edited: a result shows
    the key its answers were graded with (`answers.key_version`), not today's."""

    __tablename__ = "question_keys"

    question_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    correct_answer: Mapped[Any] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
