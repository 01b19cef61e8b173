"""Webhook endpoints: register (the URL checked against SSRF rules), change, remove."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shared.errors import NotFound
from shared.events import outbox, signing, targets
from shared.events.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

# session.info key: this transaction changed an endpoint; the process's copy of the list
# is dropped once it commits (outbox._after_commit).
CHANGED_KEY = outbox.ENDPOINTS_CHANGED_KEY


def create(
    session: Session,
    *,
    url: str,
    events: list[str],
    active: bool,
    allowed_hosts: Iterable[str],
    now: datetime,
    resolver: targets.Resolver = targets.system_resolver,
) -> WebhookEndpoint:
    """A new endpoint with a fresh secret (the caller shows it once)."""
    targets.check_url(url, allowed_hosts, resolver)
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(), url=url, events=_unique(events), active=active,
        secret=signing.new_secret(), created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(endpoint)
    session.flush()
    session.info[CHANGED_KEY] = True
    return endpoint


def get(session: Session, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.deleted_at is not None:
        raise NotFound("webhook not found")
    return endpoint


def listing(session: Session, *, offset: int, limit: int) -> tuple[list[WebhookEndpoint], int]:
    """Endpoints, oldest first."""
    where = WebhookEndpoint.deleted_at.is_(None)
    total = session.scalar(select(func.count()).select_from(WebhookEndpoint).where(where)) or 0
    rows = session.scalars(
        select(WebhookEndpoint)
        .where(where)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows), total


def change(
    session: Session,
    endpoint_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    allowed_hosts: Iterable[str],
    now: datetime,
    resolver: targets.Resolver = targets.system_resolver,
) -> WebhookEndpoint:
    """Change the URL (checked again), the events or `active`; the secret stays."""
    endpoint = get(session, endpoint_id)
    if "url" in changes:
        targets.check_url(changes["url"], allowed_hosts, resolver)
        endpoint.url = changes["url"]
    if "events" in changes:
        endpoint.events = _unique(changes["events"])
    if "active" in changes:
        endpoint.active = changes["active"]
    endpoint.updated_at = now
    session.flush()
    session.info[CHANGED_KEY] = True
    return endpoint


def remove(session: Session, endpoint_id: uuid.UUID, now: datetime) -> None:
    """Stop sending to the endpoint and hide it; its waiting deliveries fail. The row stays
    (marked deleted), so a transaction writing a delivery to it meanwhile still commits."""
    endpoint = get(session, endpoint_id)
    endpoint.deleted_at = now
    endpoint.active = False
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.FAILED, last_error="the webhook was deleted")
        .execution_options(synchronize_session=False)
    )
    session.flush()
    session.info[CHANGED_KEY] = True


def _unique(events: list[str]) -> list[str]:
    return list(dict.fromkeys(events))
