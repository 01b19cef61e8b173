"""LTI models: platform registrations, deployments, user and resource links."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, JSONType, utcnow, uuid_pk

URL = String(2048)
CLAIM = String(255)  # issuer, client_id, sub, deployment and resource link ids (LTI: 255)


class LtiPlatform(Base):
    """A platform (Canvas, Moodle, ...) registered with us: its issuer and client id, and
    the URLs of its login, token and key set endpoints."""

    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id", name="uq_lti_platforms_client"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(CLAIM)
    client_id: Mapped[str] = mapped_column(CLAIM)
    auth_login_url: Mapped[str] = mapped_column(URL)
    auth_token_url: Mapped[str] = mapped_column(URL)
    key_set_url: Mapped[str] = mapped_column(URL)
    # The `aud` of our client assertion when the platform wants one other than its token URL.
    auth_audience: Mapped[str | None] = mapped_column(URL)
    # Whether an Instructor or Administrator launch signs in as one of our admins. Off by
    # default: a course's teacher is not an administrator of the whole exam system.
    instructors_are_admins: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LtiDeployment(Base):
    """A deployment of our tool on a platform: launches name one of these."""

    __tablename__ = "lti_deployments"

    platform_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_platforms.id", ondelete="CASCADE"), primary_key=True
    )
    deployment_id: Mapped[str] = mapped_column(CLAIM, primary_key=True)


class LtiUserLink(Base):
    """One of our users as a platform knows them: issuer + `sub` (stable per issuer)."""

    __tablename__ = "lti_user_links"
    __table_args__ = (Index("ix_lti_user_links_user_id", "user_id"),)

    issuer: Mapped[str] = mapped_column(CLAIM, primary_key=True)
    sub: Mapped[str] = mapped_column(CLAIM, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LtiResourceLink(Base):
    """A placement of one of our exams in a platform's course, with its grade column."""

    __tablename__ = "lti_resource_links"
    __table_args__ = (
        UniqueConstraint("platform_id", "resource_link_id", name="uq_lti_resource_links_link"),
        Index("ix_lti_resource_links_exam_id", "exam_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    platform_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_platforms.id", ondelete="CASCADE")
    )
    resource_link_id: Mapped[str] = mapped_column(CLAIM)
    exam_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(CLAIM)
    context_id: Mapped[str | None] = mapped_column(CLAIM)
    title: Mapped[str | None] = mapped_column(String(255))
    # From the AGS claim of the latest launch: where scores go, and what we may do there.
    lineitem_url: Mapped[str | None] = mapped_column(URL)
    ags_scopes: Mapped[list[str] | None] = mapped_column(JSONType)
    # From the NRPS claim: the course's roster.
    memberships_url: Mapped[str | None] = mapped_column(URL)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LtiLinkMember(Base):
    """A user who reached an exam through a resource link (a launch or a roster sync):
    their scores go to that link's grade column, under the platform's `sub`."""

    __tablename__ = "lti_link_members"
    __table_args__ = (Index("ix_lti_link_members_user_id", "user_id"),)

    resource_link_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_resource_links.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    sub: Mapped[str] = mapped_column(CLAIM)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LtiLaunchState(Base):
    """An OIDC login we started: the `state` and `nonce` we sent the platform. A launch
    spends its row once (a conditional UPDATE), so a replayed id_token is refused in any
    process."""

    __tablename__ = "lti_launch_states"
    __table_args__ = (Index("ix_lti_launch_states_expires_at", "expires_at"),)

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    platform_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_platforms.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LtiHandoff(Base):
    """A one-time, short-lived code handed to the browser after a launch: exchanged once
    for a token pair (`session`) or for the exam picker of a deep-linking request
    (`deep_link`). Only its SHA-256 is kept; no token ever travels in a URL."""

    __tablename__ = "lti_handoffs"
    __table_args__ = (
        CheckConstraint("purpose IN ('session', 'deep_link')", name="purpose"),
        Index("ix_lti_handoffs_expires_at", "expires_at"),
    )

    code_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    platform_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_platforms.id", ondelete="CASCADE")
    )
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class GradePostStatus:
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # gave up (24 h of failures, or refused for good)


class LtiGradePost(Base):
    """The outbox of grade passback: one score of one attempt for one grade column,
    written in the transaction that made the result visible and sent by a task."""

    __tablename__ = "lti_grade_posts"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="status"),
        # What the sweep scans: posts waiting for their next try.
        Index(
            "ix_lti_grade_posts_due",
            "next_try_at",
            postgresql_where=text("status IN ('pending', 'sending')"),
            sqlite_where=text("status IN ('pending', 'sending')"),
        ),
        Index("ix_lti_grade_posts_attempt_id", "attempt_id"),
        # A result told twice (two releases racing, a redelivered task) queues one post.
        UniqueConstraint("dedupe_key", name="uq_lti_grade_posts_dedupe_key"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    attempt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    resource_link_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_resource_links.id", ondelete="CASCADE")
    )
    sub: Mapped[str] = mapped_column(CLAIM)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    score_given: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    score_maximum: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    # Answers still waiting for a teacher: the platform is told the grade is not final.
    pending_manual: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=GradePostStatus.PENDING)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    response_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
