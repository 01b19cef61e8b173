"""Platform registrations: what an admin (API or CLI) tells us about a Canvas or Moodle."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.errors import Conflict, InvalidInput, NotFound
from shared.interop.lti.models import LtiDeployment, LtiPlatform

URL_FIELDS = ("auth_login_url", "auth_token_url", "key_set_url")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _url_problem(url: str) -> str | None:
    """https, or http on a loopback host (a platform on the developer's machine, tests)."""
    parts = urlsplit(url)
    if not parts.hostname:
        return "must be an absolute URL"
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS):
        return None
    return "must be an https URL"


def _check(data: dict[str, Any]) -> None:
    errors = {}
    for field in (*URL_FIELDS, "auth_audience"):
        if data.get(field) and (problem := _url_problem(data[field])):
            errors[field] = [problem]
    if data.get("issuer") and (problem := _url_problem(data["issuer"])):
        errors["issuer"] = [problem]
    if errors:
        raise InvalidInput("some URLs are not acceptable", errors)


def register(session: Session, data: dict[str, Any]) -> LtiPlatform:
    """Register a platform with its deployment ids; Conflict if issuer + client id exist."""
    _check(data)
    deployment_ids = list(dict.fromkeys(data.pop("deployment_ids", [])))
    platform = LtiPlatform(**data)
    try:
        with session.begin_nested():
            session.add(platform)
            session.flush()
    except IntegrityError:
        raise Conflict(
            "this issuer and client id are registered already", code="lti_platform_exists"
        ) from None
    for deployment_id in deployment_ids:
        session.add(LtiDeployment(platform_id=platform.id, deployment_id=deployment_id))
    session.flush()
    return platform


def add_deployments(session: Session, platform_id: uuid.UUID, deployment_ids: list[str]) -> None:
    """More deployments of our tool on a registered platform (already known ones are kept)."""
    platform = get(session, platform_id)
    known = set(deployment_ids_of(session, platform.id))
    for deployment_id in dict.fromkeys(deployment_ids):
        if deployment_id not in known:
            session.add(LtiDeployment(platform_id=platform.id, deployment_id=deployment_id))
    session.flush()


def get(session: Session, platform_id: uuid.UUID) -> LtiPlatform:
    """A registration; NotFound if there is none."""
    platform = session.get(LtiPlatform, platform_id)
    if platform is None:
        raise NotFound("platform not found")
    return platform


def deployment_ids_of(session: Session, platform_id: uuid.UUID) -> list[str]:
    """The platform's registered deployment ids, sorted."""
    return list(
        session.scalars(
            select(LtiDeployment.deployment_id)
            .where(LtiDeployment.platform_id == platform_id)
            .order_by(LtiDeployment.deployment_id)
        )
    )


def listing(session: Session) -> list[dict[str, Any]]:
    """Every registration with its deployment ids, oldest first."""
    platforms = session.scalars(select(LtiPlatform).order_by(LtiPlatform.created_at))
    return [view(session, p) for p in platforms]


def view(session: Session, platform: LtiPlatform) -> dict[str, Any]:
    """A registration as the API shows it, with its deployment ids."""
    fields = (
        "id", "name", "issuer", "client_id", *URL_FIELDS, "auth_audience",
        "instructors_are_admins", "created_at",
    )  # fmt: skip
    return {
        **{f: getattr(platform, f) for f in fields},
        "deployment_ids": deployment_ids_of(session, platform.id),
    }


def remove(session: Session, platform_id: uuid.UUID) -> None:
    """Forget a platform: its launches stop working; users and their attempts stay."""
    platform = get(session, platform_id)
    session.execute(delete(LtiPlatform).where(LtiPlatform.id == platform.id))
    session.flush()
