"""Locust scenario for a real deployment, driven from many machines (Locust's distributed
mode). Each simulated student logs in, starts the exam, autosaves every 30 s, submits, and
polls the status until graded: the exam day, at whatever scale you point at it.

    # accounts: one "email,password" per line (create them with `flask create-user` or an import)
    EXAM_ID=<published exam id> ACCOUNTS=accounts.csv \\
        locust -f bench/locustfile.py --host https://exams.school.example --master
    EXAM_ID=... ACCOUNTS=accounts.csv \\
        locust -f bench/locustfile.py --worker --master-host <master>   # on each load machine

Install with `pip install locust` (the bench extras). The in-repo benchmark (`make bench`)
uses its own cheaper generator on one machine; this file is for real, many-machine tests.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time

from locust import HttpUser, between, events, task

EXAM_ID = os.environ.get("EXAM_ID", "")
SAVES_BEFORE_SUBMIT = int(os.environ.get("SAVES_BEFORE_SUBMIT", "10"))
_accounts: list[tuple[str, str]] = []
_next = itertools.count()
_lock = threading.Lock()


@events.init.add_listener
def _load_accounts(environment, **_):  # type: ignore[no-untyped-def]
    path = os.environ.get("ACCOUNTS", "accounts.csv")
    if os.path.exists(path):
        with open(path) as handle:
            _accounts.extend(tuple(line.strip().split(",", 1)) for line in handle if "," in line)  # type: ignore[misc]


def _sample_response(question: dict) -> object:
    kind = question["type"]
    options = [o["id"] for o in question.get("options") or []]
    if kind == "single_choice":
        return random.choice(options)
    if kind == "multiple_choice":
        return random.sample(options, k=random.randint(1, len(options)))
    if kind == "true_false":
        return random.choice([True, False])
    if kind == "numeric":
        return round(random.uniform(0, 10), 2)
    return "an answer typed at " + time.strftime("%H:%M:%S")


class Student(HttpUser):
    """One student on exam day; waits ~30 s between autosaves, like the reference client."""

    wait_time = between(25, 35)

    def on_start(self) -> None:
        with _lock:
            index = next(_next)
        if not _accounts or not EXAM_ID:
            raise RuntimeError("set EXAM_ID and ACCOUNTS (a file of email,password lines)")
        email, password = _accounts[index % len(_accounts)]
        tokens = self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        ).json()
        self.client.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        attempt = self.client.post(
            f"/api/v1/exams/{EXAM_ID}/attempts", name="/exams/[id]/attempts"
        ).json()
        self.attempt_id, self.questions, self.seq = attempt["id"], attempt["questions"], 0

    @task
    def autosave(self) -> None:
        if self.seq >= SAVES_BEFORE_SUBMIT:
            self._submit_and_wait()
            return
        self.seq += 1
        question = random.choice(self.questions)
        body = {
            "answers": [
                {
                    "question_id": question["id"],
                    "response": _sample_response(question),
                    "seq": self.seq,
                }
            ]
        }
        self.client.put(
            f"/api/v1/attempts/{self.attempt_id}/answers", json=body, name="/attempts/[id]/answers"
        )

    def _submit_and_wait(self) -> None:
        self.client.post(
            f"/api/v1/attempts/{self.attempt_id}/submit", json={}, name="/attempts/[id]/submit"
        )
        etag = ""
        for _ in range(120):
            response = self.client.get(
                f"/api/v1/attempts/{self.attempt_id}/status",
                headers={"If-None-Match": etag},
                name="/attempts/[id]/status",
            )
            etag = response.headers.get("ETag", etag)
            if response.status_code == 200 and response.json()["status"] == "graded":
                break
            time.sleep(1)
        self.stop()
