"""Who may call what, for every route in the URL map: no token -> 401, a bad token -> 401,
the wrong role -> 403, another student's attempt -> 404. And nothing a student receives
contains a key, an explanation before release, or another student's data."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt as pyjwt
import pytest
from freezegun import freeze_time

from shared.models import Answer, Attempt, Role
from tests.conftest import TEST_JWT_SECRET
from tests.factories import FORBIDDEN_FOR_STUDENTS, bearer, leaked_keys, login, login_tokens
from tests.security.conftest import PUBLIC, api_routes

BODY = {"POST": {}, "PUT": {}, "PATCH": {}, "DELETE": None, "GET": None}


def call(client, route, ids, headers=None):  # type: ignore[no-untyped-def]
    return getattr(client, route.method.lower())(
        route.path(ids), json=BODY[route.method], headers=headers or {}
    )


def test_every_route_is_either_public_or_guarded(app):
    routes = api_routes(app)
    assert len(routes) >= 40
    unguarded = {(r.method, r.rule) for r in routes if r.auth is None}
    assert unguarded == PUBLIC  # a new route without the auth decorator fails here


def test_without_a_token_every_guarded_route_is_401(app, client, world):
    for route in api_routes(app):
        if route.auth is None:
            continue
        response = call(client, route, world.ids)
        assert response.status_code == 401, route
        assert response.get_json()["error"] == "unauthorized", route


def test_the_wrong_role_is_403_everywhere(app, client, world):
    tokens = {Role.ADMIN: login(client, world.admin), Role.STUDENT: login(client, world.owner)}
    checked = 0
    for route in api_routes(app):
        for role, headers in tokens.items():
            if route.roles and role not in route.roles:
                response = call(client, route, world.ids, headers)
                assert response.status_code == 403, (route, role)
                assert response.get_json()["error"] == "forbidden", route
                checked += 1
    assert checked >= 30


def test_another_students_attempt_is_404_on_every_attempt_route(app, client, world):
    intruder = login(client, world.intruder)
    routes = [
        r for r in api_routes(app) if "<uuid:attempt_id>" in r.rule and Role.ADMIN not in r.roles
    ]
    assert {r.rule.removeprefix("/api/v1/attempts/<uuid:attempt_id>") for r in routes} >= {
        "", "/answers", "/submit", "/status", "/result",
    }  # fmt: skip
    bodies = {"/answers": {"answers": []}}
    for route in routes:
        body = bodies.get(route.rule.rsplit(">", 1)[1], BODY[route.method])
        response = getattr(client, route.method.lower())(
            route.path(world.ids), json=body, headers=intruder
        )
        assert response.status_code == 404, route
        assert response.get_json()["error"] == "not_found", route
    notification = f"/api/v1/notifications/{world.ids['notification_id']}/read"
    assert client.post(notification, headers=intruder).status_code == 404


def _forge(
    token: str, *, header: dict | None = None, claims: dict | None = None, key: str | None = None
) -> str:
    head, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(claims or {})
    if key is not None:
        return pyjwt.encode(body, key, algorithm="HS256")
    encode = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{encode(header) if header else head}.{encode(body)}.{signature if not header else ''}"


def test_bad_tokens_are_401_on_every_guarded_route(app, client, world):
    tokens = login_tokens(client, world.admin)
    revoked = login_tokens(client, world.admin)
    client.post("/api/v1/auth/logout", headers=bearer(revoked["access_token"]))
    expired = pyjwt.encode(
        {**pyjwt.decode(tokens["access_token"], TEST_JWT_SECRET, algorithms=["HS256"]),
         "exp": int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())},
        TEST_JWT_SECRET, algorithm="HS256",
    )  # fmt: skip
    bad = {
        "alg none": _forge(tokens["access_token"], header={"alg": "none", "typ": "JWT"}),
        "wrong key": _forge(tokens["access_token"], key="another-secret-" + "z" * 40),
        "tampered": _forge(
            tokens["access_token"], claims={"role": "admin", "sub": str(world.owner.user.id)}
        ),
        "expired": expired,
        "revoked": revoked["access_token"],
        "refresh as access": tokens["refresh_token"],
    }
    for route in api_routes(app):
        if route.auth is None or route.auth["refresh"] or route.auth["any_token"]:
            continue
        for name, token in bad.items():
            response = call(client, route, world.ids, bearer(token))
            assert response.status_code == 401, (route, name)
    logout = [r for r in api_routes(app) if r.rule.endswith("/logout")][0]
    for name in ("alg none", "wrong key", "tampered", "expired", "revoked"):
        assert call(client, logout, world.ids, bearer(bad[name])).status_code == 401, name


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/exams/{exam_id}/attempts", {"status": "graded"}),
        ("/api/v1/attempts/{attempt_id}/answers", {"answers": [], "score": 100}),
        ("/api/v1/attempts/{attempt_id}/answers",
         {"answers": [{"question_id": "{question_id}", "response": "x", "points_awarded": 5}]}),
        ("/api/v1/attempts/{attempt_id}/answers",
         {"answers": [], "deadline": "2099-01-01T00:00:00Z"}),
        ("/api/v1/attempts/{attempt_id}/submit", {"student_id": "{student_id}", "score": 9}),
        ("/api/v1/auth/register",
         {"email": "x@y.test", "password": "long-enough", "full_name": "X", "role": "admin"}),
    ],
)  # fmt: skip
def test_a_student_cannot_set_what_is_not_theirs_to_set(client, world, session, path, body):
    headers = login(client, world.owner)
    text = json.dumps(body)
    for key, value in world.ids.items():
        text = text.replace("{" + key + "}", value)
        path = path.replace("{" + key + "}", value)
    method = client.put if path.endswith("/answers") else client.post
    response = method(path, data=text, content_type="application/json", headers=headers)
    assert response.status_code == 422, response.get_json()
    session.expire_all()
    attempt = session.get(Attempt, world.ids["attempt_id"])
    assert attempt.status == "in_progress" and attempt.score is None
    assert session.get(Answer, (attempt.id, world.ids["question_id"])) is None


def test_nothing_a_student_receives_leaks_a_key_or_a_classmate(app, client, world):
    headers = login(client, world.owner)
    scanned = 0
    for route in api_routes(app):
        if route.method != "GET" or (route.roles and Role.STUDENT not in route.roles):
            continue
        response = call(client, route, world.ids, headers)
        if response.mimetype != "application/json":
            continue
        payload = response.get_json()
        assert leaked_keys(payload, FORBIDDEN_FOR_STUDENTS) == [], route
        text = json.dumps(payload)
        assert not [s for s in world.secrets if s in text], route
        scanned += 1
    assert scanned >= 8


def test_tokens_expire_in_minutes_not_days(client, world):
    tokens = login_tokens(client, world.owner)
    with freeze_time(datetime.now(UTC) + timedelta(minutes=16)):
        assert (
            client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 401
        )
