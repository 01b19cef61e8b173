"""Exams through the HTTP API: fields and validation, question lists, lifecycle,
accommodations, and what students may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shared.models import Attempt
from tests.factories import leaked_keys, login, make_exam, make_question, make_user

URL = "/api/v1/exams"
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def admin_headers(client, admin):
    return login(client, admin)


@pytest.fixture
def student_headers(client, student):
    return login(client, student)


def add_attempt(session, exam, student, **fields) -> Attempt:
    """An attempt row as the attempts flow would leave it (the exam-taking API comes later)."""
    number = fields.pop("attempt_number", 1)
    attempt = Attempt(
        exam_id=exam.id,
        student_id=student.user.id,
        attempt_number=number,
        deadline=NOW + timedelta(hours=1),
        expires_at=NOW + timedelta(hours=1, seconds=30),
        question_order=[str(item.question_id) for item in exam.items],
        **fields,
    )
    session.add(attempt)
    session.commit()
    return attempt


class TestCreate:
    def test_defaults(self, client, admin_headers):
        response = client.post(
            URL, json={"title": "Quiz", "duration_seconds": 600}, headers=admin_headers
        )
        assert response.status_code == 201
        exam = response.get_json()
        assert exam["status"] == "draft"
        assert exam["grace_seconds"] == 30 and exam["max_attempts"] == 1
        assert exam["results_release"] == "immediate" and exam["show_correct_answers"] is False
        assert exam["shuffle_questions"] is False and exam["shuffle_options"] is False
        assert exam["question_count"] == 0 and exam["max_score"] == 0
        assert exam["opens_at"] is None and exam["closes_at"] is None

    def test_all_fields_round_trip(self, client, admin_headers):
        body = {
            "title": "Final", "description": "Bring a pencil", "duration_seconds": 5400,
            "opens_at": "2026-12-01T09:00:00+00:00", "closes_at": "2026-12-01T12:00:00Z",
            "grace_seconds": 0, "max_attempts": 2, "shuffle_questions": True,
            "shuffle_options": True, "results_release": "after_close", "show_correct_answers": True,
        }  # fmt: skip
        exam = client.post(URL, json=body, headers=admin_headers).get_json()
        for key in ("title", "description", "duration_seconds", "grace_seconds", "max_attempts"):
            assert exam[key] == body[key]
        assert datetime.fromisoformat(exam["closes_at"]) == datetime(2026, 12, 1, 12, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"duration_seconds": 0}, "duration_seconds"),
            ({"grace_seconds": -1}, "grace_seconds"),
            ({"max_attempts": 0}, "max_attempts"),
            ({"title": ""}, "title"),
            ({"opens_at": "2026-12-01T09:00:00"}, "opens_at"),  # no offset: ambiguous
            (
                {"opens_at": "2026-12-01T10:00:00Z", "closes_at": "2026-12-01T09:00:00Z"},
                "closes_at",
            ),
            (
                {"opens_at": "2026-12-01T10:00:00Z", "closes_at": "2026-12-01T10:00:00Z"},
                "closes_at",
            ),
            ({"results_release": "after_close"}, "results_release"),
            ({"results_release": "someday"}, "results_release"),
            ({"status": "published"}, "status"),
        ],
    )
    def test_invalid_fields_are_a_422(self, client, admin_headers, change, field):
        body = {"title": "Quiz", "duration_seconds": 600, **change}
        response = client.post(URL, json=body, headers=admin_headers)
        assert response.status_code == 422, response.get_json()
        assert field in response.get_json()["errors"]["json"]

    def test_an_edit_is_checked_against_the_whole_exam(self, client, admin_headers, session):
        exam = make_exam(session, publish=False, closes_at=NOW + timedelta(days=1))
        response = client.patch(
            f"{URL}/{exam.id}",
            json={"opens_at": (NOW + timedelta(days=2)).isoformat()},
            headers=admin_headers,
        )
        assert response.status_code == 422
        assert "closes_at" in response.get_json()["errors"]["json"]


class TestQuestionList:
    def test_sets_the_order_and_derives_count_and_max_score(self, client, admin_headers, session):
        q1, q2, q3 = (
            make_question(session, k) for k in ("single_choice", "multiple_choice", "numeric")
        )
        exam = make_exam(session, questions=[], publish=False)
        items = [
            {"question_id": str(q3.id)},
            {"question_id": str(q1.id), "points": 4},
            {"question_id": str(q2.id)},
        ]
        response = client.put(
            f"{URL}/{exam.id}/questions", json={"questions": items}, headers=admin_headers
        )
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["question_count"] == 3
        assert Decimal(str(body["max_score"])) == Decimal("1.5") + 4 + 2
        listed = client.get(f"{URL}/{exam.id}/questions", headers=admin_headers).get_json()
        assert [i["question_id"] for i in listed] == [str(q3.id), str(q1.id), str(q2.id)]
        assert [i["points"] for i in listed] == [1.5, 4, 2]
        assert listed[1]["points_override"] == 4 and listed[0]["points_override"] is None

    def test_max_score_follows_a_question_points_edit(self, client, admin_headers, session):
        question = make_question(session)
        exam = make_exam(session, questions=[question], publish=False)
        client.patch(f"/api/v1/questions/{question.id}", json={"points": 3}, headers=admin_headers)
        assert client.get(f"{URL}/{exam.id}", headers=admin_headers).get_json()["max_score"] == 3

    def test_replacing_the_list_reorders(self, client, admin_headers, session):
        q1, q2 = make_question(session), make_question(session, "essay")
        exam = make_exam(session, questions=[q1, q2], publish=False)
        items = [{"question_id": str(q2.id)}, {"question_id": str(q1.id)}]
        client.put(f"{URL}/{exam.id}/questions", json={"questions": items}, headers=admin_headers)
        listed = client.get(f"{URL}/{exam.id}/questions", headers=admin_headers).get_json()
        assert [i["question_id"] for i in listed] == [str(q2.id), str(q1.id)]

    @pytest.mark.parametrize("problem", ["duplicate", "unknown", "zero_points"])
    def test_bad_lists_are_a_422(self, client, admin_headers, session, problem):
        question = make_question(session)
        exam = make_exam(session, questions=[], publish=False)
        items = {
            "duplicate": [{"question_id": str(question.id)}] * 2,
            "unknown": [{"question_id": "00000000-0000-0000-0000-000000000001"}],
            "zero_points": [{"question_id": str(question.id), "points": 0}],
        }[problem]
        response = client.put(
            f"{URL}/{exam.id}/questions", json={"questions": items}, headers=admin_headers
        )
        assert response.status_code == 422


class TestLifecycle:
    def test_publish_needs_a_question(self, client, admin_headers, session):
        exam = make_exam(session, questions=[], publish=False)
        response = client.post(f"{URL}/{exam.id}/publish", headers=admin_headers)
        assert response.status_code == 409 and response.get_json()["error"] == "conflict"

    def test_draft_to_published_to_archived(self, client, admin_headers, session):
        exam = make_exam(session, publish=False)
        published = client.post(f"{URL}/{exam.id}/publish", headers=admin_headers).get_json()
        assert published["status"] == "published" and published["published_at"]
        archived = client.post(f"{URL}/{exam.id}/archive", headers=admin_headers).get_json()
        assert archived["status"] == "archived"
        again = client.post(f"{URL}/{exam.id}/publish", headers=admin_headers)
        assert again.status_code == 409

    def test_before_any_attempt_a_published_exam_can_still_change(
        self, client, admin_headers, session
    ):
        exam = make_exam(session)
        other = make_question(session, "true_false")
        assert (
            client.patch(
                f"{URL}/{exam.id}", json={"duration_seconds": 1200}, headers=admin_headers
            ).status_code
            == 200
        )
        items = {"questions": [{"question_id": str(other.id)}]}
        assert (
            client.put(f"{URL}/{exam.id}/questions", json=items, headers=admin_headers).status_code
            == 200
        )

    def test_once_an_attempt_exists_questions_are_fixed_but_timing_may_change(
        self, client, admin_headers, session, settings
    ):
        exam = make_exam(session)
        add_attempt(session, exam, make_user(session, settings))
        items = {"questions": [{"question_id": str(make_question(session).id)}]}
        assert (
            client.put(f"{URL}/{exam.id}/questions", json=items, headers=admin_headers).status_code
            == 409
        )
        # Exam day: timing may change under running attempts (tests/api/test_exam_day.py).
        for change in (
            {"duration_seconds": 1200}, {"grace_seconds": 0},
            {"closes_at": (NOW + timedelta(days=3)).isoformat()}, {"opens_at": NOW.isoformat()},
            {"title": "Midterm (v2)", "max_attempts": 2},
        ):  # fmt: skip
            response = client.patch(f"{URL}/{exam.id}", json=change, headers=admin_headers)
            assert response.status_code == 200, (change, response.json)

    def test_an_exam_with_attempts_is_archived_not_deleted(
        self, client, admin_headers, session, settings
    ):
        exam = make_exam(session)
        add_attempt(session, exam, make_user(session, settings))
        assert client.delete(f"{URL}/{exam.id}", headers=admin_headers).status_code == 409
        unused = make_exam(session, publish=False)
        assert client.delete(f"{URL}/{unused.id}", headers=admin_headers).status_code == 204


class TestAccommodations:
    def test_stored_per_exam_and_student(self, client, admin_headers, session, student):
        exam = make_exam(session)
        url = f"{URL}/{exam.id}/accommodations/{student.user.id}"
        assert (
            client.put(url, json={"extra_seconds": 600}, headers=admin_headers).get_json()[
                "extra_seconds"
            ]
            == 600
        )
        assert (
            client.put(url, json={"extra_seconds": 900}, headers=admin_headers).status_code == 200
        )
        listed = client.get(f"{URL}/{exam.id}/accommodations", headers=admin_headers).get_json()
        assert [(a["student_id"], a["extra_seconds"]) for a in listed] == [
            (str(student.user.id), 900)
        ]

    def test_bad_accommodations(self, client, admin_headers, session, admin, student):
        exam = make_exam(session)
        url = f"{URL}/{exam.id}/accommodations"
        assert (
            client.put(
                f"{url}/{student.user.id}", json={"extra_seconds": -5}, headers=admin_headers
            ).status_code
            == 422
        )
        assert (
            client.put(
                f"{url}/{admin.user.id}", json={"extra_seconds": 5}, headers=admin_headers
            ).status_code
            == 404
        )
        unknown = "00000000-0000-0000-0000-000000000009"
        assert (
            client.put(
                f"{url}/{unknown}", json={"extra_seconds": 5}, headers=admin_headers
            ).status_code
            == 404
        )


class TestStudentView:
    def test_students_see_only_published_exams(self, client, student_headers, session):
        published = make_exam(session, title="Published")
        draft = make_exam(session, title="Draft", publish=False)
        archived = make_exam(session, title="Archived")
        from shared.services import exams

        exams.archive(session, archived.id)
        session.commit()
        listed = client.get(URL, headers=student_headers).get_json()
        assert [e["title"] for e in listed] == ["Published"]
        assert client.get(f"{URL}/{published.id}", headers=student_headers).status_code == 200
        for hidden in (draft, archived):
            response = client.get(f"{URL}/{hidden.id}", headers=student_headers)
            assert response.status_code == 404 and response.get_json()["error"] == "not_found"

    def test_each_exam_carries_only_my_attempt_summary(self, client, session, settings, student):
        exam = make_exam(session, max_attempts=3)
        classmate = make_user(session, settings)
        add_attempt(session, exam, student, status="graded", score=Decimal(7), attempt_number=1)
        add_attempt(session, exam, student, status="graded", score=Decimal(9), attempt_number=2)
        add_attempt(session, exam, classmate, status="graded", score=Decimal(10))
        current = add_attempt(session, exam, student, attempt_number=3)
        headers = login(client, student)
        summary = client.get(f"{URL}/{exam.id}", headers=headers).get_json()["attempt_summary"]
        assert summary == {
            "attempt_count": 3, "best_score": 9, "in_progress": True,
            "in_progress_attempt_id": str(current.id),
        }  # fmt: skip
        listed = client.get(URL, headers=headers).get_json()
        assert listed[0]["attempt_summary"]["attempt_count"] == 3

    def test_best_score_waits_for_the_results_release(self, client, session, student):
        exam = make_exam(session, results_release="manual")
        add_attempt(session, exam, student, status="graded", score=Decimal(5))
        summary = client.get(f"{URL}/{exam.id}", headers=login(client, student)).get_json()[
            "attempt_summary"
        ]
        assert summary["attempt_count"] == 1 and summary["best_score"] is None

    def test_admins_get_no_summary(self, client, admin_headers, session):
        exam = make_exam(session)
        assert (
            client.get(f"{URL}/{exam.id}", headers=admin_headers).get_json()["attempt_summary"]
            is None
        )

    def test_no_student_response_leaks_a_key_or_explanation(self, client, student_headers, session):
        exam = make_exam(
            session, questions=[make_question(session, k) for k in ("single_choice", "numeric")]
        )
        for url in (URL, f"{URL}/{exam.id}"):
            payload = client.get(url, headers=student_headers).get_json()
            assert leaked_keys(payload) == [], url
        for url in (f"{URL}/{exam.id}/questions", f"{URL}/{exam.id}/accommodations"):
            assert client.get(url, headers=student_headers).status_code == 403

    def test_students_cannot_author(self, client, student_headers, session, student):
        exam = make_exam(session, publish=False)
        for method, url, body in [
            ("post", URL, {"title": "x", "duration_seconds": 60}),
            ("patch", f"{URL}/{exam.id}", {"title": "x"}),
            ("delete", f"{URL}/{exam.id}", None),
            ("put", f"{URL}/{exam.id}/questions", {"questions": []}),
            ("post", f"{URL}/{exam.id}/publish", None),
            ("post", f"{URL}/{exam.id}/archive", None),
            ("put", f"{URL}/{exam.id}/accommodations/{student.user.id}", {"extra_seconds": 999}),
        ]:
            response = getattr(client, method)(url, json=body, headers=student_headers)
            assert response.status_code == 403, (method, url)
