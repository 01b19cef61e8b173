"""An admin in Chromium reads an exam's item analysis (summary, histogram, per-question table
with the key marked, the .xlsx download) and its review flags, and sees a flag in the roster;
the attempts are taken over HTTP and graded by the real worker."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from shared.models import Role
from tests.browser.conftest import accessibility_problems, sign_in
from tests.factories import make_exam, make_question, make_user

pytestmark = pytest.mark.browser


def take(stack, account, exam_id, answers, *, second_login=None):
    token = {"Authorization": f"Bearer {stack.token(account)}"}
    attempt = stack.api("POST", f"/exams/{exam_id}/attempts", headers=dict(token)).json()
    saves = (
        [token, {"Authorization": f"Bearer {stack.token(second_login)}"}]
        if second_login
        else [token]
    )
    for seq, (question_id, response) in enumerate(answers, start=1):
        headers = saves[seq % len(saves)]  # with a second login: by turns, as two devices
        body = {"answers": [{"question_id": question_id, "response": response, "seq": seq}]}
        saved = stack.api(
            "PUT", f"/attempts/{attempt['id']}/answers", json=body, headers=dict(headers)
        )
        assert saved.status_code == 200, saved.text
    stack.api("POST", f"/attempts/{attempt['id']}/submit", json={}, headers=dict(token))
    return attempt["id"]


def test_an_admin_reads_the_item_analysis_and_the_flags(stack, browser, committed, settings):
    with committed() as session:
        admin = make_user(session, settings, role=Role.ADMIN)
        students = [make_user(session, settings) for _ in range(3)]
        choice = make_question(session, prompt="Capital of France?")
        truth = make_question(session, "true_false", prompt="Water is wet.")
        exam = make_exam(session, questions=[choice, truth], title="Geography quiz")
        ids = [str(choice.id), str(truth.id)]
    stack.start()
    take(stack, students[0], exam.id, [(ids[0], "B"), (ids[1], True)])
    take(stack, students[1], exam.id, [(ids[0], "A"), (ids[1], True)])
    two_devices = take(
        stack, students[2], exam.id, [(ids[0], "C"), (ids[1], False), (ids[0], "A")],
        second_login=students[2],
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        roster = stack.api("GET", f"/exams/{exam.id}/attempts", admin).json()
        if all(row["status"] == "graded" for row in roster) and len(roster) == 3:
            break
        time.sleep(0.3)

    page = browser.new_page(f"{stack.url}/#/admin/exams/{exam.id}/roster")
    sign_in(page, admin)
    flagged = page.get_by_role("region", name="Attempts").locator(
        "tbody tr", has_text=students[2].user.full_name
    )
    expect(flagged).to_contain_text("two devices")
    page.get_by_role("link", name="Analysis").click()

    expect(page.get_by_role("heading", name="Analysis: Geography quiz")).to_be_visible()
    expect(page.get_by_text("3 graded attempts analysed.")).to_be_visible()
    expect(page.get_by_role("img", name="Score histogram")).to_be_visible()
    questions = page.get_by_role("region", name="Question statistics")
    first = questions.locator("tbody tr").first
    expect(first).to_contain_text("Capital of France?")
    expect(first).to_contain_text("33 %")  # one of three chose the key
    expect(first.locator("li.key")).to_contain_text("B ✓")
    flags = page.get_by_role("region", name="Flagged attempts")
    expect(flags).to_contain_text("Two devices at once")
    expect(flags).to_contain_text("alternately from 2 login sessions")
    assert accessibility_problems(page) == []
    browser.screenshot(page, "admin-item-analysis", full_page=True)

    with page.expect_download() as download:
        page.get_by_role("button", name="Item analysis (.xlsx)").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    assert two_devices in {
        f["attempt_id"] for f in stack.api("GET", f"/exams/{exam.id}/flags", admin).json()
    }
