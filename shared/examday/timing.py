"""Deadlines of running attempts after a time change: an accommodation, a per-attempt
extension, or a change of the exam's duration, close or grace.

Every change recomputes from the stored facts (start, accommodation, extension, reopening)
under the exam's current timing, so the order of changes never matters. Rows are locked
while they change: the sweep skips a locked attempt (SKIP LOCKED) and re-reads it next
time, and every submission by time re-checks `expires_at` in its UPDATE, so an attempt just
given more time is never submitted on its old deadline.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.orm import Session

from shared.exam_rules import attempt_deadline, expires_at
from shared.models import Accommodation, Attempt, AttemptEvent, AttemptStatus, Exam
from shared.services import expiry


@dataclass
class TimeChange:
    """What a change did, for the caller to act on after its commit."""

    changed: int = 0
    # Attempts whose timer must fire earlier than the one already scheduled, or that had
    # none (reopened): (attempt id, new expires_at). Later deadlines need no new timer: the
    # old one finds the attempt still running and waits again (worker/tasks/attempts.py).
    reschedule: list[tuple[uuid.UUID, datetime]] = field(default_factory=list)
    # Attempts whose new deadline + grace has passed: submitted now, to be graded.
    submitted: list[uuid.UUID] = field(default_factory=list)


def recompute(
    session: Session,
    exam: Exam,
    now: datetime,
    *,
    by: uuid.UUID | None,
    reason: str,
    student_id: uuid.UUID | None = None,
    attempt_id: uuid.UUID | None = None,
) -> TimeChange:
    """Recompute the deadlines of the exam's running attempts (or one student's, or one
    attempt's), write the changed ones with an event naming who and why, and submit those
    whose time is now up. Runs in the caller's transaction."""
    a = Attempt.__table__.c
    query = (
        select(
            a.id,
            a.started_at,
            a.deadline,
            a.expires_at,
            a.extended_seconds,
            a.reopened_at,
            a.reopen_seconds,
            Accommodation.extra_seconds,
        )  # fmt: skip
        .outerjoin(
            Accommodation,
            and_(Accommodation.exam_id == a.exam_id, Accommodation.student_id == a.student_id),
        )
        .where(a.exam_id == exam.id, a.status == AttemptStatus.IN_PROGRESS)
        .order_by(a.id)  # one lock order for every caller
        .with_for_update(of=Attempt.__table__)
    )
    if student_id is not None:
        query = query.where(a.student_id == student_id)
    if attempt_id is not None:
        query = query.where(a.id == attempt_id)
    change = TimeChange()
    updates: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for row in session.execute(query):
        deadline = attempt_deadline(
            exam,
            started_at=row.started_at,
            accommodation_seconds=row.extra_seconds or 0,
            extended_seconds=row.extended_seconds,
            reopened_at=row.reopened_at,
            reopen_seconds=row.reopen_seconds,
        )
        expiry_at = expires_at(exam, deadline)
        if deadline == row.deadline and expiry_at == row.expires_at:
            continue
        updates.append({"b_id": row.id, "b_deadline": deadline, "b_expires_at": expiry_at})
        events.append(
            {
                "attempt_id": row.id,
                "kind": "deadline_changed",
                "data": {
                    "by": str(by) if by else None,
                    "reason": reason,
                    "old_deadline": row.deadline.isoformat(),
                    "new_deadline": deadline.isoformat(),
                    "new_expires_at": expiry_at.isoformat(),
                },
            }
        )
        if expiry_at < row.expires_at:
            change.reschedule.append((row.id, expiry_at))
    if updates:
        session.execute(  # Core executemany: one statement compiled, many rows
            update(Attempt.__table__)
            .where(a.id == bindparam("b_id"))
            .values(
                deadline=bindparam("b_deadline"),
                expires_at=bindparam("b_expires_at"),
                revision=a.revision + 1,  # the status ETag changes: clients see it
            ),
            updates,
        )
        session.execute(insert(AttemptEvent), events)
        change.changed = len(updates)
        overdue = [u["b_id"] for u in updates if u["b_expires_at"] < now]
        if overdue:
            change.submitted = expiry.submit_overdue(session, overdue, now, by="time_change")
    return change
