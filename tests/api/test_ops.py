"""Error shapes, request ids, health, readiness, metrics, OpenAPI, offline docs and the CLI."""

from __future__ import annotations

import re

import pytest

from shared.config import load_settings
from tests.factories import login, make_exam, make_question, make_user


def _assert_error_shape(response, status: int, code: str) -> dict:
    body = response.get_json()
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert body["code"] == status
    assert body["error"] == code
    assert isinstance(body["status"], str) and body["status"]
    assert isinstance(body["message"], str) and body["message"]
    return body


class TestErrorShape:
    def test_unknown_path_is_a_json_404(self, client):
        _assert_error_shape(client.get("/api/v1/nothing-here"), 404, "not_found")

    def test_wrong_method_is_a_json_405_with_allow(self, client):
        response = client.delete("/api/v1/auth/login")
        _assert_error_shape(response, 405, "method_not_allowed")
        assert "POST" in response.headers["Allow"]

    def test_malformed_json_is_a_400(self, client):
        response = client.post(
            "/api/v1/auth/login", data="{not json", content_type="application/json"
        )
        _assert_error_shape(response, 400, "malformed_request")

    def test_validation_errors_name_every_field(self, client):
        response = client.post("/api/v1/auth/register", json={"email": "x@y.test", "extra": 1})
        body = _assert_error_shape(response, 422, "validation_error")
        assert {"password", "full_name", "extra"} <= set(body["errors"]["json"])

    def test_a_body_over_the_limit_is_a_json_413(self, db):
        from web import create_app

        app = create_app(load_settings(MAX_CONTENT_LENGTH=2048))
        app.extensions["exam.session_factory"] = db
        response = app.test_client().post(
            "/api/v1/auth/register", data="x" * 5000, content_type="application/json"
        )
        _assert_error_shape(response, 413, "payload_too_large")


class TestRequestIds:
    def test_every_response_carries_a_request_id(self, client):
        rid = client.get("/healthz").headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", rid)

    def test_a_clean_incoming_id_is_kept_and_a_hostile_one_replaced(self, client):
        assert (
            client.get("/healthz", headers={"X-Request-ID": "lb-123.abc"}).headers["X-Request-ID"]
            == "lb-123.abc"
        )
        replaced = client.get("/healthz", headers={"X-Request-ID": "a\u00e9<script>"})
        assert replaced.headers["X-Request-ID"] != "a\u00e9<script>"

    def test_the_access_log_is_json_with_the_request_id(self, client, capsys):
        import json
        import logging

        logging.getLogger("web.request").setLevel(logging.INFO)
        try:
            rid = client.get("/healthz", headers={"X-Request-ID": "trace-me-42"}).headers[
                "X-Request-ID"
            ]
        finally:
            logging.getLogger("web.request").setLevel(logging.NOTSET)
        lines = [
            json.loads(line) for line in capsys.readouterr().err.splitlines() if "trace-me" in line
        ]
        assert lines and lines[-1]["request_id"] == rid
        assert lines[-1]["status"] == 200 and lines[-1]["path"] == "/healthz"


