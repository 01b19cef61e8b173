"""Rolling back a regrade through the API: real attempts, a real regrade after a key
changed, then POST /jobs/{id}/rollback. The jobs run in-process here (what the bulk worker
does); tests/e2e/test_regrade_rollback.py runs them on a real Celery worker."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from shared.events.models import OutboxEvent
from shared.models import Answer, AttemptEvent, Exam, Job, utcnow
from shared.models.job import ReplacedGrades
from shared.services import grading, notifications, regrades
from shared.trust import rollbacks
from tests.factories import login, make_exam, make_question, make_user


@pytest.fixture
def admin_headers(client, admin):
    return login(client, admin)


def take(client, session, settings, exam, responses):
    """A student answers every question (in exam order) and submits; graded in-process."""
    student = make_user(session, settings)
    headers = login(client, student)
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    answers = [
        {"question_id": str(item.question_id), "response": r}
        for item, r in zip(exam.items, responses, strict=True)
    ]
    client.post(
        f"/api/v1/attempts/{attempt['id']}/submit", json={"answers": answers}, headers=headers
    )
    graded = grading.grade_submitted(session, attempt["id"], utcnow())
    notifications.on_graded(session, graded, utcnow())
    session.commit()
    return attempt["id"], headers


def run(session, job_id, *, twice=False, one_by_one=False):
    """What the bulk worker does, in-process: start, every chunk (twice: a redelivery; one
    by one: the path taken when a chunk's bulk write fails), recount."""
    session.expire_all()
    job = session.get(Job, job_id)
    service = rollbacks if job.kind == rollbacks.ROLLBACK else regrades
    for chunk in service.start(session, job.id, utcnow()) or []:
        for _ in range(2 if twice else 1):
            if one_by_one:
                exam = session.get(Exam, job.exam_id)
                regrades._run_one_by_one(session, job, exam, chunk, utcnow())
            else:
                service.run_chunk(session, job.id, chunk, utcnow())
            regrades.refresh(session, job.id, utcnow())
    session.commit()
    session.expire_all()


def grades(session, attempt_id):
    """Every answer's stored grade, by question id."""
    rows = session.scalars(select(Answer).where(Answer.attempt_id == uuid.UUID(attempt_id)))
    return {
        str(a.question_id): (
            a.points_awarded,
            a.is_correct,
            a.key_version,
            a.graded_by,
            a.graded_at,
        )
        for a in rows
    }


def score(client, headers, attempt_id):
    return client.get(f"/api/v1/attempts/{attempt_id}/result", headers=headers).get_json()["score"]


@pytest.fixture
def regraded(client, session, settings, admin_headers):
    return regrade_after_a_key_fix(client, session, settings, admin_headers)


def regrade_after_a_key_fix(client, session, settings, admin_headers, *, one_by_one=False):
    """Two questions keyed B, three graded attempts, both keys changed to A, a real regrade."""
    q1, q2 = make_question(session), make_question(session)
    exam = make_exam(session, questions=[q1, q2])
    ids = {}
    for name, responses in (("right", ["B", "B"]), ("wrong", ["A", "A"]), ("half", ["B", "A"])):
        ids[name] = take(client, session, settings, exam, responses)
    original = {name: grades(session, attempt_id) for name, (attempt_id, _) in ids.items()}
    for q in (q1, q2):
        client.patch(
            f"/api/v1/questions/{q.id}", json={"correct_answer": "A"}, headers=admin_headers
        )
    job_id = client.post(
        f"/api/v1/exams/{exam.id}/regrade", json={"dry_run": False}, headers=admin_headers
    ).get_json()["job_id"]
    run(session, job_id, one_by_one=one_by_one)
    scores = {name: score(client, admin_headers, a) for name, (a, _) in ids.items()}
    assert scores == {"right": 0, "wrong": 2, "half": 1}  # the regrade really changed them
    return {"exam": exam, "q1": q1, "job_id": job_id, "ids": ids, "original": original}


def rollback(client, headers, job_id):
    return client.post(f"/api/v1/jobs/{job_id}/rollback", headers=headers)


def test_a_rollback_restores_scores_and_answers_reports_and_tells_students(
    client, session, admin_headers, regraded
):
    ids, source = regraded["ids"], regraded["job_id"]
    accepted = rollback(client, admin_headers, source)
    assert accepted.status_code == 202
    job_id = accepted.get_json()["job_id"]
    assert accepted.get_json()["status_url"] == f"/api/v1/jobs/{job_id}"
    run(session, job_id, twice=True)  # a redelivered chunk changes nothing more

    job = client.get(f"/api/v1/jobs/{job_id}", headers=admin_headers).get_json()
    assert (job["kind"], job["status"], job["rollback_of"]) == ("rollback", "succeeded", source)
    assert (job["total"], job["done"], job["failed"], job["changed"]) == (3, 3, 0, 2)
    changes = {(c["attempt_id"], c["old_score"], c["new_score"]) for c in job["report"]["changes"]}
    # "half" got one point back and lost one: its total did not change.
    assert changes == {(ids["right"][0], 0, 2), (ids["wrong"][0], 2, 0)}
    assert job["report"]["failures"] == [] and job["report"]["kept_manual"] == []
    for name, (attempt_id, _) in ids.items():
        assert grades(session, attempt_id) == regraded["original"][name], name
    assert score(client, admin_headers, ids["right"][0]) == 2
    source_view = client.get(f"/api/v1/jobs/{source}", headers=admin_headers).get_json()
    assert source_view["rolled_back_by"] == job_id

    inbox = client.get("/api/v1/notifications", headers=ids["wrong"][1]).get_json()
    assert [n["kind"] for n in inbox] == ["score_changed", "score_changed", "result_released"]
    assert (inbox[0]["data"]["old_score"], inbox[0]["data"]["new_score"]) == (2, 0)
    half = client.get("/api/v1/notifications", headers=ids["half"][1]).get_json()
    assert [n["kind"] for n in half] == ["result_released"]  # its score never changed
    trail = session.execute(
        select(AttemptEvent.attempt_id, func.count())
        .where(AttemptEvent.kind == "rolled_back")
        .group_by(AttemptEvent.attempt_id)
    ).all()
    assert sorted(str(a) for a, n in trail if n == 1) == sorted(i for i, _ in ids.values())


def test_a_grade_by_hand_after_the_regrade_is_kept_and_reported(
    client, session, admin_headers, regraded
):
    wrong = regraded["ids"]["wrong"][0]
    q1 = str(regraded["q1"].id)
    graded = client.put(
        f"/api/v1/attempts/{wrong}/answers/{q1}/grade",
        json={"points": 0.5, "feedback": "half right"},
        headers=admin_headers,
    )
    assert graded.status_code == 200
    job_id = rollback(client, admin_headers, regraded["job_id"]).get_json()["job_id"]
    run(session, job_id)

    job = client.get(f"/api/v1/jobs/{job_id}", headers=admin_headers).get_json()
    assert job["report"]["kept_manual"] == [{"attempt_id": wrong, "question_id": q1}]
    assert {"attempt_id": wrong, "old_score": 1.5, "new_score": 0.5} in job["report"]["changes"]
    now = grades(session, wrong)
    assert now[q1][0] == 0.5 and now[q1][3] is not None  # the teacher's grade stays
    (other,) = set(now) - {q1}
    assert now[other] == regraded["original"]["wrong"][other]  # the other answer is restored
    result = client.get(f"/api/v1/attempts/{wrong}/result", headers=admin_headers).get_json()
    assert result["score"] == 0.5
    kept = next(r for r in result["results"] if r["question_id"] == q1)
    assert kept["feedback"] == "half right"


def test_rolling_back_the_rollback_reapplies_the_regrade(client, session, admin_headers, regraded):
    ids = regraded["ids"]
    after_regrade = {name: grades(session, a) for name, (a, _) in ids.items()}
    first = rollback(client, admin_headers, regraded["job_id"]).get_json()["job_id"]
    run(session, first)
    second = rollback(client, admin_headers, first)
    assert second.status_code == 202
    run(session, second.get_json()["job_id"])

    job = client.get(second.get_json()["status_url"], headers=admin_headers).get_json()
    assert (job["status"], job["rollback_of"], job["changed"]) == ("succeeded", first, 2)
    for name, (attempt_id, _) in ids.items():
        assert grades(session, attempt_id) == after_regrade[name], name
    assert {n: score(client, admin_headers, a) for n, (a, _) in ids.items()} == {
        "right": 0,
        "wrong": 2,
        "half": 1,
    }


def test_refusals(client, session, settings, admin_headers, regraded):
    exam, source = regraded["exam"], regraded["job_id"]
    dry = client.post(
        f"/api/v1/exams/{exam.id}/regrade", json={"dry_run": True}, headers=admin_headers
    ).get_json()["job_id"]
    # Queued: the job itself is not finished, and it holds the exam.
    for job_id in (dry, source):
        refused = rollback(client, admin_headers, job_id)
        assert (refused.status_code, refused.get_json()["error"]) == (409, "conflict")
    run(session, dry)
    refused = rollback(client, admin_headers, dry)
    assert (refused.status_code, refused.get_json()["error"]) == (409, "conflict")
    assert "dry run" in refused.get_json()["message"]

    job_id = rollback(client, admin_headers, source).get_json()["job_id"]
    again = rollback(client, admin_headers, source)  # queued rollback: and it holds the exam
    assert again.status_code == 409
    regrade = client.post(f"/api/v1/exams/{exam.id}/regrade", json={}, headers=admin_headers)
    assert regrade.status_code == 409  # no regrade while a rollback of the exam runs
    run(session, job_id)
    again = rollback(client, admin_headers, source)
    assert again.status_code == 409 and "already" in again.get_json()["message"]

    other = Job(kind="force_submit", exam_id=exam.id, status="succeeded")
    session.add(other)
    session.commit()
    assert rollback(client, admin_headers, other.id).status_code == 409
    assert rollback(client, admin_headers, uuid.uuid4()).status_code == 404
    student = login(client, make_user(session, settings))
    assert rollback(client, student, source).status_code == 403
    assert session.scalar(select(func.count()).where(Job.kind == "rollback")) == 1


def test_a_regrade_written_one_attempt_at_a_time_is_rolled_back_too(
    client, session, settings, admin_headers
):
    regraded = regrade_after_a_key_fix(client, session, settings, admin_headers, one_by_one=True)
    job_id = rollback(client, admin_headers, regraded["job_id"]).get_json()["job_id"]
    run(session, job_id)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=admin_headers).get_json()
    assert (job["status"], job["total"], job["changed"]) == ("succeeded", 3, 2)
    for name, (attempt_id, _) in regraded["ids"].items():
        assert grades(session, attempt_id) == regraded["original"][name], name


