"""Fault 5b: the worker is stopped (SIGTERM) in the middle of a regrade's rollback. After a
new worker starts, the rollback finishes with correct counters, every attempt has its
original score back, and each was rolled back exactly once (one trail event, one notice)."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from shared.models import Attempt, AttemptEvent, Notification
from tests.faults.test_regrade_restart import graded_attempts
from tests.support.processes import wait_until

pytestmark = pytest.mark.faults

ATTEMPTS = 2000


def test_a_rollback_interrupted_by_sigterm_finishes_after_a_restart(stack):
    stack.web()
    worker = stack.procs.worker()
    single = {"type": "single_choice", "prompt": "Pick", "options": [{"text": "x"}, {"text": "y"}]}
    exam_id, (qid,) = stack.exam([{**single, "correct_answer": "B"}])
    graded_attempts(stack, exam_id, qid, stack.students(ATTEMPTS))
    admin = stack.admin()
    assert stack.call("PATCH", f"/questions/{qid}", admin, json={"correct_answer": "A"}).ok

    def job(job_id):
        return stack.call("GET", f"/jobs/{job_id}", admin).json()

    def finished(job_id):
        over = ("succeeded", "failed")
        return wait_until(lambda: (j := job(job_id))["status"] in over and j, 180, job_id)

    regrade = stack.call("POST", f"/exams/{exam_id}/regrade", admin, json={}).json()["job_id"]
    assert finished(regrade)["changed"] == ATTEMPTS
    rollback = stack.call("POST", f"/jobs/{regrade}/rollback", admin).json()["job_id"]
    wait_until(lambda: job(rollback)["done"] >= 100, 60, "the rollback to get going")
    stack.procs.terminate_main(worker)  # warm shutdown, mid-job
    interrupted = job(rollback)
    assert interrupted["status"] == "running" and interrupted["done"] < ATTEMPTS, interrupted

    stack.procs.worker("worker-2")
    done = finished(rollback)
    counters = [done[k] for k in ("kind", "status", "total", "done", "failed", "changed")]
    assert counters == ["rollback", "succeeded", ATTEMPTS, ATTEMPTS, 0, ATTEMPTS]
    assert len(done["report"]["changes"]) == ATTEMPTS
    with stack.factory() as session:
        scores = Counter(session.scalars(select(Attempt.score)))
        trail = Counter(
            session.scalars(
                select(AttemptEvent.attempt_id).where(AttemptEvent.kind == "rolled_back")
            )
        )
        notices = Counter(
            session.scalars(
                select(Notification.user_id).where(
                    Notification.dedupe_key.like(f"score:%:rollback:{rollback}")
                )
            )
        )
    assert scores == {1: ATTEMPTS // 2, 0: ATTEMPTS // 2}  # as graded before the regrade
    assert len(trail) == ATTEMPTS and set(trail.values()) == {1}
    assert len(notices) == ATTEMPTS and set(notices.values()) == {1}
    print(f"interrupted at {interrupted['done']}/{ATTEMPTS}")
