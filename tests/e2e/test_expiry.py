"""Time runs out with the browser closed: the real worker and beat submit the attempt.
Its own countdown and the beat's sweep race for it; exactly one of them wins."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.models import Answer, Attempt, AttemptEvent
from tests.factories import login, make_exam, make_question, make_user
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e


def test_beat_submits_an_attempt_whose_time_ran_out(app, committed, settings, processes):
    app.extensions["exam.session_factory"] = committed
    with committed() as session:
        exam = make_exam(
            session, questions=[make_question(session)], duration_seconds=2, grace_seconds=0
        )
        student = make_user(session, settings)
    client = app.test_client()
    headers = login(client, student)
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    qid = attempt["questions"][0]["id"]
    saved = client.put(
        f"/api/v1/attempts/{attempt['id']}/answers",
        json={"answers": [{"question_id": qid, "response": "B", "seq": 1}]},
        headers=headers,
    )
    assert saved.status_code == 200
    # The browser is closed now: nothing but the beat and the worker touch the attempt.
    processes.worker(EXPIRY_SWEEP_SECONDS="1")
    processes.beat(EXPIRY_SWEEP_SECONDS="1")

    def submitted():
        with committed() as session:
            row = session.get(Attempt, attempt["id"])
            return row if row.status != "in_progress" else None

    try:
        row = wait_until(submitted, 30, "the sweep to submit the attempt")
    except AssertionError:
        print(processes.logs())
        raise
    assert row.submit_reason == "timeout"
    assert row.submitted_at >= row.expires_at
    with committed() as session:
        assert session.get(Answer, (row.id, qid)).response == "B"
        expired = session.scalars(
            select(AttemptEvent.data).where(AttemptEvent.kind == "expired")
        ).all()
        assert len(expired) == 1 and expired[0]["by"] in ("countdown", "sweep")
