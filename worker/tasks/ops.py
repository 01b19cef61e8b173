"""Housekeeping tasks."""

from __future__ import annotations

from shared.db import transaction
from shared.messaging import TaskName
from shared.people import sessions as token_sessions
from shared.services.monitoring import BEAT_HEARTBEAT_TASK
from worker import metrics
from worker.app import app, settings


@app.task(name=TaskName.PING, ignore_result=False)
def ping() -> str:
    """Proves the round trip web -> broker -> worker -> result backend."""
    return "pong"


@app.task(name=TaskName.PURGE_REVOKED_SESSIONS)
def purge_revoked_sessions() -> int:
    with transaction(settings) as session:
        return token_sessions.purge_expired(session)


@app.task(name=BEAT_HEARTBEAT_TASK)
def record_beat_heartbeat() -> None:
    """Beat sent this and a worker ran it: the time goes to Redis for /metrics."""
    metrics.record_beat_heartbeat()
