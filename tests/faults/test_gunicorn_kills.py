"""Fault 6: a gunicorn worker killed (SIGKILL) in the middle of a request. The client's
retry succeeds, and nothing is written twice: the killed request's transaction never
committed, and starts are idempotent."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openpyxl
import pytest
import requests
from sqlalchemy import func, select

from shared.models import Attempt, Question
from tests.support.processes import wait_until

pytestmark = pytest.mark.faults

ROWS = 5000


def kill_gunicorn_workers(master_pid: int) -> int:
    """SIGKILL every worker of the gunicorn master (which starts new ones)."""
    workers = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    for pid in workers:
        os.kill(int(pid), signal.SIGKILL)
    return len(workers)


def with_retries(call, seconds: float = 60):  # type: ignore[no-untyped-def]
    """What a well-behaved client does: retry on a dropped connection or a 5xx."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            response = call()
        except requests.RequestException:  # dropped, timed out, or cut off mid-body
            time.sleep(0.3)
            continue
        if response.status_code < 500:
            return response
        time.sleep(0.3)
    raise AssertionError("no success after retries")


def workbook() -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Questions")
    sheet.append(["type", "prompt", "option_a", "option_b", "correct_answer"])
    for n in range(ROWS):
        sheet.append(["single_choice", f"Question {n}", "yes", "no", "A"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_import_cut_off_by_a_killed_worker_is_retried_without_duplicates(stack):
    stack.web()
    master = stack.procs.running[0][1]
    admin = stack.admin()
    data = workbook()
    tries = []

    def upload() -> requests.Response:
        tries.append(time.monotonic())
        if len(tries) == 1:  # the first try is cut off half-way
            threading.Timer(0.4, kill_gunicorn_workers, [master.pid]).start()
        return stack.call("POST", "/questions/import", admin, files={"file": ("q.xlsx", data)})

    response = with_retries(upload)
    assert len(tries) >= 2  # the first one really failed
    assert response.status_code == 200 and response.json()["created"] == ROWS
    with stack.factory() as session:
        assert session.scalar(select(func.count()).select_from(Question)) == ROWS


def test_starts_cut_off_by_killed_workers_give_one_attempt_each(stack):
    stack.web()
    master = stack.procs.running[0][1]
    exam_id, _ = stack.exam([{"type": "true_false", "prompt": "Ok?", "correct_answer": True}])
    emails = stack.students(60)
    with ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(stack.login, emails))
    stop, kills = threading.Event(), []

    def killer() -> None:
        # Three times, each once the replacement workers serve again; then the drill ends.
        while len(kills) < 3 and not stop.wait(1.0):
            kills.append(kill_gunicorn_workers(master.pid))
            wait_until(stack.healthy, 60, "gunicorn to serve again")
        stop.set()

    thread = threading.Thread(target=killer)
    thread.start()

    def start(token: str) -> set[str]:
        ids, url = set(), f"/exams/{exam_id}/attempts"
        while True:  # a student pressing Start again and again, through the chaos
            response = with_retries(lambda: stack.call("POST", url, token, timeout=10))
            assert response.status_code in (200, 201), response.text
            ids.add(response.json()["id"])
            if stop.is_set():
                return ids
            time.sleep(0.1)

    try:
        with ThreadPoolExecutor(20) as pool:
            seen = list(pool.map(start, tokens))
    finally:
        stop.set()
        thread.join()
    assert all(len(ids) == 1 for ids in seen)  # always the same attempt
    with stack.factory() as session:
        per_student = session.execute(
            select(Attempt.student_id, func.count()).group_by(Attempt.student_id)
        ).all()
    assert len(per_student) == 60 and {n for _, n in per_student} == {1}
    assert len(kills) == 3 and sum(kills) >= 3
