"""Every query of the exam-day paths finds its rows through an index.

The test drives the hot paths (start, autosave, resume, status polls, my attempts, submit,
grading, results, the roster and grading queue, the sweeps and the metrics) through the API
and the services, and records every statement they send to PostgreSQL. Then it fills the
tables that grow with every exam day (20,000 attempts of other students and exams, with
their answers, events and notifications), has PostgreSQL analyse them, and asks for each
recorded statement's plan: a statement that reads one of those tables whole (a sequential
scan, or a walk of a whole index) would get slower with every exam the school holds.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, text
from sqlalchemy.orm import Session

from shared.messaging import create_celery
from shared.models import Answer, Attempt, AttemptEvent, Notification, Role, User, utcnow
from shared.services import expiry, grading, monitoring, notifications
from tests.factories import login, make_exam, make_question, make_user

# Tables that grow with every exam day (one row per attempt, answer, event, notification).
GROWING = {"attempts", "answers", "attempt_events", "notifications", "job_items"}


@pytest.fixture
def recorded(engine) -> Iterator[list[tuple[str, Any]]]:  # type: ignore[no-untyped-def]
    statements: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if isinstance(parameters, list | tuple):  # executemany: the first row's are enough
            parameters = parameters[0] if parameters else None
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    yield statements
    event.remove(engine, "before_cursor_execute", record)


def unindexed_scans(plan: dict[str, Any], partial: set[str]) -> list[str]:
    """Scans of a growing table that read it whole: a sequential scan, or an index scan
    with no condition on the index (a walk of the whole index), unless the index is partial
    (it holds only the rows the query wants, e.g. the attempts still in progress)."""
    found = []
    table = plan.get("Relation Name")
    if table in GROWING:
        if plan["Node Type"] == "Seq Scan":
            found.append(f"{table}: sequential scan")
        elif "Index Cond" not in plan and plan.get("Index Name", "") not in partial | {""}:
            found.append(f"{table}: whole index {plan['Index Name']}")
    for child in plan.get("Plans", []):
        found += unindexed_scans(child, partial)
    return found


def fill_growing_tables(session: Session, question: uuid.UUID, students: int = 2000) -> None:
    """Other exams' history: 10 exams x `students` attempts, most graded, with an answer, an
    event and a notification each; then ANALYZE, so the planner knows the sizes."""
    now = utcnow()
    users = [
        {"id": uuid.uuid4(), "email": f"filler-{i}@school.test", "password_hash": "x",
         "full_name": "Filler", "role": "student", "created_at": now}
        for i in range(students)
    ]  # fmt: skip
    session.execute(insert(User), users)
    for _ in range(10):
        exam = make_exam(session, questions=[make_question(session)])
        attempts, answers, events, notes = [], [], [], []
        for i, user in enumerate(users):
            status = ("in_progress", "submitted")[i % 2] if i % 20 == 0 else "graded"
            attempt = uuid.uuid4()
            attempts.append({
                "id": attempt, "exam_id": exam.id, "student_id": user["id"], "attempt_number": 1,
                "status": status, "started_at": now, "deadline": now + timedelta(hours=1),
                "expires_at": now + timedelta(hours=1), "last_activity_at": now,
                "submitted_at": None if status == "in_progress" else now,
                "grade_requested_at": None if status == "in_progress" else now,
                "graded_at": now - timedelta(days=1) if status == "graded" else None,
                "max_score": 1, "question_order": [str(question)], "revision": 1,
            })  # fmt: skip
            answers.append({"attempt_id": attempt, "question_id": question, "response": "B",
                            "seq": 1, "saved_at": now, "needs_manual": False})  # fmt: skip
            events.append({"attempt_id": attempt, "kind": "saved", "data": {}, "created_at": now})
            notes.append({
                "id": uuid.uuid4(), "user_id": user["id"], "kind": "graded", "title": "Graded",
                "body": "", "dedupe_key": f"filler:{attempt}", "created_at": now,
                "email_status": "sent", "email_attempts": 1,
            })  # fmt: skip
        for model, rows in ((Attempt, attempts), (Answer, answers), (AttemptEvent, events),
                            (Notification, notes)):  # fmt: skip
            session.execute(insert(model), rows)
    session.flush()
    for table in GROWING:
        session.execute(text(f"ANALYZE {table}"))


def test_hot_paths_use_indexes(recorded, client, session, settings):
    exam = make_exam(
        session,
        questions=[make_question(session), make_question(session, "essay")],
        results_release="immediate",
    )
    admin = login(client, make_user(session, settings, role=Role.ADMIN))
    students = [make_user(session, settings) for _ in range(3)]
    session.commit()
    recorded.clear()  # set-up is not on the hot path

    ids = [str(item.question_id) for item in exam.items]
    for student in students:
        headers = login(client, student)
        attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
        answers = {"answers": [{"question_id": ids[0], "response": "B", "seq": 1}]}
        assert (
            client.put(
                f"/api/v1/attempts/{attempt['id']}/answers", json=answers, headers=headers
            ).status_code
            == 200
        )
        client.get(f"/api/v1/attempts/{attempt['id']}", headers=headers)
        etag = client.get(f"/api/v1/attempts/{attempt['id']}/status", headers=headers).headers[
            "ETag"
        ]
        client.get(
            f"/api/v1/attempts/{attempt['id']}/status",
            headers={**headers, "If-None-Match": etag},
        )
        client.get("/api/v1/me/attempts", headers=headers)
        client.get("/api/v1/exams", headers=headers)
        final = {"answers": [{"question_id": ids[1], "response": "An essay.", "seq": 2}]}
        assert (
            client.post(
                f"/api/v1/attempts/{attempt['id']}/submit", json=final, headers=headers
            ).status_code
            == 202
        )
        graded = grading.grade_submitted(session, attempt["id"], utcnow())
        notifications.on_graded(session, graded, utcnow())
        session.commit()
        client.get(f"/api/v1/attempts/{attempt['id']}/result", headers=headers)
        client.get("/api/v1/notifications", headers=headers)
    client.get(f"/api/v1/exams/{exam.id}/attempts", headers=admin)
    queue = client.get(f"/api/v1/exams/{exam.id}/grading-queue", headers=admin)
    item = queue.get_json()[0]
    assert (
        client.put(
            f"/api/v1/attempts/{item['attempt_id']}/answers/{item['question_id']}/grade",
            json={"points": 1},
            headers=admin,
        ).status_code
        == 200
    )
    expiry.sweep(session, utcnow())
    grading.claim_ungraded(session, utcnow(), older_than_seconds=5)
    notifications.give_up_interrupted(session, utcnow(), timedelta(minutes=10))
    notifications.unsent_emails(session, utcnow(), timedelta(minutes=2))
    monitoring.system_state(session, create_celery(settings), utcnow())
    session.commit()

    hot = [
        (sql, params)
        for sql, params in recorded
        if sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH"))
        and any(table in sql for table in GROWING)
    ]
    assert len(hot) > 30  # the flow above really ran through the API and the services
    problems = []
    fill_growing_tables(session, question=exam.items[0].question_id)
    conn = session.connection()
    partial = set(
        conn.scalars(
            text("SELECT indexrelid::regclass::text FROM pg_index WHERE indpred IS NOT NULL")
        )
    )
    for sql, params in dict(hot).items():
        plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params or {}).scalar()
        plan = plan if isinstance(plan, list) else json.loads(plan)
        scanned = unindexed_scans(plan[0]["Plan"], partial)
        if scanned:
            problems.append(f"{'; '.join(scanned)} in {' '.join(sql.split())[:300]}")
    assert problems == []


def test_the_live_view_reads_indexes_at_ten_thousand_running_attempts(recorded, session):
    """The proctor's view of an exam with 10,000 attempts (8,000 running), beside other
    exams' history: two statements, each reading index ranges of attempts, never the table."""
    from shared.examday.live import build_live_view

    question = make_question(session)
    exam = make_exam(session, questions=[question])
    other = make_exam(session, questions=[question])  # another room, running at the same time
    fill_growing_tables(session, question=question.id)
    now = utcnow()
    users, attempts = [], []
    late = random.Random(15).choices(range(600), k=15_000)
    for i in range(15_000):
        user = uuid.uuid4()
        users.append({"id": user, "email": f"live-{i}@school.test", "password_hash": "x",
                      "full_name": f"S {i}", "role": "student", "created_at": now})  # fmt: skip
        status = "in_progress" if i < 8000 or i >= 10_000 else ("submitted", "graded")[i % 2]
        attempts.append({
            "id": uuid.uuid4(), "exam_id": exam.id if i < 10_000 else other.id,
            "student_id": user, "attempt_number": 1,
            # Started over ten minutes at 10:00 in no particular order, as students do.
            "status": status, "started_at": now - timedelta(minutes=30, seconds=late[i]),
            "deadline": now + timedelta(minutes=30, seconds=late[i]),
            "expires_at": now + timedelta(minutes=30, seconds=late[i]),
            "last_activity_at": now - timedelta(seconds=i % 600),  # 0-10 minutes ago
            "submitted_at": None if status == "in_progress" else now - timedelta(seconds=i % 300),
            "max_score": 1, "question_order": [str(question.id)], "revision": 1,
        })  # fmt: skip
    session.execute(insert(User), users)
    session.execute(insert(Attempt), attempts)
    session.flush()
    for table in ("users", "attempts"):
        session.execute(text(f"ANALYZE {table}"))
    recorded.clear()

    view = build_live_view(session, exam.id, now)

    assert view["counts"]["in_progress"] == 8000 and view["counts"]["eligible"] == 17_000
    assert view["idle_count"] == sum(1 for i in range(8000) if i % 600 > 120)  # quiet for 2 min
    assert len(view["idle"]) == 100  # a page of the longest quiet, not 6,400 rows
    statements = [(sql, params) for sql, params in recorded if "attempts" in sql]
    assert len(statements) == 2
    conn = session.connection()
    for sql, params in statements:
        plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params or {}).scalar()
        plan = plan if isinstance(plan, list) else json.loads(plan)
        # No sequential scan of attempts, and no walk of a whole index of it, not even of
        # the running attempts of every exam: each read is a range of this exam's.
        assert unindexed_scans(plan[0]["Plan"], set()) == [], " ".join(sql.split())[:400]
