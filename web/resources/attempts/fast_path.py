"""The exam's two busiest requests, the autosave and the status poll, answered by a lane in
front of Flask; and the autosave's happy path in one statement, which the route uses too.

Thousands of students save every 30 s and poll every 15-30 s. The save itself is one
statement (shared/services/fast_save.py); `try_save` wraps it with the attempt's shape check
and the per-attempt allowance, and says None whenever the ordinary path must answer (another
dialect, not the student's attempt, an invalid batch, an attempt that can't take it): that
path has the exact 404/409/422. A poll is one read (`attempt_views.status_row`).

`FastLane` runs them before Flask builds a request at all: Flask's request setup, URL
matching, hooks, flask-smorest's argument parsing and response marshalling cost more CPU
than the save or the read (docs/performance.md, "The fast lane"). It answers only a
student's save that succeeded or poll of their own attempt, with what the Flask route would
have sent (the same body bytes, headers, access-log line and metrics:
tests/api/test_fast_lane.py compares the two); anything else, from a missing header to a
refused allowance or an attempt whose time ran out unnoticed, goes on to Flask as if the
lane were not there, having written nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.http import HTTP_STATUS_CODES, parse_etags
from werkzeug.routing import UUIDConverter

from shared.cache import Cache
from shared.errors import InvalidInput
from shared.exam_rules import seconds_left
from shared.logs import request_id_var
from shared.models import AttemptStatus, Role, utcnow
from shared.question_types import MAX_MAGNITUDE
from shared.services import attempt_views, fast_save
from web import save_limit
from web.extensions import cache, db_session, jwt
from web.input_guard import clean_json
from web.observability import (
    HTML_CSP,
    SAVE_ENDPOINT,
    SECURITY_HEADERS,
    STATUS_ENDPOINT,
    count_ignored,
    record_request,
    safe_request_id,
)
from web.resources.attempts.schemas import MAX_BATCH, AttemptStatusViewSchema

log = logging.getLogger(__name__)

_SHAPES = fast_save.AttemptShapes()
_UUID = re.compile(UUIDConverter.regex)  # what the routes' `<uuid:...>` accepts
# Built once: a schema's fields are deep-copied per instance.
_STATUS_SCHEMA = AttemptStatusViewSchema()
_ANSWER_KEYS = frozenset({"question_id", "response", "seq"})


def try_save(
    session: Session,
    cache: Cache,
    *,
    attempt_id: uuid.UUID,
    user_id: uuid.UUID,
    sid: str,
    token_version: int,
    answers: list[dict[str, Any]],
    now: datetime,
    address: str | None,
) -> dict[str, Any] | None:
    """The save, answered; None when the ordinary path must answer (nothing was written).
    Raises fast_save.TokenRevoked, and the allowance's 429."""
    if not fast_save.supported(session):
        return None
    # One connection in autocommit for everything: an attempt's first save reads its shape
    # on it, then the save statement commits on its own. (A session bound to a connection
    # that is already in a transaction, as in the API tests, commits it instead.)
    autocommit = isinstance(session.get_bind(), Engine)
    if autocommit and session.in_transaction():
        session.commit()  # whatever ran before: the save gets a fresh autocommit connection
    options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    taken = accepted = False
    saved = None
    try:
        connection = session.connection(execution_options=options)
        known = _SHAPES.get(connection, session, cache, attempt_id)
        if known is None or known[0] != user_id:
            return None
        try:
            rows = fast_save.validated_rows(known[1], answers)
        except InvalidInput:
            return None
        save_limit.take(attempt_id)  # the owner's save: one round trip to Redis, 429 if spent
        taken = True
        saved = fast_save.save(
            connection, attempt_id=attempt_id, user_id=user_id, sid=sid,
            token_version=token_version, rows=rows, now=now, address=address,
        )  # fmt: skip
        if not autocommit:
            session.commit()
        accepted = saved is not None
    finally:
        if autocommit:
            _release(session)  # the ordinary path, if it answers, starts afresh
        if taken and not accepted:  # refused, or the database failed: only accepted count
            save_limit.give_back(attempt_id)
    if saved is None:
        return None
    return {
        "saved": len(saved.written),
        "saved_at": now,
        "time_remaining_seconds": seconds_left(saved.deadline, now),
        "ignored": sorted(
            str(r["question_id"]) for r in rows if str(r["question_id"]) not in saved.written
        ),
    }


