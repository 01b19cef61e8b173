"""Fixtures: a PostgreSQL database created and migrated for the run, a flushed Redis db range,
the app, and a rolled-back savepoint per test."""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings, get_settings, load_settings
from shared.db import create_sqlalchemy_engine

ROOT = Path(__file__).resolve().parents[1]
# A server where the test run may create and drop its own database.
ADMIN_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
# Base db of four (broker, results, cache, rate limits) kept apart from a developer's 0..3.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/10")
# Random per run, as a real key must be (a placeholder or repetitive key is refused).
TEST_JWT_SECRET = secrets.token_urlsafe(40)
TEST_RECEIPT_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
REDIS_PREFIX = f"t{uuid.uuid4().hex[:10]}:"


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = database_url
    cfg.attributes["configure_logger"] = False
    return cfg


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database for this run (one per xdist worker), migrated with Alembic, dropped after."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"exam_test_{worker}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Server-mode settings for the run; also exported so get_settings() and children agree."""
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "JWT_SECRET_KEY": TEST_JWT_SECRET,
        "RECEIPT_SIGNING_KEY": TEST_RECEIPT_KEY,
        "VAR_DIR": str(tmp_path_factory.mktemp("var")),
        # Cheap hashing: tests create hundreds of accounts; argon2id all the same.
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "LOG_LEVEL": "WARNING",
        # This run's own Redis keys: another test run on the machine can't take its messages.
        "REDIS_KEY_PREFIX": REDIS_PREFIX,
    }
    os.environ.update(env)
    get_settings.cache_clear()
    settings = load_settings()
    command.upgrade(alembic_config(settings.database_url), "head")
    return settings


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_sqlalchemy_engine(settings.database_url, settings)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions that share one connection whose outer transaction is rolled back."""
    connection = engine.connect()
    outer = connection.begin()
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield factory
    finally:
        outer.rollback()
        connection.close()


@pytest.fixture
def session(db: sessionmaker[Session]) -> Iterator[Session]:
    with db() as session:
        yield session


@pytest.fixture
def committed(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions that really commit (for threads and real processes); every table is
    truncated afterwards."""
    from shared.models import Base

    yield sessionmaker(engine, expire_on_commit=False)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def clean_redis() -> None:
    """Delete this run's keys (queues, caches, rate-limit counters), nobody else's."""
    base = int(TEST_REDIS_URL.rsplit("/", 1)[1])
    for db_number in range(base, base + 4):
        client = redis.Redis.from_url(TEST_REDIS_URL.rsplit("/", 1)[0] + f"/{db_number}")
        keys = list(client.scan_iter(match=f"{REDIS_PREFIX}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture(autouse=True)
def _clean_redis(request: pytest.FixtureRequest) -> None:
    """Rate-limit counters and caches never leak from one test into the next."""
    if "settings" in request.fixturenames:
        clean_redis()


@pytest.fixture(scope="session")
def app(settings: Settings):  # type: ignore[no-untyped-def]
    from web import create_app

    return create_app(settings)


@pytest.fixture
def client(app, db: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    """A test client whose requests run inside the test's rolled-back transaction."""
    app.extensions["exam.session_factory"] = db
    return app.test_client()
