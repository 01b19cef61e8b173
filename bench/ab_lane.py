"""A/B lever of the autosave lane for bench/ab.py: one student's save of one answer through
the whole WSGI app, answered by the lane (now) or by the Flask route (before: the lane
passes every request on). Both run the same save statement on the same PostgreSQL, commit
it for real (each save's `seq` is newer, so each writes) and log their access line; the
environ is built once and copied, as a server hands the app a fresh one."""

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
    lane = app.extensions["exam.save_lane"]
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

    def save(enabled: bool) -> Any:
        def run(_session: Any) -> None:
            lane.enabled = enabled
            body = json.dumps(
                {"answers": [{"question_id": numeric, "response": 0.3, "seq": next(seqs)}]}
            ).encode()
            environ = {**template, "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
            status = []
            result = app(environ, lambda s, h, e=None: status.append(s))
            try:
                b"".join(result)
            finally:
                getattr(result, "close", lambda: None)()
            assert status == ["200 OK"], status

        return run

    return [
        {
            "lever": "autosave lane in front of Flask",
            "where": "every autosave that succeeds",
            "variants": {"the Flask route": save(False), "the lane, now": save(True)},
        }
    ]
