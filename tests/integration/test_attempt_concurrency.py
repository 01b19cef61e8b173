"""Races against the real database: threads, real commits, no savepoint to hide behind."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from shared.models import Answer, Attempt, AttemptEvent
from shared.services import expiry
from tests.factories import login, make_exam, make_question, make_user

THREADS = 8


@pytest.fixture
def live(app, committed):
    app.extensions["exam.session_factory"] = committed
    return app


def race(count, fn):
    """Run fn(i) in `count` threads released at the same instant."""
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_concurrent_starts_create_one_attempt(live, committed, settings):
    with committed() as session:
        exam = make_exam(session)
        student = make_user(session, settings)
    headers = login(live.test_client(), student)

    def start(_):
        response = live.test_client().post(f"/api/v1/exams/{exam.id}/attempts", headers=headers)
        return response.status_code, response.get_json()["id"]

    results = race(THREADS, start)
    assert len({attempt_id for _, attempt_id in results}) == 1
    assert Counter(code for code, _ in results) == {201: 1, 200: THREADS - 1}
    with committed() as session:
        assert session.scalar(select(func.count()).select_from(Attempt)) == 1


def test_four_tabs_starting_at_once_all_get_the_one_attempt(live, committed, settings):
    """A student opens the exam in four tabs at once, 30 times over (30 students): each time
    one 201 and three 200 with the same attempt, never 409 attempt_limit_reached (one
    tab's start committed between another's look for a running attempt and its count)."""
    with committed() as session:
        exam = make_exam(session)
        students = [make_user(session, settings) for _ in range(30)]
    outcomes = Counter()
    for student in students:
        headers = login(live.test_client(), student)

        def start(_, headers=headers):
            response = live.test_client().post(f"/api/v1/exams/{exam.id}/attempts", headers=headers)
            body = response.get_json()
            return response.status_code, body.get("id") or body.get("error")

        results = race(4, start)
        outcomes[tuple(sorted(code for code, _ in results))] += 1
        assert len({attempt for _, attempt in results}) == 1, results
    assert outcomes == {(200, 200, 200, 201): 30}


def test_concurrent_submits_have_exactly_one_winner(live, committed, settings):
    with committed() as session:
        exam = make_exam(session)
        student = make_user(session, settings)
    client = live.test_client()
    headers = login(client, student)
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    qid = attempt["questions"][0]["id"]

    def submit(i):
        body = {"answers": [{"question_id": qid, "response": "ABC"[i % 3], "seq": i}]}
        response = live.test_client().post(
            f"/api/v1/attempts/{attempt['id']}/submit", json=body, headers=headers
        )
        return response.status_code, (response.get_json() or {}).get("error")

    results = race(THREADS, submit)
    assert Counter(results) == {(202, None): 1, (409, "already_submitted"): THREADS - 1}
    with committed() as session:
        kinds = session.scalars(
            select(AttemptEvent.kind).where(AttemptEvent.attempt_id == attempt["id"])
        )
        assert Counter(kinds)["submitted"] == 1


def test_no_answer_is_written_after_the_submit(live, committed, settings):
    """Saves racing a submit either land before it or are refused: never after."""
    with committed() as session:
        exam = make_exam(session, questions=[make_question(session, "essay")])
        student = make_user(session, settings)
    client = live.test_client()
    headers = login(client, student)
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    qid = attempt["questions"][0]["id"]

    def act(i):
        c = live.test_client()
        if i == THREADS // 2:
            return c.post(
                f"/api/v1/attempts/{attempt['id']}/submit", json={}, headers=headers
            ).status_code
        body = {"answers": [{"question_id": qid, "response": f"draft {i}", "seq": i}]}
        return c.put(
            f"/api/v1/attempts/{attempt['id']}/answers", json=body, headers=headers
        ).status_code

    codes = race(THREADS, act)
    assert set(codes) <= {200, 202, 409} and codes.count(202) == 1
    with committed() as session:
        row = session.get(Attempt, attempt["id"])
        answer = session.get(Answer, (row.id, qid))
        assert row.status == "submitted"
        assert answer is None or answer.saved_at <= row.submitted_at


def test_two_sweeps_at_once_expire_every_attempt_exactly_once(committed, settings):
    """Two beats by mistake: SKIP LOCKED splits the work; nobody is expired twice."""
    now = datetime.now(UTC)
    with committed() as session:
        exam = make_exam(session)
        students = [make_user(session, settings) for _ in range(30)]
        for index, student in enumerate(students):
            for number in range(1, 11):
                session.add(
                    Attempt(
                        exam_id=exam.id, student_id=student.user.id, attempt_number=number,
                        status="in_progress" if number == 10 else "graded",
                        question_order=[], deadline=now - timedelta(minutes=1),
                        expires_at=now - timedelta(seconds=index + 1),
                    )
                )  # fmt: skip
        session.commit()

    def sweep(_):
        total = 0
        while True:
            with committed.begin() as session:
                ids = expiry.sweep(session, datetime.now(UTC), limit=7)
            total += len(ids)
            if not ids:
                return total

    totals = race(2, sweep)
    assert sum(totals) == 30
    with committed() as session:
        expired = session.scalars(
            select(AttemptEvent.attempt_id).where(AttemptEvent.kind == "expired")
        )
        assert Counter(Counter(expired).values()) == {1: 30}
        statuses = session.execute(
            select(Attempt.submit_reason, func.count())
            .where(Attempt.attempt_number == 10)
            .group_by(Attempt.submit_reason)
        ).all()
        assert statuses == [("timeout", 30)]
