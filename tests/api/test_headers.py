"""Security headers on every kind of response, and CORS: off by default, an allow list."""

from __future__ import annotations

import pytest

from shared.config import ConfigError, load_settings
from tests.factories import login


def test_every_kind_of_response_carries_the_security_headers(client, admin):
    headers = login(client, admin)
    responses = {
        "json": client.get("/api/v1/auth/me", headers=headers),
        "error": client.get("/api/v1/nothing"),
        "html": client.get("/api/docs"),
        "xlsx": client.get("/api/v1/questions/import/template", headers=headers),
        "metrics": client.get("/metrics"),
        "health": client.get("/healthz"),
    }
    for kind, response in responses.items():
        assert response.headers["X-Content-Type-Options"] == "nosniff", kind
        assert response.headers["X-Frame-Options"] == "DENY", kind
        assert response.headers["Referrer-Policy"] == "no-referrer", kind
        assert "Server" not in response.headers or "/" not in response.headers["Server"], kind
        response.close()
    csp = responses["html"].headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp and "'unsafe-eval'" not in csp  # scripts: 'self' only


def test_cors_is_off_by_default(client):
    response = client.get("/api/v1/exams", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options(
        "/api/v1/auth/login",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_cors_allows_only_the_listed_origins(db):
    from web import create_app

    app = create_app(
        load_settings(CORS_ORIGINS="https://exams.school.example, http://localhost:5173")
    )
    app.extensions["exam.session_factory"] = db
    client = app.test_client()
    allowed = client.options(
        "/api/v1/auth/login",
        headers={"Origin": "https://exams.school.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "Content-Type"},
    )  # fmt: skip
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://exams.school.example"
    assert "Access-Control-Allow-Credentials" not in allowed.headers  # bearer tokens, no cookies
    refused = client.get("/api/v1/exams", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in refused.headers


@pytest.mark.parametrize("value", ["*", "exams.school.example", "https://x.example/path"])
def test_a_bad_cors_origin_is_a_configuration_error(value):
    with pytest.raises(ConfigError, match="CORS_ORIGINS"):
        load_settings(CORS_ORIGINS=value)
