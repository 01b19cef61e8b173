"""What a checked launch does: find or make the user (issuer + sub), map the resource link
to an exam, enrol the learner, and hand the browser a one-time code."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pylti1p3.roles import StaffRole, StudentRole, TeacherRole
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.errors import Conflict, NotFound, PermissionDenied
from shared.interop.lti import claims as C
from shared.interop.lti.handoffs import issue
from shared.interop.lti.models import (
    LtiLinkMember,
    LtiPlatform,
    LtiResourceLink,
    LtiUserLink,
)
from shared.models.exam import Exam
from shared.models.user import Role, User
from shared.people.accounts import normalize_email
from shared.people.models import ExamStudent

# Never a valid argon2 hash: password sign-in fails until the user sets one (reset email).
NO_PASSWORD = "!lti-launch-only"  # noqa: S105  (a marker, not a secret)


@dataclass(frozen=True)
class Outcome:
    """Where the browser goes next, and the one-time code it carries."""

    kind: str  # "exam" or "deep_link"
    code: str
    exam_id: uuid.UUID | None = None


def is_staff(body: dict[str, Any]) -> bool:
    """An Instructor, course designer or (system or institution) Administrator."""
    return TeacherRole(body).check() or StaffRole(body).check()


def role_for(body: dict[str, Any], platform: LtiPlatform) -> str:
    """Our role for a launch: student for learners; admin only where the registration says
    instructors are admins. Anyone else is refused (an observer, a mentor, no role)."""
    if is_staff(body):
        if platform.instructors_are_admins:
            return Role.ADMIN
        raise PermissionDenied(
            "instructors of this platform may not sign in here; ask an admin to allow it",
            code="lti_role_not_allowed",
        )
    if StudentRole(body).check():
        return Role.STUDENT
    raise PermissionDenied("this launch's role may not sign in here", code="lti_role_not_allowed")


def resource_launch(
    session: Session, platform: LtiPlatform, body: dict[str, Any], now: datetime, ttl: int
) -> Outcome:
    """A learner (or an allowed instructor) opening an exam placed in a course."""
    role = role_for(body, platform)
    link = _resource_link(session, platform, body, now)
    user = linked_user(session, platform.issuer, body, role=role, now=now)
    add_member(session, link, user, body["sub"], now)
    if user.role == Role.STUDENT:
        enrol(session, link.exam_id, user.id)
    code = issue(session, "session", platform.id, user.id, {"exam_id": str(link.exam_id)}, now, ttl)
    return Outcome(kind="exam", code=code, exam_id=link.exam_id)


def deep_link_launch(
    session: Session, platform: LtiPlatform, body: dict[str, Any], now: datetime, ttl: int
) -> Outcome:
    """An instructor choosing an exam to place: a code for the picker, no sign-in."""
    if not is_staff(body):
        raise PermissionDenied("only instructors may place exams", code="lti_role_not_allowed")
    settings = body.get(C.DEEP_LINKING_SETTINGS) or {}
    data = {
        "deployment_id": body[C.DEPLOYMENT_ID],
        "return_url": settings.get("deep_link_return_url"),
        "data": settings.get("data"),
        "accept_multiple": settings.get("accept_multiple") in (True, "true"),
    }
    return Outcome(
        kind="deep_link", code=issue(session, "deep_link", platform.id, None, data, now, ttl)
    )


def _resource_link(
    session: Session, platform: LtiPlatform, body: dict[str, Any], now: datetime
) -> LtiResourceLink:
    """The link's exam: known from an earlier launch, or named by the `exam_id` custom
    parameter (set by deep linking or by the instructor). Its AGS and NRPS URLs refreshed."""
    link_id = str(body[C.RESOURCE_LINK]["id"])
    link = session.scalar(
        select(LtiResourceLink).where(
            LtiResourceLink.platform_id == platform.id,
            LtiResourceLink.resource_link_id == link_id,
        )
    )
    if link is None:
        link = LtiResourceLink(
            platform_id=platform.id,
            resource_link_id=link_id,
            exam_id=_named_exam(session, body),
            deployment_id=body[C.DEPLOYMENT_ID],
            created_at=now,
        )
        session.add(link)
    elif session.get(Exam, link.exam_id) is None:
        raise NotFound("the exam of this link no longer exists", code="lti_exam_not_found")
    ags, nrps = body.get(C.AGS) or {}, body.get(C.NRPS) or {}
    link.context_id = (body.get(C.CONTEXT) or {}).get("id") or link.context_id
    link.title = str(body[C.RESOURCE_LINK].get("title") or "")[:255] or link.title
    link.lineitem_url = ags.get("lineitem") or link.lineitem_url
    link.ags_scopes = list(ags.get("scope") or []) or link.ags_scopes
    link.memberships_url = nrps.get("context_memberships_url") or link.memberships_url
    link.updated_at = now
    session.flush()
    return link


def _named_exam(session: Session, body: dict[str, Any]) -> uuid.UUID:
    raw = (body.get(C.CUSTOM) or {}).get("exam_id")
    if not raw:
        raise Conflict(
            "this link points to no exam: place it with deep linking or set exam_id",
            code="lti_link_unmapped",
        )
    try:
        exam_id = uuid.UUID(str(raw))
    except ValueError:
        raise NotFound("the link's exam does not exist", code="lti_exam_not_found") from None
    if session.get(Exam, exam_id) is None:
        raise NotFound("the link's exam does not exist", code="lti_exam_not_found")
    return exam_id


def linked_user(
    session: Session, issuer: str, member: dict[str, Any], *, role: str, now: datetime
) -> User:
    """The user this issuer's `sub` is linked to, made on first sight. A platform's email
    claim never links to an existing account (that would let any platform take one over)."""
    sub = str(member.get("sub") or member.get("user_id"))
    link = session.get(LtiUserLink, (issuer, sub))
    if link is not None:
        user = session.get(User, link.user_id)
        assert user is not None
        if not user.active:
            raise PermissionDenied("this account is disabled", code="account_disabled")
        return user
    user = _new_user(session, issuer, sub, member, role, now)
    session.add(LtiUserLink(issuer=issuer, sub=sub, user_id=user.id, created_at=now))
    session.flush()
    return user


def _new_user(
    session: Session, issuer: str, sub: str, member: dict[str, Any], role: str, now: datetime
) -> User:
    name = member.get("name") or " ".join(
        p for p in (member.get("given_name"), member.get("family_name")) if p
    )
    placeholder = hashlib.sha256(f"{issuer}|{sub}".encode()).hexdigest()[:32] + "@lti.invalid"
    emails = [normalize_email(e) for e in (member.get("email"), placeholder) if e]
    for email in emails:
        if session.scalar(select(User.id).where(User.email == email)) is not None:
            continue
        user = User(
            email=email, password_hash=NO_PASSWORD, full_name=(name or "LTI user")[:200],
            role=role, created_at=now,
        )  # fmt: skip
        try:
            with session.begin_nested():
                session.add(user)
            return user
        except IntegrityError:
            continue
    raise Conflict("the account of this platform user could not be made", code="lti_user_conflict")


def add_member(
    session: Session, link: LtiResourceLink, user: User, sub: str, now: datetime
) -> None:
    """Remember that this user reached the exam through this link (their grade goes there)."""
    if session.get(LtiLinkMember, (link.id, user.id)) is None:
        session.add(
            LtiLinkMember(resource_link_id=link.id, user_id=user.id, sub=sub, created_at=now)
        )
        session.flush()


def enrol(session: Session, exam_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Put the student in the exam's audience by name (kept if the audience changes)."""
    if session.get(ExamStudent, (exam_id, user_id)) is None:
        session.add(ExamStudent(exam_id=exam_id, user_id=user_id))
        session.flush()
