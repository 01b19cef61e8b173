"""Engines and sessions: PostgreSQL in server mode, SQLite (WAL) in embedded mode."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings

_lock = threading.Lock()
READ_ONLY = "exam_read_only"
_factories: dict[str, sessionmaker[Session]] = {}


def create_sqlalchemy_engine(
    url: str, settings: Settings, *, pool_size: int | None = None, **kwargs: object
) -> Engine:
    """An engine tuned for our two backends; used by the app, the worker and the broker."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, settings.SQLITE_BUSY_TIMEOUT_MS, **kwargs)
    connect_args: dict[str, object] = {
        "connect_timeout": settings.DB_CONNECT_TIMEOUT_SECONDS,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
        "application_name": "exam-backend",
    }
    # A hung query must not hold a request forever: the request fails with a 503 instead.
    # Directly, the session's statement_timeout is a startup option; PgBouncer refuses
    # startup options and hands each transaction any server connection, so behind it the
    # timeout is set per transaction (`_timeout_per_transaction`).
    if not settings.DATABASE_PGBOUNCER:
        connect_args["options"] = f"-c statement_timeout={settings.DB_STATEMENT_TIMEOUT_MS}"
    engine = create_engine(
        url,
        # Batched executemany for UPDATEs too (grading writes 20 answers per attempt): one
        # round trip per batch instead of one per row.
        executemany_mode="values_plus_batch",
        pool_pre_ping=True,  # a restarted PostgreSQL costs one failed ping, not a 500
        pool_size=pool_size or settings.DB_POOL_SIZE,
        max_overflow=settings.DB_MAX_OVERFLOW,
        pool_timeout=settings.DB_POOL_TIMEOUT_SECONDS,
        pool_recycle=1800,
        connect_args=connect_args,
        **kwargs,
    )
    if settings.DATABASE_PGBOUNCER:
        _timeout_per_transaction(engine, settings.DB_STATEMENT_TIMEOUT_MS)
    return engine


def _timeout_per_transaction(engine: Engine, timeout_ms: int) -> None:
    """statement_timeout for every transaction, whichever server connection PgBouncer
    (transaction pooling) gives it, and no session state left on that connection.

    Each statement is sent as `SET LOCAL statement_timeout = N; <statement>` in one message,
    so it costs no round trip: inside a transaction the setting lasts until its COMMIT or
    ROLLBACK; an autocommit statement (the autosave's) and its SET LOCAL run as one implicit
    transaction, which PostgreSQL scopes SET LOCAL to as well. An executemany, whose
    statement the driver may send in several messages, gets the SET LOCAL on its own first
    (it always runs inside a transaction here)."""
    set_local = f"SET LOCAL statement_timeout = {int(timeout_ms)}"

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _with_timeout(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if executemany:
            cursor.execute(set_local)
            return statement, parameters
        return f"{set_local}; {statement}", parameters


def _sqlite_engine(url: str, busy_timeout_ms: int, **kwargs: object) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False}, **kwargs
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # IMMEDIATE takes the write lock up front: a read that later writes can't hit
        # SQLITE_BUSY on lock upgrade, which the busy timeout does not cover. Connections
        # marked read-only (see `read_only`) take no lock.
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def read_only(conn: Connection) -> Connection:
    """Mark a connection as only reading, so SQLite doesn't take the write lock for it."""
    return conn.execution_options(**{READ_ONLY: True})


def session_factory(settings: Settings) -> sessionmaker[Session]:
    """The process-wide session factory for settings' database (created lazily, once)."""
    url = settings.database_url
    with _lock:
        factory = _factories.get(url)
        if factory is None:
            engine = create_sqlalchemy_engine(url, settings)
            factory = sessionmaker(engine, expire_on_commit=False)
            _factories[url] = factory
        return factory


def replica_session_factory(settings: Settings) -> sessionmaker[Session] | None:
    """Sessions on the read replica (`DATABASE_REPLICA_URL`), None without one. Only reads
    that tolerate the replica's lag use it: a standby refuses writes anyway."""
    url = settings.DATABASE_REPLICA_URL
    if url is None:
        return None
    with _lock:
        factory = _factories.get(url)
        if factory is None:
            engine = create_sqlalchemy_engine(url, settings)
            factory = sessionmaker(engine, expire_on_commit=False)
            _factories[url] = factory
        return factory


def dispose_engines() -> None:
    """Drop pooled connections, e.g. in a freshly forked worker process."""
    with _lock:
        for factory in _factories.values():
            bind = factory.kw.get("bind")
            if bind is not None:
                bind.dispose(close=False)


@contextmanager
def transaction(settings: Settings) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on error (for tasks and CLIs)."""
    with session_factory(settings).begin() as session:
        yield session


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally
    (use with escape="\\")."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
