"""Regrade rollback in embedded mode (SQLite): the services a worker runs, on a database
migrated with Alembic: a regrade after a key fix, its rollback, a grade by hand kept, the
refusals the jobs table's indexes decide, and the rollback of the rollback."""

from __future__ import annotations

from decimal import Decimal

import pytest
from alembic import command
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from shared.cache import MemoryCache
from shared.errors import Conflict
from shared.models import Attempt, Role, User, utcnow
from shared.services import attempts, exams, grading, questions, regrades
from shared.trust import rollbacks
from tests.conftest import alembic_config


@pytest.fixture
def sqlite_session(tmp_path):
    url = f"sqlite:///{tmp_path / 'embedded.sqlite'}"
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def run(session, service, job_id):
    """What the bulk worker does: start, every chunk, recount."""
    for chunk in service.start(session, job_id, utcnow()) or []:
        service.run_chunk(session, job_id, chunk, utcnow())
        regrades.refresh(session, job_id, utcnow())
    session.flush()
    return rollbacks.view(session, job_id)


def test_a_regrade_rolled_back_on_sqlite(sqlite_session):
    session = sqlite_session
    q1, q2 = (
        questions.create_question(
            session,
            {
                "type": "single_choice",
                "prompt": f"Q{n}?",
                "options": [{"text": "yes"}, {"text": "no"}],
                "correct_answer": "A",
            },
        )  # fmt: skip
        for n in (1, 2)
    )
    exam = exams.create_exam(
        session, {"title": "Embedded", "duration_seconds": 600, "audience": "everyone"}
    )
    exams.set_questions(session, exam.id, [{"question_id": q1.id}, {"question_id": q2.id}])
    exams.publish(session, exam.id)
    admin = User(email="a@school.test", full_name="A", role=Role.ADMIN, password_hash="x")
    ids = []
    for n, response in enumerate(("A", "B")):
        student = User(
            email=f"s{n}@school.test", full_name="S", role=Role.STUDENT, password_hash="x"
        )
        session.add_all([student, admin])
        session.flush()
        attempt, _ = attempts.start_attempt(
            session, MemoryCache(), exam_id=exam.id, student_id=student.id, now=utcnow()
        )
        answers = [{"question_id": q, "response": response} for q in attempt.question_order]
        attempts.submit(session, MemoryCache(), attempt, answers, utcnow())
        grading.grade_submitted(session, attempt.id, utcnow())
        ids.append(attempt.id)

    def scores():
        session.expire_all()
        return [session.get(Attempt, i).score for i in ids]

    assert scores() == [2, 0]
    for q in (q1, q2):
        questions.update_question(session, q.id, {"correct_answer": "B"})
    regrade = regrades.create_regrade(session, exam.id, dry_run=False, admin_id=admin.id)
    assert run(session, regrades, regrade.id)["changed"] == 2
    assert scores() == [0, 2]
    grading.grade_by_hand(session, ids[1], q1.id, points=Decimal("0.5"), feedback=None,
                          grader_id=admin.id, now=utcnow())  # fmt: skip

    rollback = rollbacks.create_rollback(session, regrade.id, admin_id=admin.id)
    with pytest.raises(Conflict):  # one score-changing job of an exam at a time
        regrades.create_regrade(session, exam.id, dry_run=False, admin_id=admin.id)
    done = run(session, rollbacks, rollback.id)
    assert (done["status"], done["changed"]) == ("succeeded", 2)
    assert done["report"]["kept_manual"] == [{"attempt_id": str(ids[1]), "question_id": str(q1.id)}]
    assert scores() == [2, Decimal("0.5")]
    with pytest.raises(Conflict, match="already"):
        rollbacks.create_rollback(session, regrade.id, admin_id=admin.id)

    again = rollbacks.create_rollback(session, rollback.id, admin_id=admin.id)
    assert run(session, rollbacks, again.id)["status"] == "succeeded"
    assert scores() == [0, Decimal("1.5")]  # the regrade's again, the hand grade kept
    assert session.scalar(select(Attempt.pending_manual).where(Attempt.id == ids[1])) == 0
