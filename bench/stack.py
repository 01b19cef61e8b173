"""The stack a benchmark starts on this machine: in server mode a private PostgreSQL (durable,
like production) and Redis, gunicorn instance(s), Celery workers and beat; in embedded mode
the same processes on SQLite and the SQL broker under a private VAR_DIR, as `make run`."""

from __future__ import annotations

import base64
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests
from alembic import command
from sqlalchemy import Engine

from shared.config import Settings, load_settings
from shared.db import create_sqlalchemy_engine
from tests.conftest import alembic_config
from tests.support.processes import Processes
from tests.support.servers import PostgresServer, RedisServer, free_port

JWT_SECRET = secrets.token_urlsafe(40)
RECEIPT_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
PG_SETTINGS = {
    "max_connections": "400",
    "shared_buffers": "512MB",
    "work_mem": "8MB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
}


@dataclass
class Topology:
    """How many of each process: `single` is one machine's default, `scaleout` the shape of
    a multi-machine deployment (two API instances, two workers)."""

    name: str = "single"
    embedded: bool = False  # SQLite and the SQL broker, no PostgreSQL or Redis
    api_instances: int = 1
    # The deployment's defaults (deploy/gunicorn.conf.py); `--web` tries other layouts.
    gunicorn_workers: int = 2
    gunicorn_threads: int = 4
    # "gunicorn" (deploy/gunicorn.conf.py) or "granian" (WSGI, same workers x threads): an
    # A/B of the serving layer only; granian has no admission control of ours in front.
    server: str = "gunicorn"
    # Lower CPU priority for Celery workers (nice), so on one shared machine the API answers
    # first and grading takes the CPU left over.
    worker_nice: int = 0
    # (queues, concurrency) per worker process.
    workers: list[tuple[str, int]] = field(
        default_factory=lambda: [("grading,default", 2), ("bulk", 1)]
    )


TOPOLOGIES = {
    "single": Topology(),
    "scaleout": Topology(
        name="scaleout",
        api_instances=2,
        gunicorn_workers=1,
        workers=[("grading,default", 2), ("grading,bulk,default", 2)],
    ),
    # What `make run` starts (the Procfile): one worker process for every queue.
    "embedded": Topology(
        name="embedded",
        embedded=True,
        workers=[("grading,bulk,default", 2)],
    ),
}


