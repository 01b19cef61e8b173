"""Grade passback: a launch, an attempt, grading, the release; the score reaches the
simulated platform's line item with a token got by our signed client assertion."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from shared.interop.lti import grades
from shared.interop.lti.models import GradePostStatus, LtiGradePost
from shared.models import ExamQuestion, utcnow
from shared.services import grading, notifications
from tests.api.lti.steps import exchange, launch
from tests.factories import bearer, login, make_exam, make_user

pytestmark = pytest.mark.usefixtures("registered")


@pytest.fixture
def exam(session):  # type: ignore[no-untyped-def]
    return make_exam(session, audience="assigned", title="Algebra", results_release="manual")


def sit(client, session, exam, headers) -> str:  # type: ignore[no-untyped-def]
    """Start, answer the one question right, submit; then what the grading task does."""
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    question_id = attempt["questions"][0]["id"]
    submitted = client.post(
        f"/api/v1/attempts/{attempt['id']}/submit",
        json={"answers": [{"question_id": question_id, "response": "B"}]},
        headers=headers,
    )
    assert submitted.status_code == 202, submitted.get_json()
    graded = grading.grade_submitted(session, attempt["id"], utcnow())
    notifications.on_graded(session, graded, utcnow())
    session.commit()
    return attempt["id"]


def deliver_due(session, settings, now=None) -> list[str]:  # type: ignore[no-untyped-def]
    """What the sweep and the send task do, in-process (the HTTP calls are real)."""
    now = now or utcnow()
    outcomes = []
    for post_id in grades.due(session, now):
        claimed = grades.claim(session, post_id, now)
        assert claimed is not None
        session.commit()
        outcomes.append(grades.record(session, post_id, grades.send(settings, claimed), now))
        session.commit()
    return outcomes


def posts(session) -> list[LtiGradePost]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(LtiGradePost)))


def test_scores_go_back_once_results_are_released(client, session, settings, platform, admin, exam):
    code = launch(client, platform, sub="learner-7", custom={"exam_id": str(exam.id)})
    signed_in = exchange(client, code).get_json()
    attempt_id = sit(client, session, exam, bearer(signed_in["access_token"]))
    # A classmate who signs in with a password, not through the platform: no grade post.
    outsider = make_user(session, settings)
    assign = {"user_ids": [str(outsider.user.id), signed_in["user"]["id"]], "group_ids": []}
    assigned = client.put(f"/api/v1/exams/{exam.id}/assignees", json=assign,
                          headers=login(client, admin))  # fmt: skip
    assert assigned.status_code == 200, assigned.get_json()
    sit(client, session, exam, login(client, outsider))
    assert posts(session) == []  # graded, but not released: the gradebook waits too

    released = client.post(f"/api/v1/exams/{exam.id}/release-results", headers=login(client, admin))
    assert released.status_code == 200
    [post] = posts(session)
    assert (str(post.attempt_id), post.status, post.sub) == (attempt_id, "pending", "learner-7")

    assert deliver_due(session, settings) == [GradePostStatus.SENT]
    assert platform.assertion_errors == []
    [score] = platform.scores
    assert score["path"] == "/lineitems/1/lineitem/scores?type_id=7"
    assert score["userId"] == "learner-7"
    assert (score["scoreGiven"], score["scoreMaximum"]) == (1.0, 1.0)
    assert score["activityProgress"] == "Completed"
    assert score["gradingProgress"] == "FullyGraded"
    assert score["timestamp"].startswith(str(utcnow().year))
    # Released again: the same score is not posted twice.
    client.post(f"/api/v1/exams/{exam.id}/release-results", headers=login(client, admin))
    assert len(posts(session)) == 1
    assert deliver_due(session, settings) == []


def test_a_failed_post_is_tried_again_after_the_back_off(
    client, session, settings, platform, admin, exam
):
    token = exchange(client, launch(client, platform, custom={"exam_id": str(exam.id)}))
    sit(client, session, exam, bearer(token.get_json()["access_token"]))
    client.post(f"/api/v1/exams/{exam.id}/release-results", headers=login(client, admin))
    platform.score_failures = 1
    assert deliver_due(session, settings) == [GradePostStatus.PENDING]
    [post] = posts(session)
    session.refresh(post)
    assert (post.tries, post.response_code) == (1, 503)
    assert post.next_try_at > utcnow()
    assert deliver_due(session, settings) == []  # not due yet
    assert deliver_due(session, settings, post.next_try_at + timedelta(seconds=1)) == ["sent"]
    assert len(platform.scores) == 1


def test_a_platform_that_cannot_verify_our_assertion_gets_no_score(
    client, session, settings, platform, admin, exam
):
    token = exchange(client, launch(client, platform, custom={"exam_id": str(exam.id)}))
    sit(client, session, exam, bearer(token.get_json()["access_token"]))
    client.post(f"/api/v1/exams/{exam.id}/release-results", headers=login(client, admin))
    # The platform checks assertions against a key set that is not ours: refused (401).
    platform.tool_jwks_url = platform.url + "/jwks"
    assert deliver_due(session, settings) == [GradePostStatus.PENDING]
    assert platform.scores == []
    assert platform.assertion_errors
    [post] = posts(session)
    session.refresh(post)
    assert post.response_code == 401


def test_a_score_with_answers_waiting_for_a_teacher_is_not_final(
    client, session, settings, platform, admin
):
    from tests.factories import make_question

    questions = [make_question(session), make_question(session, "essay")]
    exam = make_exam(session, audience="assigned", results_release="immediate", questions=questions)
    token = exchange(client, launch(client, platform, custom={"exam_id": str(exam.id)}))
    sit(client, session, exam, bearer(token.get_json()["access_token"]))  # graded: visible now
    assert deliver_due(session, settings) == [GradePostStatus.SENT]
    [score] = platform.scores
    assert score["gradingProgress"] == "PendingManual"
    assert score["scoreMaximum"] == 6.0  # 1 + the essay's 5
    # The teacher grades the essay: the gradebook gets the final score, not a stale pending one.
    attempt_id = posts(session)[0].attempt_id
    essay = str(questions[1].id)
    graded = client.put(f"/api/v1/attempts/{attempt_id}/answers/{essay}/grade",
                        json={"points": 4}, headers=login(client, admin))  # fmt: skip
    assert graded.status_code == 200, graded.get_json()
    assert deliver_due(session, settings) == [GradePostStatus.SENT]
    final = platform.scores[-1]
    assert (final["scoreGiven"], final["gradingProgress"]) == (5.0, "FullyGraded")


def test_a_redelivered_task_sends_nothing_twice_and_a_crashed_try_is_taken_again(
    client, session, settings, platform, admin, exam
):
    token = exchange(client, launch(client, platform, custom={"exam_id": str(exam.id)}))
    sit(client, session, exam, bearer(token.get_json()["access_token"]))
    client.post(f"/api/v1/exams/{exam.id}/release-results", headers=login(client, admin))
    [post_id] = grades.due(session, utcnow())
    assert grades.claim(session, post_id, utcnow()) is not None
    session.commit()
    assert grades.claim(session, post_id, utcnow()) is None  # the same message again
    # The worker died mid-try: after the stale-claim time the post is due again.
    later = utcnow() + grades.STALE_CLAIM + timedelta(seconds=1)
    assert grades.due(session, later) == [post_id]
    assert deliver_due(session, settings, later) == [GradePostStatus.SENT]
    assert len(platform.scores) == 1


def test_an_immediate_exam_graded_by_the_batch_grader_queues_its_score(
    client, session, settings, platform
):
    """The worker's path: grade_waiting + on_graded_many (a batch of GradedAttempt rows)."""
    from shared.services import batch_grading

    exam = make_exam(session, audience="assigned", results_release="immediate")
    token = exchange(client, launch(client, platform, custom={"exam_id": str(exam.id)}))
    headers = bearer(token.get_json()["access_token"])
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    answer = [{"question_id": attempt["questions"][0]["id"], "response": "A"}]  # wrong
    client.post(f"/api/v1/attempts/{attempt['id']}/submit", json={"answers": answer},
                headers=headers)  # fmt: skip
    now = utcnow()
    batch = batch_grading.grade_waiting(session, uuid.UUID(attempt["id"]), now)
    notifications.on_graded_many(session, batch.graded, now)
    session.commit()
    assert deliver_due(session, settings) == [GradePostStatus.SENT]
    [score] = platform.scores
    assert (score["scoreGiven"], score["scoreMaximum"]) == (0.0, 1.0)


