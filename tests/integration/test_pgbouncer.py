"""The app behind PgBouncer in transaction pooling (docs/operations.md, "PgBouncer"): with
DATABASE_PGBOUNCER=1 a student starts, autosaves and submits through a real pgbouncer
whose pool is smaller than the app's, the grader grades through it, and the statement
timeout still cuts a query that runs too long, without leaking to the next client of the
server connection."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg2
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import event, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from shared.config import get_settings, load_settings
from shared.db import create_sqlalchemy_engine
from shared.models import Answer, Attempt
from shared.models.base import utcnow
from shared.services import batch_grading
from tests.conftest import alembic_config
from tests.factories import login, make_exam, make_question, make_user
from tests.support.servers import PgBouncerServer

TIMEOUT_MS = 400


@pytest.fixture
def bouncer(database_url: str, committed) -> Iterator[PgBouncerServer]:  # type: ignore[no-untyped-def]
    # Two server connections for an app pool of up to eight: clients really take turns.
    server = PgBouncerServer(database_url, pool_mode="transaction", pool_size=2)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def through(bouncer, settings):  # type: ignore[no-untyped-def]
    """Settings, engine and app that reach the test database only through pgbouncer."""
    from web import create_app

    behind = load_settings(
        DATABASE_URL=bouncer.url, DATABASE_PGBOUNCER=True, DB_STATEMENT_TIMEOUT_MS=TIMEOUT_MS,
        DB_POOL_SIZE=4, DB_MAX_OVERFLOW=4,
    )  # fmt: skip
    engine = create_sqlalchemy_engine(behind.database_url, behind)
    factory = sessionmaker(engine, expire_on_commit=False)
    app = create_app(behind, db=factory)
    yield behind, engine, factory, app
    engine.dispose()


def server_default_timeout(bouncer: PgBouncerServer) -> list[str]:
    """statement_timeout as every server connection of the pool has it for a plain client."""
    seen = []
    for _ in range(bouncer.pool_size * 2):
        conn = psycopg2.connect(host="127.0.0.1", port=bouncer.port, user="postgres",
                                dbname=bouncer.target.database)  # fmt: skip
        with conn.cursor() as cur:
            cur.execute("SHOW statement_timeout")
            seen.append(cur.fetchone()[0])
        conn.close()
    return seen


def test_a_student_takes_an_exam_through_pgbouncer(through, bouncer, committed):
    behind, engine, factory, app = through
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda c, cur, s, *a: statements.append(s))
    with factory() as session:
        exam = make_exam(session, questions=[make_question(session, "short_text"),
                                             make_question(session)])  # fmt: skip
        student = make_user(session, behind)
    client = app.test_client()
    headers = login(client, student)

    started = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers)
    assert started.status_code == 201, started.get_json()
    attempt = started.get_json()
    qids = {q["type"]: q["id"] for q in attempt["questions"]}
    url = f"/api/v1/attempts/{attempt['id']}/answers"
    for seq, response in enumerate(["Saturn", "Jupiter"], start=1):
        saved = client.put(url, headers=headers, json={"answers": [
            {"question_id": qids["short_text"], "response": response, "seq": seq},
            {"question_id": qids["single_choice"], "response": "B", "seq": seq},
        ]})  # fmt: skip
        assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["saved"] == 2
    # The autosave took its one-statement autocommit path, with the timeout in front of it.
    fast = [s for s in statements if "WITH tok AS" in s]
    assert fast and all(s.startswith(f"SET LOCAL statement_timeout = {TIMEOUT_MS};") for s in fast)

    submitted = client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers, json={})
    assert submitted.status_code == 202, submitted.get_json()
    with factory.begin() as session:  # what a grading worker behind pgbouncer does
        batch = batch_grading.grade_waiting(session, attempt["id"], utcnow())
    assert [str(a.id) for a in batch.graded] == [attempt["id"]] and not batch.failed

    status = client.get(f"/api/v1/attempts/{attempt['id']}/status", headers=headers)
    assert status.status_code == 200 and status.get_json()["status"] == "graded"
    with committed() as session:  # read directly from PostgreSQL, not through pgbouncer
        stored = dict(session.execute(
            select(Answer.question_id, Answer.response).where(Answer.attempt_id == attempt["id"])
        ).all())  # fmt: skip
        row = session.get(Attempt, attempt["id"])
    assert {str(k): v for k, v in stored.items()} == {
        qids["short_text"]: "Jupiter",
        qids["single_choice"]: "B",
    }
    assert row.status == "graded" and row.score == row.max_score
    # Nothing the app did stayed on the server connections it shared.
    assert set(server_default_timeout(bouncer)) == {"0"}


def test_the_statement_timeout_holds_through_pgbouncer(through, bouncer):
    _, engine, _, _ = through
    with engine.connect() as conn:  # in a transaction
        assert conn.scalar(text("SHOW statement_timeout")) == f"{TIMEOUT_MS}ms"
        with pytest.raises(OperationalError, match="statement timeout"):
            conn.execute(text("SELECT pg_sleep(3)"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        with pytest.raises(OperationalError, match="statement timeout"):
            conn.execute(text("SELECT pg_sleep(3)"))
        assert conn.scalar(text("SELECT 1")) == 1  # a short one still runs
    assert set(server_default_timeout(bouncer)) == {"0"}


def test_migrations_run_through_pgbouncer(bouncer, settings, monkeypatch):
    monkeypatch.setenv("DATABASE_PGBOUNCER", "1")
    get_settings.cache_clear()
    try:
        config = alembic_config(bouncer.url)
        command.upgrade(config, "head")  # connects, reads the version, finds nothing to do
        engine = create_sqlalchemy_engine(bouncer.url, get_settings())
        with engine.connect() as conn:
            current = conn.scalar(text("SELECT version_num FROM alembic_version"))
        engine.dispose()
    finally:
        get_settings.cache_clear()
    assert current == ScriptDirectory.from_config(config).get_current_head()