def _release(session: Session) -> None:
    """Back to the pool as it was. Resetting the isolation level of a connection the database
    just cut raises the driver's own error (not SQLAlchemy's): that connection is dropped
    instead, and whatever the save raised or returned stands."""
    try:
        session.close()
    except Exception as exc:  # noqa: BLE001 - any driver error on a dead connection
        log.warning("dropping a connection that could not be reset: %s", exc.__class__.__name__)
        with contextlib.suppress(Exception):
            session.invalidate()


StartResponse = Callable[..., Any]


class _Route:
    """One route's URL as the lane matches it: the rule, and the path before and after the
    attempt's id (read from Flask's URL map on first use, so they can't drift apart)."""

    def __init__(self, app: Flask, endpoint: str) -> None:
        self.app, self.endpoint = app, endpoint
        self.rule = self.before = self.after = ""

    def attempt_id(self, path: str) -> uuid.UUID | None:
        if not self.rule:
            self.rule = next(iter(self.app.url_map.iter_rules(self.endpoint))).rule
            self.before, _, self.after = self.rule.partition("<uuid:attempt_id>")
        before, after = self.before, self.after
        middle = path[len(before) : len(path) - len(after)]
        if not (path.startswith(before) and path.endswith(after) and _UUID.fullmatch(middle)):
            return None
        return uuid.UUID(middle)


Answer = tuple[int, list[tuple[str, str]], bytes]  # status, headers, body


class FastLane:
    """WSGI middleware: a well-formed autosave or status poll of a student's own attempt
    answered without Flask's request machinery; everything else (and every such request
    the lane can't answer) passed on to `wsgi_app`."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.routes = {
            "PUT": (_Route(app, SAVE_ENDPOINT), self._save),
            "GET": (_Route(app, STATUS_ENDPOINT), self._status),
        }
        settings = app.extensions["exam.settings"]
        # Traces and CORS headers come from Flask's hooks: with either on, Flask answers.
        self.enabled = bool(
            settings.FAST_LANE and not settings.OTEL_ENABLED and not settings.cors_origins
        )
        self.max_body = settings.MAX_CONTENT_LENGTH

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        method = environ.get("REQUEST_METHOD", "")
        if not self.enabled or method not in self.routes or environ.get("QUERY_STRING"):
            return self.wsgi_app(environ, start_response)
        route, handler = self.routes[method]
        attempt_id = route.attempt_id(environ.get("PATH_INFO", ""))
        if attempt_id is None:
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        rid, given = safe_request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        reset = request_id_var.set(rid)
        try:
            answer = handler(environ, attempt_id)
            if answer is not None:
                return self._respond(environ, start_response, route.rule, answer, rid, started)
        finally:
            request_id_var.reset(reset)
        if not given:  # Flask's request gets the id this one's log lines carried
            environ["HTTP_X_REQUEST_ID"] = rid
        return self.wsgi_app(environ, start_response)

    def _save(self, environ: dict[str, Any], attempt_id: uuid.UUID) -> Answer | None:
        """The answered save, or None with nothing written."""
        body = self._body(environ)
        answers = None if body is None else _answers(clean_json(body))
        if answers is None:
            return None
        with self.app.app_context():  # the app's config, services and request session
            claims = _claims(environ.get("HTTP_AUTHORIZATION", ""))
            if claims is None:
                return None
            try:
                saved = try_save(
                    db_session(), cache(), attempt_id=attempt_id, user_id=claims[0],
                    sid=claims[1], token_version=claims[2], answers=answers, now=utcnow(),
                    address=environ.get("REMOTE_ADDR"),
                )  # fmt: skip
            except Exception as exc:  # noqa: BLE001 - a 401, 429 or fault: Flask answers it
                log.debug("fast lane passed a save on: %s", exc.__class__.__name__)
                return None
        if saved is None:
            return None
        count_ignored(saved["ignored"])
        return 200, [], self._json({**saved, "saved_at": saved["saved_at"].isoformat()})

    def _status(self, environ: dict[str, Any], attempt_id: uuid.UUID) -> Answer | None:
        """The student's poll answered (304 when unchanged), or None."""
        if environ.get("CONTENT_LENGTH", "0") not in ("", "0"):
            return None  # a GET with a body: the input guard reads it, in Flask
        with self.app.app_context():
            claims = _claims(environ.get("HTTP_AUTHORIZATION", ""))
            if claims is None:
                return None
            user_id, sid, version = claims
            now = utcnow()
            try:
                row = attempt_views.status_row(
                    db_session(), attempt_id, user_id=user_id, is_admin=False,
                    token={"sid": sid, "version": version},
                )  # fmt: skip
            except Exception as exc:  # noqa: BLE001 - a fault: Flask answers it
                log.debug("fast lane passed a poll on: %s", exc.__class__.__name__)
                return None
        if row is None or not row.token_ok:
            return None  # not found, or a revoked token: the route's exact errors
        if row.status == AttemptStatus.IN_PROGRESS and now > row.expires_at:
            return None  # time ran out unnoticed: the route submits it
        body, etag = status_document(row, now, is_admin=False)
        headers = [("ETag", etag), ("Cache-Control", "no-store")]
        if unchanged(etag, environ.get("HTTP_IF_NONE_MATCH")):
            return 304, headers, b""
        return 200, headers, self._json(body)

    def _body(self, environ: dict[str, Any]) -> bytes | None:
        """The JSON body (put back for Flask to read again), or None: Flask answers."""
        mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        if mimetype != "application/json":
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        if not 0 < length <= self.max_body:
            return None
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        return body if len(body) == length else None

    def _json(self, body: dict[str, Any]) -> bytes:
        """As Flask's jsonify writes it (the app's JSON provider, compact)."""
        return (self.app.json.dumps(body, separators=(",", ":")) + "\n").encode()

    def _respond(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        rule: str,
        answer: Answer,
        rid: str,
        started: float,
    ) -> list[bytes]:
        """Headers, metrics and the access-log line, as web/observability.py adds them."""
        status, headers, data = answer
        method = environ["REQUEST_METHOD"]
        if status == 304:  # as werkzeug sends one: no entity headers; an HTML mimetype's CSP
            headers = [*headers, ("X-Request-ID", rid), *SECURITY_HEADERS, HTML_CSP]
        else:
            headers = [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(data))),
                *headers,
                ("X-Request-ID", rid),
                *SECURITY_HEADERS,
            ]
        start_response(f"{status} {HTTP_STATUS_CODES[status].upper()}", headers)  # as werkzeug
        record_request(
            method,
            rule,
            status,
            time.perf_counter() - started,
            path=environ.get("PATH_INFO", ""),
            remote_addr=environ.get("REMOTE_ADDR"),
        )
        return [data]


