"""Submitting attempts whose time ran out: lazily (any request that touches one) and by
the periodic sweep. Both claim with a conditional UPDATE, so nothing is expired twice."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from shared.events import hooks as webhook_events
from shared.models import Attempt, AttemptEvent, AttemptStatus, SubmitReason

SWEEP_BATCH = 500


def submitted_values(now: datetime, reason: str) -> dict[str, Any]:
    """What moves an attempt to `submitted` (for an UPDATE claimed on `in_progress`): by the
    student, by time, or by an admin; grading is asked for at once."""
    return {
        "status": AttemptStatus.SUBMITTED,
        "submit_reason": reason,
        "submitted_at": now,
        "grade_requested_at": now,
        "revision": Attempt.revision + 1,
    }


def settle(session: Session, attempt: Attempt, now: datetime, *, by: str = "request") -> bool:
    """Submit this attempt with its saved answers if its time (and grace) ran out.
    True if it was submitted now; the caller commits, then asks for grading. `by` says
    who noticed, for the event trail (a request, or the attempt's countdown task)."""
    if attempt.status != AttemptStatus.IN_PROGRESS or now <= attempt.expires_at:
        return False
    # The UPDATE re-checks the time: `attempt` may have been read before an admin's
    # extension committed, and that extension must win.
    claimed = session.execute(
        update(Attempt)
        .where(
            Attempt.id == attempt.id,
            Attempt.status == AttemptStatus.IN_PROGRESS,
            Attempt.expires_at < now,
        )
        .values(**submitted_values(now, SubmitReason.TIMEOUT))
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed:
        session.add(AttemptEvent(attempt_id=attempt.id, kind="expired", data={"by": by}))
        webhook_events.attempts_submitted(session, [attempt.id], now, SubmitReason.TIMEOUT)
    session.refresh(attempt)
    return bool(claimed)


def sweep(session: Session, now: datetime, limit: int = SWEEP_BATCH) -> list[uuid.UUID]:
    """Submit one batch of overdue attempts; returns their ids (to grade after commit).

    SKIP LOCKED lets two sweeps (two beats by mistake) split the work instead of waiting,
    and the status condition makes a second claim of the same attempt a no-op."""
    overdue = (
        select(Attempt.id)
        .where(Attempt.status == AttemptStatus.IN_PROGRESS, Attempt.expires_at < now)
        .order_by(Attempt.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(overdue))
    if not ids:
        return []
    return submit_overdue(session, ids, now, by="sweep")


def submit_overdue(
    session: Session, ids: list[uuid.UUID], now: datetime, *, by: str
) -> list[uuid.UUID]:
    """Submit those of `ids` still running past deadline + grace; the ones submitted."""
    claimed = list(
        session.scalars(
            update(Attempt)
            .where(
                Attempt.id.in_(ids),
                Attempt.status == AttemptStatus.IN_PROGRESS,
                Attempt.expires_at < now,  # re-checked: never on a deadline just extended
            )
            .values(**submitted_values(now, SubmitReason.TIMEOUT))
            .returning(Attempt.id)
            .execution_options(synchronize_session=False)
        )
    )
    if claimed:
        session.execute(
            insert(AttemptEvent),
            [{"attempt_id": i, "kind": "expired", "data": {"by": by}} for i in claimed],
        )
        webhook_events.attempts_submitted(session, claimed, now, SubmitReason.TIMEOUT)
    return claimed


def settle_in_progress(
    session: Session, exam_id: uuid.UUID, student_id: uuid.UUID, now: datetime
) -> tuple[uuid.UUID | None, Attempt | None]:
    """Before a start: submit the student's overdue in-progress attempt, if any. Returns
    (the id of the attempt submitted, the attempt still in progress), either None: the
    start resumes the second without looking for it again."""
    attempt = session.scalar(
        select(Attempt)
        .where(
            Attempt.exam_id == exam_id,
            Attempt.student_id == student_id,
            Attempt.status == AttemptStatus.IN_PROGRESS,
        )
        .with_for_update()
    )
    if attempt is not None and settle(session, attempt, now):
        return attempt.id, None
    return None, attempt
