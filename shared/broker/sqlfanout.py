"""A kombu transport over SQL (the embedded broker), with shared bindings, fanout and acks.

kombu's own `sqla` transport keeps exchange bindings in each process's memory, so
Celery's events (topic exchange `celeryev`) and remote control (fanout `celery.pidbox`)
never reach another process: Flower would never see a worker. It also keeps every
delivered message forever and never redelivers one whose worker died.

This transport stores bindings in a table shared by all processes, implements fanout by
copying a message to every bound queue, deletes a message when it is acked, and makes an
unacked message visible again after `visibility_timeout` (like kombu's Redis transport).
Unroutable messages are dropped, as AMQP does, instead of piling up in a dead-letter queue.

URL: ``sqlfanout+sqlite:////abs/path/broker.sqlite`` (any SQLAlchemy URL works).
"""

from __future__ import annotations

import json
import threading
import time
from queue import Empty
from typing import Any

import sqlalchemy as sa
from kombu.transport import TRANSPORT_ALIASES, virtual

from shared.db import read_only

metadata = sa.MetaData()

messages = sa.Table(
    "broker_message",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("queue", sa.String(255), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    # Epoch seconds from which the message may be delivered (again).
    sa.Column("visible_at", sa.Float, nullable=False),
    sa.Index("ix_broker_message_queue_visible", "queue", "visible_at"),
)

bindings = sa.Table(
    "broker_binding",
    metadata,
    sa.Column("exchange", sa.String(255), primary_key=True),
    sa.Column("queue", sa.String(255), primary_key=True),
    sa.Column("routing_key", sa.String(255), primary_key=True),
    sa.Column("pattern", sa.String(255), nullable=False, default=""),
    # Seconds of consumer silence after which the queue is gone (AMQP x-expires).
    sa.Column("expires", sa.Float, nullable=True),
    sa.Column("touched_at", sa.Float, nullable=False),
)

_engines: dict[str, sa.Engine] = {}
_engines_lock = threading.Lock()
TOUCH_EVERY_SECONDS = 2.0
EXPIRE_EVERY_SECONDS = 5.0


def _engine(url: str) -> sa.Engine:
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            from shared.config import get_settings
            from shared.db import create_sqlalchemy_engine

            engine = create_sqlalchemy_engine(url, get_settings(), pool_size=2)
            metadata.create_all(engine)
            _engines[url] = engine
        return engine


class Channel(virtual.Channel):
    """One consumer/producer channel; message rows are claimed, then deleted on ack."""

    supports_fanout = True
    visibility_timeout = 3600.0
    from_transport_options = (*virtual.Channel.from_transport_options, "visibility_timeout")

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        self._claimed: dict[str, int] = {}  # delivery tag -> row id, until acked
        self._no_ack_queues: set[str] = set()
        self._queue_expires: dict[str, float] = {}
        self._touched: dict[str, float] = {}
        self._expired_at = 0.0
        self.engine = _engine(self.connection.client.hostname)

    # -- queues and bindings ------------------------------------------------------------

    def prepare_queue_arguments(
        self, arguments: dict[str, Any] | None, expires: float | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        # The base channel drops `expires`; keep it as AMQP's x-expires (milliseconds).
        arguments = dict(arguments or {})
        if expires is not None:
            arguments["x-expires"] = int(expires * 1000)
        return arguments

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        expires_ms = (kwargs.get("arguments") or {}).get("x-expires")
        if expires_ms:
            self._queue_expires[queue] = float(expires_ms) / 1000

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        return True

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        row = {
            "exchange": exchange,
            "queue": queue,
            "routing_key": routing_key or "",
            "pattern": pattern or "",
            "expires": self._queue_expires.get(queue),
            "touched_at": time.time(),
        }
        key = (
            (bindings.c.exchange == exchange)
            & (bindings.c.queue == queue)
            & (bindings.c.routing_key == row["routing_key"])
        )
        with self.engine.begin() as conn:
            if conn.execute(sa.update(bindings).where(key).values(row)).rowcount == 0:
                conn.execute(sa.insert(bindings).values(row))

    def get_table(self, exchange: str) -> list[tuple[str, str, str]]:
        now = time.time()
        live = sa.or_(
            bindings.c.expires.is_(None), bindings.c.touched_at + bindings.c.expires >= now
        )
        query = sa.select(bindings.c.routing_key, bindings.c.pattern, bindings.c.queue).where(
            bindings.c.exchange == exchange, live
        )
        with self.engine.connect() as conn:
            return [tuple(row) for row in read_only(conn).execute(query)]  # type: ignore[misc]

    def _lookup(self, exchange: str, routing_key: str, default: Any = None) -> list[str]:
        if not exchange:
            return [routing_key]
        try:
            return self.typeof(exchange).lookup(
                self.get_table(exchange), exchange, routing_key, None
            )
        except KeyError:
            return []

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(bindings).where(bindings.c.queue == queue))
            conn.execute(sa.delete(messages).where(messages.c.queue == queue))

    def _purge(self, queue: str) -> int:
        with self.engine.begin() as conn:
            return conn.execute(sa.delete(messages).where(messages.c.queue == queue)).rowcount

    def _size(self, queue: str) -> int:
        query = sa.select(sa.func.count()).where(
            messages.c.queue == queue, messages.c.visible_at <= time.time()
        )
        with self.engine.connect() as conn:
            return int(read_only(conn).execute(query).scalar_one())

    # -- publishing ---------------------------------------------------------------------

    def _put(self, queue: str, message: dict[str, Any], **kwargs: Any) -> None:
        row = {"queue": queue, "payload": json.dumps(message), "visible_at": time.time()}
        with self.engine.begin() as conn:
            conn.execute(sa.insert(messages).values(row))

    def _put_fanout(self, exchange: str, message: dict[str, Any], routing_key: str, **kw: Any):
        self._expire_dead_queues()
        queues = {queue for _, _, queue in self.get_table(exchange)}
        if not queues:
            return
        payload = json.dumps(message)
        now = time.time()
        rows = [{"queue": q, "payload": payload, "visible_at": now} for q in sorted(queues)]
        with self.engine.begin() as conn:
            conn.execute(sa.insert(messages), rows)

    def _expire_dead_queues(self) -> None:
        """Drop queues (and their messages) whose consumer has been silent past x-expires."""
        now = time.time()
        if now - self._expired_at < EXPIRE_EVERY_SECONDS:
            return
        self._expired_at = now
        dead = sa.select(bindings.c.queue).where(
            bindings.c.expires.is_not(None), bindings.c.touched_at + bindings.c.expires < now
        )
        with self.engine.begin() as conn:
            queues = list(conn.execute(dead).scalars())
            if queues:
                conn.execute(sa.delete(messages).where(messages.c.queue.in_(queues)))
                conn.execute(sa.delete(bindings).where(bindings.c.queue.in_(queues)))

    # -- consuming ----------------------------------------------------------------------

    def basic_consume(self, queue: str, no_ack: bool, *args: Any, **kwargs: Any) -> Any:
        if no_ack:
            self._no_ack_queues.add(queue)
        return super().basic_consume(queue, no_ack, *args, **kwargs)

    def _get(self, queue: str) -> dict[str, Any]:
        now = time.time()
        self._touch(queue, now)
        ready = (
            sa.select(messages.c.id)
            .where(messages.c.queue == queue, messages.c.visible_at <= now)
            .order_by(messages.c.id)
            .limit(1)
        )
        # Peek without a write lock first: most polls of an idle queue end here.
        with self.engine.connect() as conn:
            if read_only(conn).execute(ready).first() is None:
                raise Empty()
        with self.engine.begin() as conn:
            claim = ready.add_columns(messages.c.payload)
            if conn.dialect.name == "postgresql":
                claim = claim.with_for_update(skip_locked=True)
            row = conn.execute(claim).first()
            if row is None:
                raise Empty()
            if queue in self._no_ack_queues:
                conn.execute(sa.delete(messages).where(messages.c.id == row.id))
            else:
                conn.execute(
                    sa.update(messages)
                    .where(messages.c.id == row.id)
                    .values(visible_at=now + self.visibility_timeout)
                )
        payload = json.loads(row.payload)
        if queue not in self._no_ack_queues:
            self._claimed[payload["properties"]["delivery_tag"]] = row.id
        return payload

    def _touch(self, queue: str, now: float) -> None:
        """Keep this queue's bindings alive while someone consumes from it."""
        if queue in self._queue_expires and now - self._touched.get(queue, 0) > TOUCH_EVERY_SECONDS:
            self._touched[queue] = now
            with self.engine.begin() as conn:
                conn.execute(
                    sa.update(bindings).where(bindings.c.queue == queue).values(touched_at=now)
                )

    def basic_ack(self, delivery_tag: str, multiple: bool = False) -> None:
        self._forget(delivery_tag, delete=True)
        super().basic_ack(delivery_tag, multiple)

    def basic_reject(self, delivery_tag: str, requeue: bool = False) -> None:
        if not requeue:
            self._forget(delivery_tag, delete=True)
        super().basic_reject(delivery_tag, requeue=requeue)

    def _restore(self, message: Any) -> None:
        # Unacked at shutdown or rejected with requeue: make the stored row visible again
        # rather than publishing a copy beside it.
        row_id = self._claimed.pop(message.delivery_tag, None)
        if row_id is None:
            super()._restore(message)
            return
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(messages).where(messages.c.id == row_id).values(visible_at=time.time())
            )

    def _forget(self, delivery_tag: str, *, delete: bool) -> None:
        row_id = self._claimed.pop(delivery_tag, None)
        if row_id is not None and delete:
            with self.engine.begin() as conn:
                conn.execute(sa.delete(messages).where(messages.c.id == row_id))


class Transport(virtual.Transport):
    """SQL transport with cross-process bindings; see the module docstring."""

    Channel = Channel
    can_parse_url = True
    default_port = 0
    polling_interval = 0.5
    # Not "sql": Celery switches events off for that driver type, and this one supports them.
    driver_type = "sqlfanout"
    driver_name = "sqlalchemy"
    connection_errors = (*virtual.Transport.connection_errors, sa.exc.OperationalError)
    channel_errors = (*virtual.Transport.channel_errors, sa.exc.OperationalError)
    implements = virtual.Transport.implements.extend(
        exchange_type=frozenset(["direct", "topic", "fanout"])
    )

    def driver_version(self) -> str:
        return sa.__version__


def register() -> None:
    """Make ``sqlfanout+<sqlalchemy url>`` a broker URL kombu understands."""
    TRANSPORT_ALIASES.setdefault("sqlfanout", "shared.broker.sqlfanout:Transport")
