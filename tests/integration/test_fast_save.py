"""The autosave's one-statement path (shared/services/fast_save.py) against the real
database in production mode (an engine, autocommit): it writes exactly what the ordinary
path wrote, and refuses exactly what it refused."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event, select, update

from shared.models import Answer, Attempt, AttemptEvent, User
from tests.factories import login, make_exam, make_question, make_user


@pytest.fixture
def live(app, committed):
    app.extensions["exam.session_factory"] = committed
    return app


@pytest.fixture
def exam_of(live, committed, settings):
    def make(**fields):
        with committed() as session:
            exam = make_exam(session, questions=[make_question(session, "short_text"),
                                                 make_question(session)], **fields)  # fmt: skip
            student = make_user(session, settings)
        client = live.test_client()
        headers = login(client, student)
        attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
        qids = {q["type"]: q["id"] for q in attempt["questions"]}
        return client, headers, attempt, qids, student

    return make


def put(client, headers, attempt, *answers):
    return client.put(
        f"/api/v1/attempts/{attempt['id']}/answers",
        json={"answers": list(answers)},
        headers=headers,
    )


@pytest.fixture
def statements(engine):
    """Statements the app sends (BEGIN/COMMIT are not statements here)."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_a_save_is_one_statement_and_writes_answers_event_and_activity(
    exam_of, committed, statements
):
    client, headers, attempt, qids, _ = exam_of()
    first = put(
        client,
        headers,
        attempt,
        {"question_id": qids["short_text"], "response": "Jupiter", "seq": 1},
    )
    assert first.status_code == 200
    statements.clear()
    before = time.time()
    second = put(
        client, headers, attempt,
        {"question_id": qids["short_text"], "response": "Saturn", "seq": 3},
        {"question_id": qids["short_text"], "response": "Mars", "seq": 2},  # seq 3 wins
        {"question_id": qids["single_choice"], "response": "B", "seq": 1},
    )  # fmt: skip
    assert second.status_code == 200, second.get_json()
    assert len(statements) == 1 and statements[0].lstrip().startswith("WITH tok AS")
    body = second.get_json()
    assert body["saved"] == 2 and body["ignored"] == []
    assert 0 < body["time_remaining_seconds"] <= 3600
    with committed() as session:
        stored = dict(session.execute(
            select(Answer.question_id, Answer.response).where(Answer.attempt_id == attempt["id"])
        ).all())  # fmt: skip
        row = session.get(Attempt, attempt["id"])
        saved_events = session.scalars(
            select(AttemptEvent.data).where(AttemptEvent.kind == "saved").order_by(AttemptEvent.id)
        ).all()
    assert {str(k): v for k, v in stored.items()} == {
        qids["short_text"]: "Saturn",
        qids["single_choice"]: "B",
    }
    assert row.last_activity_at.timestamp() >= before - 1
    assert len(saved_events) == 2 and saved_events[-1]["ignored"] == []
    assert sorted(a["seq"] for a in saved_events[-1]["answers"]) == [1, 3]


def test_a_stale_retry_is_ignored_and_reported(exam_of, committed):
    client, headers, attempt, qids, _ = exam_of()
    qid = qids["short_text"]
    assert (
        put(client, headers, attempt, {"question_id": qid, "response": "new", "seq": 5}).status_code
        == 200
    )
    stale = put(client, headers, attempt, {"question_id": qid, "response": "old", "seq": 4})
    assert stale.status_code == 200 and stale.get_json() == {
        **stale.get_json(),
        "saved": 0,
        "ignored": [qid],
    }
    cleared = put(client, headers, attempt, {"question_id": qid, "response": None, "seq": 6})
    assert cleared.get_json()["saved"] == 1
    with committed() as session:
        assert session.get(Answer, (attempt["id"], qid)).response is None
        last = session.scalars(select(AttemptEvent.data).where(AttemptEvent.kind == "saved")
                               .order_by(AttemptEvent.id.desc())).first()  # fmt: skip
    assert last["ignored"] == []


def test_a_revoked_or_disabled_token_is_refused_by_the_statement(exam_of, committed, live):
    client, headers, attempt, qids, student = exam_of()
    answer = {"question_id": qids["short_text"], "response": "x"}
    assert put(client, headers, attempt, answer).status_code == 200  # the shapes are known now
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    refused = put(client, headers, attempt, answer)
    assert refused.status_code == 401 and refused.get_json()["error"] == "token_revoked"

    headers = login(client, student)
    with committed() as session:
        session.execute(update(User).where(User.id == student.user.id).values(active=False))
        session.commit()
    refused = put(client, headers, attempt, answer)
    assert refused.status_code == 401 and refused.get_json()["error"] == "token_revoked"


def test_someone_elses_attempt_is_404_and_nothing_is_written(exam_of, committed, live, settings):
    client, headers, attempt, qids, _ = exam_of()
    with committed() as session:
        other = make_user(session, settings)
    theirs = login(client, other)
    response = put(client, theirs, attempt, {"question_id": qids["short_text"], "response": "x"})
    assert response.status_code == 404
    with committed() as session:
        assert session.scalar(select(Answer).where(Answer.attempt_id == attempt["id"])) is None


def test_after_deadline_and_grace_the_save_is_refused_and_the_attempt_submitted(exam_of, committed):
    client, headers, attempt, qids, _ = exam_of(duration_seconds=1, grace_seconds=0)
    answer = {"question_id": qids["short_text"], "response": "in time", "seq": 1}
    assert put(client, headers, attempt, answer).status_code == 200
    time.sleep(1.2)
    late = put(client, headers, attempt, {**answer, "response": "late", "seq": 2})
    assert late.status_code == 409 and late.get_json()["error"] == "deadline_passed"
    with committed() as session:
        row = session.get(Attempt, attempt["id"])
        assert (row.status, row.submit_reason) == ("submitted", "timeout")
        assert session.get(Answer, (attempt["id"], qids["short_text"])).response == "in time"


def test_a_wrong_shape_is_the_same_422(exam_of):
    client, headers, attempt, qids, _ = exam_of()
    put(client, headers, attempt, {"question_id": qids["short_text"], "response": "x"})
    bad = put(client, headers, attempt, {"question_id": qids["single_choice"], "response": "Z"})
    assert bad.status_code == 422 and qids["single_choice"] in str(bad.get_json()["errors"])