def test_a_later_regrade_is_rolled_back_first(client, session, admin_headers, regraded):
    exam, first = regraded["exam"], regraded["job_id"]
    later = client.post(
        f"/api/v1/exams/{exam.id}/regrade", json={"dry_run": False}, headers=admin_headers
    ).get_json()["job_id"]
    run(session, later)
    refused = rollback(client, admin_headers, first)
    assert refused.status_code == 409 and "later regrade" in refused.get_json()["message"]
    run(session, rollback(client, admin_headers, later).get_json()["job_id"])
    accepted = rollback(client, admin_headers, first)
    assert accepted.status_code == 202
    run(session, accepted.get_json()["job_id"])
    for name, (attempt_id, _) in regraded["ids"].items():
        assert grades(session, attempt_id) == regraded["original"][name], name


def test_a_finished_rollback_is_announced_to_webhooks(client, session, admin_headers, regraded):
    registered = client.post(
        "/api/v1/webhooks",
        json={"url": "https://93.184.215.14/hooks/exam", "events": ["regrade.finished"]},
        headers=admin_headers,
    )
    assert registered.status_code == 201, registered.get_json()
    job_id = rollback(client, admin_headers, regraded["job_id"]).get_json()["job_id"]
    run(session, job_id)
    announced = session.scalars(
        select(OutboxEvent.data).where(OutboxEvent.type == "regrade.finished")
    ).all()
    assert [(d["job_id"], d["kind"], d["changed"]) for d in announced] == [(job_id, "rollback", 2)]


