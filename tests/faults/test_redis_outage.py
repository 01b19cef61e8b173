"""Fault 2: Redis (broker, results, cache, rate limits) stopped in the middle of a submit
burst. Every submit the API accepted is graded once Redis is back, with no process
restarted; autosaves keep working meanwhile (they only need the database), so /readyz stays
200 and names the broker unreachable: the load balancer keeps every instance."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from shared.models import Answer
from tests.support.processes import wait_until

pytestmark = pytest.mark.faults

SUBMITTERS, SAVERS = 150, 10
QUESTION = [
    {"type": "essay", "prompt": "Write anything."},
    {"type": "true_false", "prompt": "Yes?", "correct_answer": True},
]


def start(stack, exam_id, token: str) -> str:
    return stack.call("POST", f"/exams/{exam_id}/attempts", token).json()["id"]


def test_submits_accepted_while_redis_is_down_are_graded_when_it_returns(stack):
    stack.web()
    worker = stack.procs.worker(LOG_LEVEL="INFO")
    beat = stack.procs.beat(LOG_LEVEL="INFO")
    exam_id, qids = stack.exam(QUESTION)
    emails = stack.students(SUBMITTERS + SAVERS)
    with ThreadPoolExecutor(12) as pool:
        tokens = dict(zip(emails, pool.map(stack.login, emails), strict=True))
        started = dict(
            zip(emails, pool.map(lambda e: start(stack, exam_id, tokens[e]), emails), strict=True)
        )
    submitters, savers = emails[:SUBMITTERS], emails[SUBMITTERS:]
    submitted, outage_over = [], threading.Event()
    readiness: list[tuple[int, str]] = []
    acknowledged: dict[str, int] = {}  # attempt -> highest seq that got a 200

    def outage() -> None:
        wait_until(lambda: len(submitted) >= SUBMITTERS // 3, 60, "a third of the submits")
        stack.redis.stop()
        time.sleep(4)
        ready = requests.get(stack.api.removesuffix("/api/v1") + "/readyz", timeout=10)
        readiness.append((ready.status_code, ready.json()["checks"]["broker"]))
        stack.redis.start()  # empty: whatever was queued is gone
        outage_over.set()

    def submit(email: str) -> int:
        answers = [{"question_id": qids[1], "response": True}]
        url = f"/attempts/{started[email]}/submit"
        response = stack.call("POST", url, tokens[email], json={"answers": answers})
        submitted.append(started[email])
        time.sleep(0.02)  # a burst over a few seconds, not one instant
        return response.status_code

    def keep_saving(email: str) -> list[int]:
        codes, seq = [], 0
        while not outage_over.is_set():
            seq += 1
            body = {"answers": [{"question_id": qids[0], "response": f"draft {seq}", "seq": seq}]}
            response = stack.call(
                "PUT", f"/attempts/{started[email]}/answers", tokens[email], json=body
            )
            codes.append(response.status_code)
            if response.status_code == 200:
                acknowledged[started[email]] = seq
            time.sleep(0.2)
        return codes

    breaker = threading.Thread(target=outage)
    breaker.start()
    with ThreadPoolExecutor(SAVERS) as save_pool, ThreadPoolExecutor(8) as submit_pool:
        saving = save_pool.map(keep_saving, savers)
        codes = list(submit_pool.map(submit, submitters))
        breaker.join()
        save_codes = [code for codes_ in saving for code in codes_]

    assert codes == [202] * SUBMITTERS  # every submit accepted, Redis or not
    assert set(save_codes) == {200} and len(save_codes) > SAVERS * 5
    assert readiness == [(200, "unreachable")]
    assert (
        requests.get(stack.api.removesuffix("/api/v1") + "/readyz", timeout=10).status_code == 200
    )

    wait_until(lambda: stack.graded() == SUBMITTERS, 120, "every accepted submit to be graded")
    # Nobody was restarted: the same worker and beat rode out the outage.
    assert worker.poll() is None and beat.poll() is None
    saver_attempts = [started[email] for email in savers]
    with stack.factory() as session:
        stored = dict(
            session.execute(
                select(Answer.attempt_id, Answer.seq).where(
                    Answer.question_id == qids[0], Answer.attempt_id.in_(saver_attempts)
                )
            ).all()
        )
    assert {
        str(k): v for k, v in stored.items()
    } == acknowledged  # every acknowledged save is there
