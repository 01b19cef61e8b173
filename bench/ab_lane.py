"""A/B levers of the fast lane for bench/ab.py: one student's save of one answer, and one
student's status poll answered 304, through the whole WSGI app, answered by the lane (now)
or by the Flask route (before: the lane passes every request on). Both run the same
statement on the same PostgreSQL (a save commits for real: each `seq` is newer, so each
writes) and log their access line; the environ is built once and copied, as a server hands
the app a fresh one."""

from __future__ import annotations

import io
import itertools
import json
from typing import Any

from bench.data import Data
from web import create_app


def levers(data: Data) -> list[dict[str, Any]]:
    settings = data.stack.settings.model_copy(  # the allowance is not what is measured
        update={"AUTOSAVES_PER_ATTEMPT": "1000000 per minute"}
    )
    app = create_app(settings)
    lane = app.extensions["exam.fast_lane"]
    status_etag: list[str] = []
    exam_id, exam_questions = data.exam(question_count=20)
    student = data.users(1)
    attempt_id = data.attempts(exam_id, student, exam_questions, answered=False)[0]
    token = data.tokens(student)[0]
    numeric = next(q["id"] for q in exam_questions if q["type"] == "numeric")
    seqs = itertools.count(1)
    template = {
        "REQUEST_METHOD": "PUT",
        "SCRIPT_NAME": "",
        "PATH_INFO": f"/api/v1/attempts/{attempt_id}/answers",
        "QUERY_STRING": "",
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_HOST": "bench",
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.errors": io.StringIO(),
    }

    def call(environ: dict[str, Any], expected: str) -> list[tuple[str, str]]:
        seen: list[Any] = []
        result = app(environ, lambda s, h, e=None: seen.append((s, h)))
        try:
            b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        assert seen[0][0] == expected, seen
        return seen[0][1]

    def save(enabled: bool) -> Any:
        def run(_session: Any) -> None:
            lane.enabled = enabled
            body = json.dumps(
                {"answers": [{"question_id": numeric, "response": 0.3, "seq": next(seqs)}]}
            ).encode()
            environ = {**template, "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
            call(environ, "200 OK")

        return run

    poll_template = {
        **template,
        "REQUEST_METHOD": "GET",
        "PATH_INFO": f"/api/v1/attempts/{attempt_id}/status",
        "CONTENT_TYPE": "",
        "wsgi.input": io.BytesIO(),
    }

    def poll(enabled: bool) -> Any:
        def run(_session: Any) -> None:
            lane.enabled = enabled
            if not status_etag:  # the page's first poll: 200 with the ETag it sends back
                headers = dict(call(dict(poll_template), "200 OK"))
                status_etag.append(headers["ETag"])
            call({**poll_template, "HTTP_IF_NONE_MATCH": status_etag[0]}, "304 NOT MODIFIED")

        return run

    return [
        {
            "lever": "autosave lane in front of Flask",
            "where": "every autosave that succeeds",
            "variants": {"the Flask route": save(False), "the lane, now": save(True)},
        },
        {
            "lever": "status poll lane in front of Flask",
            "where": "every status poll of a student's own attempt (mostly 304)",
            "variants": {"the Flask route": poll(False), "the lane, now": poll(True)},
        },
    ]