def test_a_regrade_stores_only_the_answers_it_changed(client, session, settings, admin_headers):
    fixed, essay = make_question(session), make_question(session, "essay")
    exam = make_exam(session, questions=[fixed, essay])
    ids = [take(client, session, settings, exam, [r, "Light."])[0] for r in ("B", "A")]
    for attempt_id in ids:  # the essays are graded by hand: a regrade keeps those as they are
        client.put(f"/api/v1/attempts/{attempt_id}/answers/{essay.id}/grade",
                   json={"points": 3}, headers=admin_headers)  # fmt: skip
    client.patch(
        f"/api/v1/questions/{fixed.id}", json={"correct_answer": "A"}, headers=admin_headers
    )
    job_id = client.post(
        f"/api/v1/exams/{exam.id}/regrade", json={"dry_run": False}, headers=admin_headers
    ).get_json()["job_id"]
    run(session, job_id)
    stored = session.scalars(select(ReplacedGrades).where(ReplacedGrades.job_id == job_id)).all()
    assert sorted(str(r.attempt_id) for r in stored) == sorted(ids)
    assert {tuple(r.before["answers"]) for r in stored} == {(str(fixed.id),)}
    assert {(r.before["attempt"]["score"], r.after["attempt"]["score"]) for r in stored} == {
        ("4.00", "3.00"),
        ("3.00", "4.00"),
    }


