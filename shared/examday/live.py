"""The proctor's live view of one exam: who is where, what happened in the last minute, and
who has gone quiet. Two indexed queries build it, whatever the number of attempts, and the
result is cached for a second per exam, so fifty proctors (and their streams) cost one build
per second, not fifty.

What the numbers mean (docs/architecture.md, "Live view"):
- `counts`: students who may sit the exam (`eligible`) and those of them with no attempt yet
  (`not_started`); attempts by status (`in_progress`, `submitted`, `graded`).
- `saves_last_minute`: running attempts that saved (or started) in the last 60 s, each
  counted once however often it saved; read from `last_activity_at` through the partial
  index of running attempts, so autosave, the hottest path, does no extra work for it.
- `submissions_last_minute`: attempts submitted in the last 60 s (by anyone: the student,
  the timeout sweep, an admin).
- `grading_backlog`: submitted attempts the grader has not finished yet.
- `idle`: running attempts with no save for 2 minutes, longest quiet first, at most
  `IDLE_LIST_LIMIT` of them (`idle_count` says how many there are in all).
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from shared.cache import Cache, MemoryCache, shared_level
from shared.errors import NotFound
from shared.models import Attempt, AttemptStatus, Exam, User
from shared.people.audiences import eligible_students

RECENT = timedelta(minutes=1)
IDLE_AFTER = timedelta(minutes=2)
IDLE_LIST_LIMIT = 100
CACHE_SECONDS = 1

_ATTEMPTS = Attempt.__table__.c
_recent = MemoryCache()
_building: dict[uuid.UUID, threading.Lock] = {}
_building_guard = threading.Lock()


def live_view(session: Session, cache: Cache, exam_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    """The live object (times as ISO strings), at most a second old; NotFound for an unknown
    exam."""
    return json.loads(live_view_json(session, cache, exam_id, now))


def live_view_json(session: Session, cache: Cache, exam_id: uuid.UUID, now: datetime) -> str:
    """The live object as JSON text, as cached: a stream's event costs no serialising."""
    key = f"live:{exam_id}"
    text = _recent.get(key)
    if text is not None:
        return str(text)
    shared = shared_level(cache)  # a TwoLevelCache's near copy would outlive the second
    # One build per process at a time: the other threads asking meanwhile wait for it.
    with _lock_for(exam_id):
        text = _recent.get(key) or shared.get(key)
        if text is None:
            text = json.dumps(build_live_view(session, exam_id, now), separators=(",", ":"))
            shared.set(key, text, CACHE_SECONDS)
        # This process keeps it a second too (at most two seconds old in all), so even with
        # Redis down it builds once a second, not once per event.
        _recent.set(key, text, CACHE_SECONDS)
    return str(text)


def build_live_view(session: Session, exam_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    """The live object, straight from the database."""
    exam = session.get(Exam, exam_id)
    if exam is None:
        raise NotFound("exam not found")
    numbers = session.execute(_numbers(exam, now)).one()._asdict()
    idle = [
        {
            "attempt_id": str(row.id),
            "student_id": str(row.student_id),
            "student_name": row.full_name,
            "student_email": row.email,
            "last_saved_at": row.last_activity_at.isoformat(),
        }
        for row in session.execute(_idle(exam_id, now))
    ]
    return {
        "server_time": now.isoformat(),
        "counts": {
            name: numbers[name]
            for name in ("eligible", "not_started", "in_progress", "submitted", "graded")
        },
        "saves_last_minute": numbers["saves_last_minute"],
        "submissions_last_minute": numbers["submissions_last_minute"],
        "grading_backlog": numbers["submitted"],
        "idle_count": numbers["idle_count"],
        "idle": idle,
    }


def _numbers(exam: Exam, now: datetime) -> Any:
    """Every number in one statement: each a count over one index range of attempts."""

    def attempts(*where: Any) -> Any:
        query = select(func.count()).select_from(Attempt.__table__)
        return query.where(_ATTEMPTS.exam_id == exam.id, *where).scalar_subquery()

    running = _ATTEMPTS.status == AttemptStatus.IN_PROGRESS
    students = eligible_students(exam).subquery()
    started = exists().where(
        _ATTEMPTS.exam_id == exam.id, _ATTEMPTS.student_id == students.c.user_id
    )
    population = select(func.count()).select_from(students)
    return select(
        population.scalar_subquery().label("eligible"),
        population.where(~started).scalar_subquery().label("not_started"),  # an anti-join
        attempts(running).label("in_progress"),
        attempts(_ATTEMPTS.status == AttemptStatus.SUBMITTED).label("submitted"),
        attempts(_ATTEMPTS.status == AttemptStatus.GRADED).label("graded"),
        attempts(running, _ATTEMPTS.last_activity_at >= now - RECENT).label("saves_last_minute"),
        attempts(_ATTEMPTS.submitted_at >= now - RECENT).label("submissions_last_minute"),
        attempts(running, _ATTEMPTS.last_activity_at < now - IDLE_AFTER).label("idle_count"),
    )


def _idle(exam_id: uuid.UUID, now: datetime) -> Any:
    """The longest-quiet running attempts, read in index order and stopped at the limit."""
    return (
        select(
            _ATTEMPTS.id,
            _ATTEMPTS.student_id,
            _ATTEMPTS.last_activity_at,
            User.full_name,
            User.email,
        )
        .join(User, User.id == _ATTEMPTS.student_id)
        .where(
            _ATTEMPTS.exam_id == exam_id,
            _ATTEMPTS.status == AttemptStatus.IN_PROGRESS,
            _ATTEMPTS.last_activity_at < now - IDLE_AFTER,
        )
        .order_by(_ATTEMPTS.last_activity_at, _ATTEMPTS.id)
        .limit(IDLE_LIST_LIMIT)
    )


def _lock_for(exam_id: uuid.UUID) -> threading.Lock:
    with _building_guard:
        if len(_building) > 1000:  # exams come and go; a few idle locks are cheap to remake
            _building.clear()
        return _building.setdefault(exam_id, threading.Lock())
