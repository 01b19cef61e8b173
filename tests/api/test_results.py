"""Results through the API: visibility, keys, grading by hand, the queue, roster, exports,
release, regrade jobs and notifications. Grading runs the real service in-process here;
the worker path is covered end to end in tests/e2e."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest

from shared.models import utcnow
from shared.services import grading, notifications, regrades
from tests.factories import leaked_keys, login, make_exam, make_question, make_user


@pytest.fixture
def admin_headers(client, admin):
    return login(client, admin)


def take(client, session, settings, exam, answers, *, full_name=None):
    """A student starts, answers by question index and submits; then what the grading task
    does, in-process: grade and notify."""
    student = make_user(session, settings, full_name=full_name)
    headers = login(client, student)
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    order = {q["id"]: q for q in attempt["questions"]}
    by_position = [str(item.question_id) for item in exam.items]
    batch = [
        {"question_id": by_position[i], "response": r}
        for i, r in answers.items()
        if by_position[i] in order
    ]
    client.post(
        f"/api/v1/attempts/{attempt['id']}/submit", json={"answers": batch}, headers=headers
    )
    graded = grading.grade_submitted(session, attempt["id"], utcnow())
    notifications.on_graded(session, graded, utcnow())
    session.commit()
    return attempt["id"], headers, student


@pytest.fixture
def exam(session):
    return make_exam(session, questions=[make_question(session), make_question(session, "essay")])


class TestResult:
    def test_a_released_result_with_keys_when_allowed(self, client, session, settings):
        exam = make_exam(session, questions=[make_question(session)], show_correct_answers=True)
        attempt_id, headers, _ = take(client, session, settings, exam, {0: "C"})
        body = client.get(f"/api/v1/attempts/{attempt_id}/result", headers=headers).get_json()
        assert body["score"] == 0 and body["max_score"] == 1 and body["percentage"] == 0
        row = body["results"][0]
        assert row["response"] == "C" and row["is_correct"] is False and row["points_possible"] == 1
        assert row["correct_answer"] == "B" and row["explanation"] == "Paris since 987."

    def test_without_show_correct_answers_no_key_reaches_the_student(
        self, client, session, settings, exam
    ):
        attempt_id, headers, _ = take(client, session, settings, exam, {0: "B", 1: "My essay"})
        body = client.get(f"/api/v1/attempts/{attempt_id}/result", headers=headers).get_json()
        assert leaked_keys(body) == []
        assert (body["graded_count"], body["pending_count"]) == (1, 1)
        essay = body["results"][1]
        assert essay["points_awarded"] is None and essay["is_correct"] is None

    def test_before_release_result_is_409_and_status_still_says_graded(
        self, client, session, settings
    ):
        exam = make_exam(session, questions=[make_question(session)], results_release="manual")
        attempt_id, headers, _ = take(client, session, settings, exam, {0: "B"})
        refused = client.get(f"/api/v1/attempts/{attempt_id}/result", headers=headers)
        assert refused.status_code == 409 and refused.get_json()["error"] == "results_not_released"
        status = client.get(f"/api/v1/attempts/{attempt_id}/status", headers=headers).get_json()
        assert status["status"] == "graded" and status["score"] is None

    def test_after_close_results_open_when_the_grace_period_ends(self, client, session, settings):
        closes = datetime.now(UTC) + timedelta(minutes=5)  # the token outlives the jump
        exam = make_exam(
            session,
            questions=[make_question(session)],
            results_release="after_close",
            closes_at=closes,
        )
        attempt_id, headers, _ = take(client, session, settings, exam, {0: "B"})
        url = f"/api/v1/attempts/{attempt_id}/result"
        assert client.get(url, headers=headers).status_code == 409
        from freezegun import freeze_time

        with freeze_time(closes + timedelta(seconds=exam.grace_seconds + 1)):
            assert client.get(url, headers=headers).status_code == 200

    def test_admins_see_results_and_keys_any_time(self, client, session, settings, admin_headers):
        exam = make_exam(session, questions=[make_question(session)], results_release="manual")
        attempt_id, _, _ = take(client, session, settings, exam, {0: "B"})
        body = client.get(f"/api/v1/attempts/{attempt_id}/result", headers=admin_headers).get_json()
        assert body["score"] == 1 and body["results"][0]["correct_answer"] == "B"

    def test_not_graded_yet_is_409(self, client, session, settings, exam):
        headers = login(client, make_user(session, settings))
        attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
        response = client.get(f"/api/v1/attempts/{attempt['id']}/result", headers=headers)
        assert (
            response.status_code == 409 and response.get_json()["error"] == "results_not_released"
        )

    def test_another_students_result_does_not_exist(self, client, session, settings, exam):
        attempt_id, _, _ = take(client, session, settings, exam, {0: "B"})
        intruder = login(client, make_user(session, settings))
        assert (
            client.get(f"/api/v1/attempts/{attempt_id}/result", headers=intruder).status_code == 404
        )


class TestGradingByHand:
    def test_the_queue_then_a_grade_updates_totals_at_once(
        self, client, session, settings, exam, admin_headers
    ):
        attempt_id, headers, student = take(
            client, session, settings, exam, {0: "B", 1: "Essay text"}
        )
        essay_id = str(exam.items[1].question_id)
        queue = client.get(
            f"/api/v1/exams/{exam.id}/grading-queue", headers=admin_headers
        ).get_json()
        assert [(q["attempt_id"], q["question_id"]) for q in queue] == [(attempt_id, essay_id)]
        assert queue[0]["response"] == "Essay text" and queue[0]["points_possible"] == 5
        assert queue[0]["student_email"] == student.email
        filtered = client.get(
            f"/api/v1/exams/{exam.id}/grading-queue?question_id={exam.items[0].question_id}",
            headers=admin_headers,
        ).get_json()
        assert filtered == []

        url = f"/api/v1/attempts/{attempt_id}/answers/{essay_id}/grade"
        too_many = client.put(url, json={"points": 6}, headers=admin_headers)
        assert too_many.status_code == 422
        graded = client.put(url, json={"points": 4, "feedback": "Clear."}, headers=admin_headers)
        assert graded.get_json() == {
            "attempt_id": attempt_id,
            "score": 5,
            "max_score": 6,
            "pending_manual": 0,
        }
        status = client.get(f"/api/v1/attempts/{attempt_id}/status", headers=headers).get_json()
        assert status["score"] == 5 and status["pending_manual"] == 0
        result = client.get(f"/api/v1/attempts/{attempt_id}/result", headers=headers).get_json()
        assert (
            result["results"][1]["feedback"] == "Clear."
            and result["results"][1]["points_awarded"] == 4
        )
        assert (
            client.get(f"/api/v1/exams/{exam.id}/grading-queue", headers=admin_headers).get_json()
            == []
        )

    def test_students_cannot_grade(self, client, session, settings, exam):
        attempt_id, headers, _ = take(client, session, settings, exam, {1: "x"})
        url = f"/api/v1/attempts/{attempt_id}/answers/{exam.items[1].question_id}/grade"
        assert client.put(url, json={"points": 5}, headers=headers).status_code == 403


class TestRosterAndExports:
    def test_roster(self, client, session, settings, exam, admin_headers):
        first, _, student = take(client, session, settings, exam, {0: "B"})
        roster = client.get(f"/api/v1/exams/{exam.id}/attempts", headers=admin_headers).get_json()
        assert [(r["id"], r["status"], r["score"], r["student_email"]) for r in roster] == [
            (first, "graded", 1, student.email)
        ]

    def test_exports_are_formula_safe(self, client, session, settings, exam, admin_headers):
        take(client, session, settings, exam, {0: "B"}, full_name='=HYPERLINK("http://evil","x")')
        take(client, session, settings, exam, {0: "A"}, full_name="@SUM(1)")
        for name in ("+1+1", "-2-2"):
            take(client, session, settings, exam, {0: "A"}, full_name=name)
        xlsx = client.get(f"/api/v1/exams/{exam.id}/results.xlsx", headers=admin_headers)
        assert xlsx.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][:3] == ("attempt_id", "student_email", "student_name")
        assert rows[0][-2:] == ("Q1 (1 pts)", "Q2 (5 pts)")
        assert len(rows) == 5
        names = {row[2] for row in rows[1:]}
        assert names == {'\'=HYPERLINK("http://evil","x")', "'@SUM(1)", "'+1+1", "'-2-2"}
        assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
        scores = sorted((row[9], row[-2], row[-1]) for row in rows[1:])
        assert scores == [(0, 0, None)] * 3 + [(1, 1, None)]  # the essay is pending: blank

        text = client.get(
            f"/api/v1/exams/{exam.id}/results.csv", headers=admin_headers
        ).data.decode("utf-8-sig")
        cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
        assert "'@SUM(1)" in cells


class TestReleaseAndNotifications:
    def test_manual_release_tells_each_student_once(self, client, session, settings, admin_headers):
        exam = make_exam(session, questions=[make_question(session)], results_release="manual")
        attempt_id, headers, _ = take(client, session, settings, exam, {0: "B"})
        assert client.get("/api/v1/notifications", headers=headers).get_json() == []
        released = client.post(
            f"/api/v1/exams/{exam.id}/release-results", headers=admin_headers
        ).get_json()
        assert released["notified"] == 1
        again = client.post(
            f"/api/v1/exams/{exam.id}/release-results", headers=admin_headers
        ).get_json()
        assert again["notified"] == 0
        inbox = client.get("/api/v1/notifications", headers=headers).get_json()
        assert [(n["kind"], n["read_at"]) for n in inbox] == [("result_released", None)]
        assert inbox[0]["data"]["attempt_id"] == attempt_id
        assert (
            client.post(f"/api/v1/notifications/{inbox[0]['id']}/read", headers=headers).status_code
            == 204
        )
        assert client.get("/api/v1/notifications", headers=headers).get_json()[0]["read_at"]
        assert (
            client.get(f"/api/v1/attempts/{attempt_id}/result", headers=headers).status_code == 200
        )

    def test_someone_elses_notification_does_not_exist(self, client, session, settings):
        exam = make_exam(session, questions=[make_question(session)])
        _, headers, _ = take(client, session, settings, exam, {0: "B"})
        mine = client.get("/api/v1/notifications", headers=headers).get_json()
        assert len(mine) == 1
        intruder = login(client, make_user(session, settings))
        assert (
            client.post(f"/api/v1/notifications/{mine[0]['id']}/read", headers=intruder).status_code
            == 404
        )
        assert client.get("/api/v1/notifications", headers=intruder).get_json() == []


class TestRegradeJobs:
    def test_dry_run_then_real_regrade_with_report(self, client, session, settings, admin_headers):
        question = make_question(session)
        exam = make_exam(session, questions=[question])
        right, _, _ = take(client, session, settings, exam, {0: "B"})
        wrong, headers, _ = take(client, session, settings, exam, {0: "A"})
        client.patch(
            f"/api/v1/questions/{question.id}", json={"correct_answer": "A"}, headers=admin_headers
        )

        for dry_run, expected_scores in (
            (True, {right: 1, wrong: 0}),
            (False, {right: 0, wrong: 1}),
        ):
            accepted = client.post(
                f"/api/v1/exams/{exam.id}/regrade", json={"dry_run": dry_run}, headers=admin_headers
            )
            assert accepted.status_code == 202
            job_id = accepted.get_json()["job_id"]
            assert accepted.get_json()["status_url"] == f"/api/v1/jobs/{job_id}"
            _run_job(session, job_id)
            job = client.get(f"/api/v1/jobs/{job_id}", headers=admin_headers).get_json()
            assert (job["status"], job["total"], job["done"], job["changed"], job["failed"]) == (
                "succeeded",
                2,
                2,
                2,
                0,
            )
            assert job["report"]["key_versions"] == {str(question.id): 2}
            assert sorted(
                (c["attempt_id"], c["old_score"], c["new_score"]) for c in job["report"]["changes"]
            ) == sorted([(right, 1, 0), (wrong, 0, 1)])
            for attempt_id, score in expected_scores.items():
                result = client.get(
                    f"/api/v1/attempts/{attempt_id}/result", headers=admin_headers
                ).get_json()
                assert result["score"] == score
        inbox = client.get("/api/v1/notifications", headers=headers).get_json()
        assert [n["kind"] for n in inbox] == ["score_changed", "result_released"]
        assert inbox[0]["data"]["old_score"] == 0 and inbox[0]["data"]["new_score"] == 1

    def test_a_second_regrade_while_one_runs_is_409(self, client, session, admin_headers, exam):
        url = f"/api/v1/exams/{exam.id}/regrade"
        assert client.post(url, json={"dry_run": True}, headers=admin_headers).status_code == 202
        second = client.post(url, json={"dry_run": False}, headers=admin_headers)
        assert second.status_code == 409 and second.get_json()["error"] == "conflict"

    def test_jobs_are_for_admins(self, client, session, settings, exam, admin_headers):
        job_id = client.post(
            f"/api/v1/exams/{exam.id}/regrade", json={}, headers=admin_headers
        ).get_json()["job_id"]
        student = login(client, make_user(session, settings))
        assert client.get(f"/api/v1/jobs/{job_id}", headers=student).status_code == 403
        assert (
            client.post(f"/api/v1/exams/{exam.id}/regrade", json={}, headers=student).status_code
            == 403
        )


def _run_job(session, job_id):
    """What the bulk worker does, in-process: start, every chunk, recount."""
    session.expire_all()  # a worker starts from a fresh session, not this test's cached rows
    chunks = regrades.start(session, job_id, utcnow())
    for chunk in chunks or []:
        regrades.run_chunk(session, job_id, chunk, utcnow())
        regrades.refresh(session, job_id, utcnow())
    session.commit()


def test_metrics_show_latency_queue_depth_and_attempt_counts(client, session, settings, exam):
    take(client, session, settings, exam, {0: "B"})  # submitted (a grade task queued), graded
    waiting = login(client, make_user(session, settings))
    client.post(f"/api/v1/exams/{exam.id}/attempts", headers=waiting)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'exam_attempts{status="in_progress"} 1.0' in text
    assert 'exam_attempts{status="submitted"} 0.0' in text
    assert "exam_graded_last_5m 1.0" in text
    # The grade task, and the two attempts' expiry countdowns.
    assert 'exam_queue_depth{queue="grading"} 3.0' in text
    assert 'exam_queue_depth{queue="bulk"} 0.0' in text
