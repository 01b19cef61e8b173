"""LTI 1.3 in Chromium against the real stack (gunicorn, a Celery worker, beat): a learner
follows the course site's link, the simulated platform signs them in through our login and
launch, the web client lands on their exams without a token in the address bar, and once
results are released the worker posts the score to the platform's gradebook; a roster sync
by the worker enrols a classmate. And the admin page of platforms."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from shared.interop.lti import platforms
from shared.models import Role
from tests.browser.conftest import accessibility_problems, sign_in
from tests.factories import make_exam, make_user
from tests.support.lti_platform import PlatformServer, member, new_key, pem
from tests.support.processes import wait_until

pytestmark = pytest.mark.browser


def test_a_learner_launches_from_the_course_and_the_score_reaches_the_gradebook(
    stack, browser, committed, settings, tmp_path
):
    key = tmp_path / "lti.pem"
    key.write_bytes(pem(new_key()))
    with PlatformServer("set below") as platform, committed() as session:
        admin = make_user(session, settings, role=Role.ADMIN)
        exam = make_exam(session, title="Algebra", audience="assigned", results_release="manual")
        registration = platform.registration()
        platforms.register(session, registration)
        session.commit()
        stack.start(beat=True, LTI_PRIVATE_KEY_FILE=str(key), LTI_GRADE_SWEEP_SECONDS="1")
        platform.tool_jwks_url = stack.url + "/api/v1/lti/jwks"
        platform.launch_target = stack.url + "/api/v1/lti/launch"
        platform.next_launch = {"sub": "learner-b", "custom": {"exam_id": str(exam.id)}}

        page = browser.new_page()
        page.goto(
            f"{stack.url}/api/v1/lti/login?iss={platform.issuer}&login_hint=h"
            f"&client_id={platform.client_id}&lti_deployment_id={platform.deployment_id}"
        )
        expect(page.get_by_role("heading", name="My exams")).to_be_visible()
        expect(page.get_by_role("heading", name="Algebra")).to_be_visible()
        assert "code=" not in page.url  # the one-time code left the address bar
        assert platform.auth_requests[0]["redirect_uri"].endswith("/api/v1/lti/launch")
        assert accessibility_problems(page) == []

        # The learner sits the exam with the session the launch gave them.
        access = json.loads(page.evaluate("sessionStorage.getItem('exam.session')"))["access"]
        headers = {"Authorization": f"Bearer {access}"}
        attempt = stack.api("POST", f"/exams/{exam.id}/attempts", headers=headers).json()
        answer = [{"question_id": attempt["questions"][0]["id"], "response": "B"}]
        submitted = stack.api("POST", f"/attempts/{attempt['id']}/submit",
                              headers=headers, json={"answers": answer})  # fmt: skip
        assert submitted.status_code == 202
        wait_until(lambda: stack.api("GET", f"/attempts/{attempt['id']}/status",
                                     headers=headers).json()["status"] == "graded",
                   30, "grading")  # fmt: skip
        assert platform.scores == []  # graded, not released

        assert stack.api("POST", f"/exams/{exam.id}/release-results", admin).status_code == 200
        wait_until(lambda: platform.scores, 60, "the grade post")
        [score] = platform.scores
        assert (score["userId"], score["scoreGiven"], score["scoreMaximum"]) == ("learner-b", 1, 1)
        assert score["gradingProgress"] == "FullyGraded"
        assert platform.assertion_errors == []

        # The roster sync, by the worker: a classmate who never launched is enrolled.
        platform.members = [member("learner-b"), member("learner-c", name="Cy")]
        [registered] = stack.api("GET", "/lti/platforms", admin).json()
        [link] = stack.api("GET", f"/lti/platforms/{registered['id']}/links", admin).json()
        sync = f"/lti/platforms/{registered['id']}/links/{link['id']}/sync"
        assert stack.api("POST", sync, admin, json={}).status_code == 202
        assignees = f"/exams/{exam.id}/assignees"
        enrolled = lambda: len(stack.api("GET", assignees, admin).json()["user_ids"])  # noqa: E731
        wait_until(lambda: enrolled() == 2, 30, "the roster sync")


def test_an_admin_registers_a_platform_from_the_lti_page(stack, browser, committed, settings):
    with committed() as session:
        admin = make_user(session, settings, role=Role.ADMIN, full_name="Grace Hopper")
    stack.start(worker=False)
    page = browser.new_page(stack.url + "/")
    sign_in(page, admin)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="LTI").click()
    expect(page.get_by_role("heading", name="LTI platforms")).to_be_visible()
    expect(page.get_by_text(f"{stack.url}/api/v1/lti/launch")).to_be_visible()
    assert accessibility_problems(page) == []

    page.get_by_label("Name").fill("Moodle")
    page.get_by_label("Platform ID (issuer)").fill("https://moodle.school.example")
    page.get_by_label("Client ID").fill("client-7")
    page.get_by_label("Deployment IDs").fill("3, 4")
    page.get_by_label("Authentication request URL").fill(
        "https://moodle.school.example/mod/lti/auth.php"
    )
    page.get_by_label("Access token URL").fill("https://moodle.school.example/mod/lti/token.php")
    # Plain http on a public host is refused next to its field.
    page.get_by_label("Public keyset URL").fill("http://moodle.school.example/mod/lti/certs.php")
    page.get_by_role("button", name="Register platform").click()
    expect(page.get_by_text("must be an https URL")).to_be_visible()
    page.get_by_label("Public keyset URL").fill("https://moodle.school.example/mod/lti/certs.php")
    page.get_by_role("button", name="Register platform").click()
    rows = page.get_by_role("region", name="Registered platforms").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("3, 4")
    expect(rows).to_contain_text("Refused")
    expect(page.get_by_text("Every score so far reached its gradebook")).to_be_visible()
    assert accessibility_problems(page) == []

    rows.get_by_role("link", name="Placed exams").click()
    expect(page.get_by_role("heading", name="Exams placed on Moodle")).to_be_visible()
    expect(page.get_by_text("No exam is placed on this platform yet")).to_be_visible()
