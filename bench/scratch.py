"""A throwaway PostgreSQL database and Redis key prefix for the in-process benchmarks
(user_import, item_analysis): made, put in the environment, dropped afterwards."""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

ADMIN_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


@contextmanager
def scratch_environment(label: str, **settings: str) -> Iterator[str]:
    """A new database `exam_bench_<label>_*` (its URL yielded) and the settings of a server
    mode app on it in `os.environ`; the database and the run's Redis keys go afterwards."""
    name = f"exam_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    prefix = f"bench{uuid.uuid4().hex[:6]}:"
    os.environ.update({
        "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "REDIS_KEY_PREFIX": prefix,
        "JWT_SECRET_KEY": secrets.token_urlsafe(40), "LOG_LEVEL": "WARNING",
        "RECEIPT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        **settings,
    })  # fmt: skip
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        _clean_redis(prefix)


def _clean_redis(prefix: str) -> None:
    import redis

    base = int(REDIS_URL.rsplit("/", 1)[1])
    for db in range(base, base + 4):
        client = redis.Redis.from_url(REDIS_URL.rsplit("/", 1)[0] + f"/{db}")
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
