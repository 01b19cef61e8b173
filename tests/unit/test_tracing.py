"""OpenTelemetry tracing is off unless OTEL_ENABLED is set (and its code not imported);
on, with the console exporter, a request and a task each print their span."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import sys
from celery import signals
from web import create_app
import worker.tasks.ops as ops

client = create_app().test_client()
assert client.get("/api/v1/auth/me").status_code == 401
signals.worker_process_init.send(sender=None)  # what a pool process does as it starts
assert ops.ping.apply().get() == "pong"
loaded = [m for m in sys.modules if m.startswith(("shared.tracing", "opentelemetry.instr"))]
print("tracing loaded:", bool(loaded))
"""


def run_probe(tmp_path: Path, **env: str) -> str:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "DATABASE_", "REDIS_", "CELERY_", "CACHE_"))
    }
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", PROBE],
        cwd=ROOT,
        env={**base, "VAR_DIR": str(tmp_path), "LOG_LEVEL": "WARNING", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_tracing_is_off_and_not_imported_by_default(tmp_path):
    out = run_probe(tmp_path)
    # (redis-py may import the OpenTelemetry API if installed; our instrumentation is not.)
    assert "tracing loaded: False" in out
    assert '"trace_id"' not in out


def test_enabled_with_the_console_exporter_a_request_and_a_task_are_traced(tmp_path):
    out = run_probe(tmp_path, OTEL_ENABLED="1", OTEL_TRACES_EXPORTER="console")
    assert '"http.route": "/api/v1/auth/me"' in out
    assert '"name": "run/ops.ping"' in out
    assert '"service.name": "exam-api"' in out
