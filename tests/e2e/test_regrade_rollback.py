"""Regrade rollback on a real Celery worker and Redis: students take the exam, a key is
fixed, the regrade runs on the bulk queue, a teacher grades one answer by hand, then the
rollback (and the rollback of the rollback) runs on the same queue; students are emailed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.models import Answer, Attempt, AttemptEvent, Notification
from tests.factories import login, make_exam, make_question, make_user
from tests.support.processes import wait_until
from tests.support.servers import SmtpInbox

pytestmark = pytest.mark.e2e


@pytest.fixture
def live(app, committed):
    app.extensions["exam.session_factory"] = committed
    return app


def answers(committed):
    """Every stored grade: {(attempt_id, question_id): (points, correct, key version, by)}."""
    with committed() as session:
        return {
            (str(a.attempt_id), str(a.question_id)): (
                a.points_awarded,
                a.is_correct,
                a.key_version,
                a.graded_by,
            )
            for a in session.scalars(select(Answer))
        }


def scores(committed, ids):
    with committed() as session:
        found = {str(i): s for i, s in session.execute(select(Attempt.id, Attempt.score))}
    return [float(found[i]) for i in ids]


def test_rollback_and_its_rollback_through_the_bulk_queue(live, committed, settings, processes):
    with SmtpInbox() as inbox:
        processes.worker(SMTP_URL=inbox.url)
        with committed() as session:
            q1, q2 = make_question(session), make_question(session)
            exam = make_exam(session, questions=[q1, q2])
            students = [make_user(session, settings) for _ in range(4)]
            admin = login(live.test_client(), make_user(session, settings, role="admin"))
        client = live.test_client()
        ids = []
        for index, student in enumerate(students):
            headers = login(client, student)
            attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
            picked = "B" if index % 2 else "A"  # half right under the key B, half under A
            body = {
                "answers": [{"question_id": str(q), "response": picked} for q in (q1.id, q2.id)]
            }
            client.post(f"/api/v1/attempts/{attempt['id']}/submit", json=body, headers=headers)
            ids.append(attempt["id"])

        def graded():
            with committed() as session:
                rows = session.scalars(select(Attempt.status)).all()
            return len(rows) == 4 and set(rows) == {"graded"}

        wait_until(graded, 60, "grading")
        original = answers(committed)
        assert scores(committed, ids) == [0, 2, 0, 2]
        for q in (q1, q2):
            client.patch(f"/api/v1/questions/{q.id}", json={"correct_answer": "A"}, headers=admin)

        def run(url):
            accepted = client.post(url, json={} if "regrade" in url else None, headers=admin)
            assert accepted.status_code == 202, accepted.get_json()

            def finished():
                job = client.get(accepted.get_json()["status_url"], headers=admin).get_json()
                return job if job["status"] in ("succeeded", "failed") else None

            return wait_until(finished, 60, url)

        regrade = run(f"/api/v1/exams/{exam.id}/regrade")
        assert (regrade["status"], regrade["changed"]) == ("succeeded", 4)
        regraded = answers(committed)
        assert scores(committed, ids) == [2, 0, 2, 0]
        # A teacher overrides one answer after the regrade: the rollback must keep it.
        manual = client.put(
            f"/api/v1/attempts/{ids[0]}/answers/{q1.id}/grade", json={"points": 0.5}, headers=admin
        )
        assert manual.status_code == 200

        rollback = run(f"/api/v1/jobs/{regrade['id']}/rollback")
        assert (rollback["kind"], rollback["rollback_of"]) == ("rollback", regrade["id"])
        assert (rollback["total"], rollback["done"], rollback["failed"], rollback["changed"]) == (
            4,
            4,
            0,
            4,
        )
        assert rollback["report"]["kept_manual"] == [
            {"attempt_id": ids[0], "question_id": str(q1.id)}
        ]
        changes = {
            c["attempt_id"]: (c["old_score"], c["new_score"]) for c in rollback["report"]["changes"]
        }
        assert changes == {ids[0]: (1.5, 0.5), ids[1]: (0, 2), ids[2]: (2, 0), ids[3]: (0, 2)}
        assert scores(committed, ids) == [0.5, 2, 0, 2]
        now = answers(committed)
        assert now[(ids[0], str(q1.id))][0] == 0.5 and now[(ids[0], str(q1.id))][3] is not None
        assert {k: v for k, v in now.items() if k != (ids[0], str(q1.id))} == {
            k: v for k, v in original.items() if k != (ids[0], str(q1.id))
        }

        again = run(f"/api/v1/jobs/{rollback['id']}/rollback")
        assert (again["status"], again["changed"]) == ("succeeded", 4)
        assert scores(committed, ids) == [1.5, 0, 2, 0]  # the regrade's, the manual grade kept
        assert {k: v for k, v in answers(committed).items() if k[0] != ids[0]} == {
            k: v for k, v in regraded.items() if k[0] != ids[0]
        }
        with committed() as session:
            trail = session.scalars(
                select(AttemptEvent.kind).where(AttemptEvent.kind.in_(["regraded", "rolled_back"]))
            ).all()
            notified = session.scalars(
                select(Notification.dedupe_key).where(Notification.kind == "score_changed")
            ).all()
        assert sorted(trail) == ["regraded"] * 4 + ["rolled_back"] * 8
        assert len(notified) == 12 and sum(k.endswith(rollback["id"]) for k in notified) == 4
        # The rollbacks' events are in each attempt's hash chain, which still verifies.
        audit = client.get(f"/api/v1/exams/{exam.id}/audit/verify", headers=admin).get_json()
        assert audit["ok"] is True and audit["first_broken"] is None, audit
        # Every score change is emailed: 4 by the regrade, 4 by each rollback.
        wait_until(lambda: len(inbox.messages) >= 12 + 4, 60, "the emails")
        changed = [m for m in inbox.messages if "changed" in m["Subject"]]
        assert len(changed) == 12
