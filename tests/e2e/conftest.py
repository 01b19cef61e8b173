"""End-to-end fixtures: real processes against the run's PostgreSQL database and Redis."""

from __future__ import annotations

import os

import pytest

from tests.support.processes import Processes


@pytest.fixture
def processes(settings, tmp_path):  # type: ignore[no-untyped-def]
    env = {**os.environ, "VAR_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    procs = Processes(tmp_path, env)
    try:
        yield procs
    finally:
        procs.stop_all()
