"""The live view: `GET /exams/{id}/live`, and its stream of server-sent events.

Under gunicorn the stream is served by web/live_stream.py on the event loop, which calls
`GET /live` for each event and holds no thread in between. The stream route here answers
where there is no event loop (the Flask test client, `flask run`, the gthread worker): there a
stream would hold a thread for its whole life, so it sends one event and ends, and the
client, told `retry: 2000`, comes back for the next one: a poll every 2 s in stream's clothes.
"""

from __future__ import annotations

import uuid

from flask import Response
from flask.views import MethodView

from shared.examday import live
from shared.models import Role, utcnow
from web.errors import ErrorSchema
from web.extensions import cache, db_session
from web.live_stream import RETRY_MS, TICK_SECONDS, sse, stream_headers
from web.resources.live.schemas import LiveSchema
from web.security import Blueprint

blp = Blueprint("live", __name__, url_prefix="/api/v1", description="The proctor's live view")

_STREAM_DOC = {
    "200": {
        "description": "`event: live` with the live object at least every 5 s (about every "
        f"{TICK_SECONDS:g} s); `event: error` with an error body when the token stops being "
        "valid, then the stream ends. It also ends after a while (after one event where the "
        "server has no event loop): reconnect after `retry` ms.",
        # The schema of one event (as OpenAPI 3.2's itemSchema describes it): `event` is
        # `live` or `error`, `data` the live object (or the error body) as JSON text.
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "event": {"type": "string", "enum": ["live", "error"]},
                        "data": {"type": "string"},
                        "id": {"type": "string"},
                        "retry": {"type": "integer"},
                    },
                }
            }
        },
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
        first = live.live_view_json(db_session(), cache(), exam_id, utcnow())
        body = f"retry: {RETRY_MS}\n\n".encode() + sse("live", first)
        headers = {k.decode(): v.decode() for k, v in stream_headers()}
        return Response(body, headers=headers)
