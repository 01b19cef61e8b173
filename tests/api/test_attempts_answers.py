"""Autosave (with seq), submit, and the status endpoint."""

from __future__ import annotations

import pytest

from shared.models import Answer, Attempt
from tests.factories import (
    QUESTION_PAYLOADS,
    leaked_keys,
    login,
    make_exam,
    make_question,
    make_user,
)


@pytest.fixture
def headers(client, student):
    return login(client, student)


@pytest.fixture
def attempt(client, headers, session):
    """An attempt at an exam with one question of every type; ids by type."""
    questions = {kind: make_question(session, kind) for kind in QUESTION_PAYLOADS}
    exam = make_exam(session, questions=list(questions.values()))
    body = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    body["qid"] = {kind: str(q.id) for kind, q in questions.items()}
    return body


def save(client, headers, attempt, *answers):
    return client.put(
        f"/api/v1/attempts/{attempt['id']}/answers",
        json={"answers": list(answers)},
        headers=headers,
    )


def stored(client, headers, attempt):
    return client.get(f"/api/v1/attempts/{attempt['id']}", headers=headers).get_json()["answers"]


class TestAutosave:
    def test_a_batch_of_every_type_is_saved(self, client, headers, attempt):
        q = attempt["qid"]
        batch = [
            {"question_id": q["single_choice"], "response": "B"},
            {"question_id": q["multiple_choice"], "response": ["A", "C"]},
            {"question_id": q["true_false"], "response": False},
            {"question_id": q["short_text"], "response": "Jupiter"},
            {"question_id": q["numeric"], "response": 0.3},
            {"question_id": q["essay"], "response": "Light becomes sugar."},
        ]
        response = save(client, headers, attempt, *batch)
        body = response.get_json()
        assert response.status_code == 200 and body["saved"] == 6 and body["ignored"] == []
        assert body["time_remaining_seconds"] > 3500 and body["saved_at"]
        assert stored(client, headers, attempt) == {a["question_id"]: a["response"] for a in batch}

    def test_a_stale_retry_never_overwrites_a_newer_answer(self, client, headers, attempt):
        qid = attempt["qid"]["single_choice"]
        assert (
            save(
                client, headers, attempt, {"question_id": qid, "response": "C", "seq": 5}
            ).get_json()["saved"]
            == 1
        )
        late = save(
            client, headers, attempt, {"question_id": qid, "response": "A", "seq": 3}
        ).get_json()
        assert late["saved"] == 0 and late["ignored"] == [qid]
        assert stored(client, headers, attempt)[qid] == "C"

    def test_an_equal_resend_is_a_harmless_no_op(self, client, headers, attempt):
        qid = attempt["qid"]["numeric"]
        save(client, headers, attempt, {"question_id": qid, "response": 1, "seq": 9})
        again = save(
            client, headers, attempt, {"question_id": qid, "response": 2, "seq": 9}
        ).get_json()
        assert again["saved"] == 0 and stored(client, headers, attempt)[qid] == 1

    def test_a_newer_seq_wins_and_null_clears(self, client, headers, attempt):
        qid = attempt["qid"]["short_text"]
        save(client, headers, attempt, {"question_id": qid, "response": "Saturn", "seq": 1})
        save(client, headers, attempt, {"question_id": qid, "response": None, "seq": 2})
        assert stored(client, headers, attempt)[qid] is None

    def test_without_seq_the_last_save_wins(self, client, headers, attempt):
        qid = attempt["qid"]["true_false"]
        save(client, headers, attempt, {"question_id": qid, "response": True, "seq": 4})
        save(client, headers, attempt, {"question_id": qid, "response": False})
        assert stored(client, headers, attempt)[qid] is False

    def test_the_same_question_twice_in_a_batch_keeps_the_highest_seq(
        self, client, headers, attempt
    ):
        qid = attempt["qid"]["single_choice"]
        newer = {"question_id": qid, "response": "C", "seq": 3}
        older = {"question_id": qid, "response": "A", "seq": 2}
        save(client, headers, attempt, newer, older)
        assert stored(client, headers, attempt)[qid] == "C"

    @pytest.mark.parametrize(
        ("kind", "response"),
        [
            ("single_choice", "Z"), ("single_choice", ["A"]), ("multiple_choice", "A"),
            ("multiple_choice", ["A", "A"]), ("multiple_choice", ["Q"]), ("true_false", "yes"),
            ("short_text", 42), ("numeric", "0.3"), ("numeric", True), ("essay", {"text": "x"}),
            ("essay", "x" * 20_001), ("short_text", "x" * 1_001),
        ],
    )  # fmt: skip
    def test_a_response_of_the_wrong_shape_is_a_422_naming_the_question(
        self, client, headers, attempt, kind, response
    ):
        q = attempt["qid"]
        good = {"question_id": q["true_false"], "response": True}
        result = save(
            client, headers, attempt, good, {"question_id": q[kind], "response": response}
        )
        assert result.status_code == 422
        assert q[kind] in str(result.get_json()["errors"])
        assert stored(client, headers, attempt) == {}  # the batch is one transaction

    def test_a_question_not_in_the_exam_is_a_422(self, client, headers, attempt, session):
        stranger = str(make_question(session).id)
        result = save(client, headers, attempt, {"question_id": stranger, "response": "A"})
        assert result.status_code == 422 and stranger in str(result.get_json()["errors"])

    def test_a_save_moves_last_activity(self, client, headers, attempt, session):
        before = session.get(Attempt, attempt["id"]).last_activity_at
        save(client, headers, attempt, {"question_id": attempt["qid"]["essay"], "response": "x"})
        session.expire_all()
        assert session.get(Attempt, attempt["id"]).last_activity_at > before

    def test_unknown_fields_are_rejected(self, client, headers, attempt):
        qid = attempt["qid"]["essay"]
        response = save(
            client, headers, attempt, {"question_id": qid, "response": "x", "score": 10}
        )
        assert response.status_code == 422


