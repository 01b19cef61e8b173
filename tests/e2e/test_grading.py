"""Grading with a real Celery worker and Redis: submit -> graded -> emailed, duplicates,
a broker outage, regrades, and timeouts by countdown and by sweep."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shared.config import load_settings
from shared.db import transaction
from shared.messaging import TaskName, create_celery
from shared.models import Attempt, AttemptEvent, Notification, utcnow
from tests.conftest import clean_redis
from tests.factories import login, make_exam, make_question, make_user
from tests.support.processes import wait_until
from tests.support.servers import RedisServer, SmtpInbox, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture
def smtp():
    with SmtpInbox() as inbox:
        yield inbox, inbox.url


@pytest.fixture
def live(app, committed):
    app.extensions["exam.session_factory"] = committed
    return app


def graded(committed, attempt_id):
    def check():
        with committed() as session:
            row = session.get(Attempt, attempt_id)
            return row if row.status == "graded" else None

    return check


def count(committed, model, *conditions) -> int:
    with committed() as session:
        return session.scalar(select(func.count()).select_from(model).where(*conditions))


def begin(live, committed, settings, **exam_fields):
    with committed() as session:
        question = make_question(session)
        exam = make_exam(session, questions=[question], **exam_fields)
        student = make_user(session, settings)
    client = live.test_client()
    headers = login(client, student)
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    return client, headers, attempt, exam, student


def submit(client, headers, attempt, response="B"):
    qid = attempt["questions"][0]["id"]
    body = {"answers": [{"question_id": qid, "response": response}]}
    return client.post(f"/api/v1/attempts/{attempt['id']}/submit", json=body, headers=headers)


def test_submit_is_graded_and_the_student_gets_one_email(
    live, committed, settings, processes, smtp
):
    inbox, smtp_url = smtp
    processes.worker(SMTP_URL=smtp_url)
    client, headers, attempt, exam, student = begin(live, committed, settings)
    assert submit(client, headers, attempt).status_code == 202
    row = wait_until(graded(committed, attempt["id"]), 30, "grading")
    assert row.score == 1 and row.max_score == 1 and row.submitted_at <= row.graded_at
    status = client.get(f"/api/v1/attempts/{attempt['id']}/status", headers=headers).get_json()
    assert status["status"] == "graded" and status["score"] == 1

    wait_until(lambda: inbox.messages, 30, "the email")
    time.sleep(1)  # nothing else arrives
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == student.email and exam.title in message["Subject"]
    assert "You scored 1 / 1." in message.get_payload()
    with committed() as session:
        notification = session.scalar(select(Notification))
        assert notification.email_status == "sent" and notification.email_sent_at


def test_the_same_task_delivered_twice_leaves_one_result(
    live, committed, settings, processes, smtp
):
    inbox, smtp_url = smtp
    client, headers, attempt, _, _ = begin(live, committed, settings)
    assert submit(client, headers, attempt).status_code == 202
    sender = create_celery(settings)
    for _ in range(3):  # redelivery, a resend sweep and a duplicate publish, all at once
        sender.send_task(TaskName.GRADE_ATTEMPT, args=[attempt["id"]], ignore_result=True)
    processes.worker(SMTP_URL=smtp_url)
    wait_until(graded(committed, attempt["id"]), 30, "grading")
    wait_until(lambda: inbox.messages, 30, "the email")
    with committed() as session:
        notification_id = session.scalar(select(Notification.id))
    for _ in range(3):
        sender.send_task(TaskName.SEND_EMAIL, args=[str(notification_id)], ignore_result=True)
    time.sleep(3)
    assert count(committed, AttemptEvent, AttemptEvent.kind == "graded") == 1
    assert count(committed, Notification) == 1
    assert len(inbox.messages) == 1


@pytest.fixture
def own_redis():
    """A Redis server this test may stop and start again (the shared one must stay up)."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def test_a_submit_accepted_while_the_broker_is_down_is_graded_when_it_returns(
    committed, settings, processes, own_redis
):
    from web import create_app

    broker = {"CELERY_BROKER_URL": own_redis.url}
    live = create_app(load_settings(**broker))
    live.extensions["exam.session_factory"] = committed
    sweep = {"GRADING_SWEEP_SECONDS": "1", "GRADING_RESEND_AFTER_SECONDS": "2"}
    processes.worker(**broker, **sweep)
    processes.beat(**broker, **sweep)
    client, headers, attempt, _, _ = begin(live, committed, settings)

    own_redis.stop()  # the broker goes away; queued messages with it
    started = time.monotonic()
    accepted = submit(client, headers, attempt)
    assert accepted.status_code == 202  # accepted all the same: the database has it
    assert time.monotonic() - started < 5
    with committed() as session:
        assert session.get(Attempt, attempt["id"]).status == "submitted"

    time.sleep(2)
    own_redis.start()  # same port, empty: nothing was queued
    row = wait_until(graded(committed, attempt["id"]), 60, "grading after the broker returned")
    assert row.score == 1
    assert row.grade_requested_at > row.submitted_at  # the resend sweep asked again


