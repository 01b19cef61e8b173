"""Groups of students (a class, a year, a course section) and their members."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import contains_pattern
from shared.errors import Conflict, InvalidInput, NotFound
from shared.models import Role, User, utcnow
from shared.people.models import MAX_GROUP_NAME, Group, GroupMember


def name_key(name: str) -> str:
    """How group names are compared: "Class 7A", "class 7a" and "Ｃｌａｓｓ 7A" are one."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_GROUP_NAME:
        rule = f"must be 1 to {MAX_GROUP_NAME} characters"
        raise InvalidInput(f"name {rule}", {"name": [rule]})
    return cleaned


def create_group(session: Session, *, name: str, description: str | None = None) -> Group:
    group = Group(id=uuid.uuid4(), name=clean_name(name), description=description)
    group.name_key = name_key(group.name)
    _save(session, group)
    return group


def get_group(session: Session, group_id: uuid.UUID) -> Group:
    group = session.get(Group, group_id)
    if group is None:
        raise NotFound("group not found")
    return group


def update_group(session: Session, group_id: uuid.UUID, patch: dict[str, Any]) -> Group:
    group = get_group(session, group_id)
    if "name" in patch:
        group.name = clean_name(patch["name"])
        group.name_key = name_key(group.name)
    if "description" in patch:
        group.description = patch["description"]
    group.updated_at = utcnow()
    _save(session, group)
    return group


def _save(session: Session, group: Group) -> None:
    try:
        with session.begin_nested():  # the unique name settles a race between two admins
            session.add(group)
    except IntegrityError:
        raise Conflict(f"a group named {group.name!r} already exists") from None


def delete_group(session: Session, group_id: uuid.UUID) -> None:
    """Members leave the group; their accounts and attempts stay."""
    session.delete(get_group(session, group_id))
    session.flush()


def search_groups(
    session: Session, *, q: str | None = None, offset: int = 0, limit: int = 50
) -> tuple[list[Group], int]:
    query = select(Group)
    if q:
        query = query.where(Group.name_key.like(contains_pattern(name_key(q)), escape="\\"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    groups = session.scalars(query.order_by(Group.name_key).offset(offset).limit(limit)).all()
    return list(groups), total


def member_counts(session: Session, group_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    ids = list(group_ids)
    counts = {group_id: 0 for group_id in ids}
    if ids:
        rows = session.execute(
            select(GroupMember.group_id, func.count())
            .where(GroupMember.group_id.in_(ids))
            .group_by(GroupMember.group_id)
        )
        counts.update({group_id: count for group_id, count in rows})
    return counts


def members(
    session: Session, group_id: uuid.UUID, *, offset: int = 0, limit: int = 50
) -> tuple[list[User], int]:
    get_group(session, group_id)
    query = select(User).join(GroupMember, GroupMember.user_id == User.id)
    query = query.where(GroupMember.group_id == group_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    users = session.scalars(query.order_by(User.email).offset(offset).limit(limit)).all()
    return list(users), total


def add_members(session: Session, group_id: uuid.UUID, user_ids: list[uuid.UUID]) -> int:
    """Add students (those already in stay); the new member count."""
    get_group(session, group_id)
    insert_members(session, group_id, _students(session, user_ids))
    return member_counts(session, [group_id])[group_id]


def insert_members(session: Session, group_id: uuid.UUID, user_ids: list[uuid.UUID]) -> None:
    """Add these (existing) users; those already in stay once."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    # executemany: SQLAlchemy batches it into multi-row INSERTs, compiled once.
    session.execute(
        insert(GroupMember.__table__).on_conflict_do_nothing(),
        [{"group_id": group_id, "user_id": u, "added_at": now} for u in wanted],
    )


def replace_members(session: Session, group_id: uuid.UUID, user_ids: list[uuid.UUID]) -> int:
    """Exactly these students; the new member count."""
    get_group(session, group_id)
    wanted = _students(session, user_ids)
    session.execute(
        delete(GroupMember).where(
            GroupMember.group_id == group_id, GroupMember.user_id.not_in(wanted)
        )
    )
    return add_members(session, group_id, wanted)


def remove_member(session: Session, group_id: uuid.UUID, user_id: uuid.UUID) -> int:
    get_group(session, group_id)
    removed = session.execute(
        delete(GroupMember).where(GroupMember.group_id == group_id, GroupMember.user_id == user_id)
    ).rowcount
    if not removed:
        raise NotFound("this user is not in the group")
    return member_counts(session, [group_id])[group_id]


def _students(session: Session, user_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """The ids, once each, all of existing students; InvalidInput naming the others."""
    unique = list(dict.fromkeys(user_ids))
    found = set(
        session.scalars(select(User.id).where(User.id.in_(unique), User.role == Role.STUDENT))
    )
    unknown = [str(u) for u in unique if u not in found]
    if unknown:
        rule = "not students: " + ", ".join(unknown[:20])
        raise InvalidInput(f"user_ids are {rule}", {"user_ids": [rule]})
    return unique
