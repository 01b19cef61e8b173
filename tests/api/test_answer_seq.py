"""`seq` is a non-negative integer (not "7", 1.0 or 1.5, which a lax Integer field takes),
and a save without one never erases the stored one: a stale retry stays ignored."""

from __future__ import annotations

import json

import pytest

from tests.api.raw_requests import error_of
from tests.factories import login, make_exam, make_question


@pytest.fixture
def headers(client, student):
    return login(client, student)


@pytest.fixture
def numeric_attempt(client, headers, session):
    question = make_question(session, "numeric")
    exam = make_exam(session, questions=[question])
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    return attempt, str(question.id)


def save(client, headers, attempt, qid, response, **seq):
    return client.put(
        f"/api/v1/attempts/{attempt['id']}/answers",
        json={"answers": [{"question_id": qid, "response": response, **seq}]},
        headers=headers,
    )


@pytest.mark.parametrize("seq", [1.5, "7", -1, 1.0, True, "", [1], 10**15 + 1])
def test_seq_must_be_a_non_negative_integer(client, headers, numeric_attempt, seq):
    attempt, qid = numeric_attempt
    response = save(client, headers, attempt, qid, 3, seq=seq)
    errors = error_of(response, 422, "validation_error")["errors"]["json"]
    assert "seq" in json.dumps(errors)


@pytest.mark.parametrize("seq", [0, 10**15, None])
def test_seq_accepts_zero_to_1e15_and_null(client, headers, numeric_attempt, seq):
    attempt, qid = numeric_attempt
    assert save(client, headers, attempt, qid, 3, seq=seq).get_json()["saved"] == 1


def test_a_save_without_seq_keeps_the_stored_seq_so_a_stale_retry_stays_ignored(
    client, headers, numeric_attempt
):
    attempt, qid = numeric_attempt
    assert save(client, headers, attempt, qid, 5, seq=5).get_json()["saved"] == 1
    assert save(client, headers, attempt, qid, 6).get_json()["saved"] == 1  # no seq: it wins
    stale = save(client, headers, attempt, qid, 3, seq=3).get_json()  # the first save's retry
    assert stale["saved"] == 0 and stale["ignored"] == [qid]
    answers = client.get(f"/api/v1/attempts/{attempt['id']}", headers=headers).get_json()
    assert answers["answers"][qid] == 6
    newer = save(client, headers, attempt, qid, 7, seq=8).get_json()
    assert newer["saved"] == 1