def test_regrade_dry_run_and_real_through_the_bulk_queue(
    live, committed, settings, processes, admin_factory
):
    processes.worker()
    with committed() as session:
        question = make_question(session)
        exam = make_exam(session, questions=[question])
        students = [make_user(session, settings) for _ in range(5)]
    client = live.test_client()
    ids = []
    for index, student in enumerate(students):
        headers = login(client, student)
        attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
        submit(client, headers, attempt, "A" if index < 2 else "B")
        ids.append(attempt["id"])
    for attempt_id in ids:
        wait_until(graded(committed, attempt_id), 30, "grading")
    admin = login(client, admin_factory())
    client.patch(f"/api/v1/questions/{question.id}", json={"correct_answer": "A"}, headers=admin)

    def run(dry_run):
        job_id = client.post(
            f"/api/v1/exams/{exam.id}/regrade", json={"dry_run": dry_run}, headers=admin
        ).get_json()["job_id"]

        def finished():
            job = client.get(f"/api/v1/jobs/{job_id}", headers=admin).get_json()
            return job if job["status"] in ("succeeded", "failed") else None

        return wait_until(finished, 60, "the regrade job")

    preview = run(True)
    assert (preview["status"], preview["total"], preview["done"], preview["changed"]) == (
        "succeeded",
        5,
        5,
        5,
    )
    with committed() as session:
        assert sorted(session.scalars(select(Attempt.score))) == [0, 0, 1, 1, 1]  # unchanged
    real = run(False)
    assert (real["status"], real["changed"], real["failed"]) == ("succeeded", 5, 0)
    changes = {c["attempt_id"]: (c["old_score"], c["new_score"]) for c in real["report"]["changes"]}
    assert changes == {i: ((0, 1) if n < 2 else (1, 0)) for n, i in enumerate(ids)}
    assert real["report"]["key_versions"] == {str(question.id): 2}
    with committed() as session:
        assert sorted(session.scalars(select(Attempt.score))) == [0, 0, 0, 1, 1]
    wait_until(
        lambda: count(committed, Notification, Notification.kind == "score_changed") == 5,
        30,
        "notices",
    )


@pytest.fixture
def admin_factory(committed, settings):
    def make():
        with committed() as session:
            return make_user(session, settings, role="admin")

    return make


def test_an_overdue_attempt_is_submitted_by_its_own_countdown_and_graded(
    live, committed, settings, processes
):
    processes.worker()  # no beat: only the countdown sent at start can submit it
    client, headers, attempt, _, _ = begin(
        live, committed, settings, duration_seconds=2, grace_seconds=0
    )
    qid = attempt["questions"][0]["id"]
    client.put(
        f"/api/v1/attempts/{attempt['id']}/answers",
        json={"answers": [{"question_id": qid, "response": "B"}]},
        headers=headers,
    )
    row = wait_until(graded(committed, attempt["id"]), 30, "the countdown to submit and grade")
    assert row.submit_reason == "timeout" and row.score == 1
    assert row.submitted_at - row.expires_at < timedelta(seconds=5)
    with committed() as session:
        expired = session.scalars(
            select(AttemptEvent.data).where(AttemptEvent.kind == "expired")
        ).all()
    assert expired == [{"by": "countdown", "answers_sha256": row.answers_sha256}]


def test_an_overdue_attempt_whose_countdown_was_lost_is_swept_and_graded(
    live, committed, settings, processes
):
    client, headers, attempt, _, _ = begin(
        live, committed, settings, duration_seconds=1, grace_seconds=0
    )
    time.sleep(1.5)
    with transaction(settings) as session:  # the countdown message was lost with a broker
        assert session.get(Attempt, attempt["id"]).expires_at < utcnow()
    clean_redis()  # this run's queues: the countdown is gone
    processes.worker(EXPIRY_SWEEP_SECONDS="1")
    processes.beat(EXPIRY_SWEEP_SECONDS="1")
    row = wait_until(graded(committed, attempt["id"]), 30, "the sweep to submit and grade")
    assert row.submit_reason == "timeout"
    with committed() as session:
        expired = session.scalars(
            select(AttemptEvent.data).where(AttemptEvent.kind == "expired")
        ).all()
    assert expired == [{"by": "sweep", "answers_sha256": row.answers_sha256}]


def test_a_failing_mail_server_never_blocks_grading(live, committed, settings, processes):
    dead_smtp = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    processes.worker(SMTP_URL=dead_smtp)
    client, headers, attempt, _, _ = begin(live, committed, settings)
    submit(client, headers, attempt)
    wait_until(graded(committed, attempt["id"]), 30, "grading")
    inbox = client.get("/api/v1/notifications", headers=headers).get_json()
    assert [n["kind"] for n in inbox] == ["result_released"]  # in the app at once

    def retrying():
        with committed() as session:
            notification = session.scalar(select(Notification))
            return notification if notification.email_error else None

    notification = wait_until(retrying, 30, "the failed send to be recorded")
    assert notification.email_status == "pending"  # to be retried with back-off
    assert notification.email_sent_at is None
