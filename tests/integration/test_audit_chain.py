"""The attempt trail as a hash chain, on the real database: every writer chains its event,
concurrent appends never fork a chain, and rows edited or deleted behind the API's back
are reported with their attempt and event id; so is a tail cut off after an anchor."""

from __future__ import annotations

import threading
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text

from shared.cache import MemoryCache
from shared.models import Attempt, AttemptEvent, utcnow
from shared.services import attempts, grading
from shared.trust import audit
from shared.trust.chain import GENESIS, event_hash
from shared.trust.receipts import stored_digests
from tests.factories import make_exam, make_question, make_user
from tests.integration.test_migrations import scratch_postgres  # noqa: F401 (a fixture)


def _graded_attempt(session, settings, exam=None):
    exam = exam or make_exam(session, questions=[make_question(session, "short_text")])
    student = make_user(session, settings)
    cache = MemoryCache()
    attempt, _ = attempts.start_attempt(
        session, cache, exam_id=exam.id, student_id=student.user.id, now=utcnow()
    )
    qid = attempt.question_order[0]
    attempts.save_answers(
        session, cache, attempt, [{"question_id": qid, "response": "é"}], utcnow()
    )
    attempts.submit(session, cache, attempt, None, utcnow())
    grading.grade_submitted(session, attempt.id, utcnow())
    session.flush()
    return exam, attempt


def _trail(session, attempt_id):
    query = select(AttemptEvent).where(AttemptEvent.attempt_id == attempt_id)
    return list(session.scalars(query.order_by(AttemptEvent.id)))


def test_each_state_change_is_chained_and_saves_are_folded_into_the_submission(session, settings):
    exam, attempt = _graded_attempt(session, settings)
    trail = _trail(session, attempt.id)
    assert [e.kind for e in trail] == ["started", "saved", "submitted", "graded"]
    saved = trail[1]
    assert saved.hash is None and saved.prev_hash is None  # the autosave stays cheap
    chained = [e for e in trail if e.kind != "saved"]
    prev = GENESIS
    for e in chained:
        assert e.prev_hash == prev
        assert e.hash == event_hash(prev, e.attempt_id, e.kind, e.data, e.created_at)
        prev = e.hash
    submitted = trail[2]
    assert submitted.data["answers_sha256"] == attempt.answers_sha256
    assert stored_digests(session.connection(), [attempt.id]) == {
        attempt.id: attempt.answers_sha256
    }
    report = audit.verify_exam(session, exam.id)
    assert report.ok and report.first_broken is None
    assert (report.chains, report.events) == (1, 3)


def test_a_redelivered_grading_writes_no_second_event(session, settings):
    _, attempt = _graded_attempt(session, settings)
    assert grading.grade_submitted(session, attempt.id, utcnow()) is None
    assert [e.kind for e in _trail(session, attempt.id)].count("graded") == 1


def test_an_event_edited_behind_the_api_is_reported_with_its_attempt_and_id(session, settings):
    exam, attempt = _graded_attempt(session, settings)
    _, other = _graded_attempt(session, settings, exam)
    graded = _trail(session, attempt.id)[-1]
    session.execute(
        text("""UPDATE attempt_events SET data = '{"score": 100}' WHERE id = :id"""),
        {"id": graded.id},
    )
    report = audit.verify_exam(session, exam.id)
    assert not report.ok
    assert report.first_broken == {
        "attempt_id": str(attempt.id), "event_id": graded.id, "reason": "altered"
    }  # fmt: skip
    assert [b["attempt_id"] for b in report.broken] == [str(attempt.id)]  # the other is fine


def test_a_deleted_event_breaks_the_link_of_the_next_one(session, settings):
    exam, attempt = _graded_attempt(session, settings)
    started, _, submitted, graded = _trail(session, attempt.id)
    session.execute(text("DELETE FROM attempt_events WHERE id = :id"), {"id": submitted.id})
    report = audit.verify_exam(session, exam.id)
    assert report.first_broken == {
        "attempt_id": str(attempt.id),
        "event_id": graded.id,
        "reason": "previous_missing_or_changed",
    }


def test_an_event_slipped_in_without_a_hash_is_reported(session, settings):
    exam, attempt = _graded_attempt(session, settings)
    row = session.execute(
        text(
            "INSERT INTO attempt_events (attempt_id, kind, data, created_at) "
            "VALUES (:a, 'graded_by_hand', '{}', now()) RETURNING id"
        ),
        {"a": attempt.id},
    ).scalar_one()
    report = audit.verify_exam(session, exam.id)
    assert report.first_broken["event_id"] == row
    assert report.first_broken["reason"] == "unchained"


