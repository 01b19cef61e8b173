"""The grading, regrade and notification services on the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from shared.cache import MemoryCache
from shared.errors import Conflict, InvalidInput
from shared.models import Answer, Attempt, AttemptEvent, Notification
from shared.services import attempts, grading, notifications, questions, results
from tests.factories import make_exam, make_question, make_user

NOW = datetime.now(UTC)
CORRECT = {
    "single_choice": "B", "multiple_choice": ["A", "C"], "true_false": True,
    "short_text": "  jupiter ", "numeric": 0.3, "essay": "Leaves make sugar.",
}  # fmt: skip


@pytest.fixture
def exam_questions(session):
    return {kind: make_question(session, kind) for kind in CORRECT}


def submitted_attempt(session, settings, exam, responses):
    """A real attempt: started, saved and submitted through the services."""
    student = make_user(session, settings)
    attempt, _ = attempts.start_attempt(
        session, MemoryCache(), exam_id=exam.id, student_id=student.user.id, now=NOW
    )
    answers = [{"question_id": str(qid), "response": r} for qid, r in responses.items()]
    attempts.submit(session, MemoryCache(), attempt, answers, NOW + timedelta(seconds=5))
    session.commit()
    return attempt


def test_grading_scores_every_type_and_writes_totals(session, settings, exam_questions):
    exam = make_exam(session, questions=list(exam_questions.values()))
    responses = {exam_questions[k].id: v for k, v in CORRECT.items()}
    responses[exam_questions["multiple_choice"].id] = ["A"]  # partial: 1 of 2 right
    attempt = submitted_attempt(session, settings, exam, responses)

    graded = grading.grade_submitted(session, attempt.id, NOW + timedelta(seconds=6))
    session.commit()
    assert graded is not None and graded.status == "graded"
    # 1 + (2 * 1/2) + 1 + 1 + 1.5, the essay waits for a human
    assert graded.score == Decimal("5.50") and graded.max_score == Decimal("11.5")
    assert graded.pending_manual == 1
    by_question = {
        a.question_id: a
        for a in session.scalars(select(Answer).where(Answer.attempt_id == attempt.id))
    }
    assert by_question[exam_questions["multiple_choice"].id].points_awarded == Decimal("1.00")
    assert by_question[exam_questions["multiple_choice"].id].is_correct is False
    essay = by_question[exam_questions["essay"].id]
    assert essay.points_awarded is None and essay.needs_manual and essay.is_correct is None
    assert {a.key_version for a in by_question.values()} == {1}


def test_a_second_delivery_is_a_no_op(session, settings, exam_questions):
    exam = make_exam(session, questions=[exam_questions["single_choice"]])
    attempt = submitted_attempt(session, settings, exam, {exam_questions["single_choice"].id: "B"})
    assert grading.grade_submitted(session, attempt.id, NOW) is not None
    assert grading.grade_submitted(session, attempt.id, NOW) is None
    session.commit()
    graded_events = session.scalar(
        select(func.count()).where(
            AttemptEvent.attempt_id == attempt.id, AttemptEvent.kind == "graded"
        )
    )
    assert graded_events == 1


def test_unanswered_questions_score_zero_and_are_listed(session, settings, exam_questions):
    exam = make_exam(session, questions=[exam_questions["numeric"], exam_questions["true_false"]])
    attempt = submitted_attempt(session, settings, exam, {})
    graded = grading.grade_submitted(session, attempt.id, NOW)
    assert graded.score == 0 and graded.pending_manual == 0
    rows = session.scalars(select(Answer).where(Answer.attempt_id == attempt.id)).all()
    assert len(rows) == 2 and all(r.points_awarded == 0 and r.response is None for r in rows)


def test_an_essay_graded_by_hand_updates_the_total_at_once(
    session, settings, admin_user, exam_questions
):
    exam = make_exam(session, questions=[exam_questions["essay"], exam_questions["true_false"]])
    attempt = submitted_attempt(session, settings, exam, {exam_questions["true_false"].id: True})
    with pytest.raises(Conflict):  # not graded automatically yet
        grading.grade_by_hand(session, attempt.id, exam_questions["essay"].id, points=Decimal(1),
                              feedback=None, grader_id=admin_user.id, now=NOW)  # fmt: skip
    grading.grade_submitted(session, attempt.id, NOW)
    with pytest.raises(InvalidInput):
        grading.grade_by_hand(session, attempt.id, exam_questions["essay"].id, points=Decimal(6),
                              feedback=None, grader_id=admin_user.id, now=NOW)  # fmt: skip
    graded = grading.grade_by_hand(
        session, attempt.id, exam_questions["essay"].id, points=Decimal("3.5"),
        feedback="Good start", grader_id=admin_user.id, now=NOW,
    )  # fmt: skip
    assert graded.score == Decimal("4.5") and graded.pending_manual == 0


def test_regrade_with_new_keys_dry_run_and_real(session, settings, admin_user, exam_questions):
    question = exam_questions["single_choice"]
    essay = exam_questions["essay"]
    exam = make_exam(session, questions=[question, essay])
    attempt = submitted_attempt(session, settings, exam, {question.id: "A", essay.id: "x"})
    grading.grade_submitted(session, attempt.id, NOW)
    grading.grade_by_hand(session, attempt.id, essay.id, points=Decimal(2), feedback=None,
                          grader_id=admin_user.id, now=NOW)  # fmt: skip
    assert session.get(Attempt, attempt.id).score == Decimal(2)
    questions.update_question(session, question.id, {"correct_answer": "A"})  # the key was wrong
    keys = grading.exam_keys(session, exam.id)
    assert keys[str(question.id)]["version"] == 2

    dry = grading.regrade(session, attempt.id, keys, NOW, dry_run=True)
    assert (dry.old, dry.new) == (Decimal(2), Decimal(3))
    session.expire_all()
    assert session.get(Attempt, attempt.id).score == Decimal(2)  # a dry run writes nothing

    real = grading.regrade(session, attempt.id, keys, NOW, dry_run=False)
    assert (real.old, real.new) == (Decimal(2), Decimal(3))
    session.expire_all()
    assert session.get(Attempt, attempt.id).score == Decimal(3)  # the essay's 2 points stayed
    assert session.get(Answer, (attempt.id, question.id)).key_version == 2


def test_result_notifications_follow_the_release_mode(session, settings, exam_questions):
    q = exam_questions["true_false"]
    immediate = make_exam(session, questions=[q])
    manual = make_exam(session, questions=[q], results_release="manual")
    for exam in (immediate, manual):
        attempt = submitted_attempt(session, settings, exam, {q.id: True})
        graded = grading.grade_submitted(session, attempt.id, NOW)
        created = notifications.on_graded(session, graded, NOW)
        assert len(created) == (1 if exam is immediate else 0)
    assert len(results.release(session, manual.id, NOW)) == 1
    assert results.release(session, manual.id, NOW) == []  # told once, however often released
    body = session.scalars(
        select(Notification.body).where(Notification.kind == "result_released")
    ).all()
    assert body == ["You scored 1 / 1.", "You scored 1 / 1."]


def test_stale_submissions_are_claimed_for_a_resend(session, settings, exam_questions):
    exam = make_exam(session, questions=[exam_questions["true_false"]])
    attempt = submitted_attempt(session, settings, exam, {})
    later = NOW + timedelta(seconds=60)
    assert grading.claim_ungraded(session, later, older_than_seconds=10) == [attempt.id]
    assert grading.claim_ungraded(session, later, older_than_seconds=10) == []  # just re-sent
    assert grading.claim_ungraded(
        session, later + timedelta(seconds=11), older_than_seconds=10
    ) == [attempt.id]


@pytest.fixture
def admin_user(session, settings):
    return make_user(session, settings, role="admin").user


def test_an_email_interrupted_mid_send_is_never_retried_but_shows_as_failed(
    session, settings, exam_questions
):
    exam = make_exam(session, questions=[exam_questions["true_false"]])
    attempt = submitted_attempt(session, settings, exam, {exam_questions["true_false"].id: True})
    graded = grading.grade_submitted(session, attempt.id, NOW)
    (notification_id,) = notifications.on_graded(session, graded, NOW)
    assert notifications.claim_email(session, notification_id, NOW) is not None
    assert (
        notifications.claim_email(session, notification_id, NOW) is None
    )  # claimed: no second send
    # The sender died before it could record the outcome.
    assert (
        notifications.give_up_interrupted(
            session, NOW + timedelta(minutes=5), timedelta(minutes=10)
        )
        == 0
    )
    assert (
        notifications.give_up_interrupted(
            session, NOW + timedelta(minutes=11), timedelta(minutes=10)
        )
        == 1
    )
    session.expire_all()
    row = session.get(Notification, notification_id)
    assert row.email_status == "failed" and "may or may not" in row.email_error
    assert notifications.claim_email(session, notification_id, NOW) is None


def test_cached_keys_follow_a_key_edit_at_once(session, settings, exam_questions):
    question = exam_questions["single_choice"]
    exam = make_exam(session, questions=[question], max_attempts=2)
    first = submitted_attempt(session, settings, exam, {question.id: "A"})
    assert grading.grade_submitted(session, first.id, NOW).score == 0  # keys now cached
    questions.update_question(session, question.id, {"correct_answer": "A"})
    second = submitted_attempt(session, settings, exam, {question.id: "A"})
    assert grading.grade_submitted(session, second.id, NOW).score == 1  # the new key
