"""Webhooks end to end: a real receiver process on 127.0.0.1, a real Celery worker and
Redis. A submission through the API reaches the receiver signed, then its grade; a failing
receiver is retried with back-off until it answers; a redelivery resends the same event;
a slow receiver never holds up grading."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
import requests

from shared.events.models import OutboxEvent, WebhookDelivery
from shared.events.retry import FIRST_DELAY_SECONDS
from shared.events.signing import verify
from tests.e2e.test_grading import begin, graded, submit
from tests.e2e.test_observability import sample
from tests.factories import login, make_user
from tests.support.processes import wait_until
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e
SCALE = 0.02  # back-off 0.3-0.6 s, 0.6-1.2 s, 1.2-2.4 s, ... instead of 30 s, 60 s, 120 s
WORKER_ENV = {
    "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    "WEBHOOK_RETRY_SCALE": str(SCALE),
    "WEBHOOK_TIMEOUT_SECONDS": "1.5",
}


@pytest.fixture
def live(app, committed, settings):
    """The API in-process on committed sessions, with the receiver's host allowed."""
    original = app.extensions["exam.settings"]
    app.extensions["exam.session_factory"] = committed
    app.extensions["exam.settings"] = settings.model_copy(
        update={"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}
    )
    yield app
    app.extensions["exam.settings"] = original


class Receiver:
    def __init__(self, processes, tmp_path: Path, *args: str) -> None:
        self.port = free_port()
        self.log = tmp_path / f"received-{self.port}.jsonl"
        processes.start(
            f"receiver-{self.port}", "python", "-m", "tests.support.webhook_receiver",
            "--port", str(self.port), "--log", str(self.log), *args,
        )  # fmt: skip
        wait_until(self._up, 15, "the receiver")

    def _up(self) -> bool:
        try:
            return requests.get(f"{self.url}/ping", timeout=1).status_code == 204
        except requests.ConnectionError:
            return False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self) -> list[dict]:
        if not self.log.exists():
            return []
        lines = self.log.read_text().splitlines()
        found = [json.loads(line) for line in lines]
        for r in found:
            r["raw"] = base64.b64decode(r["body"])
            r["json"] = json.loads(r["raw"])
        return sorted(found, key=lambda r: r["n"])

    def wait_for(self, count: int, timeout: float = 30) -> list[dict]:
        return wait_until(lambda: len(self.requests()) >= count and self.requests(), timeout,
                          f"{count} request(s) at the receiver")  # fmt: skip


def register(client, headers, url, events):
    created = client.post("/api/v1/webhooks", json={"url": url, "events": events}, headers=headers)
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def admin_client(live, committed, settings):
    with committed() as session:
        admin = make_user(session, settings, role="admin")
    client = live.test_client()
    return client, login(client, admin)


def deliveries(client, headers, hook):
    return client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=headers).get_json()


def test_a_submission_reaches_the_receiver_signed_then_its_grade_and_can_be_redelivered(
    live, committed, settings, processes, tmp_path
):
    receiver = Receiver(processes, tmp_path)
    processes.worker(**WORKER_ENV)
    admin, admin_headers = admin_client(live, committed, settings)
    hook = register(admin, admin_headers, f"{receiver.url}/hooks/exam",
                    ["attempt.submitted", "attempt.graded"])  # fmt: skip
    client, headers, attempt, exam, student = begin(live, committed, settings)
    assert submit(client, headers, attempt).status_code == 202

    got = receiver.wait_for(2)
    assert sorted(r["json"]["type"] for r in got) == ["attempt.graded", "attempt.submitted"]
    for r in got:
        # Each is signed with the endpoint's secret over the raw body, as received.
        assert verify(hook["secret"], r["raw"], r["headers"]["X-Exam-Signature"])
        assert r["headers"]["X-Exam-Event"] == r["json"]["type"]
        assert r["headers"]["X-Exam-Delivery"] == r["json"]["id"]
        assert r["path"] == "/hooks/exam" and r["host"] == f"127.0.0.1:{receiver.port}"
        assert r["json"]["data"]["attempt_id"] == attempt["id"]
        assert r["json"]["data"]["student_id"] == str(student.user.id)
    by_type = {r["json"]["type"]: r for r in got}
    assert by_type["attempt.graded"]["json"]["data"]["score"] == 1
    assert (
        by_type["attempt.submitted"]["json"]["created_at"]
        <= (by_type["attempt.graded"]["json"]["created_at"])
    )
    log = wait_until(
        lambda: (rows := deliveries(admin, admin_headers, hook))
        and all(d["status"] == "delivered" for d in rows) and rows,
        15, "the log to say delivered",
    )  # fmt: skip
    assert sorted((d["event"], d["tries"], d["response_code"]) for d in log) == [
        ("attempt.graded", 1, 200), ("attempt.submitted", 1, 200),
    ]  # fmt: skip

    first = next(d for d in log if d["event"] == "attempt.submitted")
    again = admin.post(
        f"/api/v1/webhooks/{hook['id']}/deliveries/{first['id']}/redeliver", headers=admin_headers
    )
    assert again.status_code == 202
    third = receiver.wait_for(3)[2]
    # The same event (receivers dedupe on X-Exam-Delivery), byte for byte, signed alike.
    original = by_type["attempt.submitted"]
    assert third["headers"]["X-Exam-Delivery"] == original["headers"]["X-Exam-Delivery"]
    assert third["raw"] == original["raw"]
    assert third["headers"]["X-Exam-Signature"] == original["headers"]["X-Exam-Signature"]
    log = wait_until(
        lambda: (rows := deliveries(admin, admin_headers, hook))
        and rows[0]["status"] == "delivered" and rows,
        15, "the redelivery in the log",
    )  # fmt: skip
    assert len(log) == 3 and log[0]["id"] == again.get_json()["id"]
    assert log[0]["event_id"] == first["event_id"]
    time.sleep(1)  # nothing else arrives
    assert len(receiver.requests()) == 3


