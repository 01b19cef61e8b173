"""Error shapes, request ids, health, readiness, metrics, OpenAPI, offline docs and the CLI."""

from __future__ import annotations

import re

import pytest

from shared.config import load_settings
from tests.factories import login


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

    def test_readyz_is_503_when_the_broker_is_unreachable(self, db):
        from web import create_app

        app = create_app(load_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"))
        app.extensions["exam.session_factory"] = db
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
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
