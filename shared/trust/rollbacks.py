"""Rolling back a real regrade (or a rollback) as a tracked job: each attempt gets back the
grades the job replaced, except answers graded by hand since, which are kept and reported.
Chunks are idempotent like a regrade's (one job item per attempt); the rollback stores what
it replaced in turn, so rolling the rollback back re-applies the regrade."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from shared.errors import Conflict, NotFound
from shared.exam_rules import results_visible
from shared.models import (
    Answer,
    Attempt,
    AttemptEvent,
    AttemptStatus,
    Exam,
    Job,
    JobItem,
    JobStatus,
)
from shared.models.job import ReplacedGrades
from shared.question_types import json_number
from shared.services import notifications, regrades
from shared.trust import snapshots

log = logging.getLogger(__name__)
ROLLBACK = "rollback"
UNDOABLE = (regrades.REGRADE, ROLLBACK)
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)

_attempts = Attempt.__table__
_TOTALS = (
    update(_attempts)
    .where(_attempts.c.id == bindparam("b_id"))
    .values(
        score=bindparam("b_score"),
        max_score=bindparam("b_max_score"),
        pending_manual=bindparam("b_pending"),
        revision=_attempts.c.revision + 1,  # the status ETag changes
    )
)


def create_rollback(session: Session, job_id: uuid.UUID, *, admin_id: uuid.UUID) -> Job:
    """A queued rollback of a finished real regrade or rollback; Conflict otherwise."""
    source = session.get(Job, job_id)
    if source is None:
        raise NotFound("job not found")
    refusal = _refusal(session, source)
    if refusal:
        raise Conflict(refusal)
    job = Job(
        id=uuid.uuid4(),
        kind=ROLLBACK,
        exam_id=source.exam_id,
        rollback_of=source.id,
        dry_run=False,
        created_by=admin_id,
    )
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:  # the unique indexes decide races between two requests
        raise Conflict("a regrade or rollback of this exam is queued or running") from None
    return job


def _refusal(session: Session, source: Job) -> str | None:
    """Why this job cannot be rolled back now, if it cannot."""
    if source.kind not in UNDOABLE:
        return "only a regrade or a rollback can be rolled back"
    if source.dry_run:
        return "a dry run changed nothing: there is nothing to roll back"
    if source.status in ACTIVE:
        return "the job is still running: roll it back once it has finished"
    if session.scalar(select(Job.id).where(Job.rollback_of == source.id)) is not None:
        return "this job was rolled back already: roll back its rollback instead"
    # One history: undo the latest change first, or a later regrade's grades would all be
    # "changed since" and kept, and the rollback would silently do nothing.
    undone = select(Job.rollback_of).where(Job.rollback_of.is_not(None))
    later = select(Job.id).where(
        Job.exam_id == source.exam_id,
        Job.kind == regrades.REGRADE,
        ~Job.dry_run,
        Job.created_at > source.created_at,
        Job.id.not_in(undone),
    )
    if session.scalar(later.limit(1)) is not None:
        return "a later regrade of this exam changed scores since: roll that one back first"
    return None


def start(session: Session, job_id: uuid.UUID, now: datetime) -> list[list[uuid.UUID]] | None:
    """Claim a queued rollback and fix its total; the attempt ids to restore, in chunks."""
    claimed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.kind == ROLLBACK, Job.status == JobStatus.QUEUED)
        .values(status=JobStatus.RUNNING, started_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return None
    job = session.get(Job, job_id, populate_existing=True)
    assert job is not None
    ids = _covered(session, job)
    job.total = len(ids)
    session.flush()
    if not ids:
        regrades.refresh(session, job_id, now)
    return regrades.chunks(ids)


def _covered(session: Session, job: Job) -> list[uuid.UUID]:
    """The attempts a rollback covers: those whose grades its source job replaced."""
    return list(
        session.scalars(
            select(ReplacedGrades.attempt_id)
            .where(ReplacedGrades.job_id == job.rollback_of)
            .order_by(ReplacedGrades.attempt_id)
        )
    )


def run_chunk(
    session: Session, job_id: uuid.UUID, attempt_ids: list[uuid.UUID], now: datetime
) -> list[uuid.UUID]:
    """Restore the chunk's attempts not done yet; returns notifications to email."""
    job = session.get(Job, job_id)
    if job is None or job.kind != ROLLBACK or job.status != JobStatus.RUNNING:
        return []
    exam = session.get(Exam, job.exam_id)
    try:
        with session.begin_nested():
            return _restore(session, job, exam, attempt_ids, now)
    except OperationalError:
        raise  # the database is away: the task retries
    except Exception:
        log.exception("rollback of a chunk of job %s failed: one by one", job_id)
    created: list[uuid.UUID] = []
    for attempt_id in attempt_ids:
        try:
            with session.begin_nested():
                created += _restore(session, job, exam, [attempt_id], now)
        except OperationalError:
            raise
        except IntegrityError:
            continue  # a second delivery of this chunk, running at the same time, recorded it
        except Exception as exc:  # one bad attempt must not stop the job: record it
            log.exception("rollback of attempt %s failed", attempt_id)
            with session.begin_nested():
                _record(session, job, [_failure(attempt_id, str(exc))])
    return created


