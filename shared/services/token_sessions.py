"""Revocation of token pairs (logout), kept in the database so it survives restarts."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from shared.models import RevokedSession, utcnow


def revoke(session: Session, sid: str, *, user_id: uuid.UUID | None, expires_at: datetime) -> None:
    """Reject every token of this pair from now on (idempotent)."""
    if session.get(RevokedSession, sid) is None:
        session.add(RevokedSession(sid=sid, user_id=user_id, expires_at=expires_at))
        session.flush()


# Asked on every authenticated request: a Core statement on the table, without the ORM's
# per-statement work (bench/ab.py measures the difference).
_REVOKED = RevokedSession.__table__.c
_IS_REVOKED = select(_REVOKED.sid).where(_REVOKED.sid == bindparam("sid"))


def is_revoked(session: Session, sid: str) -> bool:
    return session.execute(_IS_REVOKED, {"sid": sid}).first() is not None


def purge_expired(session: Session, now: datetime | None = None) -> int:
    """Forget revocations whose tokens have expired anyway."""
    result = session.execute(
        delete(RevokedSession).where(RevokedSession.expires_at < (now or utcnow()))
    )
    return result.rowcount or 0
