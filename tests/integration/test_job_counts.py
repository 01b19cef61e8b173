"""A job's counters when two chunks finish at the same moment, with real commits in
separate sessions: the recount that commits last must not write an older count over a newer
one (seen in CI: a regrade reported succeeded with 1,750 of 2,000 done)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from shared.models import Attempt, Job, JobItem
from shared.services import regrades
from tests.factories import make_exam, make_user


def _blocked_on_a_lock(committed, application_name: str) -> bool:
    with committed() as session:
        return bool(
            session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE application_name = :name AND wait_event_type = 'Lock'"
                ),
                {"name": application_name},
            )
        )


def test_a_recount_waiting_for_another_counts_what_that_one_committed(committed, settings):
    now = datetime.now(UTC)
    with committed() as session:
        exam = make_exam(session)
        student = make_user(session, settings)
        attempts = [
            Attempt(
                exam_id=exam.id, student_id=student.user.id, attempt_number=n,
                status="graded", question_order=[], deadline=now, expires_at=now,
            )
            for n in (1, 2)
        ]  # fmt: skip
        session.add_all(attempts)
        job = Job(kind="regrade", exam_id=exam.id, status="running", total=2, started_at=now)
        session.add(job)
        session.flush()
        first, second = (a.id for a in attempts)
        job_id = job.id
        session.add(JobItem(job_id=job_id, attempt_id=first))  # the first chunk is in
        session.commit()

    late = threading.Thread(target=lambda: _recount(committed, job_id, now))
    with committed() as other:
        # The other chunk's recount holds the job while its item commits with it.
        other.scalar(select(Job).where(Job.id == job_id).with_for_update())
        late.start()
        deadline = time.monotonic() + 10
        while not _blocked_on_a_lock(committed, "late-recount"):
            assert late.is_alive() and time.monotonic() < deadline, "the recount never waited"
            time.sleep(0.05)
        other.add(JobItem(job_id=job_id, attempt_id=second))
        other.flush()
        regrades.refresh(other, job_id, now + timedelta(seconds=1))
        other.commit()
    late.join(10)

    with committed() as session:
        finished = session.get(Job, job_id)
        assert (finished.status, finished.total, finished.done) == ("succeeded", 2, 2)


def _recount(committed, job_id, now):
    with committed() as session:
        session.execute(text("SET application_name = 'late-recount'"))
        regrades.refresh(session, job_id, now + timedelta(seconds=2))
        session.commit()