def test_a_post_given_up_is_listed_and_sent_again_on_request(
    client, session, settings, platform, admin, exam
):
    from shared.events.retry import GIVE_UP_AFTER

    token = exchange(client, launch(client, platform, custom={"exam_id": str(exam.id)}))
    sit(client, session, exam, bearer(token.get_json()["access_token"]))
    headers = login(client, admin)
    client.post(f"/api/v1/exams/{exam.id}/release-results", headers=headers)
    platform.score_failures = 1
    assert deliver_due(session, settings, utcnow() + GIVE_UP_AFTER) == [GradePostStatus.FAILED]
    [failed] = client.get("/api/v1/lti/grade-posts?status=failed", headers=headers).get_json()
    assert (failed["response_code"], failed["tries"], failed["sub"]) == (503, 1, "learner-1")
    assert client.get("/api/v1/lti/grade-posts?status=sent", headers=headers).get_json() == []
    again = client.post(f"/api/v1/lti/grade-posts/{failed['id']}/retry", json={}, headers=headers)
    assert again.status_code == 200 and again.get_json()["status"] == "pending"
    assert deliver_due(session, settings) == [GradePostStatus.SENT]
    assert len(platform.scores) == 1
    sent = client.post(f"/api/v1/lti/grade-posts/{failed['id']}/retry", json={}, headers=headers)
    assert sent.status_code == 409