def test_a_failing_receiver_is_retried_with_back_off_until_it_answers(
    live, committed, settings, processes, tmp_path
):
    receiver = Receiver(processes, tmp_path, "--fail-first", "3")
    metrics_port = free_port()
    processes.worker(
        **WORKER_ENV, WORKER_METRICS_PORT=str(metrics_port), WORKER_METRICS_BIND="127.0.0.1"
    )
    admin, admin_headers = admin_client(live, committed, settings)
    hook = register(admin, admin_headers, f"{receiver.url}/in", ["attempt.submitted"])
    client, headers, attempt, _, _ = begin(live, committed, settings)
    assert submit(client, headers, attempt).status_code == 202

    got = receiver.wait_for(4, timeout=60)
    assert [r["status"] for r in got] == [500, 500, 500, 200]
    assert len({r["headers"]["X-Exam-Delivery"] for r in got}) == 1  # one event, four tries
    gaps = [b["at"] - a["at"] for a, b in zip(got, got[1:], strict=False)]
    for tries, gap in enumerate(gaps, start=1):
        # After the n-th failure the wait is between half and all of 30 s * 2^(n-1), scaled.
        step = FIRST_DELAY_SECONDS * 2 ** (tries - 1) * SCALE
        assert step / 2 - 0.05 <= gap, (tries, gaps)
    assert gaps[2] > gaps[0]  # it backs off
    log = wait_until(
        lambda: (rows := deliveries(admin, admin_headers, hook))
        and rows[0]["status"] == "delivered" and rows,
        15, "the log to say delivered",
    )  # fmt: skip
    assert [(d["tries"], d["response_code"], d["next_try_at"]) for d in log] == [(4, 200, None)]
    scrape = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    assert sample(scrape, "exam_webhook_deliveries_total", outcome="retrying") == 3.0
    assert sample(scrape, "exam_webhook_deliveries_total", outcome="delivered") == 1.0


def test_a_slow_receiver_does_not_delay_grading(live, committed, settings, processes, tmp_path):
    receiver = Receiver(processes, tmp_path, "--sleep", "5")
    # As deployed (deploy/k8s): grading has its own workers; webhooks go out on `default`.
    processes.start(
        "grader", "celery", "-A", "worker", "worker", "-Q", "grading", "--concurrency", "1",
        "-n", "grader@%h", "--without-gossip", "--without-mingle", **WORKER_ENV,
    )  # fmt: skip
    processes.start(
        "sender", "celery", "-A", "worker", "worker", "-Q", "default,bulk", "--concurrency", "1",
        "-n", "sender@%h", "--without-gossip", "--without-mingle", **WORKER_ENV,
    )  # fmt: skip
    warm_up = begin(live, committed, settings)  # both workers up before the clock starts
    assert submit(*warm_up[:3]).status_code == 202
    wait_until(graded(committed, warm_up[2]["id"]), 60, "the grader to start")
    admin, admin_headers = admin_client(live, committed, settings)
    hook = register(admin, admin_headers, f"{receiver.url}/slow",
                    ["attempt.submitted", "attempt.graded"])  # fmt: skip
    started = [begin(live, committed, settings) for _ in range(3)]
    for client, headers, attempt, _, _ in started:
        began = time.monotonic()
        assert submit(client, headers, attempt).status_code == 202
        assert time.monotonic() - began < 1.0  # the API never waits for a receiver

    began = time.monotonic()
    for _, _, attempt, _, _ in started:
        wait_until(graded(committed, attempt["id"]), 30, "grading")
    # Six deliveries of 1.5 s timeouts each wait behind one another; grading did not.
    assert time.monotonic() - began < 3.0
    timed_out = wait_until(
        lambda: [d for d in deliveries(admin, admin_headers, hook) if d["error"]],
        20, "a timed-out try in the log",
    )  # fmt: skip
    assert "timed out" in timed_out[0]["error"] and timed_out[0]["status"] == "pending"
    assert timed_out[0]["response_code"] is None and timed_out[0]["next_try_at"]


def test_beat_sends_a_delivery_whose_retry_was_left_to_the_sweep(
    live, committed, settings, processes, tmp_path
):
    receiver = Receiver(processes, tmp_path)
    admin, admin_headers = admin_client(live, committed, settings)
    hook = register(admin, admin_headers, f"{receiver.url}/later", ["regrade.finished"])
    with committed() as session:  # a retry due now, that no task is on its way for
        event = OutboxEvent(type="regrade.finished", data={"job_id": "j1"})
        session.add(event)
        session.flush()
        session.add(
            WebhookDelivery(event_id=event.id, endpoint_id=hook["id"], tries=1, queued_at=None)
        )
        session.commit()
    processes.worker(**WORKER_ENV)
    processes.beat(WEBHOOK_SWEEP_SECONDS="1")
    (got,) = receiver.wait_for(1, timeout=45)
    assert got["json"]["id"] == str(event.id) and got["json"]["data"] == {"job_id": "j1"}
    assert verify(hook["secret"], got["raw"], got["headers"]["X-Exam-Signature"])
    log = wait_until(
        lambda: (rows := deliveries(admin, admin_headers, hook))
        and rows[0]["status"] == "delivered" and rows,
        15, "the log to say delivered",
    )  # fmt: skip
    assert log[0]["tries"] == 2
