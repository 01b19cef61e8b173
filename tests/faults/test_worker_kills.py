"""Fault 1: Celery workers killed with SIGKILL at random moments during a burst of
submissions. Every attempt ends graded exactly once with the right score; nobody gets two
notifications or two emails."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shared.models import Attempt, AttemptEvent, EmailStatus, Notification
from shared.trust import audit
from tests.support.processes import wait_until
from tests.support.servers import SmtpInbox

pytestmark = pytest.mark.faults

STUDENTS = 300
QUESTIONS = [
    {"type": "single_choice", "prompt": "Capital?",
     "options": [{"text": "Lyon"}, {"text": "Paris"}], "correct_answer": "B"},
    {"type": "true_false", "prompt": "Water is wet.", "correct_answer": True},
    {"type": "multiple_choice", "prompt": "Primes?", "points": 2, "scoring": "partial",
     "options": [{"text": "2"}, {"text": "4"}, {"text": "7"}], "correct_answer": ["A", "C"]},
]  # fmt: skip
# (response, points) choices per question, so the right score is known without the grader.
CHOICES = [
    [("B", 1), ("A", 0), (None, 0)],
    [(True, 1), (False, 0)],
    [(["A", "C"], 2), (["A"], 1), (["A", "B"], 0), (["B"], 0)],
]


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Killer(threading.Thread):
    """Kills the worker (the whole process group) or one of its pool processes at random,
    and restarts a worker that has exited, as its supervisor (Kubernetes, systemd, compose's
    `restart:`) does: Celery gives up when a pool process dies while it is still starting."""

    def __init__(self, stack, rng: random.Random) -> None:
        super().__init__(daemon=True)
        self.stack, self.rng = stack, rng
        self.worker = stack.procs.worker(SMTP_URL=stack.env["SMTP_URL"])
        self.stopping = threading.Event()
        self.kills: Counter[str] = Counter()

    def run(self) -> None:
        while not self.stopping.wait(self.rng.uniform(0.3, 1.5)):
            self.supervise()
            pool = children(self.worker.pid)
            if pool and self.rng.random() < 0.5:
                os.kill(self.rng.choice(pool), signal.SIGKILL)
                self.kills["pool process"] += 1
            else:
                self.stack.procs.stop(self.worker, signal.SIGKILL)
                self.kills["whole worker"] += 1
                self.worker = self.stack.procs.worker(SMTP_URL=self.stack.env["SMTP_URL"])
        self.supervise()

    def supervise(self) -> None:
        if self.worker.poll() is not None:
            self.kills["exited, restarted"] += 1
            self.worker = self.stack.procs.worker(SMTP_URL=self.stack.env["SMTP_URL"])


def test_killed_workers_lose_no_grade_and_send_nothing_twice(stack):
    rng = random.Random(20261122)
    with SmtpInbox() as inbox:
        stack.env["SMTP_URL"] = inbox.url
        stack.web()
        stack.procs.beat()
        exam_id, qids = stack.exam(QUESTIONS)
        emails = stack.students(STUDENTS)
        killer = Killer(stack, rng)
        killer.start()
        expected: dict[str, Decimal] = {}

        def take(email: str) -> None:
            token = stack.login(email)
            attempt = stack.call("POST", f"/exams/{exam_id}/attempts", token).json()
            picks = [random.Random(email).choice(options) for options in CHOICES]
            answers = [
                {"question_id": q, "response": r} for q, (r, _) in zip(qids, picks, strict=True)
            ]
            response = stack.call(
                "POST", f"/attempts/{attempt['id']}/submit", token, json={"answers": answers}
            )
            assert response.status_code == 202, response.text
            expected[attempt["id"]] = Decimal(sum(points for _, points in picks))

        with ThreadPoolExecutor(12) as pool:
            list(pool.map(take, emails))
        time.sleep(3)  # keep killing while the backlog is graded
        killer.stopping.set()
        killer.join()

        def graded() -> bool:
            killer.supervise()  # still the supervisor: a worker the last kill broke comes back
            return stack.graded() == STUDENTS

        wait_until(graded, 180, "every attempt to be graded")
        with stack.factory() as session:
            scores = dict(session.execute(select(Attempt.id, Attempt.score)).all())
            graded_events = Counter(
                session.scalars(
                    select(AttemptEvent.attempt_id).where(AttemptEvent.kind == "graded")
                )
            )
            notified = Counter(session.scalars(select(Notification.user_id)))
            email_states = Counter(session.scalars(select(Notification.email_status)))
        assert {str(k): v for k, v in scores.items()} == expected
        assert set(graded_events.values()) == {1} and len(graded_events) == STUDENTS
        assert len(notified) == STUDENTS and set(notified.values()) == {1}
        # Each graded event was written once, with its grade: every attempt's chain holds.
        with stack.factory() as session:
            trail = audit.verify_exam(session, uuid.UUID(str(exam_id)))
        assert trail.ok and trail.first_broken is None and trail.chains == STUDENTS

        # Batches may finish grading before the killer stops: the emails a killed worker had
        # fetched wait for the resend sweep (2 min). Wait for some, then check none twice.
        def sent() -> int:
            with stack.factory() as session:
                return session.scalar(
                    select(func.count()).where(Notification.email_status == EmailStatus.SENT)
                )

        wait_until(lambda: sent() > 0, 200, "an email to be sent")
        sent_now = sent()
        wait_until(lambda: len(inbox.messages) >= sent_now, 60, "emails")
        recipients = Counter(m["To"] for m in inbox.messages)
        assert recipients and set(recipients.values()) == {1}  # never twice
        print(f"kills: {dict(killer.kills)}; emails: {dict(email_states)}")
        assert killer.kills["whole worker"] + killer.kills["pool process"] >= 5
