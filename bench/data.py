"""Benchmark data, written in bulk: students, an exam, attempts (with answers), tokens.

Setting up 30,000 students through the API would benchmark the setup; the scenarios
measure only the requests a school makes on exam day. Tokens are minted with the app's own
code (`create_access_token`), so they are exactly what a login returns."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

from flask_jwt_extended import create_access_token
from sqlalchemy import insert
from sqlalchemy.orm import Session

from shared.models import Answer, Attempt, User, utcnow
from shared.security import hash_password
from shared.services import exams, questions
from web import create_app

# A realistic mix (no essays: they would wait for a human, not for the graders).
QUESTION_MIX = [
    {
        "type": "single_choice",
        "prompt": "Pick one",
        "correct_answer": "B",
        "options": [{"text": "a"}, {"text": "b"}, {"text": "c"}, {"text": "d"}],
    },
    {
        "type": "multiple_choice",
        "prompt": "Pick some",
        "correct_answer": ["A", "C"],
        "scoring": "partial",
        "options": [{"text": "a"}, {"text": "b"}, {"text": "c"}],
    },
    {"type": "true_false", "prompt": "True?", "correct_answer": True},
    {"type": "short_text", "prompt": "Name it", "correct_answer": ["Paris", "Paris city"]},
    {"type": "numeric", "prompt": "How much?", "correct_answer": 0.3, "tolerance": 0.01},
]
RESPONSES = {
    "single_choice": ["A", "B", "C"],
    "multiple_choice": [["A", "C"], ["A"], ["B"]],
    "true_false": [True, False],
    "short_text": ["Paris", "paris", "Lyon"],
    "numeric": [0.3, 0.31, 1],
}


class Data:
    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.app = create_app(stack.settings)
        self.password_hash = hash_password(stack.settings, "benchmark-password")

    def session(self) -> Session:
        return Session(self.stack.engine, expire_on_commit=False)

    def exam(
        self, question_count: int = 20, **fields: Any
    ) -> tuple[uuid.UUID, list[dict[str, Any]]]:
        """A published exam; returns its id and its questions ({id, type})."""
        with self.session() as session:
            made = [
                questions.create_question(session, QUESTION_MIX[i % len(QUESTION_MIX)])
                for i in range(question_count)
            ]
            exam = exams.create_exam(
                session,
                {"title": "Benchmark", "duration_seconds": 7200, "audience": "everyone", **fields},
            )
            exams.set_questions(session, exam.id, [{"question_id": q.id} for q in made])
            exams.publish(session, exam.id)
            session.commit()
            return exam.id, [{"id": str(q.id), "type": q.type} for q in made]

    def users(self, count: int, role: str = "student") -> list[uuid.UUID]:
        ids = [uuid.uuid4() for _ in range(count)]
        now = utcnow()
        rows = [
            {
                "id": i,
                "email": f"{role}-{i.hex[:12]}@bench.test",
                "password_hash": self.password_hash,
                "full_name": f"Bench {role}",
                "role": role,
                "created_at": now,
            }
            for i in ids
        ]
        with self.session() as session:
            for start in range(0, len(rows), 5000):
                session.execute(insert(User), rows[start : start + 5000])
            session.commit()
        return ids

    def tokens(self, user_ids: list[uuid.UUID], role: str = "student") -> list[str]:
        with self.app.app_context():
            return [
                create_access_token(
                    identity=str(u), additional_claims={"role": role, "sid": uuid.uuid4().hex}
                )
                for u in user_ids
            ]

    def attempts(
        self,
        exam_id: uuid.UUID,
        student_ids: list[uuid.UUID],
        exam_questions: list[dict[str, Any]],
        *,
        answered: bool,
    ) -> list[uuid.UUID]:
        """In-progress attempts (two hours left), each with every question answered if asked."""
        now, rng = utcnow(), random.Random(7)
        order = [q["id"] for q in exam_questions]
        attempts, answers = [], []
        for student in student_ids:
            attempt_id = uuid.uuid4()
            attempts.append(
                {
                    "id": attempt_id,
                    "exam_id": exam_id,
                    "student_id": student,
                    "attempt_number": 1,
                    "status": "in_progress",
                    "started_at": now,
                    "last_activity_at": now,
                    "deadline": now + timedelta(hours=2),
                    "expires_at": now + timedelta(hours=2, seconds=30),
                    "max_score": len(order),
                    "question_order": order,
                    "revision": 1,
                }
            )
            if answered:
                answers += [
                    {
                        "attempt_id": attempt_id,
                        "question_id": uuid.UUID(q["id"]),
                        "seq": 1,
                        "response": rng.choice(RESPONSES[q["type"]]),
                        "saved_at": now,
                    }
                    for q in exam_questions
                ]
        with self.session() as session:
            for start in range(0, len(attempts), 5000):
                session.execute(insert(Attempt), attempts[start : start + 5000])
            for start in range(0, len(answers), 20000):
                session.execute(insert(Answer), answers[start : start + 20000])
            session.commit()
        return [a["id"] for a in attempts]


def response_for(question: dict[str, Any], rng: random.Random) -> Any:
    return rng.choice(RESPONSES[question["type"]])