class TestSubmit:
    def test_submit_saves_the_last_answers_and_returns_202(self, client, headers, attempt, session):
        qid = attempt["qid"]["single_choice"]
        response = client.post(
            f"/api/v1/attempts/{attempt['id']}/submit",
            json={"answers": [{"question_id": qid, "response": "B", "seq": 12}]},
            headers=headers,
        )
        body = response.get_json()
        assert response.status_code == 202
        assert body == {
            "id": attempt["id"], "status": "submitted",
            "status_url": f"/api/v1/attempts/{attempt['id']}/status",
        }  # fmt: skip
        row = session.get(Attempt, attempt["id"])
        assert row.status == "submitted" and row.submit_reason == "student" and row.submitted_at
        assert session.get(Answer, (row.id, qid)).response == "B"

    def test_an_invalid_final_batch_submits_nothing(self, client, headers, attempt, session):
        qid = attempt["qid"]["numeric"]
        response = client.post(
            f"/api/v1/attempts/{attempt['id']}/submit",
            json={"answers": [{"question_id": qid, "response": "many"}]},
            headers=headers,
        )
        assert response.status_code == 422
        assert session.get(Attempt, attempt["id"]).status == "in_progress"

    def test_after_submit_saves_and_submits_are_refused(self, client, headers, attempt):
        url = f"/api/v1/attempts/{attempt['id']}"
        assert client.post(f"{url}/submit", json={}, headers=headers).status_code == 202
        again = client.post(f"{url}/submit", json={}, headers=headers)
        assert again.status_code == 409 and again.get_json()["error"] == "already_submitted"
        late = save(
            client, headers, attempt, {"question_id": attempt["qid"]["essay"], "response": "x"}
        )
        assert late.status_code == 409 and late.get_json()["error"] == "already_submitted"


