"""Item analysis and review flags of an exam."""

from __future__ import annotations

from web.security import Blueprint

blp = Blueprint(
    "analysis",
    __name__,
    url_prefix="/api/v1",
    description="Item analysis and review flags of an exam",
)
