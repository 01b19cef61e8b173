"""Token pairs and their families: revocation (logout, a replayed refresh token) kept in
the database so it survives restarts, and one-time use of refresh tokens (rotation)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.errors import InvalidCredentials
from shared.models import RevokedSession, UsedRefreshToken, User, utcnow


def revoke(session: Session, sid: str, *, user_id: uuid.UUID | None, expires_at: datetime) -> None:
    """Reject every token of this family from now on (idempotent)."""
    if session.get(RevokedSession, sid) is None:
        session.add(RevokedSession(sid=sid, user_id=user_id, expires_at=expires_at))
        session.flush()


def use_refresh_token(
    session: Session, *, jti: str, sid: str, user_id: uuid.UUID, family_expires_at: datetime
) -> None:
    """Spend a refresh token once. A second use revokes its family, whoever holds which
    token of it: the thief and the owner both sign in again (`token_revoked`)."""
    try:
        with session.begin_nested():
            session.add(UsedRefreshToken(jti=jti, sid=sid, expires_at=family_expires_at))
    except IntegrityError:
        revoke(session, sid, user_id=user_id, expires_at=family_expires_at)
        raise InvalidCredentials(
            "this refresh token was already used: the session is revoked", code="token_revoked"
        ) from None


# Asked on every authenticated request, in one round trip: the user still exists and is
# active, the token is of the user's current version (a password reset or disabling bumps
# it), and the token's family is not revoked. A Core statement, without the ORM's
# per-statement work (bench/ab.py measures the difference).
_USERS = User.__table__.c
_REVOKED = RevokedSession.__table__.c
_VALID = select(_USERS.id).where(
    _USERS.id == bindparam("user_id"),
    _USERS.active.is_(True),
    _USERS.token_version == bindparam("version"),
    ~exists().where(_REVOKED.sid == bindparam("sid")),
)


def valid_clause() -> Any:
    """`_VALID` as an EXISTS to put beside another read (the status poll): same parameters."""
    return _VALID.exists()


def is_valid(session: Session, sid: str, user_id: uuid.UUID, version: int = 0) -> bool:
    """Whether a token of this family, user and version may still be used."""
    params = {"sid": sid, "user_id": user_id, "version": version}
    return session.execute(_VALID, params).first() is not None


def purge_expired(session: Session, now: datetime | None = None) -> int:
    """Forget revocations and used refresh tokens whose tokens have expired anyway."""
    now = now or utcnow()
    revoked = session.execute(delete(RevokedSession).where(RevokedSession.expires_at < now))
    used = session.execute(delete(UsedRefreshToken).where(UsedRefreshToken.expires_at < now))
    return (revoked.rowcount or 0) + (used.rowcount or 0)
