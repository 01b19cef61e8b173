"""One-time, short-lived codes that carry a launch from the LTI endpoint to the browser:
only their SHA-256 is stored, and spending one is a conditional UPDATE (once, anywhere)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from shared.errors import InvalidCredentials
from shared.interop.lti.models import LtiHandoff, LtiLaunchState


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def issue(
    session: Session,
    purpose: str,
    platform_id: uuid.UUID,
    user_id: uuid.UUID | None,
    data: dict[str, Any],
    now: datetime,
    ttl: int,
) -> str:
    """A new code; the caller hands it to the browser, and only its hash stays here."""
    code = secrets.token_urlsafe(32)
    session.add(
        LtiHandoff(
            code_sha256=_digest(code), purpose=purpose, platform_id=platform_id,
            user_id=user_id, data=data, created_at=now, expires_at=now + timedelta(seconds=ttl),
        )
    )  # fmt: skip
    session.flush()
    return code


def peek(session: Session, code: str, purpose: str, now: datetime) -> LtiHandoff:
    """A code still valid for `purpose`, without spending it (the deep-linking picker)."""
    handoff = session.get(LtiHandoff, _digest(code)) if code else None
    if (
        handoff is None
        or handoff.purpose != purpose
        or handoff.used_at is not None
        or handoff.expires_at <= now
    ):
        raise InvalidCredentials("this link is unknown, expired or used", code="lti_code_invalid")
    return handoff


def spend(session: Session, code: str, purpose: str, now: datetime) -> LtiHandoff:
    """Spend a code once: a second use, an expired or unknown code is `lti_code_invalid`."""
    spent = session.execute(
        update(LtiHandoff)
        .where(
            LtiHandoff.code_sha256 == _digest(code),
            LtiHandoff.purpose == purpose,
            LtiHandoff.used_at.is_(None),
            LtiHandoff.expires_at > now,
        )
        .values(used_at=now)
        .returning(LtiHandoff.code_sha256)
    ).first()
    if spent is None:
        raise InvalidCredentials("this code is unknown, expired or used", code="lti_code_invalid")
    handoff = session.get(LtiHandoff, spent.code_sha256, populate_existing=True)
    assert handoff is not None
    return handoff


def purge_expired(session: Session, now: datetime) -> int:
    """Forget codes and login states that can no longer be used."""
    codes = session.execute(
        delete(LtiHandoff).where(or_(LtiHandoff.expires_at < now, LtiHandoff.used_at.is_not(None)))
    )
    states = session.execute(delete(LtiLaunchState).where(LtiLaunchState.expires_at < now))
    return (codes.rowcount or 0) + (states.rowcount or 0)
