"""Grading a batch of submitted attempts in one go: the same results as one by one, one
bad attempt doesn't hold back the others, and a redelivered task is a no-op."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from shared.models import Answer, Attempt, AttemptEvent, Exam, JobItem, Notification
from shared.services import batch_grading, grading, notifications, questions, regrades
from tests.factories import make_exam, make_question, make_user
from tests.integration.test_grading_service import CORRECT, NOW, submitted_attempt

WRONG = {"single_choice": "A", "multiple_choice": ["A"], "true_false": False,
         "short_text": "mars", "numeric": 7, "essay": "No idea."}  # fmt: skip
LATER = NOW + timedelta(seconds=6)


def graded_state(session, attempt_id):
    attempt = session.get(Attempt, attempt_id, populate_existing=True)
    answers = session.execute(
        select(Answer.question_id, Answer.points_awarded, Answer.is_correct, Answer.needs_manual,
               Answer.key_version, Answer.graded_at)
        .where(Answer.attempt_id == attempt_id).order_by(Answer.question_id)
    ).all()  # fmt: skip
    events = session.scalars(
        select(AttemptEvent.data).where(
            AttemptEvent.attempt_id == attempt_id, AttemptEvent.kind == "graded"
        )
    ).all()
    return (attempt.status, attempt.score, attempt.max_score, attempt.pending_manual,
            attempt.revision, answers, events)  # fmt: skip


def make_pairs(session, settings, count=4):
    qs = {kind: make_question(session, kind) for kind in CORRECT}
    exam = make_exam(session, questions=list(qs.values()))
    pairs = []
    for n in range(count):
        # A mix of right, wrong and unanswered questions, the same for both of a pair.
        responses = {
            qs[k].id: (CORRECT if (i + n) % 2 else WRONG)[k]
            for i, k in enumerate(CORRECT)
            if (i + n) % 3
        }
        pairs.append(tuple(submitted_attempt(session, settings, exam, responses) for _ in "ab"))
    return pairs


def test_a_batch_grades_like_one_by_one(session, settings):
    pairs = make_pairs(session, settings)
    for one, _ in pairs:
        graded = grading.grade_submitted(session, one.id, LATER)
        notifications.on_graded(session, graded, LATER)
    batch = batch_grading.grade_waiting(session, pairs[0][1].id, LATER)
    created = notifications.on_graded_many(session, batch.graded, LATER)
    session.flush()
    assert {g.id for g in batch.graded} == {b.id for _, b in pairs} and not batch.failed
    assert len(created) == len(pairs)
    for one, other in pairs:
        assert graded_state(session, one.id) == graded_state(session, other.id)
        bodies = [
            session.scalar(
                select(Notification.body).where(Notification.dedupe_key == f"result:{a.id}")
            )
            for a in (one, other)
        ]
        assert bodies[0] == bodies[1] is not None


def test_a_redelivered_batch_is_a_no_op(session, settings):
    pairs = make_pairs(session, settings, count=2)
    attempt = pairs[0][0]
    first = batch_grading.grade_waiting(session, attempt.id, LATER)
    notifications.on_graded_many(session, first.graded, LATER)
    assert len(first.graded) == 4
    again = batch_grading.grade_waiting(session, attempt.id, LATER)
    assert again.graded == [] and again.failed == []
    assert notifications.on_graded_many(session, first.graded, LATER) == []  # deduplicated
    session.flush()
    events = session.scalar(
        select(func.count()).where(AttemptEvent.kind == "graded", AttemptEvent.attempt_id.in_(
            [a.id for pair in pairs for a in pair]))
    )  # fmt: skip
    assert events == 4


def test_one_attempt_failing_does_not_block_the_others(session, settings, monkeypatch):
    pairs = make_pairs(session, settings, count=2)
    bad = pairs[1][0]
    compute = grading._compute

    def broken(attempt, *args, **kwargs):
        if attempt.id == bad.id:
            raise ValueError("a bad attempt")
        return compute(attempt, *args, **kwargs)

    monkeypatch.setattr(grading, "_compute", broken)
    batch = batch_grading.grade_waiting(session, bad.id, LATER)
    assert batch.failed == [bad.id]
    assert len(batch.graded) == 3
    session.flush()
    assert session.get(Attempt, bad.id, populate_existing=True).status == "submitted"
    monkeypatch.setattr(grading, "_compute", compute)
    retried = batch_grading.grade_waiting(session, bad.id, LATER)  # what the sweep's resend does
    assert [g.id for g in retried.graded] == [bad.id]


def regrade_job(session, exam, admin_id, now):
    job = regrades.create_regrade(session, exam.id, dry_run=False, admin_id=admin_id)
    chunks = regrades.start(session, job.id, now)
    return job, [i for chunk in chunks for i in chunk]


def regraded_state(session, job, attempt_id):
    item = session.get(JobItem, (job.id, attempt_id), populate_existing=True)
    regraded = session.scalars(
        select(AttemptEvent.data).where(
            AttemptEvent.attempt_id == attempt_id, AttemptEvent.kind == "regraded"
        )
    ).all()
    notices = session.scalars(
        select(Notification.body).where(
            Notification.dedupe_key == f"score:{attempt_id}:regrade:{job.id}"
        )
    ).all()
    item_state = (item.ok, item.changed, item.old_score, item.new_score, item.kept_manual)
    state = graded_state(session, attempt_id)
    return state[:4], state[5], item_state, [{**e, "job_id": None} for e in regraded], notices


def test_a_regrade_chunk_in_bulk_writes_what_one_by_one_does(session, settings):
    admin = make_user(session, settings, role="admin").user
    pairs = make_pairs(session, settings)
    batch_grading.grade_waiting(session, None, LATER, limit=100)
    session.expire_all()  # a task starts with a fresh session
    exam_id = session.get(Attempt, pairs[0][0].id).exam_id
    exam = session.get(Exam, exam_id)
    for q in exam.items:  # every key changes: the right answers are now wrong
        if q.question.type == "true_false":
            questions.update_question(session, q.question_id, {"correct_answer": False})
    later = LATER + timedelta(seconds=1)
    job, _ = regrade_job(session, exam, admin.id, later)
    ones, others = [one.id for one, _ in pairs], [other.id for _, other in pairs]
    exam = session.get(Exam, exam_id)
    regrades._run_one_by_one(session, job, exam, ones, later)
    created = regrades.run_chunk(session, job.id, others, later)
    assert regrades.run_chunk(session, job.id, others, later) == []  # redelivered: a no-op
    session.flush()
    assert created
    for one, other in zip(ones, others, strict=True):
        assert regraded_state(session, job, one) == regraded_state(session, job, other)
    assert regrades.refresh(session, job.id, later).done == 2 * len(pairs)
