"""Who may sit an exam: its assigned groups and students."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from shared.models import Role
from shared.people import audiences
from shared.services import exams
from web.extensions import db_session
from web.resources.people.blueprint import blp
from web.resources.people.schemas import AssigneesInSchema, AssigneesSchema


@blp.route("/exams/<uuid:exam_id>/assignees")
class ExamAssignees(MethodView):
    @blp.auth(Role.ADMIN)
    @blp.response(200, AssigneesSchema)
    def get(self, exam_id: uuid.UUID) -> dict[str, Any]:
        """The groups and students assigned, and how many students may sit the exam"""
        return audiences.assignees(db_session(), exams.get_exam(db_session(), exam_id))

    @blp.auth(Role.ADMIN)
    @blp.arguments(AssigneesInSchema)
    @blp.response(200, AssigneesSchema)
    def put(self, data: dict[str, Any], exam_id: uuid.UUID) -> dict[str, Any]:
        """Assign exactly these groups and students (attempts of anyone taken out stay)"""
        exam = exams.get_exam(db_session(), exam_id)
        result = audiences.set_assignees(db_session(), exam, **data)
        db_session().commit()
        return result
