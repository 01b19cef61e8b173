"""LTI fixtures: our tool's key and JWKS on a real server, and a simulated platform
registered by an admin."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.factories import login
from tests.support.lti_platform import Platform, PlatformServer, new_key, pem


@pytest.fixture
def tool_key(settings, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Server mode wants the key from a file, as a deployment gives it."""
    path = tmp_path / "lti.pem"
    path.write_bytes(pem(new_key()))
    monkeypatch.setattr(settings, "LTI_PRIVATE_KEY_FILE", path)


@pytest.fixture
def tool_jwks_url(app, tool_key) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Our app on a real port, so the platform fetches our JWKS as it would in production."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v1/lti/jwks"
    server.shutdown()


@pytest.fixture
def platform(tool_jwks_url) -> Iterator[Platform]:  # type: ignore[no-untyped-def]
    with PlatformServer(tool_jwks_url) as running:
        yield running


@pytest.fixture
def registered(client, admin, platform) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/lti/platforms", json=platform.registration(), headers=login(client, admin)
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()