class TestStatus:
    def test_status_with_etag_and_304(self, client, headers, attempt):
        url = f"/api/v1/attempts/{attempt['id']}/status"
        first = client.get(url, headers=headers)
        assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
        assert first.get_json() == {
            "id": attempt["id"], "status": "in_progress", "submit_reason": None, "score": None,
            "max_score": attempt["max_score"], "pending_manual": 0, "graded_at": None,
            "deadline": attempt["deadline"],
        }  # fmt: skip
        etag = first.headers["ETag"]
        unchanged = client.get(url, headers={**headers, "If-None-Match": etag})
        assert (
            unchanged.status_code == 304
            and unchanged.data == b""
            and unchanged.headers["ETag"] == etag
        )
        client.post(f"/api/v1/attempts/{attempt['id']}/submit", json={}, headers=headers)
        changed = client.get(url, headers={**headers, "If-None-Match": etag})
        assert changed.status_code == 200 and changed.get_json()["status"] == "submitted"
        assert changed.headers["ETag"] != etag


def test_no_student_response_in_the_flow_leaks_a_key(client, headers, attempt):
    url = f"/api/v1/attempts/{attempt['id']}"
    q = attempt["qid"]
    responses = [
        client.get(url, headers=headers),
        save(client, headers, attempt, {"question_id": q["single_choice"], "response": "A"}),
        client.get(f"{url}/status", headers=headers),
        client.get("/api/v1/me/attempts", headers=headers),
        client.get("/api/v1/exams", headers=headers),
        client.post(f"{url}/submit", json={}, headers=headers),
        client.get(url, headers=headers),
    ]
    for response in responses:
        assert response.status_code < 300
        assert leaked_keys(response.get_json()) == [], response.request.path
    assert leaked_keys(attempt) == []


def test_an_autosave_burst_is_slowed_down_with_retry_after(db, student, session):
    from shared.config import load_settings
    from web import create_app

    app = create_app(load_settings(AUTOSAVES_PER_ATTEMPT="5 per minute"))
    app.extensions["exam.session_factory"] = db
    client = app.test_client()
    headers = login(client, student)
    exam = make_exam(session, questions=[make_question(session, "essay")])
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    qid = attempt["questions"][0]["id"]
    url = f"/api/v1/attempts/{attempt['id']}/answers"
    stranger = login(client, make_user(session, app.extensions["exam.settings"]))
    for _ in range(8):  # a stranger's refused saves don't count against the owner
        assert client.put(url, json={"answers": []}, headers=stranger).status_code == 404
    codes = [
        client.put(
            url, json={"answers": [{"question_id": qid, "response": f"v{n}"}]}, headers=headers
        ).status_code
        for n in range(6)
    ]
    assert codes == [200] * 5 + [429]
    limited = client.put(
        url, json={"answers": [{"question_id": qid, "response": "v6"}]}, headers=headers
    )
    assert limited.get_json()["error"] == "rate_limited" and int(limited.headers["Retry-After"]) > 0
    assert stored(client, headers, attempt)[qid] == "v4"  # the refused save changed nothing


def test_the_trail_records_which_session_and_address_saved(client, student, attempt, session):
    """Two logins of one student saving the same attempt leave two devices in the trail."""
    from shared.models import AttemptEvent

    q = attempt["qid"]
    first, second = login(client, student), login(client, student)
    for headers, seq in ((first, 1), (second, 2)):
        response = save(
            client, headers, attempt, {"question_id": q["essay"], "response": "x", "seq": seq}
        )
        assert response.status_code == 200
    saved = session.scalars(
        AttemptEvent.__table__.select()
        .with_only_columns(AttemptEvent.data)
        .where(AttemptEvent.attempt_id == attempt["id"], AttemptEvent.kind == "saved")
        .order_by(AttemptEvent.id)
    ).all()
    assert len({event["sid"] for event in saved}) == 2
    assert all(event["address"] == "127.0.0.1" for event in saved)
