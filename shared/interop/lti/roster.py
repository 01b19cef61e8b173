"""Roster sync (Names and Role Provisioning Services): the learners of a placed exam's
course get accounts, links and a place in the exam's audience before they ever launch."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pylti1p3.exception import LtiException
from pylti1p3.names_roles import NamesRolesProvisioningService
from pylti1p3.roles import StudentRole
from pylti1p3.service_connector import ServiceConnector
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.errors import Conflict, NotFound, PermissionDenied, ServiceUnavailable
from shared.interop.lti import claims as C
from shared.interop.lti.keys import tool_key
from shared.interop.lti.launches import add_member, enrol, is_staff, linked_user
from shared.interop.lti.models import LtiPlatform, LtiResourceLink, LtiUserLink
from shared.interop.lti.tool import TimeoutSession, registration
from shared.models.user import Role

MAX_MEMBERS = 10_000


@dataclass(frozen=True)
class SyncOutcome:
    members: int
    created: int
    enrolled: int


def link_for_sync(
    session: Session, platform_id: uuid.UUID, link_id: uuid.UUID
) -> tuple[LtiPlatform, LtiResourceLink]:
    """A placed exam of this platform whose launches named a roster service."""
    link = session.get(LtiResourceLink, link_id)
    if link is None or link.platform_id != platform_id:
        raise NotFound("resource link not found")
    if not link.memberships_url:
        raise Conflict(
            "no launch of this link offered a roster service (NRPS)", code="lti_no_roster"
        )
    platform = session.get(LtiPlatform, platform_id)
    assert platform is not None
    session.expunge(platform)
    return platform, link


def fetch_members(settings: Settings, platform: LtiPlatform, url: str) -> list[dict[str, Any]]:
    """Every page of the course's membership (pylti1p3 follows the `next` links)."""
    http = TimeoutSession(settings.LTI_HTTP_TIMEOUT_SECONDS)
    try:
        connector = ServiceConnector(registration(platform, tool_key(settings)), http)
        service = NamesRolesProvisioningService(connector, {"context_memberships_url": url})
        members = service.get_members()
    except (LtiException, OSError, ValueError) as exc:
        raise ServiceUnavailable(f"the platform's roster could not be read: {exc}"[:500],
                                 code="lti_platform_unavailable") from None  # fmt: skip
    finally:
        http.close()
    return [dict(m) for m in members[:MAX_MEMBERS]]


def apply(
    session: Session,
    platform: LtiPlatform,
    link: LtiResourceLink,
    members: list[dict[str, Any]],
    now: datetime,
) -> SyncOutcome:
    """Active learners get an account (if new), a link and a place in the audience.
    Instructors are left alone: they sign in by launching, where their role is checked."""
    created = enrolled = 0
    for member in members:
        claims = {**member, C.ROLES: member.get("roles") or []}
        if member.get("status", "Active") != "Active" or not member.get("user_id"):
            continue
        if is_staff(claims) or not _is_learner(claims):
            continue
        sub = str(member["user_id"])
        known = session.get(LtiUserLink, (platform.issuer, sub)) is not None
        try:
            user = linked_user(session, platform.issuer, {**claims, "sub": sub},
                               role=Role.STUDENT, now=now)  # fmt: skip
        except PermissionDenied:  # a disabled account stays out
            continue
        created += not known
        if user.role == Role.STUDENT:
            add_member(session, link, user, sub, now)
            enrol(session, link.exam_id, user.id)
            enrolled += 1
    return SyncOutcome(members=len(members), created=created, enrolled=enrolled)


def _is_learner(claims: dict[str, Any]) -> bool:
    return StudentRole(claims).check()


def links_of(session: Session, platform_id: uuid.UUID) -> list[LtiResourceLink]:
    """The exams placed on this platform, newest first."""
    return list(
        session.scalars(
            select(LtiResourceLink)
            .where(LtiResourceLink.platform_id == platform_id)
            .order_by(LtiResourceLink.created_at.desc())
        )
    )
