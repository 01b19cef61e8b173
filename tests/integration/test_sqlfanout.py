"""The embedded SQL broker: routing shared across connections, fanout, acks and redelivery.

Each kombu Connection keeps its own in-memory broker state, exactly like separate
processes do, so two connections here stand for two processes (e.g. Flower and a worker).
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from kombu import Connection, Exchange, Queue

from shared.broker import sqlfanout


@pytest.fixture
def url(tmp_path):
    sqlfanout.register()
    return f"sqlfanout+sqlite:///{tmp_path / 'broker.sqlite'}"


def _rows(url: str) -> list[tuple[str, float]]:
    engine = sqlfanout._engine(url.split("+", 1)[1])
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.select(sqlfanout.messages.c.queue, sqlfanout.messages.c.visible_at)
            )
        ]


def _publish(url, exchange, routing_key, body, **options):
    with Connection(url, **options) as conn:
        conn.Producer().publish(
            body, exchange=exchange, routing_key=routing_key, declare=[exchange]
        )


def test_a_message_is_delivered_once_and_deleted_when_acked(url):
    queue = Queue("work", Exchange("work"), routing_key="work")
    with Connection(url) as conn:
        conn.Producer().publish(
            {"n": 1}, exchange=queue.exchange, routing_key="work", declare=[queue]
        )
        simple = conn.SimpleQueue(queue)
        message = simple.get(timeout=2)
        assert message.payload == {"n": 1}
        with pytest.raises(simple.Empty):
            simple.get(timeout=0.3)  # claimed: nobody else gets it
        message.ack()
        simple.close()
    assert _rows(url) == []


def test_an_unacked_message_comes_back_after_the_visibility_timeout(url):
    options = {"transport_options": {"visibility_timeout": 0.5}}
    queue = Queue("work", Exchange("work"), routing_key="work")
    crashed = Connection(url, **options)
    crashed.Producer().publish(
        {"n": 2}, exchange=queue.exchange, routing_key="work", declare=[queue]
    )
    first = crashed.SimpleQueue(queue).get(timeout=2)
    assert first.payload == {"n": 2}
    # The consumer "dies": never acks and never closes its channel.
    time.sleep(0.7)
    with Connection(url, **options) as survivor:
        again = survivor.SimpleQueue(queue).get(timeout=2)
        assert again.payload == {"n": 2}
        again.ack()
    assert _rows(url) == []


def test_fanout_reaches_queues_bound_by_other_processes(url):
    exchange = Exchange("broadcast", type="fanout")
    with Connection(url) as a, Connection(url) as b:
        qa = a.SimpleQueue(Queue("a.inbox", exchange))
        qb = b.SimpleQueue(Queue("b.inbox", exchange))
        _publish(url, exchange, "", {"hello": "all"})
        assert qa.get(timeout=2).payload == {"hello": "all"}
        assert qb.get(timeout=2).payload == {"hello": "all"}


def test_topic_routing_is_shared_between_processes(url):
    events = Exchange("events", type="topic")
    with Connection(url) as listener:
        inbox = listener.SimpleQueue(Queue("monitor", events, routing_key="worker.#"))
        _publish(url, events, "worker.heartbeat", {"alive": True})
        _publish(url, events, "task.started", {"ignored": True})
        assert inbox.get(timeout=2).payload == {"alive": True}
        with pytest.raises(inbox.Empty):
            inbox.get(timeout=0.3)


def test_an_unroutable_message_is_dropped_not_stored(url):
    _publish(url, Exchange("nobody-listens", type="topic"), "x.y", {"lost": "by design"})
    assert _rows(url) == []


def test_a_queue_whose_consumer_vanished_expires_with_its_messages(url):
    exchange = Exchange("broadcast", type="fanout")
    gone = Connection(url)
    gone.SimpleQueue(Queue("gone.inbox", exchange, expires=0.3, auto_delete=True))
    _publish(url, exchange, "", {"first": 1})
    assert [q for q, _ in _rows(url)] == ["gone.inbox"]
    time.sleep(0.5)  # nobody consumed: the queue's x-expires passed
    _publish(url, exchange, "", {"second": 2})
    assert _rows(url) == []
