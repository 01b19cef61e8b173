"""Item analysis of 10,000 graded attempts written in bulk, with a question pool (each
question's statistics over the attempts that drew it), checked against the standard library's
statistics computed independently in the test."""

from __future__ import annotations

import random
import statistics
import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import insert

from shared.analysis import flags
from shared.analysis.items import item_analysis
from shared.models import Answer, Attempt, User, utcnow
from shared.services import exams
from tests.factories import make_question

ATTEMPTS = 10_000


def _build(session):
    """Q1 single choice (key B), Q2 true/false, then a pool of two (2 points each, one drawn)."""
    q1 = make_question(session, "single_choice")
    q2 = make_question(session, "true_false")
    pooled = [make_question(session, "single_choice", tags=["pooled"]) for _ in range(2)]
    exam = exams.create_exam(
        session, {"title": "Big", "duration_seconds": 3600, "audience": "everyone"}
    )
    exams.set_questions(
        session,
        exam.id,
        [
            {"question_id": q1.id},
            {"question_id": q2.id},
            {"pool": {"tag": "pooled", "count": 1, "points": 2}},
        ],
    )
    exams.publish(session, exam.id)
    session.commit()
    return exam, q1, q2, pooled


def _write(session, exam, q1, q2, pooled):
    """Each attempt's answers, random but with ability: a stronger student is right more often."""
    rng = random.Random(18)
    now = utcnow()
    users, attempts, answers, truth = [], [], [], []
    for i in range(ATTEMPTS):
        user_id, attempt_id = uuid.uuid4(), uuid.uuid4()
        users.append({"id": user_id, "email": f"bulk{i}@school.test", "password_hash": "x",
                      "full_name": f"Bulk {i}", "role": "student"})  # fmt: skip
        ability = rng.random()
        drawn_q = pooled[i % 2]
        r1 = "B" if rng.random() < ability else rng.choice("AC")
        r2 = rng.random() < 0.3 + 0.6 * ability
        r3 = None if rng.random() < 0.05 else ("B" if rng.random() < ability else "A")
        points = [int(r1 == "B"), int(r2 is True), 2 * int(r3 == "B")]
        for qid, response, awarded in zip(
            (q1.id, q2.id, drawn_q.id), (r1, r2, r3), points, strict=True
        ):
            answers.append({"attempt_id": attempt_id, "question_id": qid, "response": response,
                            "points_awarded": Decimal(awarded), "is_correct": bool(awarded),
                            "needs_manual": False, "saved_at": now})  # fmt: skip
        attempts.append({
            "id": attempt_id, "exam_id": exam.id, "student_id": user_id, "attempt_number": 1,
            "status": "graded", "submit_reason": "student",
            "started_at": now - timedelta(minutes=30),
            "deadline": now + timedelta(minutes=30), "expires_at": now + timedelta(minutes=31),
            "submitted_at": now + timedelta(microseconds=i), "graded_at": now,
            "last_activity_at": now, "score": Decimal(sum(points)), "max_score": Decimal(4),
            "question_order": [str(q1.id), str(q2.id), str(drawn_q.id)],
            "drawn": {str(drawn_q.id): {"entry": 3, "points": "2"}},
        })  # fmt: skip
        truth.append((i % 2, (r1, r2, r3), points))
    session.execute(insert(User), users)
    session.execute(insert(Attempt), attempts)
    session.execute(insert(Answer), answers)
    session.commit()
    return truth


def _discrimination(fractions, totals):
    """Independent of the service: sort pairs by total (stable), compare the 27 % tails."""
    size = round(0.27 * len(totals))
    ranked = [f for _, f in sorted(zip(totals, fractions, strict=True), key=lambda pair: pair[0])]
    return sum(ranked[-size:]) / size - sum(ranked[:size]) / size


def test_ten_thousand_graded_attempts_with_a_pool(session):
    exam, q1, q2, pooled = _build(session)
    truth = _write(session, exam, q1, q2, pooled)
    totals = [sum(points) for _, _, points in truth]

    found = item_analysis(session, exam.id)

    assert found["attempts"] == ATTEMPTS
    assert found["mean"] == round(statistics.fmean(totals), 4)
    assert found["median"] == statistics.median(totals)
    assert found["stdev"] == round(statistics.pstdev(totals), 4)
    # Alpha over the two questions every attempt held (the pool's draws differ).
    items = [[points[0] for _, _, points in truth], [points[1] for _, _, points in truth]]
    fixed_totals = [a + b for a, b in zip(*items, strict=True)]
    alpha = 2 * (
        1 - sum(statistics.pvariance(col) for col in items) / statistics.pvariance(fixed_totals)
    )
    assert found["reliability_items"] == 2
    assert found["reliability"] == round(alpha, 4)

    by_id = {q["question_id"]: q for q in found["questions"]}
    assert [q["question_id"] for q in found["questions"][:2]] == [str(q1.id), str(q2.id)]
    for index, question in enumerate(pooled):  # each over the 5,000 attempts that drew it
        mine = [(responses, points) for half, responses, points in truth if half == index]
        stats = by_id[str(question.id)]
        scores = [points[2] for _, points in mine]
        assert (stats["attempts"], stats["max_points"]) == (5000, 2.0)
        assert stats["omitted"] == sum(1 for responses, _ in mine if responses[2] is None)
        assert stats["facility"] == round(statistics.fmean(s / 2 for s in scores), 4)
        rest = [sum(points) - points[2] for _, points in mine]
        assert stats["point_biserial"] == round(statistics.correlation(scores, rest), 4)
        own_totals = [sum(points) for _, points in mine]
        expected = _discrimination([s / 2 for s in scores], own_totals)
        assert stats["discrimination"] == round(expected, 4)
        chosen = {o["id"]: o["chosen"] for o in stats["options"]}
        assert chosen["B"] == sum(1 for responses, _ in mine if responses[2] == "B")
    q2_stats = by_id[str(q2.id)]
    assert [o["chosen"] for o in q2_stats["options"]] == [
        sum(1 for _, responses, _ in truth if responses[1] is True),
        sum(1 for _, responses, _ in truth if responses[1] is False),
    ]
    assert sum(b["count"] for b in found["histogram"]) == ATTEMPTS
    assert found["histogram"][9]["count"] == totals.count(4)  # 100 % lands in the last bin


def test_review_flags_of_ten_thousand_honest_attempts_are_none(session):
    """Every attempt took 30 minutes, saved from one device, and with three choice questions
    no number of identical wrong answers could stand out among 5e7 pairs: no flag, and no
    pair is even examined (the prefix filter needs 33 identical wrong answers)."""
    exam, q1, q2, pooled = _build(session)
    _write(session, exam, q1, q2, pooled)
    assert flags.exam_flags(session, exam.id) == []
