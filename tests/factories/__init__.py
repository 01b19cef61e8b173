"""Test data builders: real rows through the real services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.models import Exam, Question, Role, User
from shared.people.accounts import create_user

DEFAULT_PASSWORD = "correct horse battery"
_counter = itertools.count(1)


@dataclass
class Account:
    user: User
    password: str

    @property
    def email(self) -> str:
        return self.user.email


def make_user(
    session: Session,
    settings: Settings,
    *,
    role: str = Role.STUDENT,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    full_name: str | None = None,
) -> Account:
    n = next(_counter)
    user = create_user(
        session,
        settings,
        email=email or f"{role}{n}@school.test",
        password=password,
        full_name=full_name or f"{role.title()} {n}",
        role=role,
    )
    session.commit()
    return Account(user=user, password=password)


def login(client: FlaskClient, account: Account) -> dict[str, str]:
    """Log in over HTTP; returns the Authorization header for the access token."""
    tokens = login_tokens(client, account)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def login_tokens(client: FlaskClient, account: Account) -> dict:
    response = client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": account.password}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- authoring --------------------------------------------------------------------------

QUESTION_PAYLOADS: dict[str, dict] = {
    "single_choice": {
        "type": "single_choice",
        "prompt": "Capital of France?",
        "options": [{"text": "Lyon"}, {"text": "Paris"}, {"text": "Nice"}],
        "correct_answer": "B",
        "explanation": "Paris since 987.",
        "tags": ["geography"],
    },
    "multiple_choice": {
        "type": "multiple_choice",
        "prompt": "Which are prime?",
        "options": [{"id": "A", "text": "2"}, {"id": "B", "text": "4"}, {"id": "C", "text": "7"}],
        "correct_answer": ["A", "C"],
        "scoring": "partial",
        "points": 2,
        "tags": ["maths"],
    },
    "true_false": {"type": "true_false", "prompt": "Water is wet.", "correct_answer": True},
    "short_text": {
        "type": "short_text",
        "prompt": "Largest planet?",
        "correct_answer": ["Jupiter", "planet Jupiter"],
    },
    "numeric": {
        "type": "numeric",
        "prompt": "0.1 + 0.2 = ?",
        "correct_answer": 0.3,
        "tolerance": 0,
        "points": 1.5,
        "tags": ["maths"],
    },
    "essay": {"type": "essay", "prompt": "Explain photosynthesis.", "points": 5},
}


def make_question(session: Session, kind: str = "single_choice", **overrides) -> Question:
    from shared.services.questions import create_question

    question = create_question(session, {**QUESTION_PAYLOADS[kind], **overrides})
    session.commit()
    return question


def make_exam(
    session: Session,
    *,
    questions: list | None = None,
    publish: bool = True,
    **fields,
) -> Exam:
    """An exam (published by default) with the given questions (one single choice if None)."""
    from shared.services import exams

    # Open to every student unless a test is about audiences.
    data = {"title": "Midterm", "duration_seconds": 3600, "audience": "everyone", **fields}
    exam = exams.create_exam(session, data)
    questions = questions if questions is not None else [make_question(session)]
    exams.set_questions(session, exam.id, [{"question_id": q.id} for q in questions])
    if publish and questions:
        exams.publish(session, exam.id)
    session.commit()
    return exam


FORBIDDEN_FOR_STUDENTS = ("correct_answer", "explanation", "password_hash", "key_version")


def leaked_keys(payload, forbidden=FORBIDDEN_FOR_STUDENTS) -> list[str]:
    """Every path in a JSON payload where a forbidden key appears (recursively)."""
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in forbidden:
                    found.append(f"{path}.{key}")
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}[{index}]")

    walk(payload, "$")
    return found
