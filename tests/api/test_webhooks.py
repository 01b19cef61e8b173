"""Webhooks through the API: registering endpoints (SSRF rules, the secret shown once),
changing and deleting them, role checks, the events each change writes to the outbox, the
delivery log and redelivery. Sending is the worker's: covered in tests/e2e/test_webhooks.py."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from shared.events import outbox
from shared.events.models import OutboxEvent, WebhookDelivery
from shared.models import utcnow
from shared.services import batch_grading
from tests.factories import login, make_exam, make_question, make_user

W = "/api/v1/webhooks"
PUBLIC = "https://93.184.215.14/hooks/exam"  # a literal public address: no DNS in tests
ALL_EVENTS = ["attempt.submitted", "attempt.graded", "results.released", "regrade.finished"]


@pytest.fixture
def admin_headers(client, admin):
    return login(client, admin)


@pytest.fixture
def allowed(app, settings):
    """WEBHOOK_ALLOWED_HOSTS=127.0.0.1,receiver.test for this test."""
    original = app.extensions["exam.settings"]
    app.extensions["exam.settings"] = settings.model_copy(
        update={"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1,receiver.test"}
    )
    yield
    app.extensions["exam.settings"] = original


def register(client, headers, **body):
    body = {"url": PUBLIC, "events": ALL_EVENTS, **body}
    return client.post(W, json=body, headers=headers)


def outbox_counts(session):
    return (
        session.scalar(select(func.count()).select_from(OutboxEvent)),
        session.scalar(select(func.count()).select_from(WebhookDelivery)),
    )


class TestEndpoints:
    def test_the_secret_is_shown_once_and_never_again(self, client, admin_headers):
        created = register(client, admin_headers, events=["attempt.graded"])
        assert created.status_code == 201
        body = created.get_json()
        assert body["url"] == PUBLIC and body["events"] == ["attempt.graded"]
        assert body["active"] is True and len(body["secret"]) >= 40
        one = client.get(f"{W}/{body['id']}", headers=admin_headers)
        listed = client.get(W, headers=admin_headers)
        assert one.status_code == 200 and "secret" not in one.get_json()
        assert [w["id"] for w in listed.get_json()] == [body["id"]]
        assert body["secret"] not in one.get_data(as_text=True) + listed.get_data(as_text=True)
        assert json.loads(listed.headers["X-Pagination"])["total"] == 1

    def test_each_endpoint_gets_its_own_secret(self, client, admin_headers):
        first = register(client, admin_headers).get_json()["secret"]
        assert register(client, admin_headers).get_json()["secret"] != first

    @pytest.mark.parametrize(
        "url",
        [
            "https://127.0.0.1/hook", "https://169.254.169.254/latest/meta-data",
            "https://[::1]:8443/", "https://[::ffff:10.0.0.1]/", "https://10.1.2.3/x",
            "https://192.168.0.10/", "https://0.0.0.0/",
        ],
    )  # fmt: skip
    def test_internal_addresses_are_refused_and_nothing_is_created(
        self, client, admin_headers, url
    ):
        refused = register(client, admin_headers, url=url)
        assert refused.status_code == 422
        body = refused.get_json()
        assert body["error"] == "validation_error"
        assert "internal address" in body["errors"]["json"]["url"][0]
        assert "WEBHOOK_ALLOWED_HOSTS" in body["errors"]["json"]["url"][0]
        assert client.get(W, headers=admin_headers).get_json() == []

    def test_http_needs_an_allowed_host(self, client, admin_headers):
        refused = register(client, admin_headers, url="http://93.184.215.14/hook")
        assert refused.status_code == 422
        assert "https is required" in refused.get_json()["errors"]["json"]["url"][0]

    def test_an_allowed_host_may_be_internal_and_plain_http(self, client, admin_headers, allowed):
        created = register(client, admin_headers, url="http://127.0.0.1:9000/in")
        assert created.status_code == 201, created.get_json()
        # Unlisted, the same kind of address is refused.
        assert register(client, admin_headers, url="http://127.0.0.2:9000/in").status_code == 422
        # A listed name is still resolved (to be dialled): one that resolves nowhere is
        # refused with that reason.
        refused = register(client, admin_headers, url="http://receiver.test:8080/in")
        assert "does not resolve" in refused.get_json()["errors"]["json"]["url"][0]

    @pytest.mark.parametrize(
        "body",
        [
            {"url": PUBLIC, "events": []},
            {"url": PUBLIC, "events": ["attempt.deleted"]},
            {"url": PUBLIC},
            {"events": ALL_EVENTS},
            {"url": PUBLIC, "events": ALL_EVENTS, "secret": "mine"},
            {"url": "not a url", "events": ALL_EVENTS},
            {"url": "ftp://93.184.215.14/", "events": ALL_EVENTS},
            {"url": PUBLIC, "events": "attempt.graded"},
        ],
    )
    def test_bad_bodies_are_422_and_create_nothing(self, client, admin_headers, body):
        refused = client.post(W, json=body, headers=admin_headers)
        assert refused.status_code == 422 and refused.get_json()["error"] == "validation_error"
        assert client.get(W, headers=admin_headers).get_json() == []

    def test_patch_changes_events_and_active_and_rechecks_the_url(self, client, admin_headers):
        hook = register(client, admin_headers).get_json()
        changed = client.patch(
            f"{W}/{hook['id']}", json={"active": False, "events": ["results.released"]},
            headers=admin_headers,
        )  # fmt: skip
        assert changed.status_code == 200
        assert changed.get_json()["active"] is False
        assert changed.get_json()["events"] == ["results.released"]
        refused = client.patch(
            f"{W}/{hook['id']}", json={"url": "https://10.0.0.1/"}, headers=admin_headers
        )
        assert refused.status_code == 422
        assert client.get(f"{W}/{hook['id']}", headers=admin_headers).get_json()["url"] == PUBLIC

    def test_delete_hides_the_endpoint(self, client, admin_headers):
        hook = register(client, admin_headers).get_json()
        assert client.delete(f"{W}/{hook['id']}", headers=admin_headers).status_code == 204
        assert client.get(f"{W}/{hook['id']}", headers=admin_headers).status_code == 404
        assert client.delete(f"{W}/{hook['id']}", headers=admin_headers).status_code == 404
        assert client.get(W, headers=admin_headers).get_json() == []
        missing = client.get(f"{W}/{hook['id']}/deliveries", headers=admin_headers)
        assert missing.status_code == 404

    def test_students_and_anonymous_callers_are_refused_everywhere(
        self, client, session, settings, admin_headers
    ):
        hook = register(client, admin_headers).get_json()
        student = login(client, make_user(session, settings))
        some = "00000000-0000-0000-0000-000000000001"
        calls = [
            ("get", W, None), ("post", W, {"url": PUBLIC, "events": ALL_EVENTS}),
            ("get", f"{W}/{hook['id']}", None), ("patch", f"{W}/{hook['id']}", {"active": False}),
            ("delete", f"{W}/{hook['id']}", None), ("get", f"{W}/{hook['id']}/deliveries", None),
            ("post", f"{W}/{hook['id']}/deliveries/{some}/redeliver", None),
        ]  # fmt: skip
        for method, url, body in calls:
            as_student = getattr(client, method)(url, json=body, headers=student)
            anonymous = getattr(client, method)(url, json=body)
            assert (as_student.status_code, anonymous.status_code) == (403, 401), (method, url)
            assert hook["secret"] not in as_student.get_data(as_text=True)
        assert client.get(f"{W}/{hook['id']}", headers=admin_headers).get_json()["active"]


def submit_one(client, session, settings, exam):
    student = make_user(session, settings)
    headers = login(client, student)
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    answers = [{"question_id": attempt["questions"][0]["id"], "response": "B"}]
    submitted = client.post(
        f"/api/v1/attempts/{attempt['id']}/submit", json={"answers": answers}, headers=headers
    )
    assert submitted.status_code == 202, submitted.get_json()
    return attempt["id"], student


class TestOutbox:
    def test_no_endpoint_no_event_rows(self, client, session, settings):
        submit_one(client, session, settings, make_exam(session))
        assert outbox_counts(session) == (0, 0)

    def test_only_subscribed_active_endpoints_get_a_delivery(
        self, client, session, settings, admin_headers
    ):
        wanted = register(client, admin_headers, events=["attempt.submitted"]).get_json()
        register(client, admin_headers, events=["attempt.graded"])
        register(client, admin_headers, active=False)
        attempt_id, student = submit_one(client, session, settings, make_exam(session))
        log = client.get(f"{W}/{wanted['id']}/deliveries", headers=admin_headers).get_json()
        assert [(d["event"], d["status"], d["tries"]) for d in log] == [
            ("attempt.submitted", "pending", 0)
        ]
        event = session.get(OutboxEvent, log[0]["event_id"])
        assert event.data["attempt_id"] == attempt_id
        assert event.data["student_id"] == str(student.user.id)
        assert event.data["reason"] == "student"
        assert outbox_counts(session) == (1, 1)

    def test_grading_a_batch_writes_one_graded_event_each(
        self, client, session, settings, admin_headers
    ):
        hook = register(client, admin_headers, events=["attempt.graded"]).get_json()
        exam = make_exam(session, questions=[make_question(session)])
        ids = [submit_one(client, session, settings, exam)[0] for _ in range(3)]
        batch = batch_grading.grade_waiting(session, None, utcnow())
        session.commit()
        assert len(batch.graded) == 3
        log = client.get(f"{W}/{hook['id']}/deliveries", headers=admin_headers).get_json()
        assert len(log) == 3 and {d["event"] for d in log} == {"attempt.graded"}
        datas = [session.get(OutboxEvent, d["event_id"]).data for d in log]
        assert sorted(d["attempt_id"] for d in datas) == sorted(ids)
        assert {(d["score"], d["max_score"]) for d in datas} == {(1, 1)}

    def test_a_grade_given_by_hand_sends_the_attempts_new_totals(
        self, client, session, settings, admin_headers
    ):
        hook = register(client, admin_headers, events=["attempt.graded"]).get_json()
        essay = make_question(session, "essay")
        exam = make_exam(session, questions=[essay])
        attempt_id, _ = submit_one(client, session, settings, exam)  # "B" as the essay
        batch_grading.grade_waiting(session, None, utcnow())
        session.commit()
        graded = client.put(
            f"/api/v1/attempts/{attempt_id}/answers/{essay.id}/grade",
            json={"points": 1, "feedback": "Short."},
            headers=admin_headers,
        )
        assert graded.status_code == 200, graded.get_json()
        log = client.get(f"{W}/{hook['id']}/deliveries", headers=admin_headers).get_json()
        datas = [session.get(OutboxEvent, d["event_id"]) for d in log]
        datas = [e.data for e in sorted(datas, key=lambda e: e.created_at)]
        assert [(d["attempt_id"], d["score"], d["pending_manual"]) for d in datas] == [
            (attempt_id, 0, 1),  # automatic grading: the essay waits for a teacher
            (attempt_id, 1, 0),  # the teacher's grade: the final score
        ]

    def test_a_manual_release_is_one_event_even_if_released_twice(
        self, client, session, settings, admin_headers
    ):
        hook = register(client, admin_headers, events=["results.released"]).get_json()
        exam = make_exam(session, questions=[make_question(session)], results_release="manual")
        submit_one(client, session, settings, exam)
        for _ in range(2):
            released = client.post(
                f"/api/v1/exams/{exam.id}/release-results", headers=admin_headers
            )
            assert released.status_code == 200
        log = client.get(f"{W}/{hook['id']}/deliveries", headers=admin_headers).get_json()
        assert [d["event"] for d in log] == ["results.released"]
        assert session.get(OutboxEvent, log[0]["event_id"]).data["exam_id"] == str(exam.id)

    def test_an_admin_force_submit_is_an_admin_submission(
        self, client, session, settings, admin_headers
    ):
        hook = register(client, admin_headers, events=["attempt.submitted"]).get_json()
        exam = make_exam(session)
        headers = login(client, make_user(session, settings))
        attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
        forced = client.post(f"/api/v1/attempts/{attempt['id']}/force-submit",
                             headers=admin_headers)  # fmt: skip
        assert forced.status_code == 202
        log = client.get(f"{W}/{hook['id']}/deliveries", headers=admin_headers).get_json()
        data = session.get(OutboxEvent, log[0]["event_id"]).data
        assert (data["attempt_id"], data["reason"]) == (attempt["id"], "admin")


class TestRedelivery:
    def test_a_redelivery_is_a_new_try_of_the_same_event_shown_first(
        self, client, session, settings, admin_headers
    ):
        hook = register(client, admin_headers, events=["attempt.submitted"]).get_json()
        submit_one(client, session, settings, make_exam(session))
        log_url = f"{W}/{hook['id']}/deliveries"
        first = client.get(log_url, headers=admin_headers).get_json()[0]
        again = client.post(f"{log_url}/{first['id']}/redeliver", headers=admin_headers)
        assert again.status_code == 202
        body = again.get_json()
        assert body["id"] != first["id"] and body["event_id"] == first["event_id"]
        assert (body["status"], body["tries"], body["event"]) == (
            "pending", 0, "attempt.submitted"
        )  # fmt: skip
        log = client.get(log_url, headers=admin_headers)
        assert [d["id"] for d in log.get_json()] == [body["id"], first["id"]]
        assert json.loads(log.headers["X-Pagination"])["total"] == 2
        page = client.get(f"{log_url}?page_size=1&page=2", headers=admin_headers).get_json()
        assert [d["id"] for d in page] == [first["id"]]

    def test_redelivery_needs_the_delivery_of_that_endpoint_and_an_active_endpoint(
        self, client, session, settings, admin_headers
    ):
        hook = register(client, admin_headers, events=["attempt.submitted"]).get_json()
        other = register(client, admin_headers).get_json()
        submit_one(client, session, settings, make_exam(session))
        delivery = client.get(f"{W}/{hook['id']}/deliveries", headers=admin_headers).get_json()[0]
        wrong = client.post(
            f"{W}/{other['id']}/deliveries/{delivery['id']}/redeliver", headers=admin_headers
        )
        assert wrong.status_code == 404 and wrong.get_json()["error"] == "not_found"
        client.patch(f"{W}/{hook['id']}", json={"active": False}, headers=admin_headers)
        off = client.post(
            f"{W}/{hook['id']}/deliveries/{delivery['id']}/redeliver", headers=admin_headers
        )
        assert off.status_code == 409 and off.get_json()["error"] == "conflict"
        assert outbox_counts(session)[1] == 2  # the original and the other endpoint's: no new one


def test_a_request_sends_its_deliveries_with_its_own_apps_celery(
    app, client, admin_headers, session, settings, monkeypatch
):
    """Another Celery app in the same process (the worker's tasks imported by a tool or a
    test, with its own broker) must not take over the sends of this app's requests: before,
    the last one installed won and this app's deliveries went to a broker that was gone."""
    elsewhere, here = [], []
    monkeypatch.setattr(outbox, "_sender", None)
    outbox.send_after_commit(elsewhere.extend)  # as worker/tasks/webhooks.py does on import
    monkeypatch.setitem(app.extensions, "exam.outbox_sender", here.extend)
    register(client, admin_headers, events=["attempt.submitted"])
    submit_one(client, session, settings, make_exam(session))
    sent = session.scalars(select(WebhookDelivery.id)).all()
    assert here == sent and len(sent) == 1
    assert elsewhere == []
