"""Exam day with the real worker (and beat where the sweep matters): the timeout follows a
deadline an admin moved, and a whole exam is force-submitted and graded as a job."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shared.models import Answer, Attempt, AttemptEvent, Role
from tests.factories import login, make_exam, make_question, make_user
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e


def setup(app, committed, settings, students=1, **exam_fields):
    app.extensions["exam.session_factory"] = committed
    with committed() as session:
        exam = make_exam(session, questions=[make_question(session)], **exam_fields)
        accounts = [make_user(session, settings) for _ in range(students)]
        admin = make_user(session, settings, role=Role.ADMIN)
    client = app.test_client()
    started = []
    for account in accounts:
        headers = login(client, account)
        attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
        qid = attempt["questions"][0]["id"]
        saved = client.put(
            f"/api/v1/attempts/{attempt['id']}/answers",
            json={"answers": [{"question_id": qid, "response": "B", "seq": 1}]},
            headers=headers,
        )
        assert saved.status_code == 200
        started.append((attempt, headers))
    return exam, started, login(client, admin), client


def row(committed, attempt_id):
    with committed() as session:
        return session.get(Attempt, attempt_id)


def test_the_countdown_follows_a_deadline_moved_later(app, committed, settings, processes):
    """Started with 3 s; given 4 s more at once. The attempt's own timer (scheduled at the
    start for 3 s) must not submit it then, and it is submitted after the new deadline."""
    exam, [(attempt, _)], admin_headers, client = setup(
        app, committed, settings, duration_seconds=3, grace_seconds=0
    )
    processes.worker()  # no beat: only the countdown task can submit it
    extended = client.post(
        f"/api/v1/attempts/{attempt['id']}/extend",
        json={"extra_seconds": 4},
        headers=admin_headers,
    )
    assert extended.status_code == 200
    new_expiry = row(committed, attempt["id"]).expires_at
    time.sleep(max(0, (new_expiry - datetime.now(UTC)).total_seconds() - 1))
    assert row(committed, attempt["id"]).status == "in_progress", processes.logs()
    try:
        done = wait_until(
            lambda: (r := row(committed, attempt["id"])).status == "graded" and r,
            30,
            "the countdown to submit and the worker to grade",
        )
    except AssertionError:
        print(processes.logs())
        raise
    assert done.submit_reason == "timeout" and done.submitted_at >= new_expiry
    assert done.score == 1  # "B" is right: graded with its saved answer


def test_an_exam_ended_early_submits_within_the_sweep_interval(app, committed, settings, processes):
    exam, started, admin_headers, client = setup(
        app, committed, settings, students=3, duration_seconds=3600, grace_seconds=2
    )
    processes.worker(EXPIRY_SWEEP_SECONDS="1")
    processes.beat(EXPIRY_SWEEP_SECONDS="1")
    closes = datetime.now(UTC) + timedelta(seconds=1)
    ended = client.patch(
        f"/api/v1/exams/{exam.id}", json={"closes_at": closes.isoformat()}, headers=admin_headers
    )
    assert ended.status_code == 200
    # A save inside the grace period still lands; after it, none does.
    attempt, headers = started[0]
    qid = attempt["questions"][0]["id"]
    time.sleep(max(0, (closes - datetime.now(UTC)).total_seconds()) + 0.5)
    inside = client.put(
        f"/api/v1/attempts/{attempt['id']}/answers",
        json={"answers": [{"question_id": qid, "response": "C", "seq": 2}]},
        headers=headers,
    )
    assert inside.status_code == 200

    def all_graded():
        rows = [row(committed, a["id"]) for a, _ in started]
        return rows if all(r.status == "graded" for r in rows) else None

    try:
        rows = wait_until(all_graded, 30, "every attempt submitted and graded")
    except AssertionError:
        print(processes.logs())
        raise
    assert {r.submit_reason for r in rows} == {"timeout"}
    assert all(r.deadline == closes for r in rows)
    with committed() as session:
        assert session.get(Answer, (attempt["id"], qid)).response == "C"


def test_a_whole_exam_is_force_submitted_as_a_job_and_graded(app, committed, settings, processes):
    exam, started, admin_headers, client = setup(app, committed, settings, students=4)
    named = [started[0][0]["student_id"], started[1][0]["student_id"]]
    unknown = "00000000-0000-4000-8000-000000000000"
    processes.worker()
    accepted = client.post(
        f"/api/v1/exams/{exam.id}/force-submit",
        json={"student_ids": [*named, unknown]},
        headers=admin_headers,
    )
    assert accepted.status_code == 202
    status_url = accepted.get_json()["status_url"]

    def finished():
        job = client.get(status_url, headers=admin_headers).get_json()
        return job if job["status"] in ("succeeded", "failed") else None

    try:
        job = wait_until(finished, 30, "the force-submit job to finish")
    except AssertionError:
        print(processes.logs())
        raise
    assert (job["status"], job["total"], job["done"]) == ("succeeded", 2, 2)
    assert job["result"] == {"submitted": 2, "not_running": [unknown]}
    rows = {a["student_id"]: a["id"] for a, _ in started}
    for student_id in named:
        graded = wait_until(
            lambda sid=student_id: (r := row(committed, rows[sid])).status == "graded" and r,
            30,
            "the forced attempts to be graded",
        )
        assert graded.submit_reason == "admin" and graded.score == 1
    for attempt, _ in started[2:]:
        assert row(committed, attempt["id"]).status == "in_progress"  # not named: untouched
    with committed() as session:
        events = session.scalars(
            select(AttemptEvent.data).where(AttemptEvent.kind == "submitted")
        ).all()
    assert len(events) == 2 and all(e["by"] == "admin" for e in events)