def test_a_tail_cut_off_after_the_anchor_is_reported(session, settings):
    exam, attempt = _graded_attempt(session, settings)
    anchor = audit.anchor_exam(session, exam.id, utcnow())
    assert anchor is not None and anchor.chains == 1
    assert audit.anchor_exam(session, exam.id, utcnow()) is None  # nothing changed since
    report = audit.verify_exam(session, exam.id)
    assert report.ok and report.root == anchor.root and report.anchor["matches"]

    head = _trail(session, attempt.id)[-1]  # the chain alone can't see its last link go
    session.execute(text("DELETE FROM attempt_events WHERE id = :id"), {"id": head.id})
    report = audit.verify_exam(session, exam.id)
    assert not report.ok and not report.anchor["matches"]
    assert report.root != anchor.root
    assert report.first_broken == {
        "attempt_id": str(attempt.id),
        "event_id": head.id,
        "reason": "anchored_event_missing_or_changed",
    }


def test_a_rewritten_tail_with_recomputed_hashes_is_caught_by_the_anchor(session, settings):
    exam, attempt = _graded_attempt(session, settings)
    audit.anchor_exam(session, exam.id, utcnow())
    head = _trail(session, attempt.id)[-1]
    forged = {"score": 100, "max_score": 1, "pending_manual": 0}
    new_hash = event_hash(head.prev_hash, attempt.id, head.kind, forged, head.created_at)
    session.execute(
        text("UPDATE attempt_events SET data = CAST(:d AS jsonb), hash = :h WHERE id = :id"),
        {"d": '{"score": 100, "max_score": 1, "pending_manual": 0}', "h": new_hash, "id": head.id},
    )
    report = audit.verify_exam(session, exam.id)
    assert not report.ok
    assert report.first_broken["event_id"] == head.id
    assert report.first_broken["reason"] == "anchored_event_missing_or_changed"


def test_concurrent_appends_to_one_attempt_never_fork_its_chain(committed, settings):
    with committed() as session:
        exam = make_exam(session)
        student = make_user(session, settings)
        attempt, _ = attempts.start_attempt(
            session, MemoryCache(), exam_id=exam.id, student_id=student.user.id, now=utcnow()
        )
        session.commit()
        attempt_id, exam_id = attempt.id, exam.id
    barrier = threading.Barrier(8)

    def append(n: int) -> None:
        with committed() as session:
            session.get(Attempt, attempt_id)  # read first, as a writer would, then race
            barrier.wait()
            session.add(AttemptEvent(attempt_id=attempt_id, kind="note", data={"n": n}))
            session.commit()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with committed() as session:
        trail = _trail(session, attempt_id)
        assert len({e.prev_hash for e in trail}) == len(trail) == 9  # no two share a parent
        report = audit.verify_exam(session, exam_id)
        assert report.ok, report.broken
        assert report.events == 9


def test_verifying_an_unknown_exam_is_not_found(session):
    from shared.errors import NotFound

    with pytest.raises(NotFound):
        audit.verify_exam(session, uuid.uuid4())


def test_every_writer_chains_its_events_bulk_ones_too(session, settings):
    from datetime import timedelta

    from shared.examday import control
    from shared.services import batch_grading, expiry

    exam = make_exam(session, questions=[make_question(session, "short_text")])
    admin = make_user(session, settings, role="admin").user.id
    cache = MemoryCache()
    ids = []
    for _ in range(3):
        student = make_user(session, settings)
        attempt, _ = attempts.start_attempt(
            session, cache, exam_id=exam.id, student_id=student.user.id, now=utcnow()
        )
        ids.append(attempt.id)
    swept, forced, reopened = ids
    control.extend(session, swept, 60, by=admin, now=utcnow())  # deadline_changed, bulk
    control.force_submit(session, forced, by=admin, now=utcnow())  # submitted, bulk
    assert expiry.submit_overdue(session, [swept], utcnow() + timedelta(days=1), by="sweep")
    attempts.submit(session, cache, session.get(Attempt, reopened), None, utcnow())
    batch_grading.grade_waiting(session, None, utcnow())  # graded, bulk
    control.reopen(session, reopened, extra_seconds=600, reason="fire alarm", by=admin,
                   now=utcnow())  # fmt: skip
    session.flush()
    kinds = {
        e.kind: e.hash
        for e in session.scalars(select(AttemptEvent).where(AttemptEvent.attempt_id.in_(ids)))
    }
    assert set(kinds) == {"started", "deadline_changed", "submitted", "expired", "graded",
                          "reopened"}  # fmt: skip
    assert all(kinds.values())
    for attempt_id in (swept, forced):
        digest = session.get(Attempt, attempt_id).answers_sha256
        assert digest and len(digest) == 64
    report = audit.verify_exam(session, exam.id)
    assert report.ok, report.broken
    assert report.chains == 3


