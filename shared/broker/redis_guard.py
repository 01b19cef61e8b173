"""kombu's Redis transport, hardened against crashes when Redis goes away.

When the broker connection drops while a worker holds unacknowledged messages, kombu
touches them through the dead channel: restoring them when it closes the channel, and
acking or rejecting them when a task held from before the outage finishes after the
reconnect. Each builds a Redis client from a connection that is already gone
(`'NoneType' object has no attribute 'hostname'` / `'client'`); Celery calls that
unrecoverable and the worker exits. Found by tests/faults/test_redis_outage.py; the same
family as celery/kombu#582 and #970.

Skipping those operations loses nothing: Redis still holds the messages in its unacked set
and hands them out again after the visibility timeout (a redelivered task is a no-op: every
task is idempotent), and every kind of work has a sweep that re-sends it within seconds
(docs/architecture.md)."""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, redis, virtual

log = logging.getLogger(__name__)


class QoS(redis.QoS):
    def _connection_gone(self) -> bool:
        connection = self.channel.connection
        return connection is None or connection.client is None

    def restore_unacked(self, client: Any = None) -> None:
        if self._connection_gone():
            log.warning(
                "broker connection lost with %d unacked message(s): left for redelivery",
                len(self._delivered),
            )
            self._delivered.clear()
            return
        super().restore_unacked(client)

    def ack(self, delivery_tag: str) -> None:
        if self._connection_gone():  # the task ran; its message will come back as a no-op
            log.info("cannot ack %s on a lost connection: left for redelivery", delivery_tag)
            virtual.QoS.ack(self, delivery_tag)
            return
        super().ack(delivery_tag)

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        if self._connection_gone():
            log.info("cannot reject %s on a lost connection: left for redelivery", delivery_tag)
            virtual.QoS.ack(self, delivery_tag)  # forget it here; Redis still holds it
            return
        super().reject(delivery_tag, requeue=requeue)


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel


def register() -> None:
    """Use this transport for redis:// and rediss:// broker URLs in this process."""
    TRANSPORT_ALIASES["redis"] = "shared.broker.redis_guard:Transport"
    TRANSPORT_ALIASES["rediss"] = "shared.broker.redis_guard:Transport"