def status_document(row: Any, now: datetime, *, is_admin: bool) -> tuple[dict[str, Any], str]:
    """A status poll's body and its ETag."""
    body = _STATUS_SCHEMA.dump(attempt_views.status_view(row, row, now, is_admin=is_admin))
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]
    return body, f'W/"{digest}"'


def unchanged(etag: str, if_none_match: str | None) -> bool:
    """Whether If-None-Match names this ETag, as werkzeug reads the header (or is it)."""
    return etag in parse_etags(if_none_match) or if_none_match == etag


def _claims(header: str) -> tuple[uuid.UUID, str, int] | None:
    """(user, session id, token version) of a student's valid access token, else None.
    Decoded by flask-jwt-extended with the app's config (and web/token_cache.py's cache)."""
    kind, _, token = header.partition(" ")
    if kind != "Bearer" or not token or " " in token or "," in token:
        return None
    try:
        claims = jwt._decode_jwt_from_config(token)
        user_id = uuid.UUID(claims["sub"])
    except Exception:  # noqa: BLE001 - expired, invalid, malformed: Flask's 401
        return None
    sid, version = claims.get("sid"), claims.get("tv", 0)
    if (
        claims.get("type") != "access"
        or claims.get("role") != Role.STUDENT
        or not isinstance(sid, str)
        or type(version) is not int
    ):
        return None
    return user_id, sid, version


def _answers(body: Any) -> list[dict[str, Any]] | None:
    """The batch as AnswersInSchema loads it, or None where that schema might say anything
    else (an error, or a value it would coerce): Flask's request answers those."""
    if not isinstance(body, dict) or body.keys() != {"answers"}:
        return None
    answers = body["answers"]
    if not isinstance(answers, list) or not answers or len(answers) > MAX_BATCH:
        return None
    loaded = []
    for answer in answers:
        if not isinstance(answer, dict) or not answer.keys() <= _ANSWER_KEYS:
            return None
        question_id, seq = answer.get("question_id"), answer.get("seq")
        if "response" not in answer or not isinstance(question_id, str):
            return None
        if not (seq is None or (type(seq) is int and 0 <= seq <= MAX_MAGNITUDE)):
            return None
        if not _UUID.fullmatch(question_id):
            return None
        item = {"question_id": uuid.UUID(question_id), "response": answer["response"]}
        if "seq" in answer:
            item["seq"] = seq
        loaded.append(item)
    return loaded
