"""Item analysis and review flags of a big exam: target under 10 s for 10,000 graded
attempts of 20 questions (issues 18 and 19).

    .venv/bin/python -m bench.item_analysis [--attempts 10000] [--questions 20]

Writes the attempts, their answers and a save trail in bulk into a PostgreSQL database made
for the run, then times the real routes through the Flask app: the analysis as JSON and as
.xlsx, the review flags, and the roster's first page (which computes the flags once, then
reuses them). Prints target, measured and met; writes bench/results/item_analysis.json.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from alembic import command
from sqlalchemy import insert

from bench.scratch import scratch_environment

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 10.0
FULL_ATTEMPTS = 10_000
ADMIN_PASSWORD = secrets.token_urlsafe(16)
SAVES_PER_ATTEMPT = 5


def main() -> None:
    """Make a database, run the scenarios, drop it, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attempts", type=int, default=FULL_ATTEMPTS)
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args()
    with scratch_environment("analysis"):
        results = run(args.attempts, args.questions)
    report(results, args.attempts)


def run(attempts: int, questions: int) -> list[dict]:
    """Migrate, write the exam, time each route once through the Flask app."""
    from shared.config import get_settings
    from shared.people.accounts import create_user
    from tests.conftest import alembic_config
    from web import create_app

    get_settings.cache_clear()
    settings = get_settings()
    command.upgrade(alembic_config(settings.database_url), "head")
    app = create_app(settings)
    with app.app_context():
        from web.extensions import db_session

        session = db_session()
        create_user(session, settings, email="bench-admin@school.example",
                    password=ADMIN_PASSWORD, full_name="Admin", role="admin")  # fmt: skip
        exam_id = _write_exam(session, attempts, questions)
    client = app.test_client()
    tokens = client.post(
        "/api/v1/auth/login",
        json={"email": "bench-admin@school.example", "password": ADMIN_PASSWORD},
    ).get_json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    results = []
    for label, path in (
        ("item analysis (JSON)", f"/api/v1/exams/{exam_id}/item-analysis"),
        ("item analysis (.xlsx)", f"/api/v1/exams/{exam_id}/item-analysis.xlsx"),
        ("review flags", f"/api/v1/exams/{exam_id}/flags"),
        ("roster page 1 (computes the flags)", f"/api/v1/exams/{exam_id}/attempts"),
        ("roster page 2 (flags reused)", f"/api/v1/exams/{exam_id}/attempts?page=2"),
    ):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        seconds = time.perf_counter() - started
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        results.append({"scenario": label, "attempts": attempts, "questions": questions,
                        "seconds": seconds})  # fmt: skip
    return results


def _published_exam(session, questions: int):  # type: ignore[no-untyped-def]
    """An exam of `questions` single-choice questions (key A), published."""
    from shared.services import exams
    from shared.services import questions as bank

    made = [
        bank.create_question(session, {
            "type": "single_choice", "prompt": f"Question {n}?", "correct_answer": "A",
            "options": [{"text": t} for t in ("right", "near", "far", "odd")],
        })
        for n in range(questions)
    ]  # fmt: skip
    exam = exams.create_exam(session, {"title": "Bench", "duration_seconds": 3600})
    exams.set_questions(session, exam.id, [{"question_id": q.id} for q in made])
    exams.publish(session, exam.id)
    session.commit()
    return exam, made


def _write_exam(session, attempts: int, questions: int) -> uuid.UUID:  # type: ignore[no-untyped-def]
    """A published exam of single-choice questions and its graded attempts, in bulk: each
    student of some ability answers, saves a few times from one device, and is graded."""
    from shared.models import Answer, Attempt, AttemptEvent, User, utcnow

    exam, made = _published_exam(session, questions)
    rng, now = random.Random(18), utcnow()
    order = [str(q.id) for q in made]
    for start in range(0, attempts, 1000):
        users, rows, answers, events = [], [], [], []
        for i in range(start, min(start + 1000, attempts)):
            user_id, attempt_id, ability = uuid.uuid4(), uuid.uuid4(), rng.random()
            users.append({"id": user_id, "email": f"s{i}@bench.test", "password_hash": "x",
                          "full_name": f"Student {i}", "role": "student"})  # fmt: skip
            score = 0
            for q in made:
                response = "A" if rng.random() < ability else rng.choice("BBCD")
                score += response == "A"
                answers.append({"attempt_id": attempt_id, "question_id": q.id,
                                "response": response, "points_awarded": Decimal(response == "A"),
                                "is_correct": response == "A", "needs_manual": False,
                                "saved_at": now})  # fmt: skip
            took = timedelta(minutes=20 + 30 * rng.random())
            rows.append({
                "id": attempt_id, "exam_id": exam.id, "student_id": user_id, "attempt_number": 1,
                "status": "graded", "submit_reason": "student", "started_at": now - took,
                "deadline": now + timedelta(hours=1), "expires_at": now + timedelta(hours=1),
                "submitted_at": now, "graded_at": now, "last_activity_at": now,
                "score": Decimal(score), "max_score": Decimal(questions), "question_order": order,
            })  # fmt: skip
            device = {"answers": [], "sid": uuid.uuid4().hex, "address": "10.0.0.1", "ignored": []}
            events += [
                {"attempt_id": attempt_id, "kind": "saved", "created_at": now - took / (k + 1),
                 "data": device}
                for k in range(SAVES_PER_ATTEMPT)
            ]  # fmt: skip
        session.execute(insert(User), users)
        session.execute(insert(Attempt), rows)
        session.execute(insert(Answer), answers)
        session.execute(insert(AttemptEvent), events)
        session.commit()
    return exam.id


def report(results: list[dict], attempts: int) -> None:
    """Print target, measured and met per scenario; keep them as JSON."""
    # The target scales with the exam, down to a second (a request's fixed costs).
    target = max(1.0, TARGET_SECONDS * attempts / FULL_ATTEMPTS)
    print(f"{'scenario':40} {'attempts':>8} {'questions':>9} {'target':>9} {'measured':>9} met")
    for row in results:
        met = "yes" if row["seconds"] < target else "NO"
        limit = f"< {target:.1f} s"
        print(f"{row['scenario']:40} {row['attempts']:>8} {row['questions']:>9} "
              f"{limit:>9} {row['seconds']:>8.2f}s {met}")  # fmt: skip
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "item_analysis.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
