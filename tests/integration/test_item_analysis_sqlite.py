"""Item analysis and review flags in embedded mode (SQLite): ids and JSON read as text must
come back as the same ids and answers on both backends."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from shared.analysis import flags
from shared.analysis.items import item_analysis
from shared.cache import MemoryCache
from shared.models import Role, User, utcnow
from shared.services import attempts, exams, grading, questions
from tests.conftest import alembic_config
from tests.factories import QUESTION_PAYLOADS


@pytest.fixture
def sqlite_session(tmp_path):
    url = f"sqlite:///{tmp_path / 'embedded.sqlite'}"
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def take(session, exam, n, answers, devices):
    """A student's attempt through the services: saves one answer per device given, submits."""
    student = User(
        email=f"s{n}@school.test", full_name=f"S{n}", role=Role.STUDENT, password_hash="x"
    )
    session.add(student)
    session.flush()
    attempt, _ = attempts.start_attempt(
        session, MemoryCache(), exam_id=exam.id, student_id=student.id, now=utcnow()
    )
    for seq, ((qid, response), device) in enumerate(zip(answers, devices, strict=True), start=1):
        batch = [{"question_id": str(qid), "response": response, "seq": seq}]
        attempts.save_answers(session, MemoryCache(), attempt, batch, utcnow(), device=device)
    attempts.submit(session, MemoryCache(), attempt, [], utcnow())
    grading.grade_submitted(session, attempt.id, utcnow())
    session.commit()
    return attempt


def test_analysis_and_flags_on_sqlite(sqlite_session):
    session = sqlite_session
    made = [
        questions.create_question(session, dict(QUESTION_PAYLOADS[kind]))
        for kind in ("single_choice", "true_false", "multiple_choice", "essay")
    ]
    exam = exams.create_exam(
        session, {"title": "Embedded", "duration_seconds": 600, "audience": "everyone"}
    )
    exams.set_questions(session, exam.id, [{"question_id": q.id} for q in made])
    exams.publish(session, exam.id)
    session.commit()
    single, truth, multiple, _ = (q.id for q in made)
    laptop, phone = {"sid": "a", "address": "10.0.0.1"}, {"sid": "b", "address": "10.0.0.2"}
    take(session, exam, 1, [(single, "B"), (truth, True), (multiple, ["A", "C"])], [laptop] * 3)
    take(session, exam, 2, [(single, "A"), (truth, False)], [laptop] * 2)
    two = take(
        session, exam, 3, [(single, "C"), (truth, True), (multiple, ["B"])], [laptop, phone, laptop]
    )

    found = item_analysis(session, exam.id)
    assert found["attempts"] == 3
    by_id = {q["question_id"]: q for q in found["questions"]}
    assert list(by_id) == [str(q.id) for q in made]  # the same ids as on PostgreSQL
    assert [(o["id"], o["chosen"]) for o in by_id[str(single)]["options"]] == [
        ("A", 1), ("B", 1), ("C", 1)
    ]  # fmt: skip
    assert [o["chosen"] for o in by_id[str(truth)]["options"]] == [2, 1]
    assert by_id[str(multiple)]["omitted"] == 1
    assert by_id[str(single)]["facility"] == pytest.approx(1 / 3, abs=1e-4)

    assert [(f["attempt_id"], f["kind"]) for f in flags.exam_flags(session, exam.id)] == [
        (two.id, "concurrent_devices")
    ]
    kinds = flags.kinds_by_attempt(session, exam.id, MemoryCache(), utcnow())
    assert kinds == {str(two.id): ["concurrent_devices"]}  # keyed as the roster's ids are
