"""The events each kind of change writes, on PostgreSQL, where no API test reaches: the
expiry sweep (many attempts, one INSERT of events), a regrade job finishing, and the
scheduled release of an `after_close` exam."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from shared.cache import MemoryCache
from shared.events import endpoints
from shared.events.models import EVENT_TYPES, OutboxEvent, WebhookDelivery
from shared.models import utcnow
from shared.services import attempts, batch_grading, expiry, notifications, regrades
from tests.factories import make_exam, make_user


@pytest.fixture
def hook(session):
    created = endpoints.create(
        session, url="https://93.184.215.14/h", events=list(EVENT_TYPES), active=True,
        allowed_hosts=[], now=utcnow(),
    )  # fmt: skip
    session.commit()  # drops the process's cached endpoint list
    return created


def events_of(session, event_type):
    return session.scalars(select(OutboxEvent).where(OutboxEvent.type == event_type)).all()


def start(session, settings, exam, n):
    ids = []
    for _ in range(n):
        student = make_user(session, settings)
        attempt, _ = attempts.start_attempt(
            session, MemoryCache(), exam_id=exam.id, student_id=student.user.id, now=utcnow()
        )
        ids.append(attempt.id)
    session.commit()
    return ids


def test_the_expiry_sweep_publishes_its_batch_in_one_insert(session, settings, hook):
    exam = make_exam(session, duration_seconds=60, grace_seconds=0)
    ids = start(session, settings, exam, 4)
    inserts = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO outbox_events"):
            inserts.append(statement)

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", count)
    try:
        submitted = expiry.sweep(session, utcnow() + timedelta(hours=1))
    finally:
        event.remove(connection, "before_cursor_execute", count)
    assert sorted(submitted) == sorted(ids)
    published = events_of(session, "attempt.submitted")
    assert sorted(e.data["attempt_id"] for e in published) == sorted(str(i) for i in ids)
    assert {e.data["reason"] for e in published} == {"timeout"}
    assert len(inserts) == 1  # four events, one statement
    deliveries = session.scalars(select(WebhookDelivery)).all()
    assert {d.endpoint_id for d in deliveries} == {hook.id} and len(deliveries) == 4


def test_a_finished_regrade_is_one_event(session, settings, hook):
    admin = make_user(session, settings, role="admin").user
    exam = make_exam(session, duration_seconds=60, grace_seconds=0)
    start(session, settings, exam, 2)
    later = utcnow() + timedelta(hours=1)
    expiry.sweep(session, later)
    batch_grading.grade_waiting(session, None, later)
    job = regrades.create_regrade(session, exam.id, dry_run=False, admin_id=admin.id)
    chunks = regrades.start(session, job.id, later)
    for chunk in chunks:
        regrades.run_chunk(session, job.id, chunk, later)
    assert events_of(session, "regrade.finished") == []  # not before the job is done
    regrades.refresh(session, job.id, later)
    (finished,) = events_of(session, "regrade.finished")
    assert finished.data["job_id"] == str(job.id) and finished.data["status"] == "succeeded"
    assert (finished.data["total"], finished.data["done"]) == (2, 2)


def test_the_scheduled_release_of_an_after_close_exam_is_one_event(session, settings, hook):
    closes = utcnow() + timedelta(minutes=30)
    exam = make_exam(session, results_release="after_close", closes_at=closes, duration_seconds=600)
    later = closes + timedelta(hours=1)
    for due in notifications.exams_due_after_close(session, later):  # the beat task's loop
        notifications.release_exam(session, due, later)
    assert [e.data["exam_id"] for e in events_of(session, "results.released")] == [str(exam.id)]
    assert notifications.exams_due_after_close(session, later) == []  # released: never again
