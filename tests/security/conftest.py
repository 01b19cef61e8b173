"""A small school with real data, and every API route read from the app's URL map (so a
route added tomorrow is checked without anyone remembering to add it here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from shared.models import Role, utcnow
from shared.people import groups
from shared.services import grading, notifications, regrades
from tests.factories import Account, login, make_exam, make_question, make_user

PUBLIC = {
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/password/forgot"),
    ("POST", "/api/v1/auth/password/reset"),
    # LTI's browser legs (docs/lti.md): the platform's signed id_token, our state or a
    # one-time code is the credential, never a bearer token.
    ("GET", "/api/v1/lti/jwks"),
    ("GET", "/api/v1/lti/login"),
    ("POST", "/api/v1/lti/login"),
    ("POST", "/api/v1/lti/launch"),
    ("POST", "/api/v1/lti/session"),
    ("POST", "/api/v1/lti/deep-link"),
    # Receipts are checked by anyone holding one (docs/receipts-and-audit.md).
    ("GET", "/api/v1/receipts/public-key"),
    ("POST", "/api/v1/receipts/verify"),
}


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    auth: dict[str, Any] | None

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self.auth["roles"]) if self.auth else ()

    def path(self, ids: dict[str, str]) -> str:
        return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: ids[m.group(1)], self.rule)

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"


def api_routes(app) -> list[Route]:  # type: ignore[no-untyped-def]
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            view = app.view_functions[rule.endpoint]
            if hasattr(view, "view_class"):
                view = getattr(view.view_class, method.lower())
            routes.append(Route(method, rule.rule, getattr(view, "exam_auth", None)))
    return routes


@dataclass
class World:
    ids: dict[str, str]  # path parameter -> an id that exists (the owner's things)
    owner: Account
    intruder: Account
    admin: Account
    secrets: list[str]  # what the owner must never see: other students' ids and emails


@pytest.fixture
def world(app, db, client, session, settings) -> World:  # type: ignore[no-untyped-def]
    """An exam with results released by hand (not yet), the owner's graded attempt and one
    in progress, a classmate with an attempt of their own, a job and a notification."""
    app.extensions["exam.session_factory"] = db
    questions = [make_question(session), make_question(session, "essay")]
    exam = make_exam(session, questions=questions, max_attempts=2, results_release="manual")
    owner, intruder = make_user(session, settings), make_user(session, settings)
    admin = make_user(session, settings, role=Role.ADMIN)
    headers = login(client, owner)
    first = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    client.post(f"/api/v1/attempts/{first['id']}/submit", json={}, headers=headers)
    grading.grade_submitted(session, first["id"], utcnow())
    second = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    other = client.post(
        f"/api/v1/exams/{exam.id}/attempts", headers=login(client, intruder)
    ).get_json()
    job = regrades.create_regrade(session, exam.id, dry_run=True, admin_id=admin.user.id)
    notification = notifications.notify(
        session, user_id=owner.user.id, kind="note", title="Hello", body="Hi", dedupe_key="hello"
    )
    group = groups.create_group(session, name="Class 7A")
    groups.insert_members(session, group.id, [owner.user.id])
    platform, link = lti_platform_with_a_link(session, exam.id)
    hook, delivery = webhook_with_a_delivery(session, first["id"])
    session.commit()
    ids = {
        "exam_id": str(exam.id), "question_id": str(questions[1].id), "attempt_id": second["id"],
        "job_id": str(job.id), "notification_id": str(notification),
        "student_id": str(owner.user.id), "user_id": str(owner.user.id),
        "platform_id": str(platform.id), "link_id": str(link.id),
        "post_id": "5f0c0de0-0000-4000-8000-000000000000",  # no grade post: guards only
        "group_id": str(group.id), "webhook_id": str(hook.id), "delivery_id": str(delivery.id),
    }  # fmt: skip
    secrets = [other["id"], str(intruder.user.id), intruder.email, str(admin.user.id), admin.email]
    secrets.append(hook.secret)
    return World(ids=ids, owner=owner, intruder=intruder, admin=admin, secrets=secrets)


def webhook_with_a_delivery(session, attempt_id: str):  # type: ignore[no-untyped-def]
    """A webhook endpoint and one delivery of an event to it (written directly: the outbox's
    per-process endpoint cache has nothing to do with routes' guards)."""
    from shared.events import endpoints
    from shared.events.models import EVENT_TYPES, OutboxEvent, WebhookDelivery

    hook = endpoints.create(
        session, url="https://93.184.215.14/hook", events=list(EVENT_TYPES), active=True,
        allowed_hosts=[], now=utcnow(),
    )  # fmt: skip
    event = OutboxEvent(type="attempt.graded", data={"attempt_id": attempt_id})
    session.add(event)
    session.flush()
    delivery = WebhookDelivery(event_id=event.id, endpoint_id=hook.id)
    session.add(delivery)
    session.flush()
    return hook, delivery


def lti_platform_with_a_link(session, exam_id):  # type: ignore[no-untyped-def]
    """A registered LTI platform and a resource link placing the exam in its course."""
    from shared.interop.lti import platforms
    from shared.interop.lti.models import LtiResourceLink

    platform = platforms.register(session, {
        "name": "LMS", "issuer": "https://lms.school.test", "client_id": "c1",
        "auth_login_url": "https://lms.school.test/auth", "key_set_url": "https://lms.school.test/jwks",
        "auth_token_url": "https://lms.school.test/token", "deployment_ids": ["d1"],
    })  # fmt: skip
    link = LtiResourceLink(
        platform_id=platform.id, resource_link_id="rl-1", exam_id=exam_id, deployment_id="d1",
        memberships_url="https://lms.school.test/memberships",
    )  # fmt: skip
    session.add(link)
    session.flush()
    return platform, link
