"""Delivery bookkeeping against PostgreSQL: the claim is exclusive (two workers, one try),
failures back off then give up, the sweep finds what is due and not on its way, and a
deleted endpoint's waiting deliveries fail."""

from __future__ import annotations

import threading
from datetime import timedelta

from shared.events import deliveries, endpoints, outbox
from shared.events.http import Answer
from shared.events.models import OutboxEvent, WebhookDelivery
from shared.events.retry import GIVE_UP_AFTER
from shared.models import utcnow


def delivery_to_new_endpoint(session, *, active=True, **fields) -> WebhookDelivery:
    hook = endpoints.create(
        session, url="https://93.184.215.14/h", events=["attempt.graded"], active=active,
        allowed_hosts=[], now=utcnow(),
    )  # fmt: skip
    event = OutboxEvent(type="attempt.graded", data={"attempt_id": "a1"}, created_at=utcnow())
    session.add(event)
    session.flush()
    fields.setdefault("next_try_at", utcnow() - timedelta(seconds=1))  # due
    delivery = WebhookDelivery(event_id=event.id, endpoint_id=hook.id, **fields)
    session.add(delivery)
    session.flush()
    return delivery


def test_a_delivery_is_claimed_once_and_carries_a_signed_body(session):
    delivery = delivery_to_new_endpoint(session)
    claimed = deliveries.claim(session, delivery.id, utcnow())
    assert claimed is not None and claimed.tries == 1 and claimed.event_type == "attempt.graded"
    assert b'"attempt_id":"a1"' in claimed.body and claimed.secret
    assert deliveries.claim(session, delivery.id, utcnow()) is None


def test_not_due_or_inactive_is_not_claimed(session):
    later = delivery_to_new_endpoint(session, next_try_at=utcnow() + timedelta(minutes=1))
    assert deliveries.claim(session, later.id, utcnow()) is None
    off = delivery_to_new_endpoint(session, active=False)
    assert deliveries.claim(session, off.id, utcnow()) is None


def test_two_workers_claiming_at_once_make_one_try(committed):
    with committed() as session:
        delivery_id = delivery_to_new_endpoint(session).id
        session.commit()
    first = committed()
    assert deliveries.claim(first, delivery_id, utcnow()) is not None  # row locked, open
    second_result = []

    def second() -> None:
        with committed() as session:
            second_result.append(deliveries.claim(session, delivery_id, utcnow()))
            session.commit()

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive()  # waiting for the first claim's row lock
    first.commit()
    first.close()
    thread.join(10)
    assert second_result == [None]
    with committed() as session:
        assert session.get(WebhookDelivery, delivery_id).tries == 1


def test_a_failure_backs_off_and_a_success_is_recorded(session):
    delivery = delivery_to_new_endpoint(session)
    now = utcnow()
    claimed = deliveries.claim(session, delivery.id, now)
    recorded = deliveries.record(session, claimed, Answer(503), now)
    session.refresh(delivery)
    assert recorded.status == "pending" and 15 <= recorded.retry_in <= 30
    assert delivery.response_code == 503 and delivery.status == "pending"
    assert timedelta(seconds=15) <= delivery.next_try_at - now <= timedelta(seconds=30)
    assert deliveries.claim(session, delivery.id, now) is None  # not due yet
    later = delivery.next_try_at
    claimed = deliveries.claim(session, delivery.id, later)
    assert claimed.tries == 2
    assert deliveries.record(session, claimed, Answer(200), later).status == "delivered"
    session.refresh(delivery)
    assert (delivery.status, delivery.delivered_at, delivery.response_code) == (
        "delivered", later, 200,
    )  # fmt: skip


def test_after_a_day_of_failures_it_gives_up(session):
    created = utcnow() - GIVE_UP_AFTER + timedelta(seconds=5)
    delivery = delivery_to_new_endpoint(session, created_at=created, tries=20)
    claimed = deliveries.claim(session, delivery.id, utcnow())
    recorded = deliveries.record(session, claimed, Answer(None, "timed out after 5 s"), utcnow())
    session.refresh(delivery)
    assert recorded.status == "failed" and recorded.retry_in is None
    assert delivery.status == "failed" and delivery.last_error == "timed out after 5 s"
    assert deliveries.claim(session, delivery.id, utcnow()) is None


def test_the_sweep_sends_what_is_due_and_not_on_its_way(session):
    now = utcnow()
    never_sent = delivery_to_new_endpoint(session, queued_at=None)
    on_its_way = delivery_to_new_endpoint(session, queued_at=now)
    lost = delivery_to_new_endpoint(session, queued_at=now - timedelta(minutes=6))
    not_due = delivery_to_new_endpoint(session, next_try_at=now + timedelta(hours=1))
    found = set(deliveries.due(session, now))
    assert {never_sent.id, lost.id} <= found
    assert not {on_its_way.id, not_due.id} & found
    assert not {never_sent.id, lost.id} & set(deliveries.due(session, now))  # queued now


def test_interrupted_tries_come_back_and_stale_ones_give_up(session):
    now = utcnow()
    interrupted = delivery_to_new_endpoint(
        session, status="sending", claimed_at=now - timedelta(minutes=10)
    )
    running = delivery_to_new_endpoint(session, status="sending", claimed_at=now)
    stale = delivery_to_new_endpoint(session, created_at=now - GIVE_UP_AFTER - timedelta(1))
    deliveries.release_interrupted(session, now, timedelta(minutes=5))
    deliveries.give_up_expired(session, now)
    for row in (interrupted, running, stale):
        session.refresh(row)
    assert (interrupted.status, running.status, stale.status) == ("pending", "sending", "failed")


def test_deleting_an_endpoint_fails_its_waiting_deliveries(session):
    delivery = delivery_to_new_endpoint(session)
    endpoints.remove(session, delivery.endpoint_id, utcnow())
    session.refresh(delivery)
    assert delivery.status == "failed" and delivery.last_error == "the webhook was deleted"


def test_publishing_with_no_endpoint_writes_nothing(session):
    outbox.invalidate()
    assert outbox.publish(session, "attempt.graded", {"attempt_id": "x"}) is None
    assert session.query(OutboxEvent).count() == 0


def test_month_old_events_are_purged_with_their_log(session):
    now = utcnow()
    old = delivery_to_new_endpoint(session, status="delivered")
    recent = delivery_to_new_endpoint(session, status="failed")
    session.get(OutboxEvent, old.event_id).created_at = now - deliveries.KEEP_FOR - timedelta(1)
    session.flush()
    assert deliveries.purge_old(session, now) == 1
    session.expire_all()
    assert session.get(WebhookDelivery, old.id) is None
    assert session.get(OutboxEvent, old.event_id) is None
    assert session.get(WebhookDelivery, recent.id) is not None
