"""Question pools with a real Celery worker: attempts that drew different questions are
graded per drawn question (shuffled options, the pool's points), and a regrade through the
bulk queue after a key change moves exactly the attempts that drew that question."""

from __future__ import annotations

import pytest

from shared.models import Attempt, Question
from shared.services import exams
from tests.factories import login, make_question, make_user
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def live(app, committed):
    app.extensions["exam.session_factory"] = committed
    return app


def graded(committed, attempt_id):
    def check():
        with committed() as session:
            row = session.get(Attempt, attempt_id)
            return row if row.status == "graded" else None

    return check


def test_drawn_questions_are_graded_and_regraded_by_the_workers(
    live, committed, settings, processes
):
    processes.worker()
    with committed() as session:
        bank = [
            make_question(session, prompt=f"Pooled {i}?", tags=["pool"], correct_answer="B")
            for i in range(4)
        ]
        exam = exams.create_exam(
            session,
            {"title": "Pools", "duration_seconds": 600, "audience": "everyone",
             "shuffle_options": True},
        )  # fmt: skip
        exams.set_questions(session, exam.id, [{"pool": {"tag": "pool", "count": 2, "points": 3}}])
        exams.publish(session, exam.id)
        session.commit()
        students = [make_user(session, settings) for _ in range(6)]
        admin = make_user(session, settings, role="admin")
    client = live.test_client()
    drew = {}
    for student in students:
        headers = login(client, student)
        attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
        assert attempt["max_score"] == 6 and len(attempt["questions"]) == 2
        answers = [{"question_id": q["id"], "response": "B"} for q in attempt["questions"]]
        submitted = client.post(
            f"/api/v1/attempts/{attempt['id']}/submit", json={"answers": answers}, headers=headers
        )
        assert submitted.status_code == 202
        drew[attempt["id"]] = {q["id"] for q in attempt["questions"]}
    for attempt_id in drew:
        row = wait_until(graded(committed, attempt_id), 30, "grading")
        assert (row.score, row.max_score) == (6, 6)

    changed = next(str(q.id) for q in bank if any(str(q.id) in ids for ids in drew.values()))
    admin_headers = login(client, admin)
    client.patch(
        f"/api/v1/questions/{changed}", json={"correct_answer": "A"}, headers=admin_headers
    )
    job_id = client.post(
        f"/api/v1/exams/{exam.id}/regrade", json={"dry_run": False}, headers=admin_headers
    ).get_json()["job_id"]

    def finished():
        job = client.get(f"/api/v1/jobs/{job_id}", headers=admin_headers).get_json()
        return job if job["status"] in ("succeeded", "failed") else None

    job = wait_until(finished, 60, "the regrade job")
    expected = {a for a, ids in drew.items() if changed in ids}
    assert job["status"] == "succeeded" and job["total"] == 6
    assert {
        c["attempt_id"]: (c["old_score"], c["new_score"]) for c in job["report"]["changes"]
    } == {a: (6, 3) for a in expected}
    with committed() as session:
        assert session.get(Question, changed).version == 2
        for attempt_id in drew:
            assert session.get(Attempt, attempt_id).score == (3 if attempt_id in expected else 6)
