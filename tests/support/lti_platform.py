"""A simulated LTI 1.3 platform (an LMS such as Canvas or Moodle) on a real HTTP server on
127.0.0.1: its own RSA key and JWKS, an OAuth2 token endpoint that checks our client
assertion against *our* JWKS endpoint, a line item recording the scores posted to it, and
a roster (NRPS) endpoint. Plus id_tokens built and signed the way those platforms do."""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
ROLE = "http://purl.imsglobal.org/vocab/lis/v2/"
LEARNER = [ROLE + "membership#Learner", ROLE + "institution/person#Student"]
INSTRUCTOR = [ROLE + "membership#Instructor", ROLE + "institution/person#Instructor"]
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass
class Platform:
    """The platform's state: what it was sent, what it will answer."""

    tool_jwks_url: str
    client_id: str = "tool-client-1"
    deployment_id: str = "deployment-1"
    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    kid: str = field(default_factory=lambda: "platform-" + secrets.token_hex(4))
    scores: list[dict[str, Any]] = field(default_factory=list)
    score_failures: int = 0  # the next N score posts are answered 503
    members: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[str, list[str]] = field(default_factory=dict)  # access token -> scopes
    assertion_errors: list[str] = field(default_factory=list)
    port: int = 0
    # The browser's login: what the /auth endpoint signs, and where it posts it (our
    # redirect_uri is PUBLIC_URL's; a test server on a random port is elsewhere).
    next_launch: dict[str, Any] = field(default_factory=dict)
    launch_target: str | None = None
    auth_requests: list[dict[str, str]] = field(default_factory=list)
    jwks_fetches: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return self.url

    def registration(self, **overrides: Any) -> dict[str, Any]:
        """The body an admin posts to /lti/platforms for this platform."""
        return {
            "name": "Simulated LMS",
            "issuer": self.issuer,
            "client_id": self.client_id,
            "auth_login_url": self.url + "/auth",
            "auth_token_url": self.url + "/token",
            "key_set_url": self.url + "/jwks",
            "deployment_ids": [self.deployment_id],
            **overrides,
        }

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def lineitem_url(self, name: str = "1") -> str:
        # Moodle's line items carry a query string: scores go to <path>/scores?<query>.
        return f"{self.url}/lineitems/{name}/lineitem?type_id=7"

    # -- id_tokens --------------------------------------------------------------------

    def claims(
        self,
        nonce: str,
        *,
        sub: str = "learner-1",
        roles: list[str] | None = None,
        resource_link_id: str = "rl-1",
        custom: dict[str, str] | None = None,
        email: str | None = "ada@school.test",
        lineitem: str | None = None,
    ) -> dict[str, Any]:
        """A resource-link launch as Canvas and Moodle send it."""
        now = int(time.time())
        return {
            "iss": self.issuer,
            "aud": self.client_id,
            "azp": self.client_id,
            "sub": sub,
            "nonce": nonce,
            "iat": now,
            "exp": now + 300,
            "name": "Ada Lovelace",
            "given_name": "Ada",
            "family_name": "Lovelace",
            **({"email": email} if email else {}),
            LTI + "message_type": "LtiResourceLinkRequest",
            LTI + "version": "1.3.0",
            LTI + "deployment_id": self.deployment_id,
            LTI + "target_link_uri": "http://tool.test/api/v1/lti/launch",
            LTI + "resource_link": {"id": resource_link_id, "title": "Midterm (LMS)"},
            LTI + "roles": roles if roles is not None else LEARNER,
            LTI + "context": {"id": "course-42", "label": "CS101", "title": "Intro to CS"},
            LTI + "custom": custom or {},
            LTI + "tool_platform": {"guid": "lms-1", "product_family_code": "canvas"},
            AGS: {
                "scope": [LINEITEM_SCOPE, SCORE_SCOPE],
                "lineitems": self.url + "/lineitems",
                "lineitem": lineitem or self.lineitem_url(),
            },
            NRPS: {
                "context_memberships_url": self.url + "/memberships",
                "service_versions": ["2.0"],
            },
        }

    def deep_linking_claims(self, nonce: str, *, sub: str = "teacher-1") -> dict[str, Any]:
        """An LtiDeepLinkingRequest of an instructor choosing content."""
        body = self.claims(nonce, sub=sub, roles=INSTRUCTOR)
        for claim in (LTI + "resource_link", AGS):
            body.pop(claim)
        body[LTI + "message_type"] = "LtiDeepLinkingRequest"
        body[DL] = {
            "deep_link_return_url": self.url + "/deep-link-return",
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": False,
            "data": "opaque-platform-data",
        }
        return body

    def sign(self, claims: dict[str, Any], *, key: rsa.RSAPrivateKey | None = None) -> str:
        return jwt.encode(
            claims, pem(key or self.key), algorithm="RS256", headers={"kid": self.kid}
        )

    # -- the server's side --------------------------------------------------------------

    def issue_token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """client_credentials with a JWT client assertion, checked against our JWKS."""
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_assertion_type")
            != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return 400, {"error": "unsupported_grant_type"}
        assertion = form.get("client_assertion", "")
        try:
            kid = jwt.get_unverified_header(assertion)["kid"]
            keys = requests.get(self.tool_jwks_url, timeout=5).json()["keys"]
            key = next(k for k in keys if k["kid"] == kid)
            claims = jwt.decode(
                assertion, RSAAlgorithm.from_jwk(json.dumps(key)), algorithms=["RS256"],
                audience=self.url + "/token", options={"require": ["exp", "iat", "jti"]},
            )  # fmt: skip
            assert claims["iss"] == claims["sub"] == self.client_id, "iss/sub"
        except Exception as exc:  # noqa: BLE001  (any failure is the client's)
            self.assertion_errors.append(repr(exc))
            return 401, {"error": "invalid_client"}
        token = secrets.token_urlsafe(16)
        self.tokens[token] = form.get("scope", "").split()
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}

    def auth_page(self, query: dict[str, str]) -> tuple[int, str]:
        """The OIDC authorization endpoint: a signed id_token with the tool's nonce, posted
        back with its state by an auto-submitting form (as Canvas and Moodle do)."""
        self.auth_requests.append(query)
        if query.get("client_id") != self.client_id or query.get("response_mode") != "form_post":
            return 400, "bad authorization request"
        token = self.sign(self.claims(query["nonce"], **self.next_launch))
        target = self.launch_target or query["redirect_uri"]
        return 200, (
            f'<!DOCTYPE html><form method="post" action="{target}">'
            f'<input type="hidden" name="id_token" value="{token}">'
            f'<input type="hidden" name="state" value="{query["state"]}"></form>'
            "<script>document.forms[0].submit()</script>"
        )

    def authorized(self, header: str | None, scope: str) -> bool:
        token = (header or "").removeprefix("Bearer ")
        return scope in self.tokens.get(token, [])


