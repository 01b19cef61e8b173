"""Reads that tolerate lag go to DATABASE_REPLICA_URL: a real PostgreSQL hot standby
(pg_basebackup -R, streaming replication) of a real primary. With the standby's replay
paused, the roster and the results export still show what the replica has while the
students' own requests (start, save, status) go on against the primary."""

from __future__ import annotations

import csv
import io

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from shared.db import session_factory
from shared.models import Role
from tests.conftest import alembic_config
from tests.factories import login, make_exam, make_question, make_user
from tests.support.processes import wait_until
from tests.support.servers import PostgresServer, streaming_replica

pytestmark = pytest.mark.e2e


@pytest.fixture
def primary_and_replica():  # type: ignore[no-untyped-def]
    primary = PostgresServer()
    primary.init()
    replica = None
    try:
        command.upgrade(alembic_config(primary.url), "head")
        replica = streaming_replica(primary)
        yield primary, replica
    finally:
        if replica is not None:
            replica.destroy()
        primary.destroy()


def test_the_roster_and_exports_read_the_replica_and_students_the_primary(
    primary_and_replica, settings
):
    from web import create_app

    primary, replica = primary_and_replica
    configured = settings.model_copy(
        update={"DATABASE_URL": primary.url, "DATABASE_REPLICA_URL": replica.url}
    )
    client = create_app(configured).test_client()
    with session_factory(configured)() as session:
        admin = make_user(session, configured, role=Role.ADMIN)
        students = [make_user(session, configured) for _ in range(2)]
        exam = make_exam(session, questions=[make_question(session, "true_false")])
        session.commit()
        exam_id = exam.id
    admin_headers = login(client, admin)

    def roster() -> list[dict]:
        response = client.get(f"/api/v1/exams/{exam_id}/attempts", headers=admin_headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def exported() -> int:
        response = client.get(f"/api/v1/exams/{exam_id}/results.csv", headers=admin_headers)
        assert response.status_code == 200
        return len(list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))) - 1

    first = login(client, students[0])
    started = client.post(f"/api/v1/exams/{exam_id}/attempts", headers=first).get_json()
    wait_until(lambda: len(roster()) == 1, 30, "the replica to replay the first start")

    standby = create_engine(replica.url.replace("/exam", "/postgres"), isolation_level="AUTOCOMMIT")
    with standby.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_pause()"))
        # The second student starts and saves on the primary while the replica stands still.
        second = login(client, students[1])
        attempt = client.post(f"/api/v1/exams/{exam_id}/attempts", headers=second)
        assert attempt.status_code == 201
        qid = attempt.get_json()["questions"][0]["id"]
        saved = client.put(
            f"/api/v1/attempts/{attempt.get_json()['id']}/answers",
            json={"answers": [{"question_id": qid, "response": True, "seq": 1}]},
            headers=second,
        )
        assert saved.status_code == 200
        status = client.get(f"/api/v1/attempts/{started['id']}/status", headers=first)
        assert status.status_code == 200
        with create_engine(primary.url).connect() as direct:
            assert direct.scalar(text("SELECT count(*) FROM attempts")) == 2
        assert [row["id"] for row in roster()] == [started["id"]]  # the replica's view
        assert exported() == 1
        conn.execute(text("SELECT pg_wal_replay_resume()"))
    wait_until(lambda: len(roster()) == 2, 30, "the replica to catch up")
    assert exported() == 2
    standby.dispose()
