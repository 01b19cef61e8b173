"""Fault 5: the worker is stopped (SIGTERM, as Docker or systemd do) in the middle of a
bulk regrade. After a new worker starts, the job finishes with correct counters, and every
attempt was regraded exactly once."""

from __future__ import annotations

import uuid
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import insert, select

from shared.models import Answer, Attempt, AttemptEvent, User, utcnow
from tests.support.processes import wait_until

pytestmark = pytest.mark.faults

ATTEMPTS = 2000


def graded_attempts(stack, exam_id, qid, emails):
    """Graded attempts written in bulk (the regrade is under test, not how they got there):
    half answered A, half B, graded with the key B."""
    now = utcnow()
    with stack.factory() as session:
        users = dict(session.execute(select(User.email, User.id)).all())
        rows, answers = [], []
        for index, email in enumerate(emails):
            attempt_id, right = uuid.uuid4(), index % 2 == 0
            score = Decimal(int(right))
            rows.append({
                "id": attempt_id, "exam_id": exam_id, "student_id": users[email],
                "attempt_number": 1, "status": "graded", "submit_reason": "student",
                "started_at": now, "deadline": now, "expires_at": now, "submitted_at": now,
                "graded_at": now, "last_activity_at": now, "score": score,
                "max_score": Decimal(1), "question_order": [qid],
            })  # fmt: skip
            answers.append({
                "attempt_id": attempt_id, "question_id": uuid.UUID(qid),
                "response": "B" if right else "A", "points_awarded": score, "is_correct": right,
                "key_version": 1,
            })  # fmt: skip
        session.execute(insert(Attempt), rows)
        session.execute(insert(Answer), answers)
        session.commit()


def test_a_regrade_interrupted_by_sigterm_finishes_after_a_restart(stack):
    stack.web()
    worker = stack.procs.worker()
    exam_id, (qid,) = stack.exam(
        [
            {
                "type": "single_choice",
                "prompt": "Pick",
                "options": [{"text": "x"}, {"text": "y"}],
                "correct_answer": "B",
            }
        ]
    )
    emails = stack.students(ATTEMPTS)
    graded_attempts(stack, exam_id, qid, emails)
    admin = stack.admin()
    assert stack.call(
        "PATCH", f"/questions/{qid}", admin, json={"correct_answer": "A"}
    ).ok  # the key was wrong
    job_id = stack.call("POST", f"/exams/{exam_id}/regrade", admin, json={"dry_run": False}).json()[
        "job_id"
    ]

    def job():
        return stack.call("GET", f"/jobs/{job_id}", admin).json()

    wait_until(lambda: job()["done"] >= 100, 60, "the regrade to get going")
    stack.procs.terminate_main(worker)  # warm shutdown, mid-job
    interrupted = job()
    assert interrupted["status"] == "running" and interrupted["done"] < ATTEMPTS, interrupted

    stack.procs.worker("worker-2")
    finished = wait_until(
        lambda: (j := job())["status"] != "running" and j, 120, "the job to finish"
    )
    counters = [finished[k] for k in ("status", "total", "done", "failed", "changed")]
    assert counters == ["succeeded", ATTEMPTS, ATTEMPTS, 0, ATTEMPTS]
    assert len(finished["report"]["changes"]) == ATTEMPTS
    with stack.factory() as session:
        scores = Counter(session.scalars(select(Attempt.score)))
        regraded = Counter(
            session.scalars(select(AttemptEvent.attempt_id).where(AttemptEvent.kind == "regraded"))
        )
    assert scores == {1: ATTEMPTS // 2, 0: ATTEMPTS // 2}
    assert len(regraded) == ATTEMPTS and set(regraded.values()) == {1}
    print(f"interrupted at {interrupted['done']}/{ATTEMPTS}")
