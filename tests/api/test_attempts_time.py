"""The server clock decides: saves until deadline + grace, then the attempt is submitted
with what was saved, by whichever request touches it first (freezegun moves the clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from shared.models import Answer, Attempt
from tests.factories import login, make_exam, make_question


@pytest.fixture
def headers(client, student):
    return login(client, student)


@pytest.fixture
def t0(headers):
    """The frozen start time: after the token was issued (it isn't valid before)."""
    return datetime.now(UTC)


def begin(client, headers, session, t0, **exam_fields):
    exam = make_exam(
        session, questions=[make_question(session)], duration_seconds=60, **exam_fields
    )
    with freeze_time(t0):
        attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    attempt["qid"] = attempt["questions"][0]["id"]
    return exam, attempt


def save_at(client, headers, attempt, moment, response="A"):
    with freeze_time(moment):
        return client.put(
            f"/api/v1/attempts/{attempt['id']}/answers",
            json={"answers": [{"question_id": attempt["qid"], "response": response}]},
            headers=headers,
        )


def test_time_left_counts_down_on_the_server_clock(client, headers, session, t0):
    _, attempt = begin(client, headers, session, t0)
    assert attempt["time_remaining_seconds"] == 60
    with freeze_time(t0 + timedelta(seconds=45.5)):
        body = client.get(f"/api/v1/attempts/{attempt['id']}", headers=headers).get_json()
    assert body["time_remaining_seconds"] == 14  # rounded down: never promise more time
    assert datetime.fromisoformat(body["server_time"]) == t0 + timedelta(seconds=45.5)


@pytest.mark.parametrize("grace", [30, 0])
def test_saves_are_accepted_until_deadline_plus_grace(client, headers, session, grace, t0):
    _, attempt = begin(client, headers, session, t0, grace_seconds=grace)
    last_moment = t0 + timedelta(seconds=60 + grace)
    in_grace = save_at(client, headers, attempt, last_moment, "B")
    assert in_grace.status_code == 200 and in_grace.get_json()["time_remaining_seconds"] == 0
    late = save_at(client, headers, attempt, last_moment + timedelta(seconds=1), "C")
    assert late.status_code == 409 and late.get_json()["error"] == "deadline_passed"
    row = session.get(Attempt, attempt["id"])
    assert (row.status, row.submit_reason) == ("submitted", "timeout")
    assert session.get(Answer, (row.id, attempt["qid"])).response == "B"  # what was saved


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", ""), ("get", "/status"), ("post", "/submit"), ("get", "/me")],
)
def test_any_request_that_touches_an_overdue_attempt_submits_it(
    client, headers, session, method, path, t0
):
    _, attempt = begin(client, headers, session, t0, grace_seconds=10)
    save_at(client, headers, attempt, t0 + timedelta(seconds=5))
    url = "/api/v1/me/attempts" if path == "/me" else f"/api/v1/attempts/{attempt['id']}{path}"
    with freeze_time(t0 + timedelta(seconds=71)):
        response = getattr(client, method)(
            url, headers=headers, json={} if method == "post" else None
        )
    if path == "/submit":
        assert response.get_json()["error"] == "deadline_passed"
    session.expire_all()
    row = session.get(Attempt, attempt["id"])
    assert (row.status, row.submit_reason) == ("submitted", "timeout")
    assert session.get(Answer, (row.id, attempt["qid"])).response == "A"


def test_starting_again_after_time_ran_out_submits_the_old_attempt(client, headers, session, t0):
    exam, attempt = begin(client, headers, session, t0, max_attempts=2)
    with freeze_time(t0 + timedelta(minutes=5)):
        second = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers)
    assert second.status_code == 201 and second.get_json()["attempt_number"] == 2
    assert session.get(Attempt, attempt["id"]).submit_reason == "timeout"


def test_with_no_attempts_left_the_overdue_one_is_still_submitted(client, headers, session, t0):
    exam, attempt = begin(client, headers, session, t0)
    with freeze_time(t0 + timedelta(minutes=5)):
        refused = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers)
    assert refused.get_json()["error"] == "attempt_limit_reached"
    assert session.get(Attempt, attempt["id"]).status == "submitted"


def test_closes_at_cuts_the_time(client, headers, session, t0):
    closes = t0 + timedelta(seconds=20)
    exam = make_exam(session, duration_seconds=600, closes_at=closes, grace_seconds=0)
    with freeze_time(t0):
        attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    assert attempt["time_remaining_seconds"] == 20
    with freeze_time(closes + timedelta(seconds=1)):
        status = client.get(f"/api/v1/attempts/{attempt['id']}/status", headers=headers).get_json()
    assert status["status"] == "submitted" and status["submit_reason"] == "timeout"