def test_an_attempt_reopened_since_is_reported_and_left_alone(
    client, session, admin_headers, regraded
):
    reopened = regraded["ids"]["wrong"][0]
    answer = client.post(
        f"/api/v1/attempts/{reopened}/reopen",
        json={"extra_seconds": 600, "reason": "fire alarm"},
        headers=admin_headers,
    )
    assert answer.status_code == 200, answer.get_json()
    job_id = rollback(client, admin_headers, regraded["job_id"]).get_json()["job_id"]
    run(session, job_id)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=admin_headers).get_json()
    assert (job["status"], job["total"], job["done"], job["failed"]) == ("succeeded", 3, 2, 1)
    (failure,) = job["report"]["failures"]
    assert failure["attempt_id"] == reopened and "reopened" in failure["error"]
    assert grades(session, regraded["ids"]["right"][0]) == regraded["original"]["right"]
    assert (
        session.scalar(
            select(func.count()).where(
                AttemptEvent.attempt_id == uuid.UUID(reopened), AttemptEvent.kind == "rolled_back"
            )
        )
        == 0
    )


def test_one_bad_attempt_fails_alone(client, session, admin_headers, regraded):
    """Stored grades that cannot be read (bad data): the chunk is redone one attempt at a
    time, that attempt is a reported failure, the others are restored."""
    bad = regraded["ids"]["wrong"][0]
    row = session.get(ReplacedGrades, (uuid.UUID(regraded["job_id"]), uuid.UUID(bad)))
    row.before = {**row.before, "attempt": {**row.before["attempt"], "max_score": "lots"}}
    session.commit()
    job_id = rollback(client, admin_headers, regraded["job_id"]).get_json()["job_id"]
    run(session, job_id)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=admin_headers).get_json()
    assert (job["status"], job["done"], job["failed"]) == ("succeeded", 2, 1)
    assert [f["attempt_id"] for f in job["report"]["failures"]] == [bad]
    for name in ("right", "half"):
        assert grades(session, regraded["ids"][name][0]) == regraded["original"][name]
    assert score(client, admin_headers, bad) == 2  # as the regrade left it


def test_a_rollback_whose_start_message_was_lost_is_found_by_the_sweep(
    client, session, admin_headers, regraded
):
    """The broker lost the start: the stalled-jobs sweep finds the queued rollback (and only
    it: the regrade it undoes is finished)."""
    from datetime import timedelta

    undo = rollback(client, admin_headers, regraded["job_id"]).get_json()
    later, quiet = utcnow() + timedelta(minutes=2), timedelta(minutes=1)
    assert rollbacks.queued_unstarted(session, later, quiet) == [uuid.UUID(undo["job_id"])]
    assert regrades.queued_unstarted(session, later, quiet) == []
    assert rollbacks.queued_unstarted(session, utcnow(), quiet) == []  # not quiet long enough
