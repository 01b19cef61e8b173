"""Item analysis and review flags of an exam."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response

from shared.analysis import export, flags, items
from shared.models import Role
from web.downloads import XLSX, attachment
from web.extensions import read_session
from web.resources.analysis.schemas import FlagSchema, ItemAnalysisSchema
from web.security import Blueprint

blp = Blueprint(
    "analysis",
    __name__,
    url_prefix="/api/v1",
    description="Item analysis and review flags of an exam",
)


@blp.route("/exams/<uuid:exam_id>/item-analysis", methods=["GET"])
@blp.auth(Role.ADMIN)
@blp.response(200, ItemAnalysisSchema)
def item_analysis(exam_id: uuid.UUID) -> dict[str, Any]:
    """Item analysis over the graded attempts (per question and of the totals)

    Facility, 27 % discrimination, corrected point-biserial and option counts per question;
    mean, median, standard deviation, histogram and Cronbach's alpha of the total scores.
    Definitions: docs/item-analysis-and-flags.md.
    """
    return items.item_analysis(read_session(), exam_id)


@blp.route("/exams/<uuid:exam_id>/item-analysis.xlsx", methods=["GET"])
@blp.auth(Role.ADMIN)
@blp.response(200, content_type=XLSX, description="Summary, questions and options sheets")
def item_analysis_xlsx(exam_id: uuid.UUID) -> Response:
    """The item analysis as a spreadsheet (formula-safe cells)"""
    data = export.to_xlsx(items.item_analysis(read_session(), exam_id))
    return attachment(data, XLSX, f"item-analysis-{exam_id}.xlsx")


@blp.route("/exams/<uuid:exam_id>/flags", methods=["GET"])
@blp.auth(Role.ADMIN)
@blp.response(200, FlagSchema(many=True))
def review_flags(exam_id: uuid.UUID) -> list[dict[str, Any]]:
    """Review flags: attempts worth a look, with the evidence in words (never a penalty)

    Kinds: concurrent_devices (saves alternating between two sessions or addresses),
    fast_high_score (a high score in a fraction of the median time), similar_answers
    (improbably many identical wrong answers to another attempt's).
    """
    return flags.exam_flags(read_session(), exam_id)
