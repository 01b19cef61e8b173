"""Bulk regrades as tracked jobs. The keys are fixed when the job starts; each attempt's
outcome is a job item keyed by (job, attempt), so a redelivered chunk is a no-op and the
counters are always recounted from the items, never incremented blindly."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, object_session

from shared.errors import Conflict, NotFound
from shared.events import hooks as webhook_events
from shared.exam_rules import results_visible
from shared.models import Attempt, AttemptEvent, AttemptStatus, Exam, Job, JobItem, JobStatus
from shared.question_types import json_number
from shared.services import batch_grading, grading, notifications
from shared.trust import snapshots

log = logging.getLogger(__name__)
REGRADE = "regrade"
CHUNK_SIZE = 250  # written in bulk: a few statements per chunk


def create_regrade(
    session: Session,
    exam_id: uuid.UUID,
    *,
    dry_run: bool,
    admin_id: uuid.UUID,
    replace_manual: bool = False,
) -> Job:
    if session.get(Exam, exam_id) is None:
        raise NotFound("exam not found")
    job = Job(
        id=uuid.uuid4(),
        kind=REGRADE,
        exam_id=exam_id,
        dry_run=dry_run,
        replace_manual=replace_manual,
        created_by=admin_id,
    )
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        raise Conflict("a regrade of this exam is already running") from None
    return job


def start(session: Session, job_id: uuid.UUID, now: datetime) -> list[list[uuid.UUID]] | None:
    """Claim a queued job, fix its keys and total; the attempt ids to regrade, in chunks."""
    claimed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
        .values(status=JobStatus.RUNNING, started_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return None
    job = session.get(Job, job_id, populate_existing=True)
    assert job is not None and job.exam_id is not None
    # Every question an attempt was graded on: drawn ones too, even if they left a pool.
    job.keys = grading.exam_keys(session, job.exam_id, drawn=True)
    ids = _graded_attempts(session, job)
    job.total = len(ids)
    if not ids:
        _finish(job, now)
    session.flush()
    return chunks(ids)


def _graded_attempts(session: Session, job: Job) -> list[uuid.UUID]:
    """The attempts a job covers: graded before it started."""
    return list(
        session.scalars(
            select(Attempt.id)
            .where(
                Attempt.exam_id == job.exam_id,
                Attempt.status == AttemptStatus.GRADED,
                Attempt.graded_at <= job.started_at,
            )
            .order_by(Attempt.id)
        )
    )


def run_chunk(
    session: Session, job_id: uuid.UUID, attempt_ids: list[uuid.UUID], now: datetime
) -> list[uuid.UUID]:
    """Regrade the chunk's attempts not done yet; returns notifications to email."""
    job = session.get(Job, job_id)
    if job is None or job.status != JobStatus.RUNNING or job.keys is None:
        return []
    exam = session.get(Exam, job.exam_id)
    try:
        with session.begin_nested():
            return _run_in_bulk(session, job, exam, attempt_ids, now)
    except OperationalError:
        raise  # the database is away: the task retries
    except Exception:
        log.exception("bulk regrade of a chunk of job %s failed: one by one", job_id)
    return _run_one_by_one(session, job, exam, attempt_ids, now)


