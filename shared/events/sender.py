"""One try of one delivery, start to end: claim, check the target again, POST signed,
record the answer. Called by the worker's task; the API never sends."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from shared.config import Settings
from shared.db import transaction
from shared.events import deliveries, http, signing, targets
from shared.models.base import utcnow

# A `sending` claim older than this was interrupted (the worker died mid-try).
INTERRUPTED_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class Outcome:
    """`skipped` (not claimed), `delivered`, `retrying` or `failed`; `retry_in` seconds."""

    outcome: str
    retry_in: float | None = None
    response_code: int | None = None


def deliver(
    settings: Settings,
    delivery_id: uuid.UUID,
    resolver: targets.Resolver = targets.system_resolver,
) -> Outcome:
    """Try the delivery once if it is due; nothing held open while the receiver answers."""
    with transaction(settings) as session:
        claimed = deliveries.claim(session, delivery_id, utcnow())
    if claimed is None:
        return Outcome("skipped")
    answer = _send(settings, claimed, resolver)
    with transaction(settings) as session:
        recorded = deliveries.record(
            session, claimed, answer, utcnow(), scale=settings.WEBHOOK_RETRY_SCALE
        )
    outcome = {"delivered": "delivered", "pending": "retrying"}.get(recorded.status, "failed")
    return Outcome(outcome, recorded.retry_in, answer.status_code)


def _send(
    settings: Settings, claimed: deliveries.Claimed, resolver: targets.Resolver
) -> http.Answer:
    # Checked again at every try: the name may resolve elsewhere since it was registered.
    allowed = targets.allowed_patterns(settings.WEBHOOK_ALLOWED_HOSTS)
    try:
        target = targets.check_url(claimed.url, allowed, resolver)
    except targets.RefusedTarget as exc:
        return http.Answer(None, exc.reason)
    headers = {
        "X-Exam-Event": claimed.event_type,
        "X-Exam-Delivery": str(claimed.event_id),
        "X-Exam-Signature": signing.signature(claimed.secret, claimed.body),
    }
    return http.post(target, claimed.body, headers, settings.WEBHOOK_TIMEOUT_SECONDS)


def sweep(settings: Settings) -> list[uuid.UUID]:
    """Repair and find work: interrupted tries due again, day-old ones given up, month-old
    events purged, and the due deliveries whose task is not on its way (to send now)."""
    now = utcnow()
    with transaction(settings) as session:
        deliveries.release_interrupted(session, now, INTERRUPTED_AFTER)
        deliveries.give_up_expired(session, now, scale=settings.WEBHOOK_RETRY_SCALE)
        deliveries.purge_old(session, now)
        return deliveries.due(session, now)
