"""With a real worker and beat: the request id of a submit reaches the grading task's log
line, the worker's exporter counts the task and its grading latency, and /metrics shows
the worker's and beat's heartbeats."""

from __future__ import annotations

import json
import re
import uuid

import pytest
import requests

from tests.e2e.test_grading import begin, graded, submit
from tests.support.processes import wait_until
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e
TOKEN = "worker-scrape-token-for-the-test"


@pytest.fixture
def live(app, committed):
    app.extensions["exam.session_factory"] = committed
    return app


def log_lines(path):
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


def sample(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + ("{" if labels else " ")) and all(
            f'{key}="{value}"' in line for key, value in labels.items()
        ):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_a_submit_is_traced_into_the_worker_and_counted(
    live, committed, settings, processes, tmp_path
):
    port = free_port()
    worker_env = {
        "LOG_LEVEL": "INFO",
        "WORKER_METRICS_PORT": str(port),
        "WORKER_METRICS_BIND": "127.0.0.1",
        "METRICS_TOKEN": TOKEN,
    }
    processes.worker(**worker_env)
    processes.beat(BEAT_HEARTBEAT_SECONDS="1")
    client, headers, attempt, _, _ = begin(live, committed, settings)
    rid = f"e2e-{uuid.uuid4().hex[:12]}"
    response = submit(client, {**headers, "X-Request-ID": rid}, attempt)
    assert response.status_code == 202 and response.headers["X-Request-ID"] == rid
    wait_until(graded(committed, attempt["id"]), 30, "grading")

    def grading_lines():
        return [
            line
            for line in log_lines(tmp_path / "worker.log")
            if line.get("task") == "grading.grade_attempt" and line.get("request_id") == rid
        ]

    lines = wait_until(grading_lines, 15, "the grading task's log line with the request id")
    assert any("succeeded" in line["message"] for line in lines), lines

    base = f"http://127.0.0.1:{port}/metrics"
    assert requests.get(base, timeout=5).status_code == 401
    scrape = requests.get(base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).text
    assert sample(scrape, "exam_grading_latency_seconds_count") == 1.0
    assert (
        sample(scrape, "exam_tasks_total", task="grading.grade_attempt", outcome="success") == 1.0
    )
    assert sample(scrape, "exam_task_duration_seconds_count", task="grading.grade_attempt")

    def heartbeats():
        text = live.test_client().get("/metrics").get_data(as_text=True)
        beat = sample(text, "exam_beat_heartbeat_timestamp_seconds")
        return text if beat and sample(text, "exam_workers", queue="grading") == 1.0 else None

    text = wait_until(heartbeats, 30, "beat's and the worker's heartbeats in /metrics")
    assert re.search(r'exam_worker_heartbeat_timestamp_seconds\{worker="worker@[^"]+"\}', text)
    assert sample(text, "exam_broker_up") == 1.0
