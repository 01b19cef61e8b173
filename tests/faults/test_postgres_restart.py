"""Fault 3: PostgreSQL restarted, and stopped for a few seconds, under autosave load.
Requests in the outage get a JSON 503 (never a 500, never a long hang); afterwards the
same processes serve again; every save that got a 200 is in the database."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from shared.models import Answer
from tests.support.processes import wait_until

pytestmark = pytest.mark.faults

SAVERS = 16
# The configured bound: connect timeout (2 s) + pool wait (3 s), with room for a retry.
HANG_LIMIT_SECONDS = 12


def test_autosaves_through_postgres_restarts(stack):
    # Each saver saves ~20 times a second, past the per-attempt allowance (120 a minute)
    # within the drill: this drill is about the database, not about that limit.
    stack.env["AUTOSAVES_PER_ATTEMPT"] = "100000 per minute"
    stack.web()
    exam_id, (qid,) = stack.exam([{"type": "essay", "prompt": "Keep writing."}])
    emails = stack.students(SAVERS)
    with ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(stack.login, emails))
        attempts = list(
            pool.map(
                lambda t: stack.call("POST", f"/exams/{exam_id}/attempts", t).json()["id"], tokens
            )
        )
    gunicorn = stack.procs.running[0][1]
    workers_before = _children(gunicorn.pid)
    stop = threading.Event()
    acknowledged: dict[str, int] = {}
    outcomes: list[tuple[int, float, dict]] = []

    def save_loop(index: int) -> None:
        token, attempt, seq = tokens[index], attempts[index], 0
        while not stop.is_set():
            seq += 1
            body = {"answers": [{"question_id": qid, "response": f"draft {seq}", "seq": seq}]}
            began = time.monotonic()
            try:
                response = stack.call("PUT", f"/attempts/{attempt}/answers", token, json=body)
            except Exception as exc:  # a dropped connection would also be a failure to report
                outcomes.append((-1, time.monotonic() - began, {"exception": repr(exc)}))
                continue
            outcomes.append((response.status_code, time.monotonic() - began, response.json()))
            if response.status_code == 200:
                acknowledged[attempt] = seq
            time.sleep(0.05)

    with ThreadPoolExecutor(SAVERS) as pool:
        running = [pool.submit(save_loop, i) for i in range(SAVERS)]
        time.sleep(2)
        stack.pg.restart()  # fast shutdown: every open connection is cut
        time.sleep(2)
        stack.pg.stop()  # a real outage: new connections are refused
        time.sleep(3)
        stack.pg.start()
        time.sleep(3)
        stop.set()
        for future in running:
            future.result()

    codes = [code for code, _, _ in outcomes]
    failures = [body for code, _, body in outcomes if code != 200]
    assert set(codes) <= {200, 503}, failures[:3]
    assert codes.count(503) > 0  # the outage was seen
    assert all(body["error"] == "service_unavailable" for body in failures)
    assert max(elapsed for _, elapsed, _ in outcomes) < HANG_LIMIT_SECONDS
    # The same gunicorn workers serve again, with fresh connections (pool pre-ping).
    assert _children(gunicorn.pid) == workers_before
    last = {"answers": [{"question_id": qid, "response": "after", "seq": 10**6}]}
    again = stack.call("PUT", f"/attempts/{attempts[0]}/answers", tokens[0], json=last)
    assert again.status_code == 200
    acknowledged[attempts[0]] = 10**6
    with stack.factory() as session:
        stored = {
            str(a): (seq, r)
            for a, seq, r in session.execute(select(Answer.attempt_id, Answer.seq, Answer.response))
        }
    for attempt, seq in acknowledged.items():
        stored_seq, response = stored[attempt]
        assert stored_seq >= seq  # nothing acknowledged was lost
        assert response == ("after" if stored_seq == 10**6 else f"draft {stored_seq}")
    slowest = max(elapsed for _, elapsed, _ in outcomes)
    print(f"saves: {len(codes)}, 503s: {codes.count(503)}, slowest: {slowest:.2f}s")


def _start(stack, exam_id, token: str) -> str:
    return stack.call("POST", f"/exams/{exam_id}/attempts", token).json()["id"]


def _children(pid: int) -> set[int]:
    wait_until(lambda: Path(f"/proc/{pid}/task/{pid}/children").read_text().split(), 10, "workers")
    return set(Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
