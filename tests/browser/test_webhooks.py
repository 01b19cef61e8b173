"""Webhooks in Chromium: an admin registers a receiver (the secret shown once), a student's
submission reaches the receiver signed with that secret, the deliveries page shows it and
sends it again on Redeliver; pausing and deleting work from the list."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from shared.events.signing import verify
from shared.models import Role
from tests.browser.conftest import accessibility_problems, sign_in
from tests.e2e.test_webhooks import Receiver
from tests.factories import make_exam, make_user
from tests.support.processes import wait_until

pytestmark = pytest.mark.browser


def test_an_admin_registers_a_webhook_and_redelivers_from_its_log(
    stack, browser, committed, settings, tmp_path
):
    with committed() as session:
        admin = make_user(session, settings, role=Role.ADMIN, full_name="Grace Hopper")
        student = make_user(session, settings)
        exam = make_exam(session, title="Chemistry quiz")
    receiver = Receiver(stack.procs, tmp_path)
    stack.start(WEBHOOK_ALLOWED_HOSTS="127.0.0.1")

    page = browser.new_page(stack.url + "/")
    sign_in(page, admin)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    assert accessibility_problems(page) == []

    # An internal address is refused next to the field, with the reason.
    page.get_by_label("Receiver URL").fill("https://169.254.169.254/latest")
    page.get_by_role("button", name="Create webhook").click()
    # The field's hint also mentions internal addresses: look in its error.
    url_field = page.get_by_label("Receiver URL")
    expect(url_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field-error", has_text="internal address")).to_be_visible()

    page.get_by_label("Receiver URL").fill(f"{receiver.url}/hooks")
    page.get_by_label("results.released", exact=False).uncheck()
    page.get_by_label("regrade.finished", exact=False).uncheck()
    page.get_by_role("button", name="Create webhook").click()
    secret = page.get_by_test_id("webhook-secret").inner_text()
    assert len(secret) >= 40
    rows = page.get_by_role("region", name="Webhooks").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("attempt.submitted, attempt.graded")
    assert accessibility_problems(page) == []
    page.reload()
    expect(rows).to_have_count(1)
    assert secret not in page.content()  # shown once, never again

    attempt = stack.api("POST", f"/exams/{exam.id}/attempts", student).json()
    stack.api("POST", f"/attempts/{attempt['id']}/submit", student, json={})
    got = receiver.wait_for(2)
    assert all(verify(secret, r["raw"], r["headers"]["X-Exam-Signature"]) for r in got)

    page.get_by_role("link", name="Deliveries").click()
    log = page.get_by_role("region", name="Deliveries, newest first").locator("tbody tr")
    wait_until(lambda: (page.reload(), log.filter(has_text="Delivered").count() == 2)[1], 20,
               "both deliveries shown delivered")  # fmt: skip
    expect(log.first).to_contain_text("HTTP 200")
    assert accessibility_problems(page) == []
    submitted = log.filter(has_text="attempt.submitted")
    submitted.get_by_role("button", name="Redeliver").click()
    expect(log).to_have_count(3)
    third = receiver.wait_for(3)[2]
    assert third["json"]["type"] == "attempt.submitted"
    browser.screenshot(page, "webhook-deliveries", full_page=True)

    page.get_by_role("link", name="← Webhooks").click()
    page.get_by_role("button", name=f"Pause {receiver.url}/hooks").click()
    expect(rows).to_contain_text("Paused")
    page.get_by_role("button", name=f"Delete {receiver.url}/hooks").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete webhook").click()
    expect(page.get_by_text("No webhooks yet")).to_be_visible()
