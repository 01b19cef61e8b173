"""LTI 1.3 tool: login, launch, JWKS, platform registrations."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, redirect, request
from flask.views import MethodView

from shared.cache import shared_level
from shared.errors import PermissionDenied
from shared.interop.lti import (
    LtiTask,
    deep_linking,
    flow,
    grades,
    handoffs,
    keys,
    platforms,
    roster,
)
from shared.models import utcnow
from shared.people import accounts
from web.errors import ErrorSchema
from web.extensions import cache, db_session, send_task, settings
from web.resources.auth.routes import _token_pair as token_pair  # the one maker of token pairs
from web.resources.lti.pages import deep_link_picker, deep_link_return, error_page
from web.resources.lti.schemas import (
    DeepLinkFormSchema,
    DeploymentsSchema,
    GradePostQuerySchema,
    GradePostSchema,
    LaunchFormSchema,
    LoginArgsSchema,
    LtiSessionSchema,
    PlatformCreateSchema,
    PlatformSchema,
    QueuedSchema,
    ResourceLinkSchema,
    SessionCodeSchema,
)
from web.schemas import NoBodySchema
from web.security import Blueprint

blp = Blueprint(
    "lti",
    __name__,
    url_prefix="/api/v1/lti",
    description="LTI 1.3 tool: login, launch, JWKS, platform registrations",
)
blp.after_request(error_page)


@blp.route("/jwks")
@blp.response(200)
def jwks() -> dict[str, Any]:
    """The tool's public key set (platforms verify our signatures with it)"""
    return keys.jwks(settings())


@blp.route("/login", methods=["GET"])
@blp.arguments(LoginArgsSchema, location="query")
@blp.response(302, description="To the platform's authorization endpoint")
@blp.alt_response(401, schema=ErrorSchema, description="lti_platform_unknown")
def login(params: dict[str, str]) -> Response:
    """OIDC third-party initiated login: redirect to the platform with a state and nonce"""
    return _login(params)


@blp.route("/login", methods=["POST"])
@blp.arguments(LoginArgsSchema, location="form")
@blp.response(302, description="To the platform's authorization endpoint")
@blp.alt_response(401, schema=ErrorSchema, description="lti_platform_unknown")
def login_form(params: dict[str, str]) -> Response:
    """OIDC third-party initiated login, form-posted (as Moodle does)"""
    return _login(params)


def _login(params: dict[str, str]) -> Response:
    url = flow.login(db_session(), settings(), params, secure=request.is_secure, now=utcnow())
    db_session().commit()
    return redirect(url, code=302)


@blp.route("/launch", methods=["POST"])
@blp.arguments(LaunchFormSchema, location="form")
@blp.response(303, description="Into the web client, or the deep-linking picker (200)")
@blp.alt_response(401, schema=ErrorSchema, description="lti_state_invalid, lti_nonce_invalid, "
                  "lti_token_invalid, lti_platform_unknown, lti_deployment_unknown")  # fmt: skip
@blp.alt_response(403, schema=ErrorSchema, description="lti_role_not_allowed, account_disabled")
@blp.alt_response(409, schema=ErrorSchema, description="lti_link_unmapped")
@blp.alt_response(503, schema=ErrorSchema, description="lti_not_configured: the tool has no key")
def launch(form: dict[str, str]) -> Response:
    """The platform posts the signed id_token: sign the learner in and open the exam"""
    session, now = db_session(), utcnow()
    outcome = flow.launch(session, settings(), form, secure=request.is_secure, now=now,
                          key_sets=shared_level(cache()))  # fmt: skip
    session.commit()
    if outcome.kind == "deep_link":
        return deep_link_picker(deep_linking.choices(session, outcome.code, now), outcome.code)
    # The code rides in the fragment: never sent to a server, never in a Referer. Relative:
    # the client is served by this same host.
    return redirect(f"/#/lti?code={outcome.code}", code=303)


@blp.route("/session", methods=["POST"])
@blp.arguments(SessionCodeSchema)
@blp.response(200, LtiSessionSchema)
@blp.alt_response(401, schema=ErrorSchema, description="lti_code_invalid: unknown, expired, used")
@blp.alt_response(403, schema=ErrorSchema, description="account_disabled")
def lti_session(data: dict[str, str]) -> dict[str, Any]:
    """Exchange the one-time code of a launch for a token pair (once)"""
    session = db_session()
    handoff = handoffs.spend(session, data["code"], "session", utcnow())
    assert handoff.user_id is not None
    user = accounts.get_user(session, handoff.user_id)
    session.commit()  # the code is spent either way
    if not user.active:  # disabled between the launch and now
        raise PermissionDenied("this account is disabled", code="account_disabled")
    exam_id = (handoff.data or {})["exam_id"]
    return {**token_pair(user, uuid.uuid4().hex), "user": user, "exam_id": exam_id}


