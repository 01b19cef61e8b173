"""Accounts: registration, the admin CLI, and password login."""

from __future__ import annotations

import unicodedata
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.errors import Conflict, InvalidCredentials, InvalidInput, NotFound
from shared.models import Role, User
from shared.security import (
    burn_password_check,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)


def normalize_email(email: str) -> str:
    """The form emails are stored and compared in: NFKC then case folding, so look-alikes
    (full-width letters, ligatures, "ß"/"ss") are one address."""
    return unicodedata.normalize("NFKC", email).strip().casefold()


def create_user(
    session: Session,
    settings: Settings,
    *,
    email: str,
    password: str,
    full_name: str,
    role: str = Role.STUDENT,
) -> User:
    """Create an account; Conflict if the email is taken (case-insensitively)."""
    if role not in set(Role):
        rule = f"must be one of {', '.join(sorted(Role))}"
        raise InvalidInput(f"role {rule}", {"role": [rule]})
    problem = password_problem(password)
    if problem:
        raise InvalidInput(f"password {problem}", {"password": [problem]})
    email = normalize_email(email)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("an account with this email already exists")
    user = User(
        email=email,
        password_hash=hash_password(settings, password),
        full_name=full_name.strip(),
        role=role,
    )
    try:
        with session.begin_nested():  # the unique index settles a race between two registrations
            session.add(user)
    except IntegrityError:
        raise Conflict("an account with this email already exists") from None
    return user


def authenticate(session: Session, settings: Settings, *, email: str, password: str) -> User:
    """The user whose password matches; InvalidCredentials otherwise (same cost either way)."""
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        # Hash anyway so response time doesn't reveal which emails have accounts.
        burn_password_check(settings, password)
        raise InvalidCredentials("wrong email or password")
    if not verify_password(settings, user.password_hash, password):
        raise InvalidCredentials("wrong email or password")
    if needs_rehash(settings, user.password_hash):
        user.password_hash = hash_password(settings, password)
    return user


def get_user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    return user
