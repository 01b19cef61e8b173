"""The server-rendered pages of LTI: deep linking's two, shown inside the platform's frame,
and the error page a learner or teacher sees when a launch is refused."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, g, render_template, request, url_for

from shared.models import Exam


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _page(html: str, form_action: str) -> Response:
    response = Response(html, mimetype="text/html")
    # Platforms show deep linking in a frame on the school's own domain (not the issuer's),
    # so any ancestor may frame these two pages; they post only to us or to the return URL,
    # and do nothing without the one-time code of a launch.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; object-src 'none'; base-uri 'none'; "
        f"form-action {form_action}; frame-ancestors *"
    )
    response.headers["X-Frame-Options"] = "SAMEORIGIN"  # ignored beside frame-ancestors
    response.headers["Cache-Control"] = "no-store"
    return response


def deep_link_picker(exams: list[Exam], code: str) -> Response:
    """The list of exams an instructor may place, posting back with the one-time code."""
    html = render_template(
        "lti/picker.html", exams=exams, code=code, action=url_for("lti.deep_link")
    )
    return _page(html, "'self'")


def deep_link_return(return_url: str, jwt: str) -> Response:
    """The signed LtiDeepLinkingResponse, form-posted to the platform at once."""
    html = render_template("lti/return.html", return_url=return_url, jwt=jwt)
    return _page(html, _origin(return_url))


# Endpoints a platform sends the user's browser to (a redirect or an auto-submitted form):
# an error there is read by a person, not a program.
BROWSER_ENDPOINTS = frozenset({"lti.login", "lti.login_form", "lti.launch", "lti.deep_link"})


def error_page(response: Response) -> Response:
    """after_request: a refused launch, shown to a browser as a page saying what happened
    and what to do, with the same status and machine code; a program that asks for JSON
    (or anything, as HTTP clients do) still gets JSON."""
    if (
        response.status_code < 400
        or request.endpoint not in BROWSER_ENDPOINTS
        or response.mimetype != "application/json"
        or request.accept_mimetypes.best_match(["application/json", "text/html"]) != "text/html"
    ):
        return response
    body = response.get_json(silent=True) or {}
    html = render_template(
        "lti/error.html",
        status=response.status_code,
        message=body.get("message") or response.status,
        error=body.get("error") or "error",
        request_id=g.get("request_id"),  # the app's after_request puts it in the header too
    )
    page = _page(html, "'none'")
    page.status_code = response.status_code
    if "Retry-After" in response.headers:
        page.headers["Retry-After"] = response.headers["Retry-After"]
    page.vary.add("Accept")
    return page