@blp.route("/deep-link", methods=["POST"])
@blp.arguments(DeepLinkFormSchema, location="form")
@blp.response(200, description="An HTML page posting the signed response to the platform")
@blp.alt_response(401, schema=ErrorSchema, description="lti_code_invalid")
def deep_link(form: dict[str, Any]) -> Response:
    """The instructor's pick: sign the deep-linking response placing the exam"""
    session = db_session()
    answer = deep_linking.respond(session, settings(), form["code"], form["exam_id"], utcnow())
    session.commit()
    return deep_link_return(answer.return_url, answer.jwt)


@blp.route("/platforms")
class Platforms(MethodView):
    @blp.auth("admin")
    @blp.response(200, PlatformSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Registered platforms"""
        return platforms.listing(db_session())

    @blp.auth("admin")
    @blp.arguments(PlatformCreateSchema)
    @blp.response(201, PlatformSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="lti_platform_exists")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Register a platform (issuer, client id, its endpoints and deployment ids)"""
        session = db_session()
        platform = platforms.register(session, data)
        session.commit()
        return platforms.view(session, platform)


@blp.route("/platforms/<uuid:platform_id>")
class PlatformById(MethodView):
    @blp.auth("admin")
    @blp.response(200, PlatformSchema)
    def get(self, platform_id: uuid.UUID) -> dict[str, Any]:
        """One registered platform"""
        return platforms.view(db_session(), platforms.get(db_session(), platform_id))

    @blp.auth("admin")
    @blp.response(204)
    def delete(self, platform_id: uuid.UUID) -> None:
        """Forget a platform: its launches stop; users and attempts stay"""
        platforms.remove(db_session(), platform_id)
        db_session().commit()


@blp.route("/platforms/<uuid:platform_id>/deployments", methods=["POST"])
@blp.auth("admin")
@blp.arguments(DeploymentsSchema)
@blp.response(200, PlatformSchema)
def add_deployments(data: dict[str, Any], platform_id: uuid.UUID) -> dict[str, Any]:
    """Add deployment ids of our tool on a registered platform"""
    session = db_session()
    platforms.add_deployments(session, platform_id, data["deployment_ids"])
    session.commit()
    return platforms.view(session, platforms.get(session, platform_id))


@blp.route("/platforms/<uuid:platform_id>/links", methods=["GET"])
@blp.auth("admin")
@blp.response(200, ResourceLinkSchema(many=True))
def links(platform_id: uuid.UUID) -> list[Any]:
    """The exams placed in this platform's courses (resource links)"""
    platforms.get(db_session(), platform_id)
    return roster.links_of(db_session(), platform_id)


@blp.route("/platforms/<uuid:platform_id>/links/<uuid:link_id>/sync", methods=["POST"])
@blp.auth("admin")
@blp.arguments(NoBodySchema)
@blp.response(202, QueuedSchema)
@blp.alt_response(409, schema=ErrorSchema, description="lti_no_roster: no NRPS offered")
def sync_roster(_: dict[str, Any], platform_id: uuid.UUID, link_id: uuid.UUID) -> dict[str, Any]:
    """Enrol the course's learners from the platform's roster (NRPS), in the background"""
    roster.link_for_sync(db_session(), platform_id, link_id)
    queued = send_task(LtiTask.SYNC_ROSTER, str(platform_id), str(link_id))
    return {"queued": queued}


@blp.route("/grade-posts", methods=["GET"])
@blp.auth("admin")
@blp.arguments(GradePostQuerySchema, location="query")
@blp.response(200, GradePostSchema(many=True))
@blp.paginate()
def grade_posts(query: dict[str, Any], pagination_parameters: Any) -> list[Any]:
    """Scores sent (or waiting, or given up) to platforms' gradebooks, newest first"""
    found, total = grades.listing(
        db_session(),
        status=query.get("status"),
        offset=pagination_parameters.first_item,
        limit=pagination_parameters.page_size,
    )
    pagination_parameters.item_count = total
    return found


@blp.route("/grade-posts/<uuid:post_id>/retry", methods=["POST"])
@blp.auth("admin")
@blp.arguments(NoBodySchema)
@blp.response(200, GradePostSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Only a failed post is sent again")
def retry_grade_post(_: dict[str, Any], post_id: uuid.UUID) -> Any:
    """Send a given-up grade post again (after fixing the platform's registration)"""
    post = grades.retry(db_session(), post_id, utcnow())
    db_session().commit()
    send_task(LtiTask.SEND_GRADE, str(post.id))
    return post
