"""A proctor in Chromium: the roster's live panel, fed by the exam's live stream, shows the
running attempt, lists a student who went quiet, and follows a save and a submit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from shared.models import Attempt, Role, utcnow
from tests.browser.conftest import accessibility_problems, sign_in
from tests.factories import make_exam, make_user

pytestmark = pytest.mark.browser


def test_the_live_panel_follows_a_save_and_a_submit(stack, browser, committed, settings):
    with committed() as session:
        admin = make_user(session, settings, role=Role.ADMIN, full_name="Grace Hopper")
        ada = make_user(session, settings, full_name="Ada Lovelace")
        make_user(session, settings, full_name="Alan Turing")  # may sit it, has not started
        exam = make_exam(session, title="Chemistry")
    stack.start(worker=False)  # no grader: a submitted attempt stays in the backlog
    attempt = stack.api("POST", f"/exams/{exam.id}/attempts", ada).json()
    with committed() as session:  # Ada has not saved for three minutes
        session.execute(
            update(Attempt)
            .where(Attempt.id == attempt["id"])
            .values(last_activity_at=utcnow() - timedelta(minutes=3))
        )
        session.commit()

    page = browser.new_page(stack.url + f"/#/admin/exams/{exam.id}/roster")
    sign_in(page, admin)
    panel = page.get_by_role("region", name="Live")
    expect(panel).to_contain_text("2 may sit it")
    expect(panel).to_contain_text("1 not started")
    expect(panel).to_contain_text("1 in progress")
    expect(panel).to_contain_text("No save for 2 minutes (1)")
    quiet = panel.get_by_role("link", name="Ada Lovelace")
    assert ada.email in (quiet.get_attribute("href") or "").replace("%40", "@")
    expect(panel.get_by_role("status")).to_contain_text("Live · updated")
    assert accessibility_problems(page) == []
    browser.screenshot(page, "16-live-panel", element=panel)

    # Ada saves: she is no longer quiet, and she counts as saving in the last minute.
    question = attempt["questions"][0]["id"]
    saved = stack.api("PUT", f"/attempts/{attempt['id']}/answers", ada,
                      json={"answers": [{"question_id": question, "response": "B"}]})  # fmt: skip
    assert saved.status_code == 200, saved.text
    expect(panel).to_contain_text("1 saving in the last minute")
    expect(panel).to_contain_text("Nobody has gone quiet")

    # Ada submits: the panel moves her on, and the backlog shows her attempt.
    submitted = stack.api("POST", f"/attempts/{attempt['id']}/submit", ada, json={})
    assert submitted.status_code == 202, submitted.text
    expect(panel).to_contain_text("0 in progress")
    expect(panel).to_contain_text("1 submitted in the last minute")
    expect(panel).to_contain_text("1 waiting to be graded")

    # Leaving the roster stops the stream (no script error, no request left running).
    page.get_by_role("link", name="Exams", exact=True).first.click()
    expect(page.get_by_role("heading", name="Exams")).to_be_visible()
