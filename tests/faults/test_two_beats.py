"""Fault 4: two beat processes by mistake, both sweeping every second, while every
attempt's own countdown races them. No attempt is expired or graded twice; nobody gets two
notifications or two emails."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from shared.models import Attempt, AttemptEvent, Notification
from tests.support.processes import wait_until
from tests.support.servers import SmtpInbox

pytestmark = pytest.mark.faults

STUDENTS = 60


def test_two_beats_expire_grade_and_email_once(stack):
    with SmtpInbox() as inbox:
        stack.web()
        stack.procs.worker(SMTP_URL=inbox.url)
        stack.procs.beat("beat-a", LOG_LEVEL="INFO")
        stack.procs.beat("beat-b", LOG_LEVEL="INFO")
        exam_id, (qid,) = stack.exam(
            [{"type": "true_false", "prompt": "Sure?", "correct_answer": True}],
            duration_seconds=3, grace_seconds=0,
        )  # fmt: skip
        emails = stack.students(STUDENTS)

        def take(email: str) -> None:
            token = stack.login(email)
            attempt = stack.call("POST", f"/exams/{exam_id}/attempts", token).json()
            body = {"answers": [{"question_id": qid, "response": True}]}
            assert stack.call("PUT", f"/attempts/{attempt['id']}/answers", token, json=body).ok
            # ...and the browser is closed: nobody submits.

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(take, emails))

        wait_until(lambda: stack.graded() == STUDENTS, 60, "every attempt to be expired and graded")
        wait_until(lambda: len(inbox.messages) >= STUDENTS, 60, "the emails")
        with stack.factory() as session:
            events = Counter(
                session.execute(select(AttemptEvent.attempt_id, AttemptEvent.kind)).all()
            )
            expired_by = Counter(
                row["by"]
                for row in session.scalars(
                    select(AttemptEvent.data).where(AttemptEvent.kind == "expired")
                )
            )
            notified = Counter(session.scalars(select(Notification.user_id)))
            reasons = set(session.scalars(select(Attempt.submit_reason)))
        assert {kind: n for (_, kind), n in events.items() if kind in ("expired", "graded")} == {
            "expired": 1,
            "graded": 1,
        }
        assert Counter(kind for _, kind in events)["expired"] == STUDENTS
        assert reasons == {"timeout"}
        assert len(notified) == STUDENTS and set(notified.values()) == {1}
        assert Counter(m["To"] for m in inbox.messages) == Counter(emails)  # once each
        print(f"expired by: {dict(expired_by)}")
        for beat in ("beat-a", "beat-b"):  # both beats really did send sweeps
            log = (stack.root / f"{beat}.log").read_text()
            assert "Scheduler: Sending due task expire-overdue-attempts" in log
