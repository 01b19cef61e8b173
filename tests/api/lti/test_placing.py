"""Registering platforms (CLI and API), deep linking an exam into a course, and the roster
sync (NRPS) against the simulated platform."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import jwt
import pytest
from sqlalchemy import select

from shared.interop.lti import roster
from shared.interop.lti.models import LtiPlatform, LtiResourceLink, LtiUserLink
from shared.models import utcnow
from shared.people.models import ExamStudent
from tests.api.lti.steps import exchange, launch, post_launch, start_login
from tests.factories import login, make_exam
from tests.support.lti_platform import INSTRUCTOR, ROLE, member

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"


class Forms(HTMLParser):
    """The forms of a page: action and input values, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.radios: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action"), "inputs": {}})
        elif tag == "input" and a.get("type") == "radio":
            self.radios.append(a["value"])
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"][a["name"]] = a.get("value")


def parse(html: str) -> Forms:
    forms = Forms()
    forms.feed(html)
    return forms


class TestRegistration:
    def test_the_cli_registers_and_prints_our_urls(self, app, client, session, platform):
        result = app.test_cli_runner().invoke(args=[
            "lti-register", "--name", "Moodle", "--issuer", platform.issuer,
            "--client-id", "cli-client", "--auth-login-url", platform.url + "/auth",
            "--auth-token-url", platform.url + "/token", "--key-set-url", platform.url + "/jwks",
            "--deployment-id", "d-1", "--deployment-id", "d-2",
        ])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "/api/v1/lti/launch" in result.output and "/api/v1/lti/jwks" in result.output
        again = app.test_cli_runner().invoke(args=[
            "lti-register", "--name", "Moodle", "--issuer", platform.issuer,
            "--client-id", "cli-client", "--auth-login-url", platform.url + "/auth",
            "--auth-token-url", platform.url + "/token", "--key-set-url", platform.url + "/jwks",
            "--deployment-id", "d-1",
        ])  # fmt: skip
        assert again.exit_code != 0 and "registered already" in again.output

    def test_the_api_lists_refuses_duplicates_and_bad_urls_and_forgets(
        self, client, session, admin, platform, registered
    ):
        headers = login(client, admin)
        [listed] = client.get("/api/v1/lti/platforms", headers=headers).get_json()
        assert listed["deployment_ids"] == [platform.deployment_id]
        assert listed["instructors_are_admins"] is False
        duplicate = client.post(
            "/api/v1/lti/platforms", json=platform.registration(), headers=headers
        )
        assert (duplicate.status_code, duplicate.get_json()["error"]) == (
            409,
            "lti_platform_exists",
        )
        plain_http = platform.registration(client_id="x", key_set_url="http://lms.test/jwks")
        refused = client.post("/api/v1/lti/platforms", json=plain_http, headers=headers)
        assert refused.status_code == 422
        assert "key_set_url" in refused.get_json()["errors"]["json"]
        unknown_field = client.post(
            "/api/v1/lti/platforms", json={**platform.registration(), "extra": 1}, headers=headers
        )
        assert unknown_field.status_code == 422
        gone = client.delete(f"/api/v1/lti/platforms/{listed['id']}", headers=headers)
        assert gone.status_code == 204
        login_after = client.get(
            "/api/v1/lti/login", query_string={"iss": platform.issuer, "login_hint": "h"}
        )
        assert login_after.status_code == 401


