"""The client's router in Chromium: a page still loading when the user moves on never
replaces the page they moved to (the suite saw the exam list drawn over the Webhooks page
when an admin clicked on while the list was still loading)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from shared.models import Role
from tests.browser.conftest import sign_in
from tests.factories import make_exam, make_user

pytestmark = pytest.mark.browser


def test_a_page_that_finishes_loading_after_the_user_moved_on_is_not_drawn(
    stack, browser, committed, settings
):
    with committed() as session:
        admin = make_user(session, settings, role=Role.ADMIN, full_name="Grace Hopper")
        make_exam(session, title="Chemistry quiz")
    stack.start()
    page = browser.new_page(stack.url + "/")
    held = []  # the exam list's request, answered only when the test says so
    page.route("**/api/v1/exams?*", lambda route: held.append(route))

    sign_in(page, admin)  # lands on the exam list, which waits for its (held) request
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Webhooks")).to_be_visible()
    page.wait_for_function("() => document.title.startsWith('Exams')")  # the list is waiting
    nav.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()

    assert len(held) == 1
    with page.expect_response("**/api/v1/exams?*"):
        held[0].continue_()
    # The list's answer is in; the exam page would draw itself within a frame or two.
    page.evaluate("() => new Promise((done) => setTimeout(done, 500))")
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Exams", exact=True)).to_have_count(0)
    assert page.url.endswith("#/admin/webhooks")
