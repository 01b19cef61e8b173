"""Starting and resuming an attempt, shuffling, ownership, and what a student may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.models import Attempt
from shared.services import exams
from tests.factories import leaked_keys, login, make_exam, make_question, make_user

NOW = datetime.now(UTC)


def start(client, headers, exam):
    return client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers)


@pytest.fixture
def headers(client, student):
    return login(client, student)


class TestStart:
    def test_returns_the_questions_without_keys_and_the_server_clock(
        self, client, headers, session
    ):
        exam = make_exam(
            session, questions=[make_question(session, k) for k in ("single_choice", "essay")]
        )
        response = start(client, headers, exam)
        assert response.status_code == 201
        attempt = response.get_json()
        assert attempt["status"] == "in_progress" and attempt["attempt_number"] == 1
        assert attempt["time_remaining_seconds"] in (3599, 3600)
        server_time = datetime.fromisoformat(attempt["server_time"])
        assert abs((server_time - datetime.now(UTC)).total_seconds()) < 5
        deadline = datetime.fromisoformat(attempt["deadline"])
        assert deadline - datetime.fromisoformat(attempt["started_at"]) == timedelta(hours=1)
        assert [q["position"] for q in attempt["questions"]] == [1, 2]
        assert set(attempt["questions"][0]) == {
            "id",
            "type",
            "prompt",
            "options",
            "points",
            "position",
        }
        assert attempt["answers"] == {} and attempt["max_score"] == 6 and attempt["score"] is None
        assert leaked_keys(attempt) == []

    def test_start_again_returns_the_same_attempt(self, client, headers, session):
        exam = make_exam(session)
        first = start(client, headers, exam).get_json()
        again = start(client, headers, exam)
        assert again.status_code == 200 and again.get_json()["id"] == first["id"]

    def test_a_crashed_browser_resumes_with_answers_and_exact_time_left(
        self, client, student, session
    ):
        exam = make_exam(
            session, questions=[make_question(session), make_question(session, "numeric")]
        )
        first_login = login(client, student)
        attempt = start(client, first_login, exam).get_json()
        q1, q2 = (q["id"] for q in attempt["questions"])
        saved = client.put(
            f"/api/v1/attempts/{attempt['id']}/answers",
            json={
                "answers": [
                    {"question_id": q1, "response": "B"},
                    {"question_id": q2, "response": 0.3},
                ]
            },
            headers=first_login,
        )
        assert saved.status_code == 200
        second_login = login(client, student)  # the browser crashed; a new session
        resumed = start(client, second_login, exam)
        assert resumed.status_code == 200
        body = resumed.get_json()
        assert body["id"] == attempt["id"] and body["answers"] == {q1: "B", q2: 0.3}
        assert body["deadline"] == attempt["deadline"]
        assert body["time_remaining_seconds"] <= attempt["time_remaining_seconds"]
        listed = client.get("/api/v1/me/attempts", headers=second_login).get_json()
        assert [(a["id"], a["status"]) for a in listed] == [(attempt["id"], "in_progress")]

    def test_an_admin_cannot_start(self, client, admin, session):
        exam = make_exam(session)
        assert start(client, login(client, admin), exam).status_code == 403


class TestStartRefusals:
    def test_a_draft_exam_does_not_exist_for_students(self, client, headers, session):
        response = start(client, headers, make_exam(session, publish=False))
        assert response.status_code == 404

    @pytest.mark.parametrize(
        "window",
        [
            {"opens_at": NOW + timedelta(hours=1)},
            {"opens_at": NOW - timedelta(hours=2), "closes_at": NOW - timedelta(hours=1)},
        ],
    )
    def test_outside_the_window_is_exam_not_open(self, client, headers, session, window):
        response = start(client, headers, make_exam(session, **window))
        assert response.status_code == 409 and response.get_json()["error"] == "exam_not_open"

    def test_an_archived_exam_is_not_open(self, client, headers, session):
        exam = make_exam(session)
        exams.archive(session, exam.id)
        session.commit()
        assert start(client, headers, exam).get_json()["error"] == "exam_not_open"

    def test_max_attempts(self, client, headers, session):
        exam = make_exam(session, max_attempts=2)
        for number in (1, 2):
            attempt = start(client, headers, exam).get_json()
            assert attempt["attempt_number"] == number
            client.post(f"/api/v1/attempts/{attempt['id']}/submit", json={}, headers=headers)
        refused = start(client, headers, exam)
        assert refused.status_code == 409 and refused.get_json()["error"] == "attempt_limit_reached"
        listed = client.get("/api/v1/me/attempts", headers=headers).get_json()
        assert [a["attempt_number"] for a in listed] == [2, 1]  # newest first


class TestCachedPayload:
    def test_built_once_per_exam_and_never_stale(self, client, session, settings, admin):
        import redis

        question = make_question(session)
        exam = make_exam(session, questions=[question])
        start(client, login(client, make_user(session, settings)), exam)
        cache = redis.Redis.from_url(settings.cache_url)
        prefix = settings.REDIS_KEY_PREFIX
        assert len(cache.keys(f"{prefix}exam:exam-payload:{exam.id}:*")) == 1
        client.patch(
            f"/api/v1/questions/{question.id}", json={"prompt": "Capital of France (fixed)?"},
            headers=login(client, admin),
        )  # fmt: skip
        later = start(client, login(client, make_user(session, settings)), exam).get_json()
        assert later["questions"][0]["prompt"] == "Capital of France (fixed)?"


class TestShuffling:
    def test_orders_are_per_attempt_and_stable(self, client, session, settings):
        questions = [make_question(session) for _ in range(8)]
        exam = make_exam(session, questions=questions, shuffle_questions=True, shuffle_options=True)
        orders = set()
        for _ in range(4):
            headers = login(client, make_user(session, settings))
            attempt = start(client, headers, exam).get_json()
            order = tuple(q["id"] for q in attempt["questions"])
            options = tuple(tuple(o["id"] for o in q["options"]) for q in attempt["questions"])
            assert sorted(order) == sorted(str(q.id) for q in questions)
            for _ in range(2):  # resume shows exactly the same exam
                again = client.get(f"/api/v1/attempts/{attempt['id']}", headers=headers).get_json()
                assert tuple(q["id"] for q in again["questions"]) == order
                assert (
                    tuple(tuple(o["id"] for o in q["options"]) for q in again["questions"])
                    == options
                )
            orders.add(order)
        assert len(orders) > 1  # 4 students, 8! orders: the same order four times is ~1e-14

    def test_without_shuffle_the_exam_order_is_kept(self, client, headers, session):
        questions = [make_question(session, k) for k in ("essay", "numeric", "true_false")]
        attempt = start(client, headers, make_exam(session, questions=questions)).get_json()
        assert [q["id"] for q in attempt["questions"]] == [str(q.id) for q in questions]
        assert attempt["questions"][0]["points"] == 5


class TestAccommodations:
    def test_extra_time_extends_the_deadline(self, client, headers, session, student):
        exam = make_exam(session, duration_seconds=600)
        exams.set_accommodation(session, exam.id, student.user.id, 300)
        session.commit()
        attempt = start(client, headers, exam).get_json()
        length = datetime.fromisoformat(attempt["deadline"]) - datetime.fromisoformat(
            attempt["started_at"]
        )
        assert length == timedelta(seconds=900)

    def test_extra_time_never_passes_closes_at(self, client, headers, session, student):
        closes = (datetime.now(UTC) + timedelta(minutes=20)).replace(microsecond=0)
        exam = make_exam(session, duration_seconds=600, closes_at=closes)
        exams.set_accommodation(session, exam.id, student.user.id, 3600)
        session.commit()
        attempt = start(client, headers, exam).get_json()
        assert datetime.fromisoformat(attempt["deadline"]) == closes


class TestOwnership:
    def test_another_students_attempt_does_not_exist(self, client, session, settings, student):
        exam = make_exam(session)
        mine = start(client, login(client, student), exam).get_json()
        intruder = login(client, make_user(session, settings))
        base = f"/api/v1/attempts/{mine['id']}"
        for method, url, body in [
            ("get", base, None),
            ("get", f"{base}/status", None),
            ("put", f"{base}/answers", {"answers": []}),
            ("post", f"{base}/submit", {}),
        ]:
            response = getattr(client, method)(url, json=body, headers=intruder)
            assert response.status_code == 404, (method, url)
            assert response.get_json()["error"] == "not_found"
        assert client.get("/api/v1/me/attempts", headers=intruder).get_json() == []

    def test_a_revoked_token_polls_nothing_not_even_whether_an_attempt_exists(
        self, client, session, settings, student
    ):
        # The status poll checks revocation inside its own read: 401 before 404 or 200.
        exam = make_exam(session)
        headers = login(client, student)
        mine = start(client, headers, exam).get_json()
        other = start(client, login(client, make_user(session, settings)), exam).get_json()
        assert (
            client.get(f"/api/v1/attempts/{mine['id']}/status", headers=headers).status_code == 200
        )
        assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
        for attempt_id in (mine["id"], other["id"], "00000000-0000-4000-8000-000000000000"):
            response = client.get(f"/api/v1/attempts/{attempt_id}/status", headers=headers)
            assert response.status_code == 401, attempt_id
            assert response.get_json()["error"] == "token_revoked"

    def test_an_admin_may_read_any_attempt_but_not_write_to_it(
        self, client, session, admin, student
    ):
        exam = make_exam(session)
        attempt = start(client, login(client, student), exam).get_json()
        headers = login(client, admin)
        assert client.get(f"/api/v1/attempts/{attempt['id']}", headers=headers).status_code == 200
        assert (
            client.get(f"/api/v1/attempts/{attempt['id']}/status", headers=headers).status_code
            == 200
        )
        response = client.put(
            f"/api/v1/attempts/{attempt['id']}/answers", json={"answers": []}, headers=headers
        )
        assert response.status_code == 403

    def test_the_event_trail_is_for_admins(self, client, session, admin, student):
        exam = make_exam(session)
        headers = login(client, student)
        attempt = start(client, headers, exam).get_json()
        qid = attempt["questions"][0]["id"]
        url = f"/api/v1/attempts/{attempt['id']}"
        client.put(
            f"{url}/answers",
            json={"answers": [{"question_id": qid, "response": "A", "seq": 7}]},
            headers=headers,
        )
        client.post(f"{url}/submit", json={}, headers=headers)
        assert client.get(f"{url}/events", headers=headers).status_code == 403
        events = client.get(f"{url}/events", headers=login(client, admin)).get_json()
        assert [e["kind"] for e in events] == ["started", "saved", "submitted"]
        assert events[1]["data"]["answers"] == [{"question_id": qid, "seq": 7}]


def test_the_database_allows_one_attempt_in_progress(session, settings):
    """The constraint itself, not the application's check, is what stops a double start."""
    from sqlalchemy.exc import IntegrityError

    exam = make_exam(session)
    student = make_user(session, settings)
    common = {
        "exam_id": exam.id, "student_id": student.user.id, "question_order": [],
        "deadline": NOW, "expires_at": NOW,
    }  # fmt: skip
    session.add(Attempt(attempt_number=1, **common))
    session.commit()
    session.add(Attempt(attempt_number=2, **common))
    with pytest.raises(IntegrityError, match="uq_attempts_one_in_progress"):
        session.commit()
