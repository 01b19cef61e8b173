"""LTI 1.3 launches from a simulated platform (real HTTP, real signatures): the learner is
signed in, enrolled and sent into the exam; every bad launch is a clear 4xx that creates
nothing."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from shared.interop.lti.models import LtiHandoff, LtiLinkMember, LtiResourceLink, LtiUserLink
from shared.models import Role, User
from shared.people.models import ExamStudent
from tests.api.lti.steps import exchange, launch, post_launch, start_login
from tests.factories import bearer, login, make_exam
from tests.support.lti_platform import INSTRUCTOR, PlatformServer, new_key

pytestmark = pytest.mark.usefixtures("registered")


@pytest.fixture
def exam(session):  # type: ignore[no-untyped-def]
    return make_exam(session, audience="assigned", title="Algebra")


def counts(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
    def count(model) -> int:  # type: ignore[no-untyped-def]
        return session.scalar(select(func.count()).select_from(model))

    return {m.__name__: count(m) for m in (User, LtiUserLink, LtiResourceLink, LtiHandoff)}


def test_a_learner_launch_signs_in_enrols_and_opens_the_exam(client, session, platform, exam):
    code = launch(client, platform, custom={"exam_id": str(exam.id)})
    response = exchange(client, code)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["exam_id"] == str(exam.id)
    assert body["user"]["role"] == "student"
    assert body["user"]["full_name"] == "Ada Lovelace"
    # The token is a normal one: the student starts the exam they were enrolled in.
    started = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=bearer(body["access_token"]))
    assert started.status_code == 201, started.get_json()
    user_id = body["user"]["id"]
    assert session.get(ExamStudent, (exam.id, user_id)) is not None
    link = session.scalar(select(LtiResourceLink))
    assert (link.exam_id, link.resource_link_id) == (exam.id, "rl-1")
    assert link.lineitem_url == platform.lineitem_url()
    assert link.memberships_url == platform.url + "/memberships"
    assert session.get(LtiLinkMember, (link.id, user_id)).sub == "learner-1"


def test_the_next_launch_finds_the_same_user_and_the_link_without_exam_id(
    client, session, platform, exam
):
    first = exchange(client, launch(client, platform, custom={"exam_id": str(exam.id)}))
    again = exchange(client, launch(client, platform))  # the link is known now
    assert again.status_code == 200
    assert again.get_json()["user"]["id"] == first.get_json()["user"]["id"]
    assert again.get_json()["exam_id"] == str(exam.id)
    assert counts(session)["LtiUserLink"] == 1


def test_the_code_is_spent_once(client, platform, exam):
    code = launch(client, platform, custom={"exam_id": str(exam.id)})
    assert exchange(client, code).status_code == 200
    second = exchange(client, code)
    assert second.status_code == 401
    assert second.get_json()["error"] == "lti_code_invalid"
    assert exchange(client, "made-up").get_json()["error"] == "lti_code_invalid"


def test_an_email_of_an_existing_account_does_not_take_it_over(
    client, session, platform, exam, student
):
    code = launch(client, platform, custom={"exam_id": str(exam.id)}, email=student.email)
    user = exchange(client, code).get_json()["user"]
    assert user["id"] != str(student.user.id)
    assert user["email"].endswith("@lti.invalid")


def test_an_instructor_is_refused_unless_the_registration_makes_them_admins(
    client, session, platform, exam, admin
):
    before = counts(session)
    auth = start_login(client, platform)
    claims = platform.claims(auth["nonce"], sub="teacher-1", roles=INSTRUCTOR,
                             custom={"exam_id": str(exam.id)})  # fmt: skip
    response = post_launch(client, platform.sign(claims), auth["state"])
    assert response.status_code == 403
    assert response.get_json()["error"] == "lti_role_not_allowed"
    assert counts(session) == before


def test_instructors_are_admins_where_the_registration_says_so(client, session, admin, exam):
    with PlatformServer("http://127.0.0.1:9/unused") as other:  # no services used here
        other.client_id = "teachers-admins"
        registration = other.registration(instructors_are_admins=True)
        created = client.post("/api/v1/lti/platforms", json=registration,
                              headers=login(client, admin))  # fmt: skip
        assert created.status_code == 201
        code = launch(client, other, sub="t-2", roles=INSTRUCTOR, custom={"exam_id": str(exam.id)})
        user = exchange(client, code).get_json()["user"]
    assert user["role"] == Role.ADMIN
    # An admin is not put in a student audience.
    assert session.get(ExamStudent, (exam.id, user["id"])) is None


def test_a_link_without_an_exam_is_409_and_creates_nothing(client, session, platform):
    before = counts(session)
    auth = start_login(client, platform)
    response = post_launch(client, platform.sign(platform.claims(auth["nonce"])), auth["state"])
    assert response.status_code == 409
    assert response.get_json()["error"] == "lti_link_unmapped"
    assert counts(session) == before


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_refused_launch_shows_a_browser_a_page_and_a_program_json(client, session, platform):
    auth = start_login(client, platform)
    token = platform.sign(platform.claims(auth["nonce"]))
    shown = client.post("/api/v1/lti/launch", data={"id_token": token, "state": "not-ours"},
                        headers={"Accept": BROWSER_ACCEPT})  # fmt: skip
    assert (shown.status_code, shown.mimetype) == (401, "text/html")
    page = shown.get_data(as_text=True)
    assert "The exam could not be opened" in page and "lti_state_invalid" in page
    assert shown.headers["X-Request-ID"] in page  # what to quote to the administrator
    assert "Accept" in shown.headers["Vary"]
    as_program = post_launch(client, token, "not-ours")  # the test client accepts anything
    assert as_program.status_code == 401
    assert as_program.get_json()["error"] == "lti_state_invalid"
    # A login from an unknown platform is a page too; the API's other routes never are.
    login = client.get("/api/v1/lti/login", query_string={"iss": "https://nobody.example",
                       "login_hint": "x", "target_link_uri": "https://tool.example/"},
                       headers={"Accept": BROWSER_ACCEPT})  # fmt: skip
    assert (login.status_code, login.mimetype) == (401, "text/html")
    assert "lti_platform_unknown" in login.get_data(as_text=True)
    other = client.get("/api/v1/lti/platforms", headers={"Accept": BROWSER_ACCEPT})
    assert (other.status_code, other.mimetype) == (401, "application/json")


class TestBadLaunches:
    """Each refused with its own code; no user, link or code is made."""

    def refused(self, client, session, token: str, state: str, code: str) -> None:  # type: ignore[no-untyped-def]
        before = counts(session)
        response = post_launch(client, token, state)
        assert response.status_code == 401, response.get_json()
        assert response.get_json()["error"] == code
        assert "traceback" not in response.get_data(as_text=True).lower()
        assert counts(session) == before

    def good_claims(self, client, platform, exam):  # type: ignore[no-untyped-def]
        auth = start_login(client, platform)
        return auth, platform.claims(auth["nonce"], custom={"exam_id": str(exam.id)})

    def test_wrong_audience(self, client, session, platform, exam):
        auth, claims = self.good_claims(client, platform, exam)
        claims["aud"] = claims["azp"] = "someone-else"
        self.refused(client, session, platform.sign(claims), auth["state"], "lti_platform_unknown")

    def test_our_client_id_among_others_without_azp(self, client, session, platform, exam):
        auth, claims = self.good_claims(client, platform, exam)
        claims["aud"] = [platform.client_id, "someone-else"]
        claims["azp"] = "someone-else"
        self.refused(client, session, platform.sign(claims), auth["state"], "lti_token_invalid")

    def test_expired_id_token(self, client, session, platform, exam):
        auth, claims = self.good_claims(client, platform, exam)
        claims["iat"], claims["exp"] = int(time.time()) - 600, int(time.time()) - 60
        self.refused(client, session, platform.sign(claims), auth["state"], "lti_token_invalid")

    def test_no_expiry_at_all(self, client, session, platform, exam):
        auth, claims = self.good_claims(client, platform, exam)
        del claims["exp"]
        self.refused(client, session, platform.sign(claims), auth["state"], "lti_token_invalid")

    def test_wrong_signature(self, client, session, platform, exam):
        auth, claims = self.good_claims(client, platform, exam)
        forged = platform.sign(claims, key=new_key())  # same kid, someone else's key
        self.refused(client, session, forged, auth["state"], "lti_token_invalid")

    def test_unknown_state(self, client, session, platform, exam):
        _, claims = self.good_claims(client, platform, exam)
        self.refused(
            client, session, platform.sign(claims), "state-we-never-sent", "lti_state_invalid"
        )

    def test_nonce_of_another_login(self, client, session, platform, exam):
        first, _ = self.good_claims(client, platform, exam)
        second, claims = self.good_claims(client, platform, exam)
        self.refused(client, session, platform.sign(claims), first["state"], "lti_nonce_invalid")

    def test_replayed_launch(self, client, session, platform, exam):
        auth, claims = self.good_claims(client, platform, exam)
        token = platform.sign(claims)
        assert post_launch(client, token, auth["state"]).status_code == 303
        self.refused(client, session, token, auth["state"], "lti_state_invalid")

    def test_unregistered_deployment(self, client, session, platform, exam):
        auth, claims = self.good_claims(client, platform, exam)
        claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] = "not-ours"
        self.refused(
            client, session, platform.sign(claims), auth["state"], "lti_deployment_unknown"
        )

    def test_unregistered_issuer(self, client, session, platform, exam):
        auth, claims = self.good_claims(client, platform, exam)
        claims["iss"] = "https://lms.elsewhere.test"
        self.refused(client, session, platform.sign(claims), auth["state"], "lti_platform_unknown")

    def test_a_login_from_an_unregistered_issuer(self, client, session):
        response = client.get(
            "/api/v1/lti/login",
            query_string={"iss": "https://lms.elsewhere.test", "login_hint": "x"},
        )
        assert response.status_code == 401
        assert response.get_json()["error"] == "lti_platform_unknown"

    def test_a_launch_without_id_token(self, client, session):
        response = client.post("/api/v1/lti/launch", data={"state": "x"})
        assert response.status_code == 422


def test_a_login_form_posted_as_moodle_does(client, platform):
    response = client.post(
        "/api/v1/lti/login",
        data={"iss": platform.issuer, "login_hint": "2", "client_id": platform.client_id,
              "target_link_uri": "http://tool.test/api/v1/lti/launch", "lti_message_hint": "m"},
    )  # fmt: skip
    assert response.status_code == 302
    assert response.headers["Location"].startswith(platform.url + "/auth?")
    assert "lti_message_hint=m" in response.headers["Location"]


def test_the_platforms_key_set_is_fetched_once_and_again_when_its_key_rotates(
    client, platform, exam
):
    custom = {"exam_id": str(exam.id)}
    launch(client, platform, custom=custom)
    launch(client, platform, custom=custom)
    assert platform.jwks_fetches == 1  # the second launch used the shared cache
    platform.key, platform.kid = new_key(), "rotated-key"
    launch(client, platform, custom=custom)  # a kid the cached set lacks: fetched again
    assert platform.jwks_fetches == 2


def test_spent_and_expired_codes_and_states_are_purged(client, session, platform, exam):
    from datetime import timedelta

    from shared.interop.lti import handoffs
    from shared.interop.lti.models import LtiLaunchState
    from shared.models import utcnow

    exchange(client, launch(client, platform, custom={"exam_id": str(exam.id)}))  # spent
    launch(client, platform, custom={"exam_id": str(exam.id)})  # not spent yet
    start_login(client, platform)  # a login nobody finished
    assert handoffs.purge_expired(session, utcnow()) == 1  # only the spent code
    later = utcnow() + timedelta(hours=1)
    assert handoffs.purge_expired(session, later) == 1 + 3  # the other code, the 3 states
    assert session.scalar(select(func.count()).select_from(LtiLaunchState)) == 0
    assert session.scalar(select(func.count()).select_from(LtiHandoff)) == 0


def test_an_account_disabled_after_the_launch_gets_no_tokens(client, session, platform, exam):
    code = launch(client, platform, custom={"exam_id": str(exam.id)})
    link = session.scalar(select(LtiUserLink))
    session.get(User, link.user_id).active = False
    session.commit()
    refused = exchange(client, code)
    assert (refused.status_code, refused.get_json()["error"]) == (403, "account_disabled")
    assert "access_token" not in refused.get_json()
    # And the next launch of that person is refused before any code is made.
    auth = start_login(client, platform)
    claims = platform.claims(auth["nonce"], custom={"exam_id": str(exam.id)})
    again = post_launch(client, platform.sign(claims), auth["state"])
    assert (again.status_code, again.get_json()["error"]) == (403, "account_disabled")
