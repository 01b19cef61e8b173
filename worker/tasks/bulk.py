"""Bulk regrade and rollback tasks, on the `bulk` queue so they never delay a student's
grading."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from shared.db import transaction
from shared.examday import control
from shared.messaging import TaskName, enqueue
from shared.models import utcnow
from shared.services import regrades
from shared.trust import rollbacks
from worker.app import app, settings
from worker.tasks.grading import DATABASE_ERRORS

STALLED_AFTER = timedelta(minutes=2)


def _send_chunks(
    job_id: uuid.UUID, chunks: list[list[uuid.UUID]], task: str = TaskName.REGRADE_CHUNK
) -> None:
    for chunk in chunks:
        enqueue(app, task, [str(job_id), [str(i) for i in chunk]])


@app.task(
    name=TaskName.START_REGRADE, autoretry_for=DATABASE_ERRORS, max_retries=10, retry_backoff=2
)
def start_regrade(job_id: str) -> int:
    """Fix the job's keys and total, then fan out one task per chunk of attempts."""
    with transaction(settings) as session:
        chunks = regrades.start(session, uuid.UUID(job_id), utcnow())
    if chunks is None:
        return 0
    _send_chunks(uuid.UUID(job_id), chunks)
    return len(chunks)


@app.task(
    name=TaskName.REGRADE_CHUNK,
    autoretry_for=DATABASE_ERRORS,
    max_retries=10,
    retry_backoff=2,
    soft_time_limit=240,
    time_limit=300,
)
def regrade_chunk(job_id: str, attempt_ids: list[str]) -> int:
    return _run_chunk(regrades.run_chunk, job_id, attempt_ids)


@app.task(
    name=TaskName.START_ROLLBACK, autoretry_for=DATABASE_ERRORS, max_retries=10, retry_backoff=2
)
def start_rollback(job_id: str) -> int:
    """Fix the rollback's total, then fan out one task per chunk of attempts."""
    with transaction(settings) as session:
        chunks = rollbacks.start(session, uuid.UUID(job_id), utcnow())
    if chunks is None:
        return 0
    _send_chunks(uuid.UUID(job_id), chunks, TaskName.ROLLBACK_CHUNK)
    return len(chunks)


@app.task(
    name=TaskName.ROLLBACK_CHUNK,
    autoretry_for=DATABASE_ERRORS,
    max_retries=10,
    retry_backoff=2,
    soft_time_limit=240,
    time_limit=300,
)
def rollback_chunk(job_id: str, attempt_ids: list[str]) -> int:
    """Restore a chunk's attempts (a redelivery skips those done), then recount the job."""
    return _run_chunk(rollbacks.run_chunk, job_id, attempt_ids)


def _run_chunk(run: Callable[..., list[uuid.UUID]], job_id: str, attempt_ids: list[str]) -> int:
    """A chunk in its transaction, the job recounted in another, then its students' emails."""
    with transaction(settings) as session:
        emails = run(session, uuid.UUID(job_id), [uuid.UUID(i) for i in attempt_ids], utcnow())
    with transaction(settings) as session:
        regrades.refresh(session, uuid.UUID(job_id), utcnow())
    for notification_id in emails:
        enqueue(app, TaskName.SEND_EMAIL, [str(notification_id)])
    return len(attempt_ids)


@app.task(name=TaskName.RESUME_STALLED_JOBS, autoretry_for=DATABASE_ERRORS, max_retries=3)
def resume_stalled_jobs() -> int:
    """Jobs a dead worker left behind: re-send their missing chunks (chunks are idempotent)."""
    now = utcnow()
    with transaction(settings) as session:
        left = regrades.stalled(session, now, STALLED_AFTER)
        unstarted = regrades.queued_unstarted(session, now, timedelta(minutes=1))
        forced = control.stalled_force_submits(session, now, timedelta(minutes=1))
        rolling = rollbacks.stalled(session, now, STALLED_AFTER)
        unstarted_rollbacks = rollbacks.queued_unstarted(session, now, timedelta(minutes=1))
    for task, stalled in ((TaskName.REGRADE_CHUNK, left), (TaskName.ROLLBACK_CHUNK, rolling)):
        for job_id, chunks in stalled:
            if chunks:
                _send_chunks(job_id, chunks, task)
            else:
                with transaction(settings) as session:
                    regrades.refresh(session, job_id, now)
    for job_id in unstarted:
        enqueue(app, TaskName.START_REGRADE, [str(job_id)])
    for job_id in unstarted_rollbacks:
        enqueue(app, TaskName.START_ROLLBACK, [str(job_id)])
    for job_id in forced:  # the task continues with whatever is still running
        enqueue(app, TaskName.FORCE_SUBMIT_EXAM, [str(job_id)])
    return len(left) + len(unstarted) + len(forced) + len(rolling) + len(unstarted_rollbacks)
