"""The browser's legs of an LTI launch, as the platform drives them."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.lti_platform import Platform


def start_login(client, platform: Platform, **params: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The platform's third-party initiated login; returns the auth request's parameters."""
    query = {
        "iss": platform.issuer,
        "login_hint": "opaque-hint",
        "target_link_uri": "http://tool.test/api/v1/lti/launch",
        "client_id": platform.client_id,
        "lti_deployment_id": platform.deployment_id,
        "lti_message_hint": "message-hint",
        **params,
    }
    response = client.get("/api/v1/lti/login", query_string=query)
    assert response.status_code == 302, response.get_json()
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == platform.url + "/auth"
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def post_launch(client, id_token: str, state: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/lti/launch", data={"id_token": id_token, "state": state})


def launch(client, platform: Platform, **claims: Any) -> str:  # type: ignore[no-untyped-def]
    """Login, the platform signs an id_token with our nonce, the launch: the one-time code."""
    auth = start_login(client, platform)
    token = platform.sign(platform.claims(auth["nonce"], **claims))
    response = post_launch(client, token, auth["state"])
    assert response.status_code == 303, response.get_json()
    fragment = urlsplit(response.headers["Location"]).fragment
    assert fragment.startswith("/lti?code=")
    return fragment.removeprefix("/lti?code=")


def exchange(client, code: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/lti/session", json={"code": code})