@pytest.mark.usefixtures("registered")
class TestDeepLinking:
    def test_an_instructor_places_an_exam_and_the_platform_gets_a_signed_item(
        self, client, session, platform
    ):
        published = make_exam(session, title="Geometry final")
        make_exam(session, title="Unfinished draft", publish=False)
        auth = start_login(client, platform)
        page = post_launch(client, platform.sign(platform.deep_linking_claims(auth["nonce"])),
                           auth["state"])  # fmt: skip
        assert page.status_code == 200 and page.mimetype == "text/html"
        html = page.get_data(as_text=True)
        assert "Geometry final" in html and "Unfinished draft" not in html
        picker = parse(html)
        assert str(published.id) in picker.radios
        [form] = picker.forms
        choice = {**form["inputs"], "exam_id": str(published.id)}

        answer = client.post(form["action"], data=choice)
        assert answer.status_code == 200
        [back] = parse(answer.get_data(as_text=True)).forms
        assert back["action"] == platform.url + "/deep-link-return"
        keys = client.get("/api/v1/lti/jwks").get_json()
        token = back["inputs"]["JWT"]
        kid = jwt.get_unverified_header(token)["kid"]
        key = jwt.algorithms.RSAAlgorithm.from_jwk(
            json.dumps(next(k for k in keys["keys"] if k["kid"] == kid))
        )
        claims = jwt.decode(token, key, algorithms=["RS256"], audience=platform.issuer)
        assert claims["iss"] == platform.client_id
        assert claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] == (
            "LtiDeepLinkingResponse"
        )
        assert claims[DL + "data"] == "opaque-platform-data"
        [item] = claims[DL + "content_items"]
        assert item["type"] == "ltiResourceLink"
        assert item["custom"] == {"exam_id": str(published.id)}
        assert item["lineItem"]["label"] == "Geometry final"
        # The code was spent: the picker cannot be posted twice.
        assert client.post(form["action"], data=choice).status_code == 401

        # The platform launches the new link with the custom parameter it was given.
        code = launch(client, platform, resource_link_id="placed-1", custom=item["custom"])
        assert exchange(client, code).get_json()["exam_id"] == str(published.id)

    def test_a_learner_may_not_place_exams(self, client, session, platform):
        auth = start_login(client, platform)
        claims = platform.deep_linking_claims(auth["nonce"])
        claims["https://purl.imsglobal.org/spec/lti/claim/roles"] = [ROLE + "membership#Learner"]
        response = post_launch(client, platform.sign(claims), auth["state"])
        assert (response.status_code, response.get_json()["error"]) == (403, "lti_role_not_allowed")


@pytest.mark.usefixtures("registered")
class TestRoster:
    def test_the_courses_learners_are_enrolled_before_they_launch(
        self, client, session, settings, platform, admin
    ):
        exam = make_exam(session, audience="assigned")
        exchange(
            client, launch(client, platform, sub="learner-1", custom={"exam_id": str(exam.id)})
        )
        platform.members = [
            member("learner-1"),  # launched already: linked, not made again
            member("learner-2", email="bo@school.test", name="Bo"),
            member("teacher-9", roles=INSTRUCTOR),
            member("gone-3", status="Inactive"),
        ]
        stored = session.scalar(select(LtiPlatform))
        link = session.scalar(select(LtiResourceLink))
        # What the sync task does: read (real HTTP, our client assertion), then apply.
        platform_row, link_row = roster.link_for_sync(session, stored.id, link.id)
        members = roster.fetch_members(settings, platform_row, link_row.memberships_url)
        outcome = roster.apply(session, platform_row, link_row, members, utcnow())
        session.commit()
        assert (outcome.members, outcome.created, outcome.enrolled) == (4, 1, 2)
        enrolled = set(
            session.scalars(select(ExamStudent.user_id).where(ExamStudent.exam_id == exam.id))
        )
        linked = {u.sub: u.user_id for u in session.scalars(select(LtiUserLink))}
        assert set(linked) == {"learner-1", "learner-2"}
        assert enrolled == set(linked.values())
        again = roster.apply(session, platform_row, link_row, members, utcnow())
        assert again.created == 0

        queued = client.post(f"/api/v1/lti/platforms/{stored.id}/links/{link.id}/sync", json={},
                             headers=login(client, admin))  # fmt: skip
        assert queued.status_code == 202
        listed = client.get(
            f"/api/v1/lti/platforms/{stored.id}/links", headers=login(client, admin)
        )
        assert listed.get_json()[0]["exam_id"] == str(exam.id)

    def test_a_link_without_a_roster_service_is_409(self, client, session, admin, platform):
        exam = make_exam(session)
        exchange(client, launch(client, platform, custom={"exam_id": str(exam.id)}))
        link = session.scalar(select(LtiResourceLink))
        link.memberships_url = None
        session.commit()
        response = client.post(
            f"/api/v1/lti/platforms/{link.platform_id}/links/{link.id}/sync",
            json={}, headers=login(client, admin),
        )  # fmt: skip
        assert (response.status_code, response.get_json()["error"]) == (409, "lti_no_roster")
