"""End-to-end fixtures: real processes against the run's PostgreSQL database and Redis."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import busy_app
from tests.support.processes import BIN, Processes, fresh_env


@pytest.fixture
def processes(settings, tmp_path):  # type: ignore[no-untyped-def]
    env = {**os.environ, "VAR_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    procs = Processes(tmp_path, env)
    try:
        yield procs
    finally:
        procs.stop_all()


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[Processes]:
    """Processes for tests.support.busy_app under real gunicorn (`busy_app.serve`)."""
    env = fresh_env(
        tmp_path / "var",
        PATH=f"{BIN}:{os.environ.get('PATH', '')}",
        LOG_LEVEL="WARNING",
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS=str(busy_app.THREADS),
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # gunicorn.conf.py makes its own under VAR_DIR
    procs = Processes(tmp_path, env)
    try:
        yield procs
    finally:
        procs.stop_all()
