"""The real worker and beat: time runs out, the worker submits the attempt (its receipt then
verifies), and beat's anchor task stores the Merkle root that audit/verify recomputes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.trust.models import AuditAnchor
from tests.factories import login, make_exam, make_question, make_user
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e


def test_beat_anchors_the_chains_of_an_attempt_the_worker_submitted(
    app, committed, settings, processes
):
    app.extensions["exam.session_factory"] = committed
    with committed() as session:
        exam = make_exam(session, questions=[make_question(session)], duration_seconds=2,
                         grace_seconds=0)  # fmt: skip
        student = make_user(session, settings)
        admin = make_user(session, settings, role="admin")
    client = app.test_client()
    headers, admin_headers = login(client, student), login(client, admin)
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    processes.worker(EXPIRY_SWEEP_SECONDS="1")
    processes.beat(EXPIRY_SWEEP_SECONDS="1", AUDIT_ANCHOR_SECONDS="10")

    def anchored_after_grading():
        with committed() as session:
            roots = session.scalars(
                select(AuditAnchor.root).where(AuditAnchor.exam_id == exam.id)
            ).all()
        report = client.get(f"/api/v1/exams/{exam.id}/audit/verify", headers=admin_headers)
        body = report.get_json()
        return body if body["events"] >= 3 and body["root"] in roots else None

    try:
        report = wait_until(anchored_after_grading, 60, "an anchor of the graded attempt")
    except AssertionError:
        print(processes.logs())
        raise
    assert report["ok"] and report["anchor"]["matches"]
    receipt = client.get(f"/api/v1/attempts/{attempt['id']}/receipt", headers=headers)
    assert receipt.status_code == 200
    verdict = client.post("/api/v1/receipts/verify", json=receipt.get_json()).get_json()
    assert verdict["valid"], verdict