def _done(session: Session, job_id: uuid.UUID, attempt_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    return set(
        session.scalars(
            select(JobItem.attempt_id).where(
                JobItem.job_id == job_id, JobItem.attempt_id.in_(attempt_ids)
            )
        )
    )


def _run_in_bulk(
    session: Session, job: Job, exam: Exam | None, attempt_ids: list[uuid.UUID], now: datetime
) -> list[uuid.UUID]:
    """The chunk in a few statements: lock its graded attempts, read their answers at once,
    compute, write answers, totals, events, notifications and job items with one executemany
    each. Locking first makes a second delivery running at the same time wait, then skip."""
    locked = session.execute(
        select(*_LOCKED)
        .where(Attempt.id.in_(attempt_ids), Attempt.status == AttemptStatus.GRADED)
        .order_by(Attempt.id)
        .with_for_update()
    ).all()
    done = _done(session, job.id, attempt_ids)
    todo = [row for row in locked if row.id not in done]
    found = {row.id for row in locked}
    # No longer graded (cannot happen today): nothing to compare.
    items = [{"attempt_id": i, "ok": True} for i in attempt_ids if i not in found | done]
    answers = batch_grading.answers_of(session, [row.id for row in todo])
    computed, events, notices, changed = [], [], [], []
    visible = exam is not None and results_visible(exam, now)
    for row in todo:
        try:
            rows, totals = grading._compute(
                row, job.keys or {}, answers[row.id], now, replace_manual=job.replace_manual
            )
        except Exception as exc:  # one bad attempt must not stop the job: record it
            log.exception("regrade of attempt %s failed", row.id)
            items.append({"attempt_id": row.id, "ok": False, "error": str(exc)[:500]})
            continue
        old, new, kept = row.score, totals.score, list(totals.kept_manual)
        computed.append((row, rows, totals, answers[row.id]))
        items.append({"attempt_id": row.id, "changed": old != new, "old_score": old,
                      "new_score": new, "kept_manual": kept or None})  # fmt: skip
        events.append({"attempt_id": row.id, "kind": "regraded", "data": {
            "job_id": str(job.id), "old_score": _num(old), "new_score": _num(new),
            "kept_manual": kept}})  # fmt: skip
        if old != new and visible and exam is not None:
            shown = ScoredAttempt(
                row.id, row.student_id, new, totals.max_score, totals.pending_manual
            )
            changed.append(shown)
            notices.append(
                notifications.score_changed_row(shown, exam, old, new, f"regrade:{job.id}")
            )
    if not job.dry_run and computed:
        written = [row.id for row, *_ in computed]
        replaced = snapshots.capture(session, written)  # what a rollback would put back
        batch_grading.write_grades(session, computed, now)
        session.execute(insert(AttemptEvent), events)
        snapshots.store(session, job.id, replaced, snapshots.capture(session, written))
        if exam is not None:  # the platform's gradebook too, for students who came by LTI
            notifications.pass_back_scores(session, exam, changed)
    created = notifications.notify_many(session, notices) if not job.dry_run else []
    if items:
        blank = {"ok": True, "changed": False, "old_score": None, "new_score": None,
                 "kept_manual": None, "error": None}  # fmt: skip
        session.execute(insert(JobItem), [{"job_id": job.id, **blank, **i} for i in items])
    return created


@dataclass(frozen=True)
class ScoredAttempt:
    """What a score notification and the gradebook's passback need of a changed attempt."""

    id: uuid.UUID
    student_id: uuid.UUID
    score: Any
    max_score: Any
    pending_manual: int


_LOCKED = (Attempt.id, Attempt.student_id, Attempt.score, Attempt.question_order, Attempt.drawn)


def _run_one_by_one(
    session: Session, job: Job, exam: Exam | None, attempt_ids: list[uuid.UUID], now: datetime
) -> list[uuid.UUID]:
    """Each attempt in its own savepoint, so a failing one is recorded and skipped."""
    job_id = job.id
    done = _done(session, job_id, attempt_ids)
    created: list[uuid.UUID] = []
    for attempt_id in attempt_ids:
        if attempt_id in done:
            continue
        try:
            with session.begin_nested():
                item, notification = _regrade_one(session, job, exam, attempt_id, now)
                session.add(item)
                session.flush()
        except IntegrityError:
            continue  # a second delivery of this chunk, running at the same time, recorded it
        except Exception as exc:  # one bad attempt must not stop the job: record it
            log.exception("regrade of attempt %s failed", attempt_id)
            with session.begin_nested():
                session.add(
                    JobItem(job_id=job_id, attempt_id=attempt_id, ok=False, error=str(exc)[:500])
                )
            continue
        if notification:
            created.append(notification)
    session.flush()
    return created


def _regrade_one(
    session: Session, job: Job, exam: Exam | None, attempt_id: uuid.UUID, now: datetime
) -> tuple[JobItem, uuid.UUID | None]:
    replaced = {} if job.dry_run else snapshots.capture(session, [attempt_id], lock=True)
    scores = grading.regrade(
        session,
        attempt_id,
        job.keys or {},
        now,
        dry_run=job.dry_run,
        replace_manual=job.replace_manual,
    )
    if scores is None:  # no longer graded (cannot happen today): nothing to compare
        return JobItem(job_id=job.id, attempt_id=attempt_id, ok=True), None
    old, new = scores.old, scores.new
    changed = old != new
    notification = None
    if not job.dry_run:
        snapshots.store(session, job.id, replaced, snapshots.capture(session, [attempt_id]))
        session.add(
            AttemptEvent(
                attempt_id=attempt_id,
                kind="regraded",
                data={
                    "job_id": str(job.id),
                    "old_score": _num(old),
                    "new_score": _num(new),
                    "kept_manual": list(scores.kept_manual),
                },
            )
        )
        if changed and exam is not None and results_visible(exam, now):
            attempt = session.get(Attempt, attempt_id)
            assert attempt is not None
            notification = notifications.score_changed(
                session, attempt, exam, old, new, event=f"regrade:{job.id}"
            )
    item = JobItem(
        job_id=job.id,
        attempt_id=attempt_id,
        changed=changed,
        old_score=old,
        new_score=new,
        kept_manual=list(scores.kept_manual) or None,
    )
    return item, notification


def refresh(session: Session, job_id: uuid.UUID, now: datetime) -> Job | None:
    """Recount the job from its items; finish it when every attempt has an item."""
    # Lock first, count after: a count read before waiting for another chunk's recount
    # would miss the items that one committed and write a smaller number over its.
    job = session.scalar(
        select(Job)
        .where(Job.id == job_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if job is None:
        return None
    counts = session.execute(
        select(
            func.count().filter(JobItem.ok),
            func.count().filter(~JobItem.ok),
            func.count().filter(JobItem.changed),
        ).where(JobItem.job_id == job_id)
    ).one()
    job.done, job.failed, job.changed = counts
    job.updated_at = now
    if job.status == JobStatus.RUNNING and job.done + job.failed >= job.total:
        _finish(job, now)
    session.flush()
    return job


def _finish(job: Job, now: datetime) -> None:
    job.status = JobStatus.FAILED if job.total and job.failed == job.total else JobStatus.SUCCEEDED
    job.finished_at = now
    webhook_events.regrade_finished(object_session(job), job, now)


def stalled(
    session: Session,
    now: datetime,
    quiet_for: timedelta,
    kind: str = REGRADE,
    covered: Callable[[Session, Job], list[uuid.UUID]] | None = None,
) -> list[tuple[uuid.UUID, list[list[uuid.UUID]]]]:
    """Running jobs of `kind` without progress for a while (a worker died): the chunks left
    of the attempts each covers (`covered`; a regrade's: the exam's graded attempts)."""
    covered = covered or _graded_attempts
    jobs = session.scalars(
        select(Job).where(
            Job.kind == kind, Job.status == JobStatus.RUNNING, Job.updated_at < now - quiet_for
        )
    ).all()
    left = []
    for job in jobs:
        done = set(session.scalars(select(JobItem.attempt_id).where(JobItem.job_id == job.id)))
        left.append((job.id, chunks([i for i in covered(session, job) if i not in done])))
        job.updated_at = now  # the next sweep waits again before re-sending
    session.flush()
    return left


def chunks(ids: list[uuid.UUID]) -> list[list[uuid.UUID]]:
    """The attempts in the chunks a job's tasks take, CHUNK_SIZE each."""
    return [ids[i : i + CHUNK_SIZE] for i in range(0, len(ids), CHUNK_SIZE)]


def queued_unstarted(
    session: Session, now: datetime, quiet_for: timedelta, kind: str = REGRADE
) -> list[uuid.UUID]:
    """Queued jobs of `kind` whose start message was lost (the broker was down when it was
    sent)."""
    return list(
        session.scalars(
            select(Job.id).where(
                Job.kind == kind,
                Job.status == JobStatus.QUEUED,
                Job.created_at < now - quiet_for,
            )
        )
    )


def view(session: Session, job_id: uuid.UUID) -> dict[str, Any]:
    """A job and its report: a regrade's changes, or what another kind of job found."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound("job not found")
    columns = {c.name: getattr(job, c.name) for c in Job.__table__.columns}
    if job.kind != REGRADE:
        return {**columns, "report": None, "result": job.result or {"submitted": job.done}}
    return {**columns, "report": report(session, job), "result": None}


def report(session: Session, job: Job) -> dict[str, Any]:
    """What a job changed in each attempt, which attempts failed, which grades it kept."""
    job_id = job.id
    changed = session.execute(
        select(JobItem.attempt_id, JobItem.old_score, JobItem.new_score)
        .where(JobItem.job_id == job_id, JobItem.changed)
        .order_by(JobItem.created_at, JobItem.attempt_id)
    ).all()
    failures = session.execute(
        select(JobItem.attempt_id, JobItem.error).where(JobItem.job_id == job_id, ~JobItem.ok)
    ).all()
    kept = session.execute(
        select(JobItem.attempt_id, JobItem.kept_manual)
        .where(JobItem.job_id == job_id, JobItem.kept_manual.is_not(None))
        .order_by(JobItem.created_at, JobItem.attempt_id)
    ).all()
    return {
        "dry_run": job.dry_run,
        "replace_manual": job.replace_manual,
        "exam_id": str(job.exam_id),
        "key_versions": {qid: key["version"] for qid, key in (job.keys or {}).items()},
        "changes": [
            {"attempt_id": str(a), "old_score": _num(old), "new_score": _num(new)}
            for a, old, new in changed
        ],
        "failures": [{"attempt_id": str(a), "error": error} for a, error in failures],
        "kept_manual": [
            {"attempt_id": str(a), "question_id": qid} for a, qids in kept for qid in qids or []
        ],
    }


def _num(value: Any) -> int | float | None:
    return None if value is None else json_number(value)