class Stack:
    def __init__(self, root: Path, topology: Topology, extra: dict[str, str] | None = None) -> None:
        self.root, self.topology = root, topology
        self.extra = extra or {}  # settings for an A/B (`bench.run --set`)
        self.pg = None if topology.embedded else PostgresServer(durable=True, settings=PG_SETTINGS)
        self.redis = None if topology.embedded else RedisServer()
        self.ports = [free_port() for _ in range(topology.api_instances)]
        self.procs: Processes | None = None
        self.settings: Settings | None = None
        self.engine: Engine | None = None
        self.values: dict[str, str] = {}

    @property
    def api_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}/api/v1" for port in self.ports]

    def start_services(self) -> None:
        """The database (migrated) and Redis, and the settings every process gets."""
        self.root.mkdir(parents=True, exist_ok=True)
        values = {"JWT_SECRET_KEY": JWT_SECRET, "RECEIPT_SIGNING_KEY": RECEIPT_KEY}
        if self.pg and self.redis:
            self.pg.init()
            self.redis.start()
            values |= {"DATABASE_URL": self.pg.url, "REDIS_URL": self.redis.url}
        values |= {
            "VAR_DIR": str(self.root / "var"),
            # One structured line per request, as a deployment logs (the default level).
            "LOG_LEVEL": "INFO",
            "JWT_ACCESS_TOKEN_SECONDS": "7200",
            "LOGIN_FAILURES_PER_ADDRESS": "1000000 per minute",
            "DB_POOL_SIZE": str(self.topology.gunicorn_threads + 2),
            **self.extra,
        }
        self.values = values
        self.settings = load_settings(**values)
        url = self.settings.database_url
        command.upgrade(alembic_config(url), "head")
        self.engine = create_sqlalchemy_engine(url, self.settings, pool_size=10)

    def start(self) -> None:
        self.start_services()
        env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
        env.update(self.values, PYTHONUNBUFFERED="1")
        self.procs = Processes(self.root, env)
        for index, port in enumerate(self.ports):
            if self.topology.server == "granian":
                self._start_granian(index, port)
                continue
            self.procs.start(
                f"web{index}",
                "gunicorn",
                "-c",
                "deploy/gunicorn.conf.py",
                "web:create_app()",
                API_BIND=f"127.0.0.1:{port}",
                WEB_CONCURRENCY=str(self.topology.gunicorn_workers),
                GUNICORN_THREADS=str(self.topology.gunicorn_threads),
                PROMETHEUS_MULTIPROC_DIR=str(self.root / f"prometheus{index}"),
            )
        for index, (queues, concurrency) in enumerate(self.topology.workers):
            self.procs.start(
                f"worker{index}",
                "celery",
                "-A",
                "worker",
                "worker",
                "-Q",
                queues,
                "--concurrency",
                str(concurrency),
                "-n",
                f"worker{index}@%h",
                "--without-gossip",
                "--without-mingle",
            )
        self.procs.beat("beat")
        for url in self.api_urls:
            self._wait_healthy(url.removesuffix("/api/v1") + "/readyz")
        if self.topology.worker_nice:
            for name, popen in self.procs.running:
                if name.startswith("worker"):  # its own process group: the pool too
                    os.setpriority(os.PRIO_PGRP, popen.pid, self.topology.worker_nice)

    def _start_granian(self, index: int, port: int) -> None:
        metrics = self.root / f"prometheus{index}"
        metrics.mkdir(parents=True, exist_ok=True)  # what gunicorn.conf.py's on_starting does
        assert self.procs is not None
        self.procs.start(
            f"web{index}",
            "granian",
            "--interface", "wsgi", "--factory", "--no-access-log",
            "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(self.topology.gunicorn_workers),
            "--blocking-threads", str(self.topology.gunicorn_threads),
            "web:create_app",
            PROMETHEUS_MULTIPROC_DIR=str(metrics),
        )  # fmt: skip

    def _wait_healthy(self, url: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(url, timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{url} never became ready:\n{self.procs.logs() if self.procs else ''}")

    def stop(self) -> None:
        if self.procs:
            self.procs.stop_all()
        if self.engine:
            self.engine.dispose()
        if self.redis:
            self.redis.stop()
        if self.pg:
            self.pg.destroy()

    def process_groups(self) -> dict[str, list[psutil.Process]]:
        """Every process of the stack by role, for CPU and memory accounting."""
        groups: dict[str, list[psutil.Process]] = {}
        assert self.procs is not None
        for name, popen in self.procs.running:
            role = (
                "web" if name.startswith("web") else "beat" if name.startswith("beat") else "worker"
            )
            try:
                parent = psutil.Process(popen.pid)
                groups.setdefault(role, []).extend([parent, *parent.children(recursive=True)])
            except psutil.NoSuchProcess:
                continue
        groups["loadgen"] = [psutil.Process()]
        if not self.pg or not self.redis:
            return groups
        groups["postgres"] = [
            p
            for p in psutil.process_iter(["name", "cmdline"])
            if p.info["name"] == "postgres"
            and str(self.pg.port) in " ".join(p.info["cmdline"] or [])
            or _child_of_postgres(p, self.pg.port)
        ]
        groups["redis"] = [psutil.Process(self.redis.process.pid)] if self.redis.process else []
        return groups


def _child_of_postgres(process: psutil.Process, port: int) -> bool:
    try:
        parent = process.parent()
        return (
            process.name() == "postgres"
            and parent is not None
            and str(port) in " ".join(parent.cmdline())
        )
    except psutil.Error:
        return False
