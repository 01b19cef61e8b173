"""Bulk import of students (and staff) from a roster file: all rows or none.

New accounts are inserted in bulk. Passwords given in the file are hashed with cheaper
argon2id parameters (`BULK_HASH`, on two threads) so that 5,000 rows take seconds, and
rehashed at full cost at the account's first login (`needs_rehash`); accounts without a
password get a set-password email instead, which is what most imports should do."""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.models import Role, User
from shared.people import groups as group_service
from shared.people import passwords
from shared.people.accounts import normalize_email
from shared.people.models import MAX_GROUP_NAME, Group
from shared.security import password_problem
from shared.services.question_import import limits
from shared.spreadsheets.questions import CellError
from shared.spreadsheets.students import StudentRow, read_roster

# Far cheaper than the login default (t=3, 64 MiB): ~1.6 ms a hash here (2 MiB). Replaced at full
# cost when the student first signs in.
BULK_HASH = {"time_cost": 1, "memory_cost": 2048, "parallelism": 1}
UNUSABLE_HASH = "!"  # no password verifies against it: the account waits for its link
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CHUNK = 1000


@dataclass
class Student:
    row: int
    email: str
    full_name: str
    role: str
    groups: list[str]
    password: str | None


@dataclass
class ImportOutcome:
    created: int = 0
    updated: int = 0
    groups_created: int = 0
    errors: list[CellError] = field(default_factory=list)
    dry_run: bool = False
    # Set-password emails to send once the import is committed.
    notification_ids: list[uuid.UUID] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def import_students(
    session: Session,
    settings: Settings,
    filename: str,
    data: bytes,
    *,
    dry_run: bool,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> ImportOutcome:
    """Create or update every account of the file, or none if any row is wrong.
    `progress(done, total)` is told as the accounts are written."""
    parsed = read_roster(filename, data, limits(settings))
    outcome = ImportOutcome(errors=parsed.errors, dry_run=dry_run)
    students = _validate(parsed.rows, outcome.errors)
    if outcome.errors:
        return outcome
    existing = _existing(session, [s.email for s in students])
    wanted_groups = {group_service.name_key(g): g for s in students for g in s.groups}
    known_groups = _groups_by_key(session, list(wanted_groups))
    outcome.created = sum(1 for s in students if s.email not in existing)
    outcome.updated = len(students) - outcome.created
    outcome.groups_created = len(set(wanted_groups) - set(known_groups))
    if dry_run:
        return outcome
    for key in set(wanted_groups) - set(known_groups):
        known_groups[key] = group_service.create_group(session, name=wanted_groups[key]).id
    ids = _write_users(session, students, existing, progress)
    memberships: dict[uuid.UUID, list[uuid.UUID]] = {}
    for student in students:
        for name in student.groups:
            memberships.setdefault(known_groups[group_service.name_key(name)], []).append(
                ids[student.email]
            )
    for group_id, user_ids in memberships.items():
        group_service.insert_members(session, group_id, user_ids)
    owed = [ids[s.email] for s in students if s.email not in existing and s.password is None]
    outcome.notification_ids = passwords.request_links(session, owed, passwords.SET, now)
    return outcome


def _validate(rows: list[StudentRow], errors: list[CellError]) -> list[Student]:
    students: list[Student] = []
    seen: dict[str, int] = {}  # email -> the first row with it
    for row in rows:
        problems: list[CellError] = []
        student = _student(row, seen, problems)
        if problems or student is None:
            errors.extend(problems)
            continue
        seen[student.email] = row.row
        students.append(student)
    return students


def _student(row: StudentRow, seen: dict[str, int], problems: list[CellError]) -> Student | None:
    def fail(column: str, message: str) -> None:
        problems.append(CellError(row.row, column, message))

    raw_email = _text(row.cells.get("email"), "email", fail)
    email = normalize_email(raw_email) if raw_email else ""
    if raw_email is None:
        fail("email", "required")
    elif len(email) > 254 or not EMAIL.match(email):
        fail("email", "not an email address")
    elif email in seen:  # also catches look-alikes: full-width letters, case
        fail("email", f"the same address as row {seen[email]}")
    name = _text(row.cells.get("full_name"), "full_name", fail)
    if name is None:
        fail("full_name", "required")
    elif len(name) > 200:
        fail("full_name", "at most 200 characters")
    role = (_text(row.cells.get("role"), "role", fail) or Role.STUDENT).lower()
    if role not in set(Role):
        fail("role", f"must be one of {', '.join(sorted(Role))}")
    group_names = _groups(_text(row.cells.get("groups"), "groups", fail), fail)
    password = _text(row.cells.get("password"), "password", fail, strip=False)
    if password is not None and (problem := password_problem(password)):
        fail("password", problem)
    if problems or name is None:
        return None
    return Student(row.row, email, name, role, group_names, password)


def _text(
    value: Any, column: str, fail: Callable[[str, str], None], *, strip: bool = True
) -> str | None:
    if value is None:
        return None
    text = str(value) if not isinstance(value, str) else value
    if isinstance(value, str) and value.lstrip().startswith(("=", "\uff1d")):
        fail(column, "looks like a formula: type the value itself")
        return None
    text = " ".join(text.split()) if strip else text
    return text or None


def _groups(cell: str | None, fail: Callable[[str, str], None]) -> list[str]:
    if cell is None:
        return []
    names = [" ".join(n.split()) for n in cell.split(";")]
    names = [n for n in names if n]
    if any(len(n) > MAX_GROUP_NAME for n in names):
        fail("groups", f"a group name is longer than {MAX_GROUP_NAME} characters")
        return []
    return list({group_service.name_key(n): n for n in names}.values())


@dataclass(frozen=True)
class Known:
    """An account the file names that exists already."""

    id: uuid.UUID
    full_name: str
    role: str


def _existing(session: Session, emails: list[str]) -> dict[str, Known]:
    found: dict[str, Known] = {}
    for start in range(0, len(emails), CHUNK):
        rows = session.execute(
            select(User.email, User.id, User.full_name, User.role).where(
                User.email.in_(emails[start : start + CHUNK])
            )
        )
        found.update({email: Known(i, name, role) for email, i, name, role in rows})
    return found


def _groups_by_key(session: Session, keys: list[str]) -> dict[str, uuid.UUID]:
    if not keys:
        return {}
    rows = session.execute(select(Group.name_key, Group.id).where(Group.name_key.in_(keys)))
    return {key: group_id for key, group_id in rows}


def _write_users(
    session: Session,
    students: list[Student],
    existing: dict[str, Known],
    progress: Callable[[int, int], None] | None,
) -> dict[str, uuid.UUID]:
    """Insert the new accounts and update the known ones that changed, in chunks; a
    role or a password that changes ends the account's sessions. Email -> id."""
    ids = {email: known.id for email, known in existing.items()}
    hashes = _hash_all(s.password for s in students)
    for start in range(0, len(students), CHUNK):
        chunk = zip(students[start : start + CHUNK], hashes[start : start + CHUNK], strict=True)
        new, changed = [], []
        for student, password_hash in chunk:
            known = existing.get(student.email)
            if known is None:
                ids[student.email] = uuid.uuid4()
                new.append({
                    "id": ids[student.email], "email": student.email,
                    "full_name": student.full_name, "role": student.role,
                    "password_hash": password_hash or UNUSABLE_HASH,
                })  # fmt: skip
            elif (student.full_name, student.role) != (known.full_name, known.role) or (
                password_hash is not None
            ):
                changed.append((known, student, password_hash))
        if new:
            session.execute(insert(User), new)
        for known, student, password_hash in changed:  # few: a re-import changes little
            values: dict[str, Any] = {"full_name": student.full_name, "role": student.role}
            if password_hash is not None:
                values["password_hash"] = password_hash
            if password_hash is not None or student.role != known.role:
                values["token_version"] = User.token_version + 1  # tokens carry the role
            session.execute(update(User).where(User.id == known.id).values(values))
        if progress:
            progress(min(start + CHUNK, len(students)), len(students))
    return ids


@functools.cache
def _bulk_hasher() -> PasswordHasher:
    return PasswordHasher(**BULK_HASH)


def _hash_all(passwords_: Iterable[str | None]) -> list[str | None]:
    """argon2 releases the GIL: two threads use both cores."""
    hasher, given = _bulk_hasher(), list(passwords_)
    if not any(p is not None for p in given):
        return [None] * len(given)
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda p: hasher.hash(p) if p is not None else None, given))
