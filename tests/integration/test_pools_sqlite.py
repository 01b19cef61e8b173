"""Question pools in embedded mode (SQLite): the candidate counts and best-draw points are
correlated SQL that both backends must run; a pooled attempt starts, is graded and exported."""

from __future__ import annotations

from decimal import Decimal

import pytest
from alembic import command
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from shared.cache import MemoryCache
from shared.errors import Conflict
from shared.models import Role, User, utcnow
from shared.services import attempts, exams, grading, questions, results
from shared.spreadsheets.results import result_rows
from tests.conftest import alembic_config


@pytest.fixture
def sqlite_session(tmp_path):
    url = f"sqlite:///{tmp_path / 'embedded.sqlite'}"
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def choice(session, n, tags, points=1):
    return questions.create_question(
        session,
        {"type": "single_choice", "prompt": f"Question {n}?", "options": [{"text": "yes"},
         {"text": "no"}], "correct_answer": "A", "tags": tags, "points": points},
    )  # fmt: skip


def test_a_pooled_exam_end_to_end_on_sqlite(sqlite_session):
    session = sqlite_session
    bank = [choice(session, n, ["algebra"], points=n + 1) for n in range(4)]
    essay = questions.create_question(session, {"type": "essay", "prompt": "Why?", "tags": ["w"]})
    exam = exams.create_exam(
        session, {"title": "Embedded", "duration_seconds": 600, "audience": "everyone",
                  "shuffle_options": True},
    )  # fmt: skip
    entries = [
        {"pool": {"tag": "algebra", "count": 5}},
        {"question_id": bank[0].id},
        {"pool": {"tag": "w", "count": 1, "points": 2}},
    ]
    exams.set_questions(session, exam.id, entries)
    assert [(p.available, p.best_points) for p in exam.pools] == [(3, 9), (1, 1)]
    with pytest.raises(Conflict, match="position 1"):
        exams.publish(session, exam.id)

    entries[0]["pool"]["count"] = 2
    exams.set_questions(session, exam.id, entries)
    assert (exam.question_count, exam.max_score) == (4, 4 + 3 + 1 + 2)
    exams.publish(session, exam.id)
    student = User(email="s@school.test", full_name="S", role=Role.STUDENT, password_hash="x")
    session.add(student)
    session.flush()
    attempt, created = attempts.start_attempt(
        session, MemoryCache(), exam_id=exam.id, student_id=student.id, now=utcnow()
    )
    assert created and len(set(attempt.question_order)) == 4
    assert (
        str(bank[0].id) not in attempt.drawn
        and Decimal(attempt.drawn[str(essay.id)]["points"]) == 2
    )
    answers = [
        {"question_id": q, "response": "A"} for q in attempt.question_order if q != str(essay.id)
    ]
    attempts.submit(session, MemoryCache(), attempt, answers, utcnow())
    graded = grading.grade_submitted(session, attempt.id, utcnow())
    assert graded.score == graded.max_score - 2 and graded.pending_manual == 1
    queue, _ = results.grading_queue(session, exam.id)
    assert [(q["question_id"], q["points_possible"]) for q in queue] == [(essay.id, 2)]
    header, row = list(result_rows(session, exam))
    assert header[13:][2] == "Q2 (1 pts)" and row[13:][2] == 1
    assert sum(cell for cell in row[13:] if cell is not None) == graded.score
