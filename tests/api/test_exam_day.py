"""Exam day: an admin changes time under running attempts, force-submits, reopens. Real
time throughout (short durations): the server clock decides, as on the day."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shared.models import Attempt, AttemptEvent, Job, Notification, Role
from shared.services import grading, notifications
from tests.factories import login, make_exam, make_question, make_user

A = "/api/v1/attempts"
E = "/api/v1/exams"


@pytest.fixture
def admin_headers(client, admin):
    return login(client, admin)


@pytest.fixture
def headers(client, student):
    return login(client, student)


def start(client, headers, exam):
    response = client.post(f"{E}/{exam.id}/attempts", headers=headers)
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def events(session, attempt_id, kind):
    session.expire_all()
    return session.scalars(
        select(AttemptEvent.data)
        .where(AttemptEvent.attempt_id == attempt_id, AttemptEvent.kind == kind)
        .order_by(AttemptEvent.id)
    ).all()


def save(client, headers, attempt, response="A", seq=None):
    qid = attempt["questions"][0]["id"]
    answer = {"question_id": qid, "response": response, **({"seq": seq} if seq else {})}
    return client.put(f"{A}/{attempt['id']}/answers", json={"answers": [answer]}, headers=headers)


class TestExtend:
    def test_extra_time_reaches_the_running_attempt_and_its_status_poll(
        self, client, headers, admin_headers, admin, session
    ):
        exam = make_exam(session, duration_seconds=600)
        attempt = start(client, headers, exam)
        status_url = f"{A}/{attempt['id']}/status"
        first = client.get(status_url, headers=headers)
        assert when(first.get_json()["deadline"]) == when(attempt["deadline"])

        extended = client.post(
            f"{A}/{attempt['id']}/extend", json={"extra_seconds": 120}, headers=admin_headers
        )
        assert extended.status_code == 200, extended.get_json()
        new_deadline = when(attempt["deadline"]) + timedelta(seconds=120)
        assert when(extended.get_json()["deadline"]) == new_deadline

        # The student's page sees it on its next poll: a new ETag, the new deadline.
        poll = client.get(status_url, headers={**headers, "If-None-Match": first.headers["ETag"]})
        assert poll.status_code == 200 and when(poll.get_json()["deadline"]) == new_deadline
        saved = save(client, headers, attempt)
        assert saved.status_code == 200
        assert saved.get_json()["time_remaining_seconds"] > 600
        assert when(client.get(f"{A}/{attempt['id']}", headers=headers).get_json()["deadline"]) == (
            new_deadline
        )
        (event,) = events(session, attempt["id"], "deadline_changed")
        assert event["by"] == str(admin.user.id) and event["reason"] == "extend"
        assert when(event["old_deadline"]) == when(attempt["deadline"])

    def test_extra_time_may_pass_the_close_and_adds_up(
        self, client, headers, admin_headers, session
    ):
        closes = datetime.now(UTC) + timedelta(seconds=300)
        exam = make_exam(session, duration_seconds=3600, closes_at=closes)
        attempt = start(client, headers, exam)
        assert when(attempt["deadline"]) == closes.replace(
            microsecond=when(attempt["deadline"]).microsecond
        )
        for _ in range(2):
            client.post(
                f"{A}/{attempt['id']}/extend", json={"extra_seconds": 60}, headers=admin_headers
            )
        row = session.get(Attempt, attempt["id"], populate_existing=True)
        assert row.deadline == when(attempt["deadline"]) + timedelta(seconds=120)
        assert row.deadline > closes

    @pytest.mark.parametrize("extra", [0, -30, 86_401, "ten", None, 1e300])
    def test_negative_zero_or_absurd_extra_time_is_refused(
        self, client, headers, admin_headers, session, extra
    ):
        attempt = start(client, headers, make_exam(session))
        response = client.post(
            f"{A}/{attempt['id']}/extend", json={"extra_seconds": extra}, headers=admin_headers
        )
        assert response.status_code == 422 and response.get_json()["error"] == "validation_error"

    def test_a_submitted_attempt_cannot_be_extended_only_reopened(
        self, client, headers, admin_headers, session
    ):
        attempt = start(client, headers, make_exam(session))
        client.post(f"{A}/{attempt['id']}/submit", json={}, headers=headers)
        grading.grade_submitted(session, attempt["id"], datetime.now(UTC))
        session.commit()
        response = client.post(
            f"{A}/{attempt['id']}/extend", json={"extra_seconds": 60}, headers=admin_headers
        )
        assert response.status_code == 409 and response.get_json()["error"] == "already_submitted"

    def test_an_attempt_whose_time_ran_out_is_submitted_not_extended(
        self, client, headers, admin_headers, session
    ):
        exam = make_exam(session, duration_seconds=1, grace_seconds=0)
        attempt = start(client, headers, exam)
        time.sleep(1.2)
        response = client.post(
            f"{A}/{attempt['id']}/extend", json={"extra_seconds": 60}, headers=admin_headers
        )
        assert response.status_code == 409 and response.get_json()["error"] == "already_submitted"
        row = session.get(Attempt, attempt["id"], populate_existing=True)
        assert (row.status, row.submit_reason) == ("submitted", "timeout")

    def test_students_cannot_act_on_attempts_and_strangers_get_404(
        self, client, headers, admin_headers, session
    ):
        attempt = start(client, headers, make_exam(session))
        for path, body in (
            ("extend", {"extra_seconds": 60}),
            ("force-submit", {}),
            ("reopen", {"extra_seconds": 60, "reason": "x"}),
        ):
            mine = client.post(f"{A}/{attempt['id']}/{path}", json=body, headers=headers)
            assert mine.status_code == 403, path
            nobody = client.post(
                f"{A}/00000000-0000-4000-8000-000000000000/{path}", json=body, headers=admin_headers
            )
            assert nobody.status_code == 404, path
        assert (
            client.post(
                f"{E}/{attempt['exam_id']}/force-submit", json={}, headers=headers
            ).status_code
            == 403
        )


class TestAccommodationAndExamTiming:
    def test_an_accommodation_granted_after_the_start_moves_the_running_deadline(
        self, client, headers, admin_headers, student, session
    ):
        exam = make_exam(session, duration_seconds=600)
        attempt = start(client, headers, exam)
        response = client.put(
            f"{E}/{exam.id}/accommodations/{student.user.id}",
            json={"extra_seconds": 300},
            headers=admin_headers,
        )
        assert response.status_code == 200
        status = client.get(f"{A}/{attempt['id']}/status", headers=headers).get_json()
        assert when(status["deadline"]) == when(attempt["deadline"]) + timedelta(seconds=300)
        # Changed again (lowered): recomputed from the start, not added up.
        client.put(
            f"{E}/{exam.id}/accommodations/{student.user.id}",
            json={"extra_seconds": 60},
            headers=admin_headers,
        )
        status = client.get(f"{A}/{attempt['id']}/status", headers=headers).get_json()
        assert when(status["deadline"]) == when(attempt["deadline"]) + timedelta(seconds=60)
        reasons = [e["reason"] for e in events(session, attempt["id"], "deadline_changed")]
        assert reasons == ["accommodation", "accommodation"]

    def test_a_longer_duration_moves_every_running_attempt_and_no_finished_one(
        self, client, admin_headers, session, settings
    ):
        exam = make_exam(session, duration_seconds=600)
        running = [
            start(client, login(client, make_user(session, settings)), exam) for _ in range(3)
        ]
        done_headers = login(client, make_user(session, settings))
        finished = start(client, done_headers, exam)
        client.post(f"{A}/{finished['id']}/submit", json={}, headers=done_headers)
        response = client.patch(
            f"{E}/{exam.id}", json={"duration_seconds": 900}, headers=admin_headers
        )
        assert response.status_code == 200
        session.expire_all()
        for attempt in running:
            row = session.get(Attempt, attempt["id"])
            assert row.deadline == when(attempt["deadline"]) + timedelta(seconds=300)
            assert row.expires_at == row.deadline + timedelta(seconds=exam.grace_seconds)
        row = session.get(Attempt, finished["id"])
        assert row.deadline == when(finished["deadline"]) and row.status == "submitted"

    def test_a_shorter_grace_applies_to_running_attempts_too(
        self, client, headers, admin_headers, session
    ):
        exam = make_exam(session, duration_seconds=600, grace_seconds=30)
        attempt = start(client, headers, exam)
        client.patch(f"{E}/{exam.id}", json={"grace_seconds": 5}, headers=admin_headers)
        row = session.get(Attempt, attempt["id"], populate_existing=True)
        assert row.expires_at == row.deadline + timedelta(seconds=5)

    def test_ending_an_exam_early_submits_running_attempts_as_timeouts(
        self, client, headers, admin_headers, session
    ):
        exam = make_exam(session, duration_seconds=3600, grace_seconds=0)
        attempt = start(client, headers, exam)
        assert save(client, headers, attempt, "B", seq=1).status_code == 200
        ended = client.patch(
            f"{E}/{exam.id}",
            json={"closes_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()},
            headers=admin_headers,
        )
        assert ended.status_code == 200
        row = session.get(Attempt, attempt["id"], populate_existing=True)
        assert (row.status, row.submit_reason) == ("submitted", "timeout")
        late = save(client, headers, attempt, "C", seq=2)
        assert late.status_code == 409 and late.get_json()["error"] == "deadline_passed"
        (expired,) = events(session, attempt["id"], "expired")
        assert expired["by"] == "time_change"
        answers = client.get(f"{A}/{attempt['id']}", headers=admin_headers).get_json()["answers"]
        assert list(answers.values()) == ["B"]

    def test_a_close_before_the_opening_is_refused(self, client, admin_headers, session):
        opens = datetime.now(UTC) - timedelta(hours=1)
        exam = make_exam(session, opens_at=opens)
        response = client.patch(
            f"{E}/{exam.id}",
            json={"closes_at": (opens - timedelta(minutes=5)).isoformat()},
            headers=admin_headers,
        )
        assert response.status_code == 422 and "closes_at" in response.get_json()["errors"]["json"]


class TestForceSubmit:
    def test_force_submit_keeps_saved_answers_and_refuses_later_saves(
        self, client, headers, admin_headers, admin, session
    ):
        attempt = start(client, headers, make_exam(session))
        assert save(client, headers, attempt, "B", seq=1).status_code == 200
        forced = client.post(f"{A}/{attempt['id']}/force-submit", headers=admin_headers)
        assert forced.status_code == 202 and forced.get_json()["status"] == "submitted"
        status = client.get(f"{A}/{attempt['id']}/status", headers=headers).get_json()
        assert (status["status"], status["submit_reason"]) == ("submitted", "admin")
        again = client.post(f"{A}/{attempt['id']}/force-submit", headers=admin_headers)
        assert again.status_code == 409 and again.get_json()["error"] == "already_submitted"
        late = save(client, headers, attempt, "C", seq=2)
        assert late.status_code == 409 and late.get_json()["error"] == "already_submitted"
        (event,) = events(session, attempt["id"], "submitted")
        digest = session.get(Attempt, attempt["id"]).answers_sha256  # what its receipt signs
        assert event == {"by": "admin", "admin_id": str(admin.user.id), "answers_sha256": digest}
        answers = client.get(f"{A}/{attempt['id']}", headers=admin_headers).get_json()["answers"]
        assert list(answers.values()) == ["B"]

    def test_a_whole_exam_is_force_submitted_as_one_job_at_a_time(
        self, client, admin_headers, session, settings
    ):
        exam = make_exam(session)
        for _ in range(2):
            start(client, login(client, make_user(session, settings)), exam)
        response = client.post(f"{E}/{exam.id}/force-submit", json={}, headers=admin_headers)
        assert response.status_code == 202, response.get_json()
        job = client.get(response.get_json()["status_url"], headers=admin_headers).get_json()
        assert (job["kind"], job["status"], job["total"]) == ("force_submit", "queued", 2)
        twice = client.post(f"{E}/{exam.id}/force-submit", json={}, headers=admin_headers)
        assert twice.status_code == 409 and twice.get_json()["error"] == "conflict"

    @pytest.mark.parametrize(
        "body", [{"student_ids": []}, {"student_ids": ["nope"]}, {"student_ids": "x"}, {"x": 1}]
    )
    def test_a_bad_student_list_is_refused(self, client, admin_headers, session, body):
        exam = make_exam(session)
        response = client.post(f"{E}/{exam.id}/force-submit", json=body, headers=admin_headers)
        assert response.status_code == 422

    def test_an_unknown_exam_is_404(self, client, admin_headers):
        response = client.post(
            f"{E}/00000000-0000-4000-8000-000000000000/force-submit", json={}, headers=admin_headers
        )
        assert response.status_code == 404


class TestReopen:
    def graded(self, client, headers, session, **exam_fields):
        exam = make_exam(
            session,
            questions=[make_question(session), make_question(session, "essay")],
            **exam_fields,
        )
        attempt = start(client, headers, exam)
        by_type = {q["type"]: q["id"] for q in attempt["questions"]}
        client.put(
            f"{A}/{attempt['id']}/answers",
            json={"answers": [
                {"question_id": by_type["single_choice"], "response": "A"},
                {"question_id": by_type["essay"], "response": "Light makes sugar."},
            ]},
            headers=headers,
        )  # fmt: skip
        client.post(f"{A}/{attempt['id']}/submit", json={}, headers=headers)
        row = grading.grade_submitted(session, attempt["id"], datetime.now(UTC))
        notifications.on_graded(session, row, datetime.now(UTC))
        session.commit()
        return exam, attempt, by_type

    def test_reopen_keeps_answers_withdraws_the_score_and_grades_again(
        self, client, headers, admin_headers, admin, student, session
    ):
        exam, attempt, by_type = self.graded(client, headers, session)
        # A teacher grades the essay by hand before the reopening.
        graded = client.put(
            f"{A}/{attempt['id']}/answers/{by_type['essay']}/grade",
            json={"points": 4, "feedback": "good"},
            headers=admin_headers,
        )
        assert graded.status_code == 200
        before = datetime.now(UTC)
        reopened = client.post(
            f"{A}/{attempt['id']}/reopen",
            json={"extra_seconds": 300, "reason": "fire alarm"},
            headers=admin_headers,
        )
        assert reopened.status_code == 200, reopened.get_json()
        body = reopened.get_json()
        assert body["status"] == "in_progress" and body["score"] is None
        assert body["submit_reason"] is None and body["submitted_at"] is None
        assert (
            before + timedelta(seconds=299)
            <= when(body["deadline"])
            <= (datetime.now(UTC) + timedelta(seconds=300))
        )
        assert body["answers"] == {
            by_type["single_choice"]: "A",
            by_type["essay"]: "Light makes sugar.",
        }
        assert client.get(f"{A}/{attempt['id']}/result", headers=headers).status_code == 409
        (event,) = events(session, attempt["id"], "reopened")
        assert event["by"] == str(admin.user.id) and event["reason"] == "fire alarm"
        assert event["previous"]["status"] == "graded"
        told = session.scalars(
            select(Notification).where(
                Notification.user_id == student.user.id, Notification.kind == "attempt_reopened"
            )
        ).all()
        assert len(told) == 1 and "fire alarm" in told[0].body

        # The student changes the choice, keeps the essay, submits: graded again; the
        # teacher's grade of the unchanged essay stays, and the student is told the result.
        client.put(
            f"{A}/{attempt['id']}/answers",
            json={"answers": [{"question_id": by_type["single_choice"], "response": "B"}]},
            headers=headers,
        )
        assert (
            client.post(f"{A}/{attempt['id']}/submit", json={}, headers=headers).status_code == 202
        )
        grading.grade_submitted(session, attempt["id"], datetime.now(UTC))
        row = session.get(Attempt, attempt["id"], populate_existing=True)
        notifications.on_graded(session, row, datetime.now(UTC))
        session.commit()
        result = client.get(f"{A}/{attempt['id']}/result", headers=headers).get_json()
        points = {r["question_id"]: r["points_awarded"] for r in result["results"]}
        assert points == {by_type["single_choice"]: 1, by_type["essay"]: 4}
        assert result["pending_count"] == 0
        results_told = session.scalars(
            select(Notification).where(
                Notification.user_id == student.user.id, Notification.kind == "result_released"
            )
        ).all()
        assert len(results_told) == 2  # once per grading: the second result is told too

    def test_a_reopened_attempt_changed_answer_drops_its_old_hand_grade(
        self, client, headers, admin_headers, session
    ):
        _, attempt, by_type = self.graded(client, headers, session)
        client.put(
            f"{A}/{attempt['id']}/answers/{by_type['essay']}/grade",
            json={"points": 4},
            headers=admin_headers,
        )
        client.post(
            f"{A}/{attempt['id']}/reopen",
            json={"extra_seconds": 300, "reason": "network died"},
            headers=admin_headers,
        )
        client.put(
            f"{A}/{attempt['id']}/answers",
            json={"answers": [{"question_id": by_type["essay"], "response": "Rewritten."}]},
            headers=headers,
        )
        client.post(f"{A}/{attempt['id']}/submit", json={}, headers=headers)
        row = grading.grade_submitted(session, attempt["id"], datetime.now(UTC))
        session.commit()
        assert row.pending_manual == 1  # the new essay waits for a teacher again

    def test_reopening_a_running_attempt_or_one_of_an_archived_exam_is_refused(
        self, client, headers, admin_headers, session
    ):
        running = start(client, headers, make_exam(session))
        body = {"extra_seconds": 60, "reason": "x"}
        response = client.post(f"{A}/{running['id']}/reopen", json=body, headers=admin_headers)
        assert response.status_code == 409 and response.get_json()["error"] == "conflict"
        exam, attempt, _ = self.graded(client, headers, session)
        client.post(f"{E}/{exam.id}/archive", headers=admin_headers)
        response = client.post(f"{A}/{attempt['id']}/reopen", json=body, headers=admin_headers)
        assert response.status_code == 409 and "archived" in response.get_json()["message"]

    @pytest.mark.parametrize(
        "body",
        [
            {"extra_seconds": 60},
            {"extra_seconds": 60, "reason": ""},
            {"extra_seconds": -1, "reason": "x"},
        ],
    )
    def test_a_reopen_needs_time_and_a_reason(self, client, headers, admin_headers, session, body):
        _, attempt, _ = self.graded(client, headers, session)
        response = client.post(f"{A}/{attempt['id']}/reopen", json=body, headers=admin_headers)
        assert response.status_code == 422

    def test_a_reopened_attempt_times_out_on_its_new_deadline(
        self, client, headers, admin_headers, session
    ):
        _, attempt, _ = self.graded(client, headers, session, grace_seconds=0)
        client.post(
            f"{A}/{attempt['id']}/reopen",
            json={"extra_seconds": 1, "reason": "x"},
            headers=admin_headers,
        )
        time.sleep(1.3)
        status = client.get(f"{A}/{attempt['id']}/status", headers=headers).get_json()
        assert (status["status"], status["submit_reason"]) == ("submitted", "timeout")


def test_a_job_of_another_kind_reports_its_own_result(client, admin_headers, session, settings):
    exam = make_exam(session)
    start(client, login(client, make_user(session, settings, role=Role.STUDENT)), exam)
    job_url = client.post(f"{E}/{exam.id}/force-submit", json={}, headers=admin_headers).get_json()[
        "status_url"
    ]
    job = client.get(job_url, headers=admin_headers).get_json()
    assert job["report"] is None and job["result"] == {"submitted": 0}
    assert session.scalar(select(Job.kind)) == "force_submit"
