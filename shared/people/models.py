"""Groups of students, exam audiences, and one-time password links."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, utcnow, uuid_pk

MAX_GROUP_NAME = 200


class Group(Base):
    """A class, a year, a course section: students an exam can be assigned to at once."""

    __tablename__ = "groups"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(MAX_GROUP_NAME))
    # The name as compared: NFKC and case folded, so "Class 7A" and "class 7a" are one.
    name_key: Mapped[str] = mapped_column(String(MAX_GROUP_NAME), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupMember(Base):
    __tablename__ = "group_members"
    __table_args__ = (Index("ix_group_members_user_id", "user_id"),)

    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExamGroup(Base):
    """A group assigned to an exam (`audience: assigned`)."""

    __tablename__ = "exam_groups"
    __table_args__ = (Index("ix_exam_groups_group_id", "group_id"),)

    exam_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )


class ExamStudent(Base):
    """A student assigned to an exam by name."""

    __tablename__ = "exam_students"
    __table_args__ = (Index("ix_exam_students_user_id", "user_id"),)

    exam_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class PasswordToken(Base):
    """A one-time link to set or reset a password. Only its SHA-256 is kept: the link
    itself exists only in the email that carries it."""

    __tablename__ = "password_tokens"
    __table_args__ = (Index("ix_password_tokens_user_id", "user_id"),)

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))  # "reset" or "set" (a new account)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
