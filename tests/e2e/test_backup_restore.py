"""The backup and restore drill of docs/operations.md ("Backup and restore"): students take
an exam through the API, deploy/backup.sh dumps the database, deploy/restore.sh restores
the dump into a fresh database, and the restored copy has the same schema revision (head),
the same numbers of users, exams, attempts and answers, and the same answers, byte for
byte."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import ADMIN_DATABASE_URL, ROOT, alembic_config
from tests.factories import login, make_exam, make_question, make_user

pytestmark = pytest.mark.e2e

# What must survive: every count, and a checksum of every answer and attempt.
CHECKS = {
    "users": "SELECT count(*) FROM users",
    "exams": "SELECT count(*) FROM exams",
    "attempts": "SELECT count(*) FROM attempts",
    "answers": "SELECT count(*) FROM answers",
    "answers_md5": "SELECT md5(string_agg(attempt_id::text || question_id::text || "
    "coalesce(response::text, 'null') || coalesce(seq::text, ''), ',' "
    "ORDER BY attempt_id, question_id)) FROM answers",
    "attempts_md5": "SELECT md5(string_agg(id::text || status || student_id::text, ',' "
    "ORDER BY id)) FROM attempts",
    "revision": "SELECT version_num FROM alembic_version",
}


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def facts(url: str) -> dict[str, object]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = {name: conn.scalar(text(sql)) for name, sql in CHECKS.items()}
    engine.dispose()
    return found


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run([str(ROOT / "deploy" / script), *args], env=env, text=True,
                          capture_output=True, timeout=120)  # fmt: skip


@pytest.fixture
def fresh_database():
    """An empty database to restore into, dropped afterwards."""
    name = f"exam_restored_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(ADMIN_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def take_exams(app, committed, settings) -> None:
    """Three students: one submits, one is midway, one has only started."""
    app.extensions["exam.session_factory"] = committed
    with committed() as session:
        questions = [make_question(session, "short_text"), make_question(session),
                     make_question(session, "numeric")]  # fmt: skip
        exam = make_exam(session, questions=questions)
        students = [make_user(session, settings) for _ in range(3)]
    client = app.test_client()
    for n, student in enumerate(students):
        headers = login(client, student)
        started = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers)
        assert started.status_code == 201, started.get_json()
        attempt = started.get_json()
        qids = {q["type"]: q["id"] for q in attempt["questions"]}
        answers = [
            {"question_id": qids["short_text"], "response": f"Jupiter ünïcode {n}", "seq": 1},
            {"question_id": qids["numeric"], "response": 0.3 + n, "seq": 1},
        ][: 2 - n]
        if answers:
            saved = client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers=headers,
                               json={"answers": answers})  # fmt: skip
            assert saved.status_code == 200, saved.get_json()
        if n == 0:
            submitted = client.post(f"/api/v1/attempts/{attempt['id']}/submit",
                                    headers=headers, json={"answers": [
                {"question_id": qids["single_choice"], "response": "B", "seq": 2}]})  # fmt: skip
            assert submitted.status_code == 202, submitted.get_json()


def test_a_backup_restores_into_a_fresh_database_with_everything(
    app, committed, settings, database_url, fresh_database, tmp_path
):
    take_exams(app, committed, settings)
    source = facts(database_url)
    assert source["attempts"] == 3 and source["answers"] == 4 and source["users"] == 3

    dump = tmp_path / "exam.dump"
    backup = run("backup.sh", libpq(database_url), str(dump))
    assert backup.returncode == 0, backup.stderr
    assert dump.stat().st_size > 0 and not (tmp_path / "exam.dump.partial").exists()

    restore = run("restore.sh", str(dump), libpq(fresh_database))
    assert restore.returncode == 0, restore.stderr
    restored = facts(fresh_database)
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert restored["revision"] == head
    assert restored == source

    # A second restore into the same database is refused: nothing is merged or doubled.
    again = run("restore.sh", str(dump), libpq(fresh_database))
    assert again.returncode != 0 and "not empty" in again.stderr
    assert facts(fresh_database) == source
