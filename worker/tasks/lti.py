"""LTI 1.3 grade passback and roster sync."""

from __future__ import annotations

import logging
import uuid

from shared.db import transaction
from shared.interop.lti import LtiTask, grades, handoffs, roster
from shared.messaging import enqueue
from shared.models import utcnow
from worker.app import app, settings
from worker.tasks.grading import DATABASE_ERRORS

log = logging.getLogger(__name__)


@app.task(
    name=LtiTask.SEND_GRADE,
    autoretry_for=DATABASE_ERRORS,
    max_retries=5,
    retry_backoff=1,
    soft_time_limit=120,
    time_limit=150,
)
def send_grade(post_id: str) -> str:
    """One try of one grade post, if due (the claim makes a duplicate message a no-op);
    a failure waits for the shared back-off and is picked up by the sweep."""
    with transaction(settings) as session:
        claimed = grades.claim(session, uuid.UUID(post_id), utcnow())
    if claimed is None:
        return "skipped"
    result = grades.send(settings, claimed)
    with transaction(settings) as session:
        status = grades.record(session, claimed.id, result, utcnow())
    if not result.ok:
        log.warning("LTI grade post %s failed (%s): %s", post_id, status, result.error)
    return status


@app.task(name=LtiTask.SEND_DUE_GRADES, autoretry_for=DATABASE_ERRORS, max_retries=3)
def send_due_grades() -> int:
    """Beat: send the grade posts that are due (new ones, retries, interrupted tries)."""
    with transaction(settings) as session:
        ids = grades.due(session, utcnow())
    for post_id in ids:
        enqueue(app, LtiTask.SEND_GRADE, [str(post_id)])
    return len(ids)


@app.task(name=LtiTask.SYNC_ROSTER, autoretry_for=DATABASE_ERRORS, max_retries=3)
def sync_roster(platform_id: str, link_id: str) -> dict[str, int]:
    """Read a placed exam's course roster (NRPS) and enrol its learners."""
    with transaction(settings) as session:
        platform, link = roster.link_for_sync(session, uuid.UUID(platform_id), uuid.UUID(link_id))
        url = link.memberships_url
    assert url is not None
    members = roster.fetch_members(settings, platform, url)
    with transaction(settings) as session:
        platform, link = roster.link_for_sync(session, uuid.UUID(platform_id), uuid.UUID(link_id))
        outcome = roster.apply(session, platform, link, members, utcnow())
    return {"members": outcome.members, "created": outcome.created, "enrolled": outcome.enrolled}


@app.task(name=LtiTask.PURGE_EXPIRED)
def purge_expired() -> int:
    """Forget spent or expired launch states and one-time codes."""
    with transaction(settings) as session:
        return handoffs.purge_expired(session, utcnow())
