"""A whole server-mode stack per test: a private PostgreSQL cluster, a private Redis,
gunicorn, Celery workers and beats. Tests break these on purpose."""

from __future__ import annotations

import base64
import os
import secrets
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from alembic import command
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings, load_settings
from shared.models import Attempt, Role
from shared.people.accounts import create_user
from shared.services import exams, questions
from tests.conftest import alembic_config
from tests.support.http import answers, send
from tests.support.processes import Processes, wait_until
from tests.support.servers import PostgresServer, RedisServer, free_port

PASSWORD = "fault-tolerant-pw"


@dataclass
class Stack:
    root: Path
    pg: PostgresServer
    redis: RedisServer
    procs: Processes
    env: dict[str, str]
    settings: Settings
    factory: sessionmaker[Session]
    api: str
    _local: threading.local = field(default_factory=threading.local)

    def web(self, workers: int = 2) -> None:
        self.procs.start("web", "gunicorn", "-c", "deploy/gunicorn.conf.py", "web:create_app()",
                         WEB_CONCURRENCY=str(workers))  # fmt: skip
        wait_until(self.healthy, 30, "gunicorn")

    def healthy(self) -> bool:
        return answers(f"{self.api.removesuffix('/api/v1')}/healthz")

    def http(self) -> requests.Session:
        """One HTTP session per thread (requests sessions are not thread-safe)."""
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def call(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kwargs.setdefault("timeout", 30)
        return send(self.http(), method, self.api + path, headers=headers, **kwargs)

    def login(self, email: str) -> str:
        response = self.call("POST", "/auth/login", json={"email": email, "password": PASSWORD})
        response.raise_for_status()
        return response.json()["access_token"]

    def students(self, count: int) -> list[str]:
        with self.factory() as session:
            emails = [f"s{n}-{uuid.uuid4().hex[:6]}@school.test" for n in range(count)]
            for email in emails:
                create_user(session, self.settings, email=email, password=PASSWORD, full_name=email)
            session.commit()
        return emails

    def admin(self) -> str:
        email = f"admin-{uuid.uuid4().hex[:6]}@school.test"
        with self.factory() as session:
            create_user(
                session,
                self.settings,
                email=email,
                password=PASSWORD,
                full_name="Admin",
                role=Role.ADMIN,
            )
            session.commit()
        return self.login(email)

    def exam(self, payloads: list[dict[str, Any]], **fields: Any) -> tuple[uuid.UUID, list[str]]:
        with self.factory() as session:
            created = [questions.create_question(session, p) for p in payloads]
            exam = exams.create_exam(
                session,
                {
                    "title": "Fault drill",
                    "duration_seconds": 3600,
                    "audience": "everyone",
                    **fields,
                },
            )
            exams.set_questions(session, exam.id, [{"question_id": q.id} for q in created])
            exams.publish(session, exam.id)
            session.commit()
            return exam.id, [str(q.id) for q in created]

    def graded(self) -> int:
        """How many attempts are graded (every drill waits for its burst to get there)."""
        with self.factory() as session:
            return session.scalar(select(func.count()).where(Attempt.status == "graded")) or 0


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    pg = PostgresServer()
    pg.init()
    redis = RedisServer()
    redis.start()
    api_port = free_port()
    values = {
        "DATABASE_URL": pg.url,
        "REDIS_URL": redis.url,
        "JWT_SECRET_KEY": secrets.token_urlsafe(40),
        "RECEIPT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "VAR_DIR": str(tmp_path / "var"),
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "LOG_LEVEL": "WARNING",
        "EXPIRY_SWEEP_SECONDS": "1",
        "GRADING_SWEEP_SECONDS": "1",
        "GRADING_RESEND_AFTER_SECONDS": "3",
        "DB_CONNECT_TIMEOUT_SECONDS": "2",
        "DB_POOL_TIMEOUT_SECONDS": "3",
        "LOGIN_FAILURES_PER_ADDRESS": "100000 per minute",
    }
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    env.update(values, API_BIND=f"127.0.0.1:{api_port}", PYTHONUNBUFFERED="1")
    settings = load_settings(**values)
    command.upgrade(alembic_config(pg.url), "head")
    engine = create_engine(pg.url, pool_pre_ping=True)
    procs = Processes(tmp_path, env)
    stack = Stack(
        root=tmp_path, pg=pg, redis=redis, procs=procs, env=env, settings=settings,
        factory=sessionmaker(engine, expire_on_commit=False), api=f"http://127.0.0.1:{api_port}/api/v1",
    )  # fmt: skip
    try:
        yield stack
    finally:
        procs.stop_all()
        engine.dispose()
        redis.stop()
        pg.destroy()
