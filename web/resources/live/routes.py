"""The live view: `GET /exams/{id}/live`, and its stream of server-sent events.

Under gunicorn the stream is served by web/live_stream.py on the event loop, which calls
`GET /live` for each event; the stream route here is what answers without an event loop (the
Flask test client, `flask run`, the gthread worker). It holds its thread, so it ends after
`WSGI_STREAM_SECONDS` and the client reconnects.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

from flask import Response, stream_with_context
from flask.views import MethodView
from flask_jwt_extended import verify_jwt_in_request
from flask_jwt_extended.exceptions import RevokedTokenError
from jwt import ExpiredSignatureError

from shared.errors import NotFound
from shared.examday import live
from shared.models import Role, utcnow
from web.errors import ErrorSchema, error_body
from web.extensions import cache, db_session
from web.live_stream import RETRY_MS, TICK_SECONDS, sse, stream_headers
from web.resources.live.schemas import LiveSchema
from web.security import Blueprint

blp = Blueprint("live", __name__, url_prefix="/api/v1", description="The proctor's live view")

WSGI_STREAM_SECONDS = 60
_STREAM_DOC = {
    "200": {
        "description": "`event: live` with the live object at least every 5 s (about every "
        f"{TICK_SECONDS:g} s); `event: error` with an error body when the token stops being "
        "valid, then the stream ends. Reconnect when it ends.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


@blp.route("/exams/<uuid:exam_id>/live")
class Live(MethodView):
    @blp.auth(Role.ADMIN)
    @blp.response(200, LiveSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such exam")
    def get(self, exam_id: uuid.UUID) -> Response:
        """Counts by status, the last minute's saves and submissions, the grading backlog and
        the idle attempts of a running exam (at most a second old)"""
        # The cached JSON as it is (LiveSchema documents it): each of a stream's events is
        # one of these calls, so it must cost next to nothing.
        body = live.live_view_json(db_session(), cache(), exam_id, utcnow())
        return Response(body, mimetype="application/json")


@blp.route("/exams/<uuid:exam_id>/live/stream")
class LiveStream(MethodView):
    @blp.auth(Role.ADMIN)
    @blp.doc(responses=_STREAM_DOC)
    @blp.alt_response(404, schema=ErrorSchema, description="No such exam")
    def get(self, exam_id: uuid.UUID) -> Response:
        """The live view as server-sent events (`text/event-stream`)"""
        first = live.live_view_json(db_session(), cache(), exam_id, utcnow())  # 404 first
        events = stream_with_context(_events(exam_id, first))
        headers = {k.decode(): v.decode() for k, v in stream_headers()}
        return Response(events, headers=headers)


def _events(exam_id: uuid.UUID, first: str) -> Iterator[bytes]:
    yield f"retry: {RETRY_MS}\n\n".encode() + sse("live", first)
    ends = time.monotonic() + WSGI_STREAM_SECONDS
    while time.monotonic() < ends:
        db_session().close()  # no connection held while waiting
        time.sleep(TICK_SECONDS)
        event, data = _tick(exam_id)
        yield sse(event, data)
        if event == "error":
            return


def _tick(exam_id: uuid.UUID) -> tuple[str, str]:
    """The next event: the live object, or the error body once the token is no longer good
    (revoked, expired) or the exam is gone."""
    try:
        verify_jwt_in_request()
        return "live", live.live_view_json(db_session(), cache(), exam_id, utcnow())
    except RevokedTokenError:
        refused = error_body(401, "token_revoked", "the token has been revoked")
    except ExpiredSignatureError:
        refused = error_body(401, "token_expired", "the token has expired")
    except NotFound:
        refused = error_body(404, "not_found", "exam not found")
    except Exception:  # any other token problem
        refused = error_body(401, "unauthorized", "the token is no longer valid")
    return "error", json.dumps(refused)
