"""REDIS_LAYOUT=single with a real Celery worker on a private Redis: a submit is graded and
emailed, and every key the web app and the worker left is in REDIS_URL's own db, under
REDIS_KEY_PREFIX and a concern's prefix (docs/operations.md, "Redis")."""

from __future__ import annotations

import uuid

import pytest
import redis

from shared.config import REDIS_ROLE_PREFIXES, load_settings
from tests.e2e.test_grading import begin, graded, submit
from tests.support.processes import wait_until
from tests.support.servers import RedisServer, SmtpInbox

pytestmark = pytest.mark.e2e

DB = 3  # not 0: a key written to db 0 (the default) would be caught


@pytest.fixture
def single_redis():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def test_the_single_layout_keeps_every_key_in_one_db_under_a_concern_prefix(
    committed, settings, processes, single_redis
):
    from web import create_app

    prefix = f"s{uuid.uuid4().hex[:6]}:"
    url = single_redis.url.rsplit("/", 1)[0] + f"/{DB}"
    layout = {"REDIS_URL": url, "REDIS_LAYOUT": "single", "REDIS_KEY_PREFIX": prefix}
    with SmtpInbox() as inbox:
        processes.worker(**layout, SMTP_URL=inbox.url)
        live = create_app(load_settings(**layout))
        live.extensions["exam.session_factory"] = committed
        client, headers, attempt, _, student = begin(live, committed, settings)
        qid = attempt["questions"][0]["id"]
        saved = client.put(  # counts against the autosave allowance (rate-limit storage)
            f"/api/v1/attempts/{attempt['id']}/answers",
            json={"answers": [{"question_id": qid, "response": "A"}]},
            headers=headers,
        )
        assert saved.status_code == 200, saved.get_json()
        wrong = {"email": student.email, "password": "not-the-password"}  # counts too
        assert client.post("/api/v1/auth/login", json=wrong).status_code == 401
        assert client.get("/metrics").status_code == 200  # queue depths read from the broker
        assert submit(client, headers, attempt).status_code == 202
        row = wait_until(graded(committed, attempt["id"]), 30, "grading")
        assert row.score == 1
        wait_until(lambda: inbox.messages, 30, "the email")
        assert inbox.messages[0]["To"] == student.email

        keys = {}
        for db in range(16):
            conn = redis.Redis.from_url(single_redis.url.rsplit("/", 1)[0] + f"/{db}")
            keys[db] = sorted(k.decode() for k in conn.scan_iter(count=1000))
            conn.close()
    assert {db: found for db, found in keys.items() if found and db != DB} == {}
    allowed = tuple(prefix + own for own in REDIS_ROLE_PREFIXES.values())
    assert [k for k in keys[DB] if not k.startswith(allowed)] == []
    # Each concern really wrote there (results are ignored: fire-and-forget tasks).
    for role in ("broker", "cache", "ratelimit"):
        assert any(k.startswith(prefix + REDIS_ROLE_PREFIXES[role]) for k in keys[DB]), (
            role,
            keys[DB],
        )
    assert f"{prefix}cache:exam:heartbeat:workers" in keys[DB]
