"""A student's receipt in Chromium: the result page shows the digest and downloads the signed
file; the checker page, signed out, says the file is genuine and an altered copy is not."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.browser.conftest import accessibility_problems, sign_in
from tests.factories import make_exam, make_question, make_user

pytestmark = pytest.mark.browser


def test_a_student_downloads_a_receipt_and_anyone_checks_it(stack, browser, committed, settings):
    with committed() as session:
        exam = make_exam(session, questions=[make_question(session, "short_text")],
                         title="Receipt quiz")  # fmt: skip
        student = make_user(session, settings, email="grace@school.test")
    stack.start()
    attempt = stack.api("POST", f"/exams/{exam.id}/attempts", student).json()
    qid = attempt["questions"][0]["id"]
    answer = {"question_id": qid, "response": "Mercury", "seq": 1}
    stack.api("PUT", f"/attempts/{attempt['id']}/answers", student, json={"answers": [answer]})
    stack.api("POST", f"/attempts/{attempt['id']}/submit", student, json={})
    receipt = stack.api("GET", f"/attempts/{attempt['id']}/receipt", student).json()

    page = browser.new_page(stack.url + f"/#/result/{attempt['id']}")
    sign_in(page, student)
    card = page.locator(".receipt")
    expect(card.get_by_role("heading", name="Submission receipt")).to_be_visible()
    expect(card.locator(".digest")).to_have_text(receipt["answers_sha256"])
    assert accessibility_problems(page) == []
    with page.expect_download() as info:
        card.get_by_role("button", name="Download receipt").click()
    saved = info.value.path()
    assert json.loads(saved.read_text()) == receipt
    browser.screenshot(page, "receipt-on-result", element=card)

    checker = browser.new_page(stack.url + "/#/receipts/verify")
    page.close()
    checker.evaluate("localStorage.clear(); sessionStorage.clear()")
    checker.reload()
    expect(checker.get_by_role("heading", name="Check a submission receipt")).to_be_visible()
    expect(checker.locator("code.digest")).not_to_be_empty()
    checker.get_by_label("Receipt file").set_input_files(str(saved))
    expect(checker.get_by_label("Receipt", exact=True)).not_to_be_empty()
    checker.get_by_role("button", name="Check").click()
    expect(checker.get_by_role("status").filter(has_text="Genuine")).to_be_visible()
    assert accessibility_problems(checker) == []

    altered = {**receipt, "submitted_at": "2026-01-01T08:00:00.000000Z"}
    checker.get_by_label("Receipt", exact=True).fill(json.dumps(altered))
    checker.get_by_role("button", name="Check").click()
    expect(checker.get_by_role("alert")).to_contain_text("Not valid (submitted_at)")
    expect(checker.get_by_role("alert")).not_to_contain_text("Mercury")
    browser.screenshot(checker, "receipt-checker")


def test_an_admin_sees_the_trail_intact_then_the_row_edited_behind_the_api(
    stack, browser, committed, settings
):
    with committed() as session:
        exam = make_exam(session, title="Audit quiz")
        student = make_user(session, settings)
        admin = make_user(session, settings, role="admin", email="audit@school.test")
    stack.start()
    attempt = stack.api("POST", f"/exams/{exam.id}/attempts", student).json()
    stack.api("POST", f"/attempts/{attempt['id']}/submit", student, json={})

    page = browser.new_page(stack.url + f"/#/admin/exams/{exam.id}/audit")
    sign_in(page, admin)
    expect(page.get_by_role("heading", name="Audit: Audit quiz")).to_be_visible()
    intact = re.compile(r"Intact: [23] events in 1 attempt chain recomputed; no anchor yet")
    expect(page.locator(".notice.ok")).to_contain_text(intact)  # graded by now, or not yet
    assert accessibility_problems(page) == []

    with committed() as session:
        event_id = session.execute(
            text("UPDATE attempt_events SET data = '{\"by\": \"nobody\"}' "
                 "WHERE attempt_id = :a AND kind = 'submitted' RETURNING id"),
            {"a": attempt["id"]},
        ).scalar_one()  # fmt: skip
        session.commit()
    page.get_by_role("button", name="Verify again").click()
    expect(page.locator(".notice.error")).to_contain_text(
        f"attempt {attempt['id']}, event {event_id}"
    )
    expect(page.get_by_role("cell", name=str(event_id), exact=True)).to_be_visible()
    browser.screenshot(page, "audit-tampered")
