"""The autosave lane (web/resources/attempts/fast_path.py) answers a save exactly as the Flask
route would: the same body bytes, headers, access-log line and metrics. Whatever it can't
answer reaches Flask untouched, with nothing written and nothing counted twice."""

from __future__ import annotations

import contextlib
import logging
import re

import pytest
from flask import request_started
from prometheus_client import REGISTRY

from tests.factories import login, make_exam, make_question, make_user

RULE = "/api/v1/attempts/<uuid:attempt_id>/answers"


@pytest.fixture
def lane(app):
    lane = app.extensions["exam.fast_lane"]
    assert lane.enabled
    yield lane
    lane.enabled = True


@contextlib.contextmanager
def flask_requests(app):
    """How many requests Flask itself dispatched meanwhile."""
    seen = []

    def count(sender, **extra):
        seen.append(1)

    request_started.connect(count, app)
    try:
        yield seen
    finally:
        request_started.disconnect(count, app)


def metric(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def exam(session):
    return make_exam(session, questions=[make_question(session, "numeric") for _ in range(2)])


def start(client, headers, exam):
    return client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()


def put(client, attempt, headers, answers, **kwargs):
    return client.put(
        f"/api/v1/attempts/{attempt['id']}/answers",
        json={"answers": answers},
        headers=headers,
        **kwargs,
    )


def access_line(caplog):
    lines = [r for r in caplog.records if r.name == "web.request" and r.getMessage() == "request"]
    assert len(lines) == 1, [r.__dict__ for r in lines]
    line = lines[0]
    assert isinstance(line.duration_ms, float) and line.levelno == logging.INFO
    return {key: getattr(line, key) for key in ("method", "path", "status", "remote_addr")}


def normalised(body: bytes) -> bytes:
    """The body with its two clock readings taken out (the two requests run apart)."""
    stamp = rb'"saved_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00"'
    assert re.search(stamp, body), body
    body = re.sub(stamp, b'"saved_at":"T"', body)
    return re.sub(rb'"time_remaining_seconds":\d+', b'"time_remaining_seconds":N', body)


def test_a_save_is_answered_by_the_lane_exactly_as_flask_answers_it(
    app, client, session, settings, exam, lane, caplog
):
    students = [login(client, make_user(session, settings)) for _ in range(2)]
    attempts = [start(client, headers, exam) for headers in students]
    qids = [q["id"] for q in attempts[0]["questions"]]
    batch = [{"question_id": qids[0], "response": 3, "seq": 2}, {"question_id": qids[1],
             "response": 4.5, "seq": 1}]  # fmt: skip
    stale = [{"question_id": qids[0], "response": 1, "seq": 1}, {"question_id": qids[1],
             "response": 5, "seq": 2}]  # fmt: skip
    answered = {}
    for path, headers, attempt in (("lane", *students[:1], attempts[0]),
                                   ("flask", *students[1:], attempts[1])):  # fmt: skip
        lane.enabled = path == "lane"
        for name, answers in (("fresh", batch), ("stale", stale)):
            caplog.clear()
            before = (
                metric("http_requests_total", method="PUT", endpoint=RULE, status="200"),
                metric("http_request_duration_seconds_count", method="PUT", endpoint=RULE),
                metric("exam_autosave_rejections_total", reason="stale_seq"),
            )
            with caplog.at_level(logging.INFO, logger="web.request"), flask_requests(app) as seen:
                response = put(
                    client, attempt, {**headers, "X-Request-ID": f"{path}-{name}"}, answers
                )
            after = (
                metric("http_requests_total", method="PUT", endpoint=RULE, status="200"),
                metric("http_request_duration_seconds_count", method="PUT", endpoint=RULE),
                metric("exam_autosave_rejections_total", reason="stale_seq"),
            )
            assert len(seen) == (0 if path == "lane" else 1)  # who answered
            assert response.status_code == 200
            assert response.headers["X-Request-ID"] == f"{path}-{name}"
            assert int(response.headers["Content-Length"]) == len(response.data)
            headers_seen = {k: v for k, v in response.headers.items()
                            if k not in ("X-Request-ID", "Content-Length")}  # fmt: skip
            line = access_line(caplog)
            assert line["path"] == f"/api/v1/attempts/{attempt['id']}/answers"
            line["path"] = "the attempt's"
            answered[path, name] = (
                response.status,
                normalised(response.data),
                headers_seen,
                line,
                tuple(b - a for a, b in zip(before, after, strict=True)),
            )
    assert answered["lane", "fresh"] == answered["flask", "fresh"]
    assert answered["lane", "stale"] == answered["flask", "stale"]
    body = answered["lane", "stale"][1]
    assert b'"saved":1' in body and qids[0].encode() in body  # the stale one was ignored
    assert answered["lane", "stale"][4] == (1, 1, 1)  # one answer counted as stale
    for headers, attempt in zip(students, attempts, strict=True):
        stored = client.get(f"/api/v1/attempts/{attempt['id']}", headers=headers).get_json()
        assert stored["answers"] == {qids[0]: 3, qids[1]: 5}


def test_what_the_lane_cannot_answer_reaches_flask_unchanged(
    app, client, session, settings, exam, admin, lane
):
    owner = make_user(session, settings)
    headers = login(client, owner)
    attempt = start(client, headers, exam)
    qid = attempt["questions"][0]["id"]
    good = [{"question_id": qid, "response": 7, "seq": 5}]
    revoked = login(client, owner)
    assert client.post("/api/v1/auth/logout", headers=revoked).status_code == 204
    cases = {
        "a stranger's token": (login(client, make_user(session, settings)), good, {}),
        "an admin's token": (login(client, admin), good, {}),
        "a revoked token": (revoked, good, {}),
        "no token": ({}, good, {}),
        "a wrong shape": (headers, [{"question_id": qid, "response": "seven", "seq": 5}], {}),
        "a question not in the attempt": (
            headers,
            [{"question_id": "00000000-0000-4000-8000-000000000000", "response": 7}],
            {},
        ),  # fmt: skip
        "a seq that is a string": (headers, [{"question_id": qid, "response": 7, "seq": "5"}], {}),
        "a query string": (headers, good, {"query_string": {"x": "\x00"}}),
        "a NUL in text": (headers, [{"question_id": qid, "response": "a\x00", "seq": 5}], {}),
    }
    for case, (who, answers, extra) in cases.items():
        answers_of = {}
        for enabled in (True, False):
            lane.enabled = enabled
            with flask_requests(app) as seen:
                response = put(client, attempt, who, answers, **extra)
            assert len(seen) == 1, case  # Flask answered, with the lane on or off
            answers_of[enabled] = (response.status_code, (response.get_json() or {}).get("error"))
        assert answers_of[True] == answers_of[False], case
        assert answers_of[True][0] >= 400, case
    stored = client.get(f"/api/v1/attempts/{attempt['id']}", headers=headers).get_json()
    assert stored["answers"] == {}  # nothing any of them sent was written
    events = client.get(f"/api/v1/attempts/{attempt['id']}/events", headers=login(client, admin))
    assert [e["kind"] for e in events.get_json()] == ["started"]


def test_a_body_that_is_not_json_reaches_flask(app, client, session, settings, exam, lane):
    headers = login(client, make_user(session, settings))
    attempt = start(client, headers, exam)
    url = f"/api/v1/attempts/{attempt['id']}/answers"
    for body, content_type in (('{"answers": [', "application/json"), ("answers", "text/plain")):
        outcomes = []
        for enabled in (True, False):
            lane.enabled = enabled
            with flask_requests(app) as seen:
                response = client.put(url, data=body, content_type=content_type, headers=headers)
            assert len(seen) == 1
            outcomes.append((response.status_code, (response.get_json() or {}).get("error")))
        assert outcomes[0] == outcomes[1] and outcomes[0][0] in (400, 415, 422), outcomes


def poll(client, attempt, headers, etag=None):
    extra = {"If-None-Match": etag} if etag else {}
    return client.get(f"/api/v1/attempts/{attempt['id']}/status", headers={**headers, **extra})


def test_a_poll_is_answered_by_the_lane_exactly_as_flask_answers_it(
    app, client, session, settings, exam, lane, caplog
):
    headers = login(client, make_user(session, settings))
    attempt = start(client, headers, exam)
    rule = "/api/v1/attempts/<uuid:attempt_id>/status"
    answered = {}
    for path in ("lane", "flask"):
        lane.enabled = path == "lane"
        etag = None
        for name in ("changed", "unchanged", "star"):
            caplog.clear()
            status = {"changed": "200", "unchanged": "304", "star": "304"}[name]
            before = metric("http_requests_total", method="GET", endpoint=rule, status=status)
            with caplog.at_level(logging.INFO, logger="web.request"), flask_requests(app) as seen:
                response = poll(client, attempt, headers, "*" if name == "star" else etag)
            after = metric("http_requests_total", method="GET", endpoint=rule, status=status)
            assert len(seen) == (0 if path == "lane" else 1)  # who answered
            assert str(response.status_code) == status, (path, name)
            etag = response.headers["ETag"]
            answered[path, name] = (
                response.status,
                response.data,
                {k: v for k, v in response.headers.items() if k != "X-Request-ID"},
                access_line(caplog),
                after - before,
            )
    for name in ("changed", "unchanged", "star"):
        assert answered["lane", name] == answered["flask", name], name
    assert answered["lane", "changed"][4] == 1
    assert b'"status":"in_progress"' in answered["lane", "changed"][1]


def test_a_poll_the_lane_cannot_answer_reaches_flask(
    app, client, session, settings, exam, admin, lane
):
    from datetime import timedelta

    from sqlalchemy import update

    from shared.models import Attempt, utcnow

    owner = make_user(session, settings)
    headers = login(client, owner)
    attempt = start(client, headers, exam)
    revoked = login(client, owner)
    assert client.post("/api/v1/auth/logout", headers=revoked).status_code == 204
    cases = {
        "a stranger's token": (login(client, make_user(session, settings)), (404, "not_found")),
        "an admin's token": (login(client, admin), (200, None)),
        "a revoked token": (revoked, (401, "token_revoked")),
        "no token": ({}, (401, "unauthorized")),
    }
    for case, (who, expected) in cases.items():
        for enabled in (True, False):
            lane.enabled = enabled
            with flask_requests(app) as seen:
                response = poll(client, attempt, who)
            assert len(seen) == 1, case
            outcome = (response.status_code, (response.get_json() or {}).get("error"))
            assert outcome == expected, (case, enabled)
    lane.enabled = True
    with flask_requests(app) as seen:  # a body on a GET is the input guard's to judge
        response = client.get(
            f"/api/v1/attempts/{attempt['id']}/status", data='{"a": "\\u0000"}',
            content_type="application/json", headers=headers,
        )  # fmt: skip
    assert len(seen) == 1 and response.status_code == 422
    # Time ran out and no sweep noticed: the route submits it on the spot.
    past = utcnow() - timedelta(minutes=5)
    session.execute(
        update(Attempt).where(Attempt.id == attempt["id"]).values(deadline=past, expires_at=past)
    )
    session.commit()
    with flask_requests(app) as seen:
        response = poll(client, attempt, headers)
    assert len(seen) == 1 and response.status_code == 200
    assert response.get_json()["status"] in ("submitted", "graded")
