"""The reference web client: one HTML shell at `/`; the rest is static files that call only
the public API under /api/v1 (no build step, no inline script, so the strict CSP holds)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

blp = Blueprint("client", __name__)


@blp.get("/")
def shell() -> Response:
    """The single-page client for students and admins (routes live after the `#`)."""
    response = Response(render_template("app.html"), mimetype="text/html")
    # Always revalidate, so a deploy reaches every open exam at its next page load.
    response.headers["Cache-Control"] = "no-cache"
    return response
