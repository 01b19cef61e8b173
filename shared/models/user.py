"""Users (admins and students) and revoked token sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, utcnow, uuid_pk


class Role(StrEnum):
    ADMIN = "admin"
    STUDENT = "student"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'student')", name="role"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    # Stored NFKC-normalised and case folded, so look-alikes collide on both backends.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=Role.STUDENT)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A disabled account keeps its attempts and results but can't sign in or use a token.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Carried by every token (claim `tv`); bumped to end every session at once (password
    # reset, disabling).
    token_version: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class RevokedSession(Base):
    """A logged-out token pair: both tokens carry the same `sid` claim.

    Kept in the database so a revocation survives restarts; rows may be purged once
    `expires_at` (the refresh token's expiry) has passed.
    """

    __tablename__ = "revoked_sessions"
    __table_args__ = (Index("ix_revoked_sessions_expires_at", "expires_at"),)

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID | None]
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class UsedRefreshToken(Base):
    """A refresh token already exchanged: refresh tokens rotate, and presenting a used one
    again means it was stolen (or replayed), so its whole family (`sid`) is revoked."""

    __tablename__ = "used_refresh_tokens"
    __table_args__ = (Index("ix_used_refresh_tokens_expires_at", "expires_at"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    sid: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
