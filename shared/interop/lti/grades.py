"""Grade passback (Assignment and Grade Services): a score becomes an outbox row when a
student may see it, and a task posts it to the platform's line item, retried with back-off."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import requests
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.service_connector import ServiceConnector
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.errors import Conflict, DomainError, NotFound
from shared.events.retry import GIVE_UP_AFTER, next_try_delay
from shared.exam_rules import results_visible
from shared.interop.lti import claims as C
from shared.interop.lti.keys import tool_key
from shared.interop.lti.models import (
    GradePostStatus,
    LtiGradePost,
    LtiLinkMember,
    LtiPlatform,
    LtiResourceLink,
)
from shared.interop.lti.tool import TimeoutSession, registration
from shared.models.exam import Exam

SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
# A claim older than this was left by a crashed worker: posting a score again is harmless
# (the platform keeps the latest), so it is tried again.
STALE_CLAIM = timedelta(minutes=5)
SWEEP_BATCH = 200


def queue(session: Session, exam: Exam, attempts: list[Any], now: datetime) -> list[uuid.UUID]:
    """Outbox rows for the visible scores of these graded attempts (Attempt objects or rows
    with id, student_id, score, max_score), one per grade column the student came through."""
    graded = [a for a in attempts if a.score is not None]
    if not graded or not results_visible(exam, now):
        return []
    members = session.execute(
        select(LtiLinkMember.user_id, LtiLinkMember.sub, LtiResourceLink.id)
        .join(LtiResourceLink, LtiResourceLink.id == LtiLinkMember.resource_link_id)
        .where(
            LtiResourceLink.exam_id == exam.id,
            LtiResourceLink.lineitem_url.is_not(None),
            LtiLinkMember.user_id.in_({a.student_id for a in graded}),
        )
    ).all()
    created = []
    for attempt in graded:
        for member in (m for m in members if m.user_id == attempt.student_id):
            post_id = _add(session, attempt, member.id, member.sub, now)
            if post_id is not None:
                created.append(post_id)
    return created


def queue_graded(session: Session, graded: list[Any], now: datetime) -> list[uuid.UUID]:
    """`queue` for a grading batch spanning several exams."""
    created: list[uuid.UUID] = []
    for exam_id in {g.exam_id for g in graded}:
        exam = session.get(Exam, exam_id)
        if exam is not None:
            created += queue(session, exam, [g for g in graded if g.exam_id == exam_id], now)
    return created


def _add(
    session: Session, attempt: Any, link_id: uuid.UUID, sub: str, now: datetime
) -> uuid.UUID | None:
    score, maximum = Decimal(attempt.score), Decimal(attempt.max_score)
    pending = bool(getattr(attempt, "pending_manual", 0))
    earlier = session.execute(
        select(LtiGradePost.score_given, LtiGradePost.score_maximum, LtiGradePost.pending_manual)
        .where(LtiGradePost.attempt_id == attempt.id, LtiGradePost.resource_link_id == link_id)
        .order_by(LtiGradePost.created_at.desc())
    ).all()
    # The score the gradebook was last sent is not sent again; any other is news, even one
    # it had before (a regrade rolled back). The key numbers the posts, so a concurrent
    # release that queued the same one loses on the unique key.
    if earlier and tuple(earlier[0]) == (score, maximum, pending):
        return None
    key = f"{link_id}:{attempt.id}:{len(earlier)}"
    post = LtiGradePost(
        attempt_id=attempt.id, resource_link_id=link_id, sub=sub, dedupe_key=key,
        score_given=score, score_maximum=maximum, pending_manual=pending, next_try_at=now,
        created_at=now,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(post)
    except IntegrityError:  # queued by a concurrent release
        return None
    return post.id


def due(session: Session, now: datetime, limit: int = SWEEP_BATCH) -> list[uuid.UUID]:
    """Posts whose next try is due (and claims a crashed worker left behind)."""
    return list(
        session.scalars(
            select(LtiGradePost.id)
            .where(_claimable(now))
            .order_by(LtiGradePost.next_try_at)
            .limit(limit)
        )
    )


def _claimable(now: datetime) -> Any:
    return or_(
        (LtiGradePost.status == GradePostStatus.PENDING) & (LtiGradePost.next_try_at <= now),
        (LtiGradePost.status == GradePostStatus.SENDING)
        & (LtiGradePost.claimed_at < now - STALE_CLAIM),
    )


@dataclass(frozen=True)
class Claimed:
    """What one try needs, read in the claiming transaction."""

    id: uuid.UUID
    platform: LtiPlatform
    lineitem_url: str
    score: dict[str, Any]


def claim(session: Session, post_id: uuid.UUID, now: datetime) -> Claimed | None:
    """Take a post for one try (the conditional UPDATE is the claim); None if not due."""
    taken = session.execute(
        update(LtiGradePost)
        .where(LtiGradePost.id == post_id, _claimable(now))
        .values(status=GradePostStatus.SENDING, claimed_at=now, tries=LtiGradePost.tries + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        return None
    post = session.get(LtiGradePost, post_id, populate_existing=True)
    assert post is not None
    link = session.get(LtiResourceLink, post.resource_link_id)
    assert link is not None and link.lineitem_url is not None
    platform = session.get(LtiPlatform, link.platform_id)
    assert platform is not None
    session.expunge(platform)
    return Claimed(post.id, platform, link.lineitem_url, score_body(post))


def score_body(post: LtiGradePost) -> dict[str, Any]:
    """The AGS score: the attempt's points out of its maximum; not final while answers
    wait for a teacher."""
    stamp = post.created_at.isoformat(timespec="milliseconds")
    return {
        "userId": post.sub,
        "scoreGiven": float(post.score_given),
        "scoreMaximum": float(post.score_maximum),
        "activityProgress": "Completed",
        "gradingProgress": "PendingManual" if post.pending_manual else "FullyGraded",
        "timestamp": stamp,
    }


@dataclass(frozen=True)
class TryResult:
    ok: bool
    response_code: int | None = None
    error: str | None = None


def send(settings: Settings, claimed: Claimed) -> TryResult:
    """POST the score to `<lineitem>/scores` with an access token got by our client
    assertion (pylti1p3's ServiceConnector). Never raises for the platform's failures."""
    http = TimeoutSession(settings.LTI_HTTP_TIMEOUT_SECONDS)
    try:
        connector = ServiceConnector(registration(claimed.platform, tool_key(settings)), http)
        url = AssignmentsGradesService._add_url_path_ending(claimed.lineitem_url, "scores")
        connector.make_service_request(
            [C.SCOPE_SCORE], url, is_post=True, data=json.dumps(claimed.score),
            content_type=SCORE_TYPE,
        )  # fmt: skip
    except LtiServiceException as exc:
        return TryResult(False, exc.response.status_code, str(exc)[:2000])
    except (LtiException, requests.RequestException, ValueError, KeyError, DomainError) as exc:
        return TryResult(False, None, f"{type(exc).__name__}: {exc}"[:2000])
    finally:
        http.close()
    return TryResult(True, 200)


def record(session: Session, post_id: uuid.UUID, result: TryResult, now: datetime) -> str:
    """The outcome of a try: sent, due again after the shared back-off, or given up."""
    post = session.get(LtiGradePost, post_id)
    assert post is not None
    post.response_code, post.last_error = result.response_code, result.error
    if result.ok:
        post.status, post.sent_at = GradePostStatus.SENT, now
    elif now - post.created_at >= GIVE_UP_AFTER:
        post.status = GradePostStatus.FAILED
    else:
        post.status = GradePostStatus.PENDING
        post.next_try_at = now + timedelta(seconds=next_try_delay(post.tries))
    session.flush()
    return post.status


def listing(
    session: Session, *, status: str | None, offset: int, limit: int
) -> tuple[list[LtiGradePost], int]:
    """Grade posts, newest first (optionally of one status), for admins watching passback."""
    query = select(LtiGradePost)
    if status:
        query = query.where(LtiGradePost.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(LtiGradePost.created_at.desc(), LtiGradePost.id).offset(offset).limit(limit)
    )
    return list(rows), total


def retry(session: Session, post_id: uuid.UUID, now: datetime) -> LtiGradePost:
    """Send a failed (given up) post again from now, with a fresh day of retries."""
    post = session.get(LtiGradePost, post_id)
    if post is None:
        raise NotFound("grade post not found")
    if post.status != GradePostStatus.FAILED:
        raise Conflict("only a failed grade post can be sent again", code="conflict")
    # created_at restarts the day of retries, and dates the score anew for the platform.
    post.status, post.next_try_at, post.created_at, post.tries = (
        GradePostStatus.PENDING, now, now, 0,
    )  # fmt: skip
    session.flush()
    return post
