"""Accounts: registration (and who may register), the admin CLI, password login, and
the admin's view of users: search, rename, change role, disable and re-enable."""

from __future__ import annotations

import unicodedata
import uuid
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import contains_pattern
from shared.errors import Conflict, InvalidCredentials, InvalidInput, NotFound, PermissionDenied
from shared.models import Role, User
from shared.people.models import Group, GroupMember
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
    if not user.active:  # told only to whoever knows the password
        raise PermissionDenied("this account is disabled", code="account_disabled")
    if needs_rehash(settings, user.password_hash):
        user.password_hash = hash_password(settings, password)
    return user


def get_user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    return user


def check_registration(settings: Settings, email: str) -> None:
    """PermissionDenied (registration_closed) unless SELF_REGISTRATION lets this email in."""
    domains = settings.registration_domains
    if domains is None:
        return
    domain = normalize_email(email).rpartition("@")[2]
    if domain not in domains:
        raise PermissionDenied(
            "accounts are made by the school: ask an administrator", code="registration_closed"
        )


def search_users(
    session: Session,
    *,
    role: str | None = None,
    q: str | None = None,
    group_id: uuid.UUID | None = None,
    active: bool | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[User], int]:
    """One page of users, by email; `q` matches email or name (case-insensitively)."""
    query = select(User)
    if role:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active.is_(active))
    if group_id is not None:
        query = query.where(
            exists().where(GroupMember.group_id == group_id, GroupMember.user_id == User.id)
        )
    if q:
        pattern = contains_pattern(q)
        query = query.where(
            or_(
                User.email.like(normalize_email(pattern), escape="\\"),
                User.full_name.ilike(pattern, escape="\\"),
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    users = session.scalars(query.order_by(User.email).offset(offset).limit(limit)).all()
    return list(users), total


def groups_of(session: Session, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Group]]:
    """Each user's groups, by name, in one query."""
    found: dict[uuid.UUID, list[Group]] = {user_id: [] for user_id in user_ids}
    if not user_ids:
        return found
    rows = session.execute(
        select(GroupMember.user_id, Group)
        .join(Group, Group.id == GroupMember.group_id)
        .where(GroupMember.user_id.in_(user_ids))
        .order_by(Group.name)
    )
    for user_id, group in rows:
        found[user_id].append(group)
    return found


def update_user(
    session: Session, user_id: uuid.UUID, patch: dict[str, Any], *, by: uuid.UUID
) -> User:
    """Rename, change role, disable or re-enable. Disabling ends every session at once.
    An admin can't disable or demote themselves (nobody would be left to undo it)."""
    user = get_user(session, user_id)
    if user_id == by and (
        patch.get("active") is False or patch.get("role", user.role) != user.role
    ):
        raise Conflict("you can't disable your own account or change your own role")
    if "full_name" in patch:
        user.full_name = patch["full_name"].strip()
    if "role" in patch:
        if patch["role"] not in set(Role):
            rule = f"must be one of {', '.join(sorted(Role))}"
            raise InvalidInput(f"role {rule}", {"role": [rule]})
        if patch["role"] != user.role:
            user.role = patch["role"]
            user.token_version += 1  # tokens carry the role: the old ones must go
    if "active" in patch and patch["active"] != user.active:
        user.active = patch["active"]
        user.token_version += 1
    session.flush()
    return user
