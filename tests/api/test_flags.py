"""Review flags through the API, from attempts taken through the API and graded by the real
service: two devices at once, a fast high score, a copied pair among honest ones."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import event, update

from shared.models import Attempt, utcnow
from shared.services import grading
from tests.factories import login, make_exam, make_question, make_user


@pytest.fixture
def admin_headers(client, admin):
    return login(client, admin)


def start(client, exam, headers):
    response = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers)
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()["id"]


def save(client, attempt_id, headers, question_id, response, seq):
    answer = {"question_id": str(question_id), "response": response, "seq": seq}
    saved = client.put(
        f"/api/v1/attempts/{attempt_id}/answers", json={"answers": [answer]}, headers=headers
    )
    assert saved.status_code == 200, saved.get_json()


def submit(client, session, attempt_id, headers, answers=()):
    batch = [{"question_id": str(q), "response": r} for q, r in answers]
    response = client.post(
        f"/api/v1/attempts/{attempt_id}/submit", json={"answers": batch}, headers=headers
    )
    assert response.status_code == 202, response.get_json()
    grading.grade_submitted(session, attempt_id, utcnow())
    session.commit()


def take(client, session, settings, exam, answers, *, minutes=None):
    """A student answers and submits; `minutes`: as if the attempt had started that long
    before its submission (the history is shifted after the fact, the clock is not mocked)."""
    headers = login(client, make_user(session, settings))
    attempt_id = start(client, exam, headers)
    submit(client, session, attempt_id, headers, answers)
    if minutes is not None:
        submitted_at = session.get(Attempt, attempt_id).submitted_at
        session.execute(
            update(Attempt)
            .where(Attempt.id == attempt_id)
            .values(started_at=submitted_at - timedelta(minutes=minutes))
        )
        session.commit()
    return attempt_id


def flags_of(client, exam, headers):
    response = client.get(f"/api/v1/exams/{exam.id}/flags", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def roster_flags(client, exam, headers):
    roster = client.get(f"/api/v1/exams/{exam.id}/attempts?page_size=100", headers=headers)
    roster = roster.get_json()
    return {row["id"]: row["flags"] for row in roster}


def test_two_logins_saving_one_attempt_by_turns_are_flagged(
    client, session, settings, admin_headers
):
    exam = make_exam(session, questions=[make_question(session, "essay")])
    question = exam.items[0].question_id
    cheat = make_user(session, settings)
    laptop, phone = login(client, cheat), login(client, cheat)
    shared = start(client, exam, laptop)
    for seq, headers in enumerate((laptop, phone, laptop, phone), start=1):
        save(client, shared, headers, question, f"draft {seq}", seq)
    # One handover (the laptop died, the exam went on from a new login) is not flagged.
    honest = make_user(session, settings)
    first, second = login(client, honest), login(client, honest)
    handed_over = start(client, exam, first)
    for seq, headers in enumerate((first, first, second, second), start=1):
        save(client, handed_over, headers, question, f"draft {seq}", seq)

    found = flags_of(client, exam, admin_headers)
    assert [(f["attempt_id"], f["kind"]) for f in found] == [(shared, "concurrent_devices")]
    assert found[0]["score"] == 3  # three switches, all within two minutes
    assert "2 login sessions" in found[0]["detail"] and "127.0.0.1" in found[0]["detail"]
    assert found[0]["student_name"] == cheat.user.full_name
    flagged = roster_flags(client, exam, admin_headers)
    assert flagged == {shared: ["concurrent_devices"], handed_over: []}


def test_a_fast_high_score_is_flagged_but_not_a_fast_low_one(
    client, session, settings, admin_headers
):
    questions = [make_question(session) for _ in range(5)]
    exam = make_exam(session, questions=questions)
    ids = [item.question_id for item in exam.items]

    def answers(right):
        return [(q, "B" if k < right else "A") for k, q in enumerate(ids)]

    for minutes, right in ((30, 3), (35, 4), (40, 2), (32, 5), (38, 3)):
        take(client, session, settings, exam, answers(right), minutes=minutes)
    fast = take(client, session, settings, exam, answers(5), minutes=4)
    take(client, session, settings, exam, answers(1), minutes=3)  # fast but 20 %: no flag
    take(client, session, settings, exam, answers(4), minutes=10)  # 80 % in 28 % of the median

    found = flags_of(client, exam, admin_headers)
    assert [(f["attempt_id"], f["kind"]) for f in found] == [(fast, "fast_high_score")]
    # Durations 3 4 10 30 32 35 38 40: median (30 + 32) / 2 = 31 min; 31 / 4 = 7.75.
    assert found[0]["score"] == 7.75
    assert found[0]["detail"] == (
        "Submitted after 4 min 0 s, 13% of the median time (31 min 0 s), with 100% of the points."
    )
    assert roster_flags(client, exam, admin_headers)[fast] == ["fast_high_score"]


def test_a_copied_pair_stands_out_among_honest_random_attempts(
    client, session, settings, admin_headers
):
    options = [{"text": t} for t in ("right", "w1", "w2", "w3")]
    questions = [make_question(session, options=options, correct_answer="A") for _ in range(30)]
    exam = make_exam(session, questions=questions)
    ids = [item.question_id for item in exam.items]
    rng = random.Random(19)

    def honest():  # knows each answer with chance 0.4, else picks one of the wrong ones
        return [(q, "A" if rng.random() < 0.4 else rng.choice("BCD")) for q in ids]

    source_answers = honest()
    source = take(client, session, settings, exam, source_answers)
    copier = take(client, session, settings, exam, source_answers)
    others = [take(client, session, settings, exam, honest()) for _ in range(14)]

    found = flags_of(client, exam, admin_headers)
    assert {(f["attempt_id"], f["related_attempt_id"]) for f in found} == {
        (source, copier),
        (copier, source),
    }
    assert {f["kind"] for f in found} == {"similar_answers"}
    wrong = sum(1 for _, answer in source_answers if answer != "A")
    assert found[0]["detail"].startswith(
        f"{wrong} of the {wrong} questions both got wrong have the same wrong answer"
    )
    assert "expected" in found[0]["detail"] and "120 pairs" in found[0]["detail"]
    assert found[0]["score"] > 4  # p below 1e-4
    flagged = roster_flags(client, exam, admin_headers)
    assert flagged[source] == flagged[copier] == ["similar_answers"]
    assert all(flagged[other] == [] for other in others)


def test_students_get_403_and_an_unknown_exam_is_404(client, session, settings, admin_headers):
    exam = make_exam(session)
    student = login(client, make_user(session, settings))
    refused = client.get(f"/api/v1/exams/{exam.id}/flags", headers=student)
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    roster = client.get(f"/api/v1/exams/{exam.id}/attempts", headers=student)
    assert roster.status_code == 403
    unknown = client.get(
        "/api/v1/exams/00000000-0000-4000-8000-000000000000/flags", headers=admin_headers
    )
    assert unknown.status_code == 404 and unknown.get_json()["error"] == "not_found"
    assert flags_of(client, exam, admin_headers) == []  # an exam without attempts


def test_a_roster_page_pays_one_grouped_query_for_its_flags(
    client, session, settings, admin_headers, engine
):
    exam = make_exam(session, questions=[make_question(session, "essay")])
    question = exam.items[0].question_id
    for n in range(4):
        headers = login(client, make_user(session, settings))
        save(client, start(client, exam, headers), headers, question, f"answer {n}", 1)
    first = roster_flags(client, exam, admin_headers)  # computes the flags once
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        again = roster_flags(client, exam, admin_headers)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert again == first and len(again) == 4
    assert sum("sum(attempts.revision)" in s for s in statements) == 1
    assert not any("attempt_events" in s or "FROM answers" in s for s in statements)
