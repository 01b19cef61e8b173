"""The sweep on the real database, with the clock moved by freezegun."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

from shared.cache import MemoryCache
from shared.models import Attempt, utcnow
from shared.services import attempts, expiry
from tests.factories import make_exam, make_user

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def test_the_sweep_submits_only_what_is_past_deadline_plus_grace(session, settings):
    exam = make_exam(session, duration_seconds=600, grace_seconds=30)
    early, late = make_user(session, settings), make_user(session, settings)
    with freeze_time(T0):
        first, _ = attempts.start_attempt(
            session, MemoryCache(), exam_id=exam.id, student_id=early.user.id, now=utcnow()
        )
    with freeze_time(T0 + timedelta(minutes=5)):
        second, _ = attempts.start_attempt(
            session, MemoryCache(), exam_id=exam.id, student_id=late.user.id, now=utcnow()
        )
    session.commit()

    with freeze_time(T0 + timedelta(seconds=630)):  # first: exactly deadline + grace
        assert expiry.sweep(session, utcnow()) == []
    with freeze_time(T0 + timedelta(seconds=631)):
        assert expiry.sweep(session, utcnow()) == [first.id]
        assert expiry.sweep(session, utcnow()) == []  # a second sweep finds nothing
    session.expire_all()
    assert session.get(Attempt, first.id).submit_reason == "timeout"
    assert session.get(Attempt, second.id).status == "in_progress"
    with freeze_time(T0 + timedelta(minutes=16)):
        assert expiry.sweep(session, utcnow()) == [second.id]


def test_the_sweep_works_in_batches_oldest_first(session, settings):
    exam = make_exam(session, duration_seconds=60, grace_seconds=0)
    started = []
    for minute in range(5):
        student = make_user(session, settings)
        with freeze_time(T0 + timedelta(minutes=minute)):
            attempt, _ = attempts.start_attempt(
                session, MemoryCache(), exam_id=exam.id, student_id=student.user.id, now=utcnow()
            )
        started.append(attempt.id)
    session.commit()
    with freeze_time(T0 + timedelta(hours=1)):
        assert set(expiry.sweep(session, utcnow(), limit=2)) == set(started[:2])
        assert set(expiry.sweep(session, utcnow(), limit=2)) == set(started[2:4])
        assert set(expiry.sweep(session, utcnow(), limit=2)) == set(started[4:])