def test_a_regrade_after_release_and_its_rollback_reach_the_gradebook(
    client, session, settings, platform, admin, exam
):
    """A corrected key changes a released score: the platform hears the new one, and the
    old one again when the regrade is rolled back (bulk jobs, not only single grades)."""
    from tests.api.test_regrade_rollback import run

    code = launch(client, platform, sub="learner-9", custom={"exam_id": str(exam.id)})
    sit(client, session, exam, bearer(exchange(client, code).get_json()["access_token"]))
    admin_headers = login(client, admin)
    client.post(f"/api/v1/exams/{exam.id}/release-results", headers=admin_headers)
    assert deliver_due(session, settings) == [GradePostStatus.SENT]

    question_id = session.scalar(
        select(ExamQuestion.question_id).where(ExamQuestion.exam_id == exam.id)
    )
    fixed = client.patch(f"/api/v1/questions/{question_id}",
                         json={"correct_answer": "A"}, headers=admin_headers)  # fmt: skip
    assert fixed.status_code == 200, fixed.get_json()
    job = client.post(f"/api/v1/exams/{exam.id}/regrade", json={"dry_run": False},
                      headers=admin_headers).get_json()  # fmt: skip
    run(session, job["job_id"])
    assert deliver_due(session, settings) == [GradePostStatus.SENT]
    undo = client.post(f"/api/v1/jobs/{job['job_id']}/rollback", headers=admin_headers)
    assert undo.status_code == 202, undo.get_json()
    run(session, undo.get_json()["job_id"])
    assert deliver_due(session, settings) == [GradePostStatus.SENT]
    given = [(s["userId"], s["scoreGiven"]) for s in platform.scores]
    assert given == [("learner-9", 1.0), ("learner-9", 0.0), ("learner-9", 1.0)]