class TestHealth:
    def test_healthz(self, client):
        assert client.get("/healthz").get_json() == {"status": "ok"}

    def test_readyz_is_200_when_database_and_broker_answer(self, client):
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.get_json()["checks"] == {"database": "ok", "broker": "ok"}

    def test_a_broker_outage_keeps_the_instance_ready_and_saves_working(self, db, settings):
        # Every instance sees the same broker: a 503 here would empty the load balancer
        # while saves and submissions still work (their tasks are re-sent by a sweep).
        from web import create_app

        app = create_app(load_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"))
        app.extensions["exam.session_factory"] = db
        client = app.test_client()
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.get_json() == {
            "status": "degraded",
            "checks": {"database": "ok", "broker": "unreachable"},
        }
        with db() as session:
            question = make_question(session)
            exam = make_exam(session, questions=[question])
            student = make_user(session, settings)
        headers = login(client, student)
        attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
        answers = {"answers": [{"question_id": attempt["questions"][0]["id"], "response": "B"}]}
        saved = client.put(
            f"/api/v1/attempts/{attempt['id']}/answers", json=answers, headers=headers
        )
        assert saved.status_code == 200 and saved.get_json()["saved"] == 1
        assert "exam_broker_up 0.0" in client.get("/metrics").get_data(as_text=True)

    def test_a_broker_that_never_answers_does_not_slow_the_probe(self, db, monkeypatch):
        import time

        from web import create_app, ops

        def hanging(_app):
            time.sleep(3)  # a blackholed broker: the connect waits for its timeout
            return "unreachable"

        monkeypatch.setattr(ops, "_check_broker", hanging)
        app = create_app(load_settings())
        app.extensions["exam.session_factory"] = db
        began = time.monotonic()
        response = app.test_client().get("/readyz")
        assert time.monotonic() - began < 1.5
        assert response.status_code == 200
        assert response.get_json()["checks"] == {"database": "ok", "broker": "unreachable"}

    def test_readyz_is_503_when_the_database_is_unreachable(self):
        from web import create_app

        app = create_app(load_settings(DATABASE_URL="postgresql://postgres@127.0.0.1:1/none"))
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["checks"]["database"] == "unreachable"

    def test_a_database_outage_during_a_request_is_a_json_503(self):
        from web import create_app

        app = create_app(load_settings(DATABASE_URL="postgresql://postgres@127.0.0.1:1/none"))
        response = app.test_client().post(
            "/api/v1/auth/login", json={"email": "a@b.test", "password": "whatever1"}
        )
        _assert_error_shape(response, 503, "service_unavailable")
        assert response.headers["Retry-After"]


class TestMetrics:
    def test_requests_are_counted_by_route_and_status(self, client):
        client.get("/healthz")
        client.get("/api/v1/nothing-here")
        text = client.get("/metrics").get_data(as_text=True)
        assert re.search(
            r'http_requests_total\{endpoint="/healthz",method="GET",status="200"\} \d', text
        )
        assert 'endpoint="unmatched"' in text
        assert "http_request_duration_seconds_bucket" in text

    def test_latency_is_labelled_by_route_template_not_by_path(self, client):
        client.get("/api/v1/attempts/00000000-0000-0000-0000-000000000000")
        text = client.get("/metrics").get_data(as_text=True)
        assert 'endpoint="/api/v1/attempts/<uuid:attempt_id>"' in text
        assert "00000000-0000" not in text
        assert 'le="0.005"' in text and 'le="10.0"' in text

    def test_autosave_rejections_are_counted_by_reason(self, client, session, settings):
        def rejected(reason: str) -> float:
            text = client.get("/metrics").get_data(as_text=True)
            found = re.search(rf'exam_autosave_rejections_total\{{reason="{reason}"\}} (\S+)', text)
            return float(found.group(1)) if found else 0.0

        exam = make_exam(session, questions=[make_question(session, "numeric")])
        headers = login(client, make_user(session, settings))
        attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
        url, qid = f"/api/v1/attempts/{attempt['id']}/answers", attempt["questions"][0]["id"]
        before = {r: rejected(r) for r in ("stale_seq", "validation_error", "already_submitted")}

        def save(**answer):
            return client.put(
                url, json={"answers": [{"question_id": qid, **answer}]}, headers=headers
            )

        assert save(response=5, seq=5).status_code == 200
        assert save(response=3, seq=3).get_json()["ignored"] == [qid]
        assert save(response=3, seq="x").status_code == 422
        client.post(f"/api/v1/attempts/{attempt['id']}/submit", json={}, headers=headers)
        assert save(response=9, seq=9).status_code == 409
        for reason in before:
            assert rejected(reason) == before[reason] + 1, reason

    def test_the_oldest_queued_message_age_comes_from_its_sent_at_header(self, app, client):
        import time

        from shared.messaging import TaskName, enqueue

        with app.app_context():
            assert enqueue(app.extensions["exam.celery"], TaskName.PING)
        time.sleep(0.3)
        text = client.get("/metrics").get_data(as_text=True)
        found = re.search(r'exam_queue_oldest_task_age_seconds\{queue="default"\} (\S+)', text)
        assert found and 0.3 <= float(found.group(1)) < 60
        assert 'exam_queue_oldest_task_age_seconds{queue="bulk"} 0.0' in text
        assert "exam_broker_up 1.0" in text

    def test_shed_requests_have_a_counter_to_bump(self, client):
        from web.observability import count_shed

        count_shed()
        text = client.get("/metrics").get_data(as_text=True)
        assert re.search(r'exam_requests_shed_total\{reason="overloaded"\} [1-9]', text)

    def test_metrics_token_restricts_metrics_only(self, db):
        from web import create_app

        app = create_app(load_settings(METRICS_TOKEN="s3cret-scrape-token"))
        app.extensions["exam.session_factory"] = db
        client = app.test_client()
        refused = client.get("/metrics")
        _assert_error_shape(refused, 401, "unauthorized")
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
        assert ok.status_code == 200 and "http_requests_total" in ok.get_data(as_text=True)
        assert client.get("/healthz").status_code == 200


class TestOpenApiAndDocs:
    def test_the_spec_lists_the_auth_routes_with_security(self, client):
        spec = client.get("/api/openapi.json").get_json()
        paths = spec["paths"]
        for path in ("register", "login", "refresh", "logout", "me"):
            assert f"/api/v1/auth/{path}" in paths
        assert paths["/api/v1/auth/me"]["get"]["security"] == [{"bearerAuth": []}]
        assert "security" not in paths["/api/v1/auth/login"]["post"]
        error = spec["components"]["schemas"]["Error"]
        assert {"code", "status", "error"} <= set(error["required"])

    def test_docs_render_from_local_assets_only(self, client):
        page = client.get("/api/docs")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets and all(a.startswith("/") for a in assets), assets
        for asset in assets:
            with client.get(asset) as response:
                assert response.status_code == 200, asset
        assert "<script>" not in html  # no inline script: works under a strict CSP
        assert "script-src" not in page.headers["Content-Security-Policy"]


class TestCreateUserCli:
    def test_creates_an_admin_who_can_log_in(self, app, db):
        app.extensions["exam.session_factory"] = db
        result = app.test_cli_runner().invoke(
            args=[
                "create-user",
                "--email",
                "Head@School.test",
                "--password",
                "long-enough-pw",
                "--role",
                "admin",
            ]
        )
        assert result.exit_code == 0, result.output
        assert "created admin head@school.test" in result.output
        from shared.models import User
        from tests.factories import Account

        with db() as session:
            user = session.query(User).filter_by(email="head@school.test").one()
        client = app.test_client()
        headers = login(client, Account(user=user, password="long-enough-pw"))
        assert client.get("/api/v1/auth/me", headers=headers).get_json()["role"] == "admin"

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--password", "short"], "at least 8"),
            (["--password", "long-enough-pw", "--role", "root"], "Invalid value for '--role'"),
        ],
    )
    def test_bad_input_is_a_clear_error(self, app, db, args, message):
        app.extensions["exam.session_factory"] = db
        result = app.test_cli_runner().invoke(
            args=["create-user", "--email", "x@school.test", *args]
        )
        assert result.exit_code != 0
        assert message in result.output

    def test_a_duplicate_email_is_refused(self, app, db):
        app.extensions["exam.session_factory"] = db
        runner = app.test_cli_runner()
        args = ["create-user", "--email", "dup@school.test", "--password", "long-enough-pw"]
        assert runner.invoke(args=args).exit_code == 0
        again = runner.invoke(args=args)
        assert again.exit_code != 0 and "already exists" in again.output
