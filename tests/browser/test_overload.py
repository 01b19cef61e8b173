"""A student's autosave while the API is overloaded, in Chromium against real gunicorn: the
save is refused 503 `overloaded` (admission control, web/serving.py), the answer stays on the
device and the page keeps calm; the save is sent again after Retry-After with jitter and lands
once the server has room. The overload is real: another student's saves hold both of the
worker's threads, blocked on a row lock the test holds in PostgreSQL."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, text

from shared.models import Answer
from tests.browser.conftest import sign_in
from tests.factories import make_exam, make_question, make_user

pytestmark = pytest.mark.browser

SAVED = re.compile(r"^Saved \d\d:\d\d:\d\d$")
MAX_WAIT_MS = 300


def test_a_save_refused_as_overloaded_stays_on_the_device_and_lands_later(
    stack, browser, committed, settings
):
    with committed() as session:
        capital = make_question(session, prompt="Which city is the capital of France?")
        planet = make_question(session, "short_text")
        exam = make_exam(session, questions=[capital, planet], title="Busy quiz",
                         duration_seconds=600)  # fmt: skip
        ada = make_user(session, settings, full_name="Ada Lovelace", email="ada@school.test")
        bob = make_user(session, settings, full_name="Bob Busy", email="bob@school.test")
    # One worker, two threads, a queue of 4 that waits at most 300 ms.
    stack.start(worker=False, WEB_CONCURRENCY="1", GUNICORN_THREADS="2",
                ADMISSION_QUEUE="4", ADMISSION_MAX_WAIT_MS=str(MAX_WAIT_MS))  # fmt: skip
    bobs = stack.api("POST", f"/exams/{exam.id}/attempts", bob)
    assert bobs.status_code in (200, 201), bobs.text
    bobs_attempt = bobs.json()["id"]

    page = browser.new_page(stack.url + "/")
    sign_in(page, ada)
    page.get_by_role("button", name="Start").click()
    page.get_by_role("dialog").get_by_role("button", name="Start now").click()
    expect(page.get_by_role("timer")).to_be_visible()
    attempt_id = page.url.rsplit("/", 1)[1]
    badge = page.locator(".save-badge")
    page.get_by_label("Paris").check()
    expect(badge).to_have_text(SAVED)

    saves: list[tuple[float, int, str]] = []  # (time, status, error) of Ada's saves

    def seen(response) -> None:  # type: ignore[no-untyped-def]
        if response.request.method == "PUT" and response.url.endswith(f"{attempt_id}/answers"):
            body = response.json() if response.status != 200 else {}
            saves.append((time.monotonic(), response.status, body.get("error", "")))

    page.on("response", seen)

    # Bob's attempt row is locked: two saves of his take both threads and wait on it.
    hold = committed()
    hold.execute(text("SELECT 1 FROM attempts WHERE id = :id FOR UPDATE"), {"id": bobs_attempt})
    bob_token = stack.token(bob)
    bob_saves: list[int] = []

    def bob_saves_once() -> None:
        reply = stack.api("PUT", f"/attempts/{bobs_attempt}/answers", headers={
            "Authorization": f"Bearer {bob_token}"}, json={"answers": [
                {"question_id": str(capital.id), "response": "B"}]})  # fmt: skip
        bob_saves.append(reply.status_code)

    blocked = [threading.Thread(target=bob_saves_once) for _ in range(2)]
    for thread in blocked:
        thread.start()
    with committed() as watch:
        ends = time.monotonic() + 10
        while watch.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()")) < 2:  # fmt: skip
            assert time.monotonic() < ends, "Bob's saves never reached the lock"
            time.sleep(0.05)
            watch.rollback()

    try:
        page.get_by_label("Your answer", exact=True).fill("Jupiter")
        page.wait_for_timeout(3500)  # refused, retried after 1-2 s, refused again
        refused = [s for s in saves if s[1] == 503]
        assert len(refused) >= 2 and all(error == "overloaded" for _, _, error in refused)
        assert all(status == 503 for _, status, _ in saves), saves
        # Each retry waited Retry-After (1 s) times 1-2, not less; none came at once.
        gaps = [b[0] - a[0] for a, b in zip(refused, refused[1:], strict=False)]
        assert all(0.9 <= gap <= 4.5 for gap in gaps), gaps
        # Calm: still saving, not offline, no error; the answer waits in localStorage.
        expect(badge).to_have_text("Server busy, retrying…")
        unsaved = json.loads(page.evaluate(f"localStorage.getItem('exam.unsaved.{attempt_id}')"))
        assert unsaved[str(planet.id)]["response"] == "Jupiter"
        with committed() as look:  # the API would refuse to say: it is busy
            stored = look.scalars(select(Answer.question_id).where(
                Answer.attempt_id == attempt_id)).all()  # fmt: skip
        assert planet.id not in stored
    finally:
        hold.rollback()
        hold.close()
        for thread in blocked:
            thread.join(timeout=30)

    assert bob_saves == [200, 200]
    expect(badge).to_have_text(SAVED, timeout=20000)  # the next retry lands
    answers = stack.api("GET", f"/attempts/{attempt_id}", ada).json()["answers"]
    assert answers == {str(capital.id): "B", str(planet.id): "Jupiter"}
    assert saves[-1][1] == 200
    assert page.evaluate(f"localStorage.getItem('exam.unsaved.{attempt_id}')") is None
