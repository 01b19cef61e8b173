"""Answer keys reach a student only when nobody can still use them, and a result shows the
key it was graded with; a regrade keeps grades given by hand (contract: Integrity rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from shared.models import Attempt, utcnow
from shared.services import grading, notifications
from tests.api.test_results import _run_job, take
from tests.factories import login, make_exam, make_question, make_user

GRACE = 30


def _result(client, attempt_id, headers):
    return client.get(f"/api/v1/attempts/{attempt_id}/result", headers=headers)


def _keys_shown(response) -> bool:
    assert response.status_code == 200, response.get_json()
    return any("correct_answer" in row for row in response.get_json()["results"])


@pytest.fixture
def admin_headers(client, admin):
    return login(client, admin)


class TestAfterClose:
    @pytest.fixture
    def closes(self):
        return datetime.now(UTC) + timedelta(minutes=5)  # the tokens outlive the jumps

    @pytest.fixture
    def exam(self, session, closes):
        return make_exam(
            session,
            questions=[make_question(session)],
            results_release="after_close",
            show_correct_answers=True,
            closes_at=closes,
            grace_seconds=GRACE,
        )

    def test_no_result_or_key_while_classmates_are_inside_their_grace_period(
        self, client, session, settings, exam, closes
    ):
        done_id, done_headers, _ = take(client, session, settings, exam, {0: "B"})
        late = login(client, make_user(session, settings))
        late_attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=late).get_json()
        qid = late_attempt["questions"][0]["id"]

        with freeze_time(closes + timedelta(seconds=5)):
            # The late student may still save for 25 s: the first student's key must wait.
            refused = _result(client, done_id, done_headers)
            assert refused.status_code == 409
            assert refused.get_json()["error"] == "results_not_released"
            save = client.put(
                f"/api/v1/attempts/{late_attempt['id']}/answers",
                json={"answers": [{"question_id": qid, "response": "B", "seq": 1}]},
                headers=late,
            )
            assert save.status_code == 200
            assert notifications.exams_due_after_close(session, utcnow()) == []

        with freeze_time(closes + timedelta(seconds=GRACE + 1)):
            assert _keys_shown(_result(client, done_id, done_headers))
            assert [e.id for e in notifications.exams_due_after_close(session, utcnow())] == [
                exam.id
            ]

    def test_an_attempt_that_can_still_save_holds_the_keys_and_the_release_back(
        self, client, session, settings, exam, closes
    ):
        done_id, done_headers, _ = take(client, session, settings, exam, {0: "B"})
        late = login(client, make_user(session, settings))
        late_id = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=late).get_json()["id"]
        # Given time past the close on exam day (a fire alarm): it can save until then.
        extended = session.get(Attempt, late_id)
        extended.deadline = closes + timedelta(minutes=5)
        extended.expires_at = extended.deadline + timedelta(seconds=GRACE)
        session.commit()

        with freeze_time(closes + timedelta(minutes=1)):
            body = _result(client, done_id, done_headers)
            assert not _keys_shown(body)  # the score, not the key
            assert notifications.exams_due_after_close(session, utcnow()) == []
        with freeze_time(closes + timedelta(minutes=6)):  # the extended attempt is over
            assert _keys_shown(_result(client, done_id, done_headers))
            assert [e.id for e in notifications.exams_due_after_close(session, utcnow())] == [
                exam.id
            ]


class TestImmediateWithAttemptsLeft:
    def test_keys_wait_until_the_student_can_start_no_further_attempt(
        self, client, session, settings
    ):
        exam = make_exam(
            session, questions=[make_question(session)], show_correct_answers=True, max_attempts=2
        )
        student = make_user(session, settings)
        headers = login(client, student)
        first = _take_as(client, session, exam, headers, "C")
        body = _result(client, first, headers)
        assert body.get_json()["results"][0]["is_correct"] is False
        assert not _keys_shown(body)  # attempt 2 could use the key

        second = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
        assert not _keys_shown(_result(client, first, headers))  # attempt 2 is running
        _submit(client, second, headers, "C")
        _grade(session, second["id"])
        assert _keys_shown(_result(client, first, headers))
        assert _keys_shown(_result(client, second["id"], headers))

    def test_keys_once_the_exam_has_closed_even_with_attempts_left(self, client, session, settings):
        closes = datetime.now(UTC) + timedelta(minutes=5)
        exam = make_exam(
            session,
            questions=[make_question(session)],
            show_correct_answers=True,
            max_attempts=3,
            closes_at=closes,
        )
        headers = login(client, make_user(session, settings))
        first = _take_as(client, session, exam, headers, "B")
        assert not _keys_shown(_result(client, first, headers))
        with freeze_time(closes + timedelta(seconds=1)):
            assert _keys_shown(_result(client, first, headers))


class TestTheKeyItWasGradedWith:
    def test_a_result_keeps_its_key_after_an_edit_until_a_regrade(
        self, client, session, settings, admin_headers
    ):
        question = make_question(session)  # key B
        exam = make_exam(session, questions=[question], show_correct_answers=True)
        attempt_id, headers, _ = take(client, session, settings, exam, {0: "B"})

        edit = client.patch(
            f"/api/v1/questions/{question.id}", json={"correct_answer": "C"}, headers=admin_headers
        )
        assert edit.status_code == 200
        row = _result(client, attempt_id, headers).get_json()["results"][0]
        assert (row["correct_answer"], row["is_correct"]) == ("B", True)
        admin_row = _result(client, attempt_id, admin_headers).get_json()["results"][0]
        assert admin_row["correct_answer"] == "B"

        job = client.post(f"/api/v1/exams/{exam.id}/regrade", json={}, headers=admin_headers)
        _run_job(session, job.get_json()["job_id"])
        row = _result(client, attempt_id, headers).get_json()["results"][0]
        assert (row["correct_answer"], row["is_correct"]) == ("C", False)


class TestRegradeKeepsGradesGivenByHand:
    @pytest.fixture
    def graded(self, client, session, settings, admin_headers):
        """A short answer graded wrong automatically, then accepted by a teacher."""
        question = make_question(session, "short_text")
        exam = make_exam(session, questions=[question])
        attempt_id, headers, _ = take(client, session, settings, exam, {0: "Jupiter!"})
        assert _result(client, attempt_id, headers).get_json()["score"] == 0
        grade = client.put(
            f"/api/v1/attempts/{attempt_id}/answers/{question.id}/grade",
            json={"points": 1, "feedback": "Fair enough"},
            headers=admin_headers,
        )
        assert grade.status_code == 200
        # A key fix that changes nothing for this answer's automatic grade.
        client.patch(
            f"/api/v1/questions/{question.id}",
            json={"correct_answer": ["Jupiter", "the planet Jupiter"]},
            headers=admin_headers,
        )
        return exam, question, attempt_id, headers

    def _regrade(self, client, session, exam, admin_headers, **body):
        job = client.post(
            f"/api/v1/exams/{exam.id}/regrade", json=body, headers=admin_headers
        ).get_json()
        _run_job(session, job["job_id"])
        return client.get(f"/api/v1/jobs/{job['job_id']}", headers=admin_headers).get_json()

    def test_a_regrade_keeps_the_teachers_grade_and_reports_it(
        self, client, session, admin_headers, graded
    ):
        exam, question, attempt_id, headers = graded
        for dry_run in (True, False):
            report = self._regrade(client, session, exam, admin_headers, dry_run=dry_run)
            assert report["status"] == "succeeded" and report["changed"] == 0
            assert report["report"]["kept_manual"] == [
                {"attempt_id": attempt_id, "question_id": str(question.id)}
            ]
        row = _result(client, attempt_id, headers).get_json()
        assert row["score"] == 1 and row["results"][0]["feedback"] == "Fair enough"

    def test_replace_manual_puts_the_automatic_grade_back(
        self, client, session, admin_headers, graded
    ):
        exam, _, attempt_id, headers = graded
        report = self._regrade(client, session, exam, admin_headers, replace_manual=True)
        assert report["report"]["replace_manual"] is True
        assert report["report"]["kept_manual"] == []
        assert report["report"]["changes"] == [
            {"attempt_id": attempt_id, "old_score": 1, "new_score": 0}
        ]
        assert _result(client, attempt_id, headers).get_json()["score"] == 0

    def test_an_essay_graded_by_hand_survives_even_replace_manual(
        self, client, session, settings, admin_headers
    ):
        essay = make_question(session, "essay")
        exam = make_exam(session, questions=[essay])
        attempt_id, headers, _ = take(client, session, settings, exam, {0: "Light to sugar."})
        client.put(
            f"/api/v1/attempts/{attempt_id}/answers/{essay.id}/grade",
            json={"points": 4},
            headers=admin_headers,
        )
        self._regrade(client, session, exam, admin_headers, replace_manual=True)
        body = _result(client, attempt_id, headers).get_json()
        assert body["score"] == 4 and body["pending_count"] == 0


def _take_as(client, session, exam, headers, response) -> str:
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    _submit(client, attempt, headers, response)
    _grade(session, attempt["id"])
    return attempt["id"]


def _submit(client, attempt, headers, response) -> None:
    qid = attempt["questions"][0]["id"]
    answer = {"answers": [{"question_id": qid, "response": response}]}
    submitted = client.post(
        f"/api/v1/attempts/{attempt['id']}/submit", json=answer, headers=headers
    )
    assert submitted.status_code == 202


def _grade(session, attempt_id) -> None:
    grading.grade_submitted(session, attempt_id, utcnow())
    session.commit()
