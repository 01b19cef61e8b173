"""GET /exams/{id}/audit/verify and /audit/anchors through the API: an admin sees the
chains intact, then the row someone edited behind the API's back, by attempt and event id."""

from __future__ import annotations

from sqlalchemy import select, text

from shared.models import AttemptEvent, utcnow
from shared.trust import audit
from tests.factories import login, make_exam


def test_an_admin_sees_the_chains_then_the_row_edited_behind_the_api(
    client, session, student, admin
):
    exam = make_exam(session)
    headers, admin_headers = login(client, student), login(client, admin)
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    client.post(f"/api/v1/attempts/{attempt['id']}/submit", json={}, headers=headers)
    url = f"/api/v1/exams/{exam.id}/audit/verify"
    assert client.get(url, headers=headers).status_code == 403
    report = client.get(url, headers=admin_headers).get_json()
    assert (report["ok"], report["chains"], report["events"]) == (True, 1, 2)
    assert report["first_broken"] is None and len(report["root"]) == 64
    trail = client.get(f"/api/v1/attempts/{attempt['id']}/events", headers=admin_headers)
    started, submitted = trail.get_json()
    assert submitted["prev_hash"] == started["hash"] and len(submitted["hash"]) == 64

    audit.anchor_exam(session, exam.id, utcnow())
    anchors = client.get(f"/api/v1/exams/{exam.id}/audit/anchors", headers=admin_headers)
    assert [a["root"] for a in anchors.get_json()] == [report["root"]]

    started = session.scalar(
        select(AttemptEvent.id).where(
            AttemptEvent.attempt_id == attempt["id"], AttemptEvent.kind == "started"
        )
    )
    session.execute(
        text("""UPDATE attempt_events SET data = '{"by": "someone else"}' WHERE id = :id"""),
        {"id": started},
    )
    report = client.get(url, headers=admin_headers).get_json()
    assert report["ok"] is False
    assert report["first_broken"] == {
        "attempt_id": attempt["id"], "event_id": started, "reason": "altered"
    }  # fmt: skip


def test_an_unknown_exam_is_404(client, admin):
    import uuid

    response = client.get(
        f"/api/v1/exams/{uuid.uuid4()}/audit/verify", headers=login(client, admin)
    )
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
