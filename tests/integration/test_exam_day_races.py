"""Exam-day races against the real database: an admin's action and a student's request
(or the sweep) at the same moment, with real commits in separate sessions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shared.examday import control
from shared.models import Answer, Attempt
from shared.services import expiry
from tests.factories import login, make_exam, make_question, make_user


@pytest.fixture
def live(app, committed):
    app.extensions["exam.session_factory"] = committed
    return app


def running_attempt(live, committed, settings, **exam_fields):
    with committed() as session:
        exam = make_exam(session, questions=[make_question(session, "short_text")], **exam_fields)
        student = make_user(session, settings)
        admin = make_user(session, settings, role="admin")
    headers = login(live.test_client(), student)
    attempt = live.test_client().post(f"/api/v1/exams/{exam.id}/attempts", headers=headers)
    return attempt.get_json(), headers, admin


def test_a_request_that_read_the_old_deadline_does_not_submit_an_extended_attempt(
    live, committed, settings
):
    """A status poll read the attempt just before an admin's extension committed; its
    'time is up' decision is stale and must lose to the extension."""
    attempt, _, admin = running_attempt(
        live, committed, settings, duration_seconds=1, grace_seconds=0
    )
    with committed() as stale_session:
        stale = stale_session.get(Attempt, attempt["id"])
        later = stale.expires_at + timedelta(seconds=1)
        with committed() as admin_session:
            control.extend(admin_session, stale.id, 600, by=admin.user.id, now=datetime.now(UTC))
            admin_session.commit()
        assert not expiry.settle(stale_session, stale, later)
        stale_session.commit()
    with committed() as session:
        assert session.get(Attempt, attempt["id"]).status == "in_progress"


def test_the_sweep_never_submits_an_attempt_extended_after_it_looked(live, committed, settings):
    attempt, _, admin = running_attempt(
        live, committed, settings, duration_seconds=1, grace_seconds=0
    )
    with committed() as session:
        overdue_at = session.get(Attempt, attempt["id"]).expires_at + timedelta(seconds=1)
        control.extend(session, attempt["id"], 600, by=admin.user.id, now=datetime.now(UTC))
        session.commit()
    with committed() as session:
        # The sweep's batch was chosen before the extension (the ids it holds).
        assert expiry.submit_overdue(session, [attempt["id"]], overdue_at, by="sweep") == []
        session.commit()
        assert session.get(Attempt, attempt["id"]).status == "in_progress"


def test_saves_racing_a_force_submit_land_before_it_or_get_409(live, committed, settings):
    """A student saves as fast as they can while an admin force-submits: every save that
    was acknowledged is in the submitted attempt; every later one is refused with 409."""
    attempt, headers, admin = running_attempt(live, committed, settings)
    qid = attempt["questions"][0]["id"]
    client = live.test_client()
    outcomes: list[tuple[int, int]] = []
    stop = threading.Event()

    def student():
        seq = 0
        while not stop.is_set() and seq < 2000:
            seq += 1
            response = client.put(
                f"/api/v1/attempts/{attempt['id']}/answers",
                json={"answers": [{"question_id": qid, "response": f"s{seq}", "seq": seq}]},
                headers=headers,
            )
            outcomes.append((seq, response.status_code))
            if response.status_code == 409:
                assert response.get_json()["error"] == "already_submitted"
                return

    saver = threading.Thread(target=student)
    saver.start()
    while len(outcomes) < 20:  # let it get going
        threading.Event().wait(0.01)
    admin_headers = login(live.test_client(), admin)
    forced = live.test_client().post(
        f"/api/v1/attempts/{attempt['id']}/force-submit", headers=admin_headers
    )
    saver.join(timeout=30)
    stop.set()
    assert forced.status_code == 202
    acknowledged = [seq for seq, code in outcomes if code == 200]
    refused = [seq for seq, code in outcomes if code != 200]
    assert refused and set(code for _, code in outcomes) == {200, 409}
    assert max(acknowledged) < min(refused)  # nothing accepted after the submission
    with committed() as session:
        stored = session.scalar(select(Answer.response).where(Answer.attempt_id == attempt["id"]))
        row = session.get(Attempt, attempt["id"])
    assert stored == f"s{max(acknowledged)}" and row.submit_reason == "admin"
