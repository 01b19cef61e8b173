"""One-time links to set or reset a password, sent by email.

The request only records that a link is owed (a notification of kind `password_link`); the
worker makes the link when it sends the email, keeping only the token's SHA-256, so the
link exists nowhere but in that email. A new link ends the older ones of the same user."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.errors import Conflict, InvalidInput, NotFound
from shared.models import Notification, User
from shared.people.accounts import normalize_email
from shared.people.models import PasswordToken
from shared.security import hash_password, password_problem
from shared.services import notifications

LINK_KIND = "password_link"
RESET, SET = "reset", "set"  # a forgotten password, or a new account without one
INVALID_LINK = "this link is invalid, used or expired: ask for a new one"


def request_link(
    session: Session, user_id: uuid.UUID, purpose: str, now: datetime
) -> uuid.UUID | None:
    """Owe the user an email with a link; the notification id to send, None if one is
    already on its way this minute (a double click, a retried request)."""
    return notifications.notify(session, **_link_row(user_id, purpose, now))


def request_links(
    session: Session, user_ids: list[uuid.UUID], purpose: str, now: datetime
) -> list[uuid.UUID]:
    """`request_link` for many users in a few statements (a bulk import)."""
    return notifications.notify_many(session, [_link_row(u, purpose, now) for u in user_ids])


def _link_row(user_id: uuid.UUID, purpose: str, now: datetime) -> dict[str, Any]:
    title = "Set your password" if purpose == SET else "Reset your password"
    body = (
        "An account was made for you. Choose your password with the link below."
        if purpose == SET
        else "Someone asked to reset your password. If it was you, use the link below; "
        "if not, ignore this email and your password stays as it is."
    )
    return {
        "user_id": user_id,
        "kind": LINK_KIND,
        "title": title,
        "body": body,
        "dedupe_key": f"password:{user_id}:{purpose}:{now:%Y%m%d%H%M}",
        "data": {"purpose": purpose},
    }


def forgot(session: Session, email: str, now: datetime) -> uuid.UUID | None:
    """A reset link for the active account with this email, if there is one. The caller
    answers the same either way, so nobody learns which addresses have accounts."""
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None or not user.active:
        return None
    return request_link(session, user.id, RESET, now)


def admin_reset(session: Session, user_id: uuid.UUID, now: datetime) -> uuid.UUID | None:
    """An admin sends the user a reset link."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    if not user.active:
        raise Conflict("this account is disabled: enable it first")
    return request_link(session, user.id, RESET, now)


def link_body(
    session: Session, settings: Settings, notification: Notification, now: datetime
) -> str:
    """The email body with a fresh link (its token kept only as a hash)."""
    token = secrets.token_urlsafe(32)
    session.execute(
        update(PasswordToken)
        .where(PasswordToken.user_id == notification.user_id, PasswordToken.used_at.is_(None))
        .values(used_at=now)  # one link at a time: the newest
    )
    session.add(
        PasswordToken(
            token_sha256=_digest(token),
            user_id=notification.user_id,
            purpose=(notification.data or {}).get("purpose", RESET),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.PASSWORD_LINK_SECONDS),
        )
    )
    session.flush()
    hours = settings.PASSWORD_LINK_SECONDS // 3600
    link = f"{settings.public_url}/#/password/reset?token={token}"
    return f"{notification.body}\n\n{link}\n\nThe link works once, for {hours} hours."


def reset_password(
    session: Session, settings: Settings, token: str, password: str, now: datetime
) -> User:
    """Spend a link: set the password and end every session of the user."""
    problem = password_problem(password)
    if problem:
        raise InvalidInput(f"password {problem}", {"password": [problem]})
    row = session.scalar(
        select(PasswordToken).where(PasswordToken.token_sha256 == _digest(token)).with_for_update()
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise InvalidInput(INVALID_LINK, {"token": [INVALID_LINK]})
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise InvalidInput(INVALID_LINK, {"token": [INVALID_LINK]})
    row.used_at = now
    user.password_hash = hash_password(settings, password)
    user.token_version += 1  # every token issued before is refused from now on
    session.flush()
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