class _Handler(BaseHTTPRequestHandler):
    platform: Platform

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _reply(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        parts, p = urlsplit(self.path), self.platform
        if parts.path == "/jwks":
            p.jwks_fetches += 1
            return self._reply(200, p.jwks())
        if parts.path == "/auth":
            status, html = p.auth_page({k: v[0] for k, v in parse_qs(parts.query).items()})
            data = html.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return None
        if parts.path == "/memberships":
            if not p.authorized(self.headers.get("Authorization"), NRPS_SCOPE):
                return self._reply(401, {"error": "unauthorized"})
            body = {
                "id": p.url + "/memberships",
                "context": {"id": "course-42"},
                "members": p.members,
            }
            return self._reply(
                200, body, "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
            )
        return self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        parts, p = urlsplit(self.path), self.platform
        if parts.path == "/token":
            form = {k: v[0] for k, v in parse_qs(self._body().decode()).items()}
            return self._reply(*p.issue_token(form))
        if parts.path.startswith("/lineitems/") and parts.path.endswith("/lineitem/scores"):
            if not p.authorized(self.headers.get("Authorization"), SCORE_SCOPE):
                return self._reply(401, {"error": "unauthorized"})
            if self.headers.get("Content-Type") != "application/vnd.ims.lis.v1.score+json":
                return self._reply(415, {"error": "score+json expected"})
            if p.score_failures > 0:
                p.score_failures -= 1
                return self._reply(503, {"error": "try later"})
            p.scores.append({"path": self.path, **json.loads(self._body())})
            return self._reply(200, {})
        return self._reply(404, {"error": "not found"})


class PlatformServer:
    """The platform on a thread of this process, on a free port of 127.0.0.1."""

    def __init__(self, tool_jwks_url: str) -> None:
        self.platform = Platform(tool_jwks_url=tool_jwks_url)
        handler = type("Handler", (_Handler,), {"platform": self.platform})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.platform.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def __enter__(self) -> Platform:
        self._thread.start()
        return self.platform

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def member(sub: str, *, roles: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    """One NRPS membership entry."""
    return {
        "user_id": sub,
        "status": "Active",
        "name": fields.pop("name", f"Member {sub}"),
        "roles": roles or [ROLE + "membership#Learner"],
        **fields,
    }


def unique_sub() -> str:
    return "user-" + uuid.uuid4().hex[:12]
