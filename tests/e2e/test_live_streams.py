"""Proctors' live streams against the real server: gunicorn's asyncio worker with two app
threads and twelve streams open. A streamed WSGI response would hold a thread each, and the
students' saves would wait for threads that never come back; here every stream keeps
receiving `live` events, every save is answered, and a logged-out admin's stream ends."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from shared.models import Role
from tests.factories import make_exam, make_user
from tests.support.http import send
from tests.support.processes import Processes, wait_until
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e

THREADS = 2
STREAMS = 12
SECONDS = 10


class Proctor(threading.Thread):
    """One proctor's page: reads the stream, noting each event and when it came."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.status: int | None = None
        self.content_type = ""
        self.events: list[tuple[float, str, dict]] = []  # type: ignore[type-arg]
        self.ended = False
        self.failure: str | None = None
        self._stop_reading = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            with requests.get(self.url, headers=headers, stream=True, timeout=(5, 10)) as response:
                self.status = response.status_code
                self.content_type = response.headers.get("Content-Type", "")
                buffer = b""
                for chunk in response.iter_content(chunk_size=None):
                    buffer += chunk
                    *blocks, buffer = buffer.split(b"\n\n")
                    for block in blocks:
                        self._note(block.decode())
                    if self._stop_reading.is_set():
                        return
            self.ended = True
        except requests.RequestException as exc:
            self.failure = repr(exc)

    def _note(self, block: str) -> None:
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            self.events.append((time.monotonic(), lines["event"], json.loads(lines["data"])))

    def leave(self) -> None:
        self._stop_reading.set()

    def kinds(self) -> list[str]:
        return [kind for _, kind, _ in self.events]


def login(base: str, account) -> str:  # type: ignore[no-untyped-def]
    response = requests.post(
        f"{base}/api/v1/auth/login",
        json={"email": account.email, "password": account.password},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def autosave(base: str, token: str, exam_id: str, seconds: float, answered: list) -> None:  # type: ignore[type-arg]
    """A student starts, then saves every 0.2 s; each save's status and time is noted."""
    auth = {"Authorization": f"Bearer {token}"}
    # As the web client does, a start refused as `overloaded` is retried after Retry-After.
    attempt = send(requests, "POST", f"{base}/api/v1/exams/{exam_id}/attempts", headers=auth,
                   timeout=10)  # fmt: skip
    assert attempt.status_code == 201, attempt.text
    body = attempt.json()
    question = body["questions"][0]["id"]
    ends, seq = time.monotonic() + seconds, 0
    while time.monotonic() < ends:
        seq += 1
        began = time.monotonic()
        try:
            # An `overloaded` 503 is retried after Retry-After, as the client's save queue does.
            saved = send(
                requests,
                "PUT",
                f"{base}/api/v1/attempts/{body['id']}/answers",
                json={"answers": [{"question_id": question, "response": "B", "seq": seq}]},
                headers=auth,
                timeout=10,
            )
            answered.append((saved.status_code, time.monotonic() - began))
        except requests.RequestException as exc:
            answered.append((repr(exc), time.monotonic() - began))
        time.sleep(0.2)


def test_more_streams_than_threads_leave_students_saving_and_end_on_logout(
    processes: Processes, committed, settings
):
    with committed() as session:
        admins = [make_user(session, settings, role=Role.ADMIN) for _ in range(2)]
        students = [make_user(session, settings) for _ in range(4)]
        exam_id = str(make_exam(session).id)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes.start("web", "gunicorn", "-c", "deploy/gunicorn.conf.py", "web:create_app()",
                    API_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1",
                    GUNICORN_THREADS=str(THREADS))  # fmt: skip
    wait_until(lambda: _healthy(base), 60, "gunicorn")
    watching, leaving = login(base, admins[0]), login(base, admins[1])
    url = f"{base}/api/v1/exams/{exam_id}/live/stream"

    proctors = [Proctor(url, watching) for _ in range(STREAMS - 1)] + [Proctor(url, leaving)]
    for proctor in proctors:
        proctor.start()
    wait_until(lambda: all(p.events for p in proctors), 15, "every stream's first event")
    answered: list[tuple[object, float]] = []
    savers = [
        threading.Thread(target=autosave, args=(base, login(base, s), exam_id, SECONDS, answered))
        for s in students
    ]
    for saver in savers:
        saver.start()
    time.sleep(SECONDS / 2)
    logout = requests.post(f"{base}/api/v1/auth/logout", json={},
                           headers={"Authorization": f"Bearer {leaving}"}, timeout=10)  # fmt: skip
    assert logout.status_code == 204
    for saver in savers:
        saver.join(timeout=SECONDS + 30)

    # Every save was answered, though twelve streams were open on two threads.
    assert len(answered) >= len(students) * 10
    assert {status for status, _ in answered} == {200}, answered
    print(f"saves: {len(answered)}, slowest {max(t for _, t in answered):.3f}s")
    # The logged-out admin's stream said why and ended; the others carry on.
    logged_out = proctors[-1]
    wait_until(lambda: logged_out.ended, 10, "the logged-out admin's stream to end")
    assert logged_out.kinds()[-1] == "error"
    assert logged_out.events[-1][2]["error"] == "token_revoked"
    for proctor in proctors[:-1]:
        assert proctor.failure is None and not proctor.ended, proctor.failure
        assert proctor.status == 200 and proctor.content_type.startswith("text/event-stream")
        assert set(proctor.kinds()) == {"live"}
        assert len(proctor.events) >= SECONDS // 5 + 2  # one at least every 5 s, all along
        gaps = [b[0] - a[0] for a, b in zip(proctor.events, proctor.events[1:], strict=False)]
        assert max(gaps) < 5.0, gaps
        last = proctor.events[-1][2]
        assert last["counts"]["in_progress"] == len(students)
        assert last["saves_last_minute"] == len(students)
        proctor.leave()


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False
