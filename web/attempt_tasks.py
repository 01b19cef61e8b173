"""What the API asks of the workers about attempts, always after the commit that made the
change visible: grade these, wake up at that attempt's deadline + grace."""

from __future__ import annotations

import uuid
from datetime import datetime

from shared.examday.timing import TimeChange
from shared.messaging import MAX_COUNTDOWN_SECONDS, TaskName
from shared.models import Attempt
from shared.services import attempts, expiry
from web.extensions import db_session, send_task
from web.security import current_identity


def grade(*attempt_ids: uuid.UUID) -> None:
    """Ask the graders (a lost message is re-sent by the grading sweep)."""
    for attempt_id in attempt_ids:
        send_task(TaskName.GRADE_ATTEMPT, str(attempt_id))


def schedule_expiry(attempt_id: uuid.UUID, expires_at: datetime, now: datetime) -> None:
    """The attempt's own timer, so it is submitted within a second or so of its time."""
    countdown = max(0.0, (expires_at - now).total_seconds()) + 0.5
    if countdown < MAX_COUNTDOWN_SECONDS:  # longer exams are left to the sweep
        send_task(TaskName.EXPIRE_ATTEMPT, str(attempt_id), countdown=countdown)


def after_time_change(change: TimeChange, now: datetime) -> None:
    """Timers for deadlines that moved earlier; grading for attempts whose time is now up."""
    for attempt_id, expires_at in change.reschedule:
        schedule_expiry(attempt_id, expires_at, now)
    grade(*change.submitted)


def load_settled(attempt_id: uuid.UUID, now: datetime, *, lock: bool) -> Attempt:
    """The attempt (404 unless mine or I'm an admin), submitted first if its time ran out."""
    identity, session = current_identity(), db_session()
    attempt = attempts.get_attempt(
        session, attempt_id, user_id=identity.user_id, is_admin=identity.is_admin, for_update=lock
    )
    if expiry.settle(session, attempt, now):
        session.commit()
        grade(attempt.id)
    return attempt
