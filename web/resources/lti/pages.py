"""The two server-rendered pages of deep linking, shown inside the platform's frame."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, render_template, url_for

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
