"""The proctor's live view through the API (contract: Exam day, GET /exams/{id}/live and its
stream): counts, the last minute, the grading backlog, idle attempts, who may see it."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from shared.models import Attempt, User, utcnow
from shared.services import grading
from tests.factories import login, make_exam, make_user


@pytest.fixture
def admin_headers(client, admin):
    return login(client, admin)


def start(client, headers, exam) -> dict:
    response = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def save(client, headers, attempt) -> None:
    question = attempt["questions"][0]["id"]
    answers = {"answers": [{"question_id": question, "response": "B"}]}
    response = client.put(
        f"/api/v1/attempts/{attempt['id']}/answers", json=answers, headers=headers
    )
    assert response.status_code == 200, response.get_json()


def submit(client, headers, attempt) -> None:
    response = client.post(f"/api/v1/attempts/{attempt['id']}/submit", json={}, headers=headers)
    assert response.status_code == 202, response.get_json()


def backdate(session, attempt, **ago: timedelta) -> None:
    """Pretend this attempt's last save or its submission happened that long ago."""
    now = utcnow()
    values = {column: now - delta for column, delta in ago.items()}
    session.execute(update(Attempt).where(Attempt.id == attempt["id"]).values(**values))
    session.commit()


def live(client, headers, exam) -> dict:
    response = client.get(f"/api/v1/exams/{exam.id}/live", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_counts_the_last_minute_the_backlog_and_who_went_quiet(
    client, session, settings, admin_headers
):
    exam = make_exam(session)
    saving, submitting, quiet, graded, _never_started = (
        make_user(session, settings, full_name=name)
        for name in ("Ada", "Alan", "Grace", "Edsger", "Barbara")
    )
    attempts = {}
    for account in (saving, submitting, quiet, graded):
        attempts[account.email] = start(client, login(client, account), exam)
    save(client, login(client, saving), attempts[saving.email])
    submit(client, login(client, submitting), attempts[submitting.email])
    submit(client, login(client, graded), attempts[graded.email])
    grading.grade_submitted(session, attempts[graded.email]["id"], utcnow())
    session.commit()
    backdate(session, attempts[quiet.email], last_activity_at=timedelta(minutes=3))
    backdate(session, attempts[graded.email], submitted_at=timedelta(minutes=5))

    view = live(client, admin_headers, exam)

    assert view["counts"] == {
        "eligible": 5, "not_started": 1, "in_progress": 2, "submitted": 1, "graded": 1,
    }  # fmt: skip
    assert view["saves_last_minute"] == 1  # Ada; Grace's last save was 3 minutes ago
    assert view["submissions_last_minute"] == 1  # Alan; Edsger's was 5 minutes ago
    assert view["grading_backlog"] == 1  # Alan's, waiting for the grader
    assert view["idle_count"] == 1
    [idle] = view["idle"]
    assert idle["attempt_id"] == attempts[quiet.email]["id"]
    assert idle["student_id"] == str(quiet.user.id)
    assert idle["student_name"] == "Grace"
    assert idle["student_email"] == quiet.email
    saved_at = idle["last_saved_at"]
    assert saved_at < view["server_time"] and saved_at.endswith("+00:00")


def test_an_assigned_audience_counts_only_its_active_students(
    client, session, settings, admin_headers
):
    exam = make_exam(session, audience="assigned")
    in_group = [make_user(session, settings) for _ in range(3)]
    named = make_user(session, settings)
    make_user(session, settings)  # not assigned: neither eligible nor counted
    group = client.post("/api/v1/groups", json={"name": "7A"}, headers=admin_headers).get_json()
    members = {"user_ids": [str(a.user.id) for a in in_group]}
    client.post(f"/api/v1/groups/{group['id']}/members", json=members, headers=admin_headers)
    assigned = {"group_ids": [group["id"]], "user_ids": [str(named.user.id)]}
    response = client.put(
        f"/api/v1/exams/{exam.id}/assignees", json=assigned, headers=admin_headers
    )
    assert response.status_code == 200, response.get_json()
    session.execute(update(User).where(User.id == in_group[2].user.id).values(active=False))
    session.commit()
    start(client, login(client, named), exam)

    view = live(client, admin_headers, exam)

    assert view["counts"]["eligible"] == 3  # two of the group (one is disabled) and one named
    assert view["counts"]["not_started"] == 2
    assert view["counts"]["in_progress"] == 1


def test_the_view_is_at_most_a_second_old(client, session, settings, admin_headers):
    exam = make_exam(session)
    student = make_user(session, settings)
    first = live(client, admin_headers, exam)
    start(client, login(client, student), exam)

    assert live(client, admin_headers, exam) == first  # the same second: the cached view
    time.sleep(1.1)
    later = live(client, admin_headers, exam)
    assert later["counts"]["in_progress"] == 1 and later["saves_last_minute"] == 1
    assert later["server_time"] > first["server_time"]


@pytest.mark.parametrize("suffix", ["", "/stream"])
def test_students_are_refused_and_unknown_exams_are_404(
    client, session, student, admin_headers, suffix
):
    exam = make_exam(session)
    as_student = client.get(f"/api/v1/exams/{exam.id}/live{suffix}", headers=login(client, student))
    assert as_student.status_code == 403 and as_student.get_json()["error"] == "forbidden"
    assert client.get(f"/api/v1/exams/{exam.id}/live{suffix}").status_code == 401
    unknown = client.get(
        "/api/v1/exams/00000000-0000-4000-8000-000000000000/live" + suffix, headers=admin_headers
    )
    assert unknown.status_code == 404 and unknown.get_json()["error"] == "not_found"


def first_event(response) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    """The first server-sent event of a streamed response, then the stream is closed."""
    buffer = b""
    try:
        for chunk in response.response:
            buffer += chunk
            if b"\n\n" in buffer.split(b"event:", 1)[-1]:
                break
    finally:
        response.close()
    block = b"event:" + buffer.split(b"event:", 1)[1].split(b"\n\n", 1)[0]
    fields = dict(line.split(": ", 1) for line in block.decode().splitlines())
    return fields["event"], json.loads(fields["data"])


def test_the_stream_sends_the_live_object_as_an_event(client, session, settings, admin_headers):
    exam = make_exam(session)
    start(client, login(client, make_user(session, settings)), exam)

    response = client.get(
        f"/api/v1/exams/{exam.id}/live/stream", headers=admin_headers, buffered=False
    )

    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"].startswith("no-cache")
    event, data = first_event(response)
    assert event == "live"
    assert data["counts"]["in_progress"] == 1 and data["counts"]["eligible"] == 1
    assert set(data) >= {
        "server_time", "counts", "saves_last_minute", "submissions_last_minute",
        "grading_backlog", "idle",
    }  # fmt: skip


def test_the_openapi_spec_documents_both_routes(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert "text/event-stream" in json.dumps(paths["/api/v1/exams/{exam_id}/live/stream"])
    live_doc = paths["/api/v1/exams/{exam_id}/live"]["get"]
    assert {"200", "401", "403", "404"} <= set(live_doc["responses"])


def test_every_process_sees_a_view_at_most_a_second_old(
    app, client, db, session, settings, admin_headers
):
    """Two API processes share the view through Redis; neither keeps a copy past its second."""
    from web import create_app

    other = create_app(settings)
    other.extensions["exam.session_factory"] = db
    exam = make_exam(session)
    live(client, admin_headers, exam)  # built here, and shared
    live(other.test_client(), admin_headers, exam)  # read there
    start(client, login(client, make_user(session, settings)), exam)
    time.sleep(1.1)

    assert live(other.test_client(), admin_headers, exam)["counts"]["in_progress"] == 1
