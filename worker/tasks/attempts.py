"""Attempt tasks: each attempt's own expiry countdown, the expiry sweep (safety net), and
an admin's force-submit of a whole exam."""

from __future__ import annotations

import uuid

from celery import Task
from sqlalchemy import select

from shared.db import transaction
from shared.examday import control
from shared.messaging import MAX_COUNTDOWN_SECONDS, TaskName, enqueue
from shared.models import Attempt, AttemptStatus, utcnow
from shared.services import expiry
from worker.app import app, settings
from worker.tasks.grading import DATABASE_ERRORS

MAX_BATCHES_PER_RUN = 200  # 100,000 attempts; the next run picks up the rest


@app.task(name=TaskName.EXPIRE_OVERDUE, autoretry_for=DATABASE_ERRORS, max_retries=3)
def expire_overdue() -> int:
    """Submit every attempt whose deadline + grace has passed, batch by batch, and grade."""
    total = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        with transaction(settings) as session:
            submitted = expiry.sweep(session, utcnow())
        for attempt_id in submitted:
            enqueue(app, TaskName.GRADE_ATTEMPT, [str(attempt_id)])
        total += len(submitted)
        if len(submitted) < expiry.SWEEP_BATCH:
            break
    return total


# An admin may add time to a running attempt any number of times; each time its timer
# finds it still running and waits for the new deadline (see docs/architecture.md).
MAX_WAITS = 100


@app.task(name=TaskName.EXPIRE_ATTEMPT, bind=True, autoretry_for=DATABASE_ERRORS, max_retries=5)
def expire_attempt(self: Task, attempt_id: str) -> str:
    """Runs at the attempt's deadline + grace: submit it if still in progress, or wait
    again if its deadline moved later meanwhile."""
    now = utcnow()
    with transaction(settings) as session:
        attempt = session.scalar(
            select(Attempt).where(Attempt.id == uuid.UUID(attempt_id)).with_for_update()
        )
        if attempt is None or attempt.status != AttemptStatus.IN_PROGRESS:
            return "nothing to do"
        early = (attempt.expires_at - now).total_seconds()
        submitted = early < 0 and expiry.settle(session, attempt, now, by="countdown")
    if submitted:
        enqueue(app, TaskName.GRADE_ATTEMPT, [attempt_id])
        return "submitted"
    if 0 <= early < MAX_COUNTDOWN_SECONDS:  # given more time, or delivered early: come back
        raise self.retry(countdown=early + 0.5, max_retries=MAX_WAITS)
    return "left to the sweep"


@app.task(
    name=TaskName.FORCE_SUBMIT_EXAM, autoretry_for=DATABASE_ERRORS, max_retries=10, retry_backoff=1
)
def force_submit_exam(job_id: str) -> int:
    """Submit the job's running attempts batch by batch (progress in the job), grade each."""
    total = 0
    while True:
        with transaction(settings) as session:
            submitted, finished = control.run_force_submit_batch(
                session, uuid.UUID(job_id), utcnow()
            )
        for attempt_id in submitted:
            enqueue(app, TaskName.GRADE_ATTEMPT, [str(attempt_id)])
        total += len(submitted)
        if finished:
            return total