def _restore(
    session: Session, job: Job, exam: Exam | None, attempt_ids: list[uuid.UUID], now: datetime
) -> list[uuid.UUID]:
    """The chunk in a few statements: restore, events, replaced grades, notifications and
    one job item per attempt; returns the notifications created."""
    graded, items = _claim(session, job, attempt_ids)
    replaced = {
        r.attempt_id: r
        for r in session.scalars(
            select(ReplacedGrades).where(
                ReplacedGrades.job_id == job.rollback_of,
                ReplacedGrades.attempt_id.in_(list(graded)),
            )
        )
    }
    items += [{"attempt_id": i} for i in graded if i not in replaced]  # nothing to put back
    before = snapshots.capture(session, list(replaced))
    plans = {i: snapshots.restoration(i, replaced[i], before[i]) for i in replaced}
    visible = exam is not None and results_visible(exam, now)
    events, notices, written, changed = [], [], [], []
    for attempt_id, plan in plans.items():
        item, event = _outcome(job, attempt_id, before[attempt_id], plan)
        items.append(item)
        if event is None:
            continue  # nothing to put back: no write, no event
        written.append(attempt_id)
        events.append(event)
        if item["changed"] and visible and exam is not None:
            shown = regrades.ScoredAttempt(
                attempt_id, graded[attempt_id].student_id, plan.score, plan.max_score,
                plan.pending_manual,
            )  # fmt: skip
            changed.append(shown)
            old, new = item["old_score"], plan.score
            notices.append(
                notifications.score_changed_row(shown, exam, old, new, f"rollback:{job.id}")
            )
    _write(session, plans, written)
    if events:
        session.execute(insert(AttemptEvent), events)
    snapshots.store(
        session, job.id, {i: before[i] for i in written}, snapshots.capture(session, written)
    )
    if exam is not None:  # the platform's gradebook too, for students who came by LTI
        notifications.pass_back_scores(session, exam, changed)
    created = notifications.notify_many(session, notices)
    _record(session, job, items)
    return created


def _outcome(
    job: Job, attempt_id: uuid.UUID, before: dict[str, Any], plan: snapshots.Restoration
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The attempt's job item, and its trail event unless there is nothing to put back."""
    old = before["attempt"]["score"]
    old_score = None if old is None else Decimal(old)
    changed = old_score != plan.score
    kept = list(plan.kept)
    item = {"attempt_id": attempt_id, "changed": changed, "old_score": old_score,
            "new_score": plan.score, "kept_manual": kept or None}  # fmt: skip
    if not plan.rewrites:
        return item, None
    data = {
        "job_id": str(job.id),
        "rollback_of": str(job.rollback_of),
        "old_score": _num(old_score),
        "new_score": _num(plan.score),
        "kept_manual": kept,
    }
    return item, {"attempt_id": attempt_id, "kind": "rolled_back", "data": data}


def _claim(
    session: Session, job: Job, attempt_ids: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, Any], list[dict[str, Any]]]:
    """Lock the chunk's attempts; those to restore (graded, no job item yet), and the items
    of those that cannot be. Locking first makes a second delivery running at the same time
    wait, then find the job items and skip."""
    locked = session.execute(
        select(Attempt.id, Attempt.student_id, Attempt.status)
        .where(Attempt.id.in_(attempt_ids))
        .order_by(Attempt.id)
        .with_for_update()
    ).all()
    done = regrades._done(session, job.id, attempt_ids)
    graded = {r.id: r for r in locked if r.id not in done and r.status == AttemptStatus.GRADED}
    items = [
        _failure(r.id, "the attempt was reopened since: not graded, not rolled back")
        for r in locked
        if r.id not in done and r.id not in graded
    ]
    found = {r.id for r in locked}
    # Deleted since (its replaced grades went with it): nothing to restore.
    items += [{"attempt_id": i} for i in attempt_ids if i not in found and i not in done]
    return graded, items


def _write(
    session: Session, plans: dict[uuid.UUID, snapshots.Restoration], ids: list[uuid.UUID]
) -> None:
    answers = [row for i in ids for row in plans[i].answers]
    if answers:
        session.execute(update(Answer), answers)
    totals = [
        {"b_id": i, "b_score": plans[i].score, "b_max_score": plans[i].max_score,
         "b_pending": plans[i].pending_manual}
        for i in ids
    ]  # fmt: skip
    if totals:
        session.execute(_TOTALS, totals)


def _failure(attempt_id: uuid.UUID, error: str) -> dict[str, Any]:
    return {"attempt_id": attempt_id, "ok": False, "error": error[:500]}


def _record(session: Session, job: Job, items: list[dict[str, Any]]) -> None:
    if items:
        blank = {"ok": True, "changed": False, "old_score": None, "new_score": None,
                 "kept_manual": None, "error": None}  # fmt: skip
        session.execute(insert(JobItem), [{"job_id": job.id, **blank, **i} for i in items])


def stalled(
    session: Session, now: datetime, quiet_for: timedelta
) -> list[tuple[uuid.UUID, list[list[uuid.UUID]]]]:
    """Running rollbacks without progress for a while (a worker died): what is left to do."""
    return regrades.stalled(session, now, quiet_for, kind=ROLLBACK, covered=_covered)


def queued_unstarted(session: Session, now: datetime, quiet_for: timedelta) -> list[uuid.UUID]:
    """Queued rollbacks whose start message was lost (the broker was down when it was sent)."""
    return regrades.queued_unstarted(session, now, quiet_for, kind=ROLLBACK)


def view(session: Session, job_id: uuid.UUID) -> dict[str, Any]:
    """A job as `regrades.view` shows it, a rollback's report too, and its rollback if any."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound("job not found")
    found = regrades.view(session, job_id)
    if job.kind == ROLLBACK:
        found["report"], found["result"] = regrades.report(session, job), None
    found["rolled_back_by"] = session.scalar(select(Job.id).where(Job.rollback_of == job_id))
    return found


def _num(value: Any) -> int | float | None:
    return None if value is None else json_number(value)
