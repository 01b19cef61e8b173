"""Deep linking: an instructor picks one of our exams, and we sign the content item that
places it in the course (a resource link carrying `exam_id`, with a grade column)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.errors import InvalidCredentials, NotFound
from shared.interop.lti.flow import launch_url
from shared.interop.lti.handoffs import peek, spend
from shared.interop.lti.keys import tool_key
from shared.interop.lti.models import LtiPlatform
from shared.interop.lti.tool import registration
from shared.models.exam import Exam, ExamStatus

# The grade column's maximum: platforms scale scoreGiven / scoreMaximum to it.
LINE_ITEM_MAXIMUM = 100


@dataclass(frozen=True)
class Response:
    return_url: str
    jwt: str


def choices(session: Session, code: str, now: datetime) -> list[Exam]:
    """The exams an instructor may place: published ones, newest first."""
    peek(session, code, "deep_link", now)
    return list(
        session.scalars(
            select(Exam)
            .where(Exam.status == ExamStatus.PUBLISHED)
            .order_by(Exam.created_at.desc())
            .limit(500)
        )
    )


def respond(
    session: Session, settings: Settings, code: str, exam_id: uuid.UUID, now: datetime
) -> Response:
    """Spend the picker's code and sign the LtiDeepLinkingResponse placing this exam."""
    exam = session.get(Exam, exam_id)
    if exam is None or exam.status != ExamStatus.PUBLISHED:
        raise NotFound("exam not found")
    handoff = spend(session, code, "deep_link", now)
    platform = session.get(LtiPlatform, handoff.platform_id)
    data = handoff.data or {}
    if platform is None or not data.get("return_url"):
        raise InvalidCredentials("this link is unknown, expired or used", code="lti_code_invalid")
    line_item = (
        LineItem()
        .set_label(exam.title)
        .set_score_maximum(LINE_ITEM_MAXIMUM)
        .set_resource_id(str(exam.id))
    )
    item = (
        DeepLinkResource()
        .set_url(launch_url(settings))
        .set_title(exam.title)
        .set_custom_params({"exam_id": str(exam.id)})
        .set_lineitem(line_item)
    )
    settings_claim = {"deep_link_return_url": data["return_url"], "data": data.get("data")}
    link = DeepLink(
        registration(platform, tool_key(settings)), data["deployment_id"], settings_claim
    )  # type: ignore[arg-type]
    return Response(return_url=data["return_url"], jwt=link.get_response_jwt([item]))