def test_receipts_and_the_chain_in_embedded_mode_on_sqlite(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from shared.models import Role, User
    from shared.services import exams, questions
    from shared.trust import receipts
    from tests.conftest import alembic_config

    url = f"sqlite:///{tmp_path / 'embedded.sqlite'}"
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    with Session(engine) as session:
        question = questions.create_question(
            session, {"type": "short_text", "prompt": "Capital?", "correct_answer": ["Paris"]}
        )
        exam = exams.create_exam(
            session, {"title": "Embedded", "duration_seconds": 600, "audience": "everyone"}
        )
        exams.set_questions(session, exam.id, [{"question_id": question.id}])
        exams.publish(session, exam.id)
        student = User(email="s@school.test", full_name="S", role=Role.STUDENT, password_hash="x")
        session.add(student)
        session.flush()
        cache = MemoryCache()
        attempt, _ = attempts.start_attempt(
            session, cache, exam_id=exam.id, student_id=student.id, now=utcnow()
        )
        answer = [{"question_id": str(question.id), "response": "Paris"}]
        attempts.submit(session, cache, attempt, answer, utcnow())
        grading.grade_submitted(session, attempt.id, utcnow())
        session.commit()
        key = Ed25519PrivateKey.generate()
        receipt = receipts.receipt(attempt, key)
        expected = receipts.answers_digest([str(question.id)], {str(question.id): "Paris"})
        assert receipt["answers_sha256"] == expected
        assert receipts.verify(session, receipt, key.public_key()).valid
        report = audit.verify_exam(session, exam.id)
        assert report.ok and (report.chains, report.events) == (1, 3)
        assert audit.anchor_exam(session, exam.id, utcnow()) is not None
    engine.dispose()


def test_two_anchorings_at_once_store_one_anchor(committed, settings):
    with committed() as session:
        exam, _ = _graded_attempt(session, settings)
        session.commit()
        exam_id = exam.id
    barrier = threading.Barrier(2)
    made = []

    def anchor() -> None:
        with committed() as session:
            barrier.wait()
            made.append(audit.anchor_exam(session, exam_id, utcnow()) is not None)
            session.commit()

    threads = [threading.Thread(target=anchor) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(made) == [False, True]
    with committed() as session:
        assert len(audit.anchors(session, exam_id)) == 1
        assert audit.exams_to_anchor(session, utcnow(), 14) == [exam_id]


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_url(request, tmp_path, settings):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'upgrade.sqlite'}"
    return request.getfixturevalue("scratch_postgres")


def test_the_upgrade_chains_the_trail_and_seals_the_submissions_it_finds(scratch_url):
    """A database from before revision 0012: its trails become chains, its submitted
    attempts get digests (of their answers at the upgrade), so nothing reads as broken."""
    from alembic import command
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from shared.models import Role, User
    from shared.services import exams, questions
    from tests.conftest import alembic_config

    cfg = alembic_config(scratch_url)
    command.upgrade(cfg, "head")
    engine = create_engine(scratch_url)
    try:
        with Session(engine) as session:
            question = questions.create_question(
                session, {"type": "short_text", "prompt": "Capital?", "correct_answer": ["Rome"]}
            )
            exam = exams.create_exam(
                session, {"title": "Old", "duration_seconds": 600, "audience": "everyone"}
            )
            exams.set_questions(session, exam.id, [{"question_id": question.id}])
            exams.publish(session, exam.id)
            student = User(email="o@school.test", full_name="O", role=Role.STUDENT,
                           password_hash="x")  # fmt: skip
            session.add(student)
            session.flush()
            attempt, _ = attempts.start_attempt(
                session, MemoryCache(), exam_id=exam.id, student_id=student.id, now=utcnow()
            )
            answer = [{"question_id": str(question.id), "response": "Rome"}]
            attempts.submit(session, MemoryCache(), attempt, answer, utcnow())
            grading.grade_submitted(session, attempt.id, utcnow())
            session.commit()
            exam_id, attempt_id, digest = exam.id, attempt.id, attempt.answers_sha256
        command.downgrade(cfg, "0011")  # as it was: no hashes, no digests
        command.upgrade(cfg, "head")
        with Session(engine) as session:
            report = audit.verify_exam(session, exam_id)
            assert report.ok and (report.chains, report.events) == (1, 3), report.broken
            assert session.get(Attempt, attempt_id).answers_sha256 == digest
    finally:
        engine.dispose()
