"""Regrade an exam as a tracked job, roll a regrade back, and follow the job."""

from __future__ import annotations

import uuid
from typing import Any

from flask import url_for

from shared.messaging import TaskName
from shared.models import Role
from shared.services import regrades
from shared.trust import rollbacks
from web.errors import ErrorSchema
from web.extensions import db_session, send_task
from web.resources.jobs.schemas import JobAcceptedSchema, JobSchema, RegradeInSchema
from web.security import Blueprint, current_identity

blp = Blueprint("jobs", __name__, url_prefix="/api/v1", description="Bulk regrades and jobs")


@blp.route("/exams/<uuid:exam_id>/regrade", methods=["POST"])
@blp.auth(Role.ADMIN)
@blp.arguments(RegradeInSchema)
@blp.response(202, JobAcceptedSchema)
@blp.alt_response(409, schema=ErrorSchema, description="A regrade of this exam is running")
def regrade(data: dict[str, Any], exam_id: uuid.UUID) -> dict[str, Any]:
    """Regrade every graded attempt with the current keys (dry_run: report only)"""
    job = regrades.create_regrade(
        db_session(),
        exam_id,
        dry_run=data["dry_run"],
        replace_manual=data["replace_manual"],
        admin_id=current_identity().user_id,
    )
    db_session().commit()
    send_task(TaskName.START_REGRADE, str(job.id))
    return {"job_id": job.id, "status_url": url_for("jobs.job", job_id=job.id)}


@blp.route("/jobs/<uuid:job_id>", methods=["GET"])
@blp.auth(Role.ADMIN)
@blp.response(200, JobSchema)
def job(job_id: uuid.UUID) -> dict[str, Any]:
    """A job's progress and, for a regrade or rollback, the attempts whose score changed"""
    return rollbacks.view(db_session(), job_id)


@blp.route("/jobs/<uuid:job_id>/rollback", methods=["POST"])
@blp.auth(Role.ADMIN)
@blp.response(202, JobAcceptedSchema)
@blp.alt_response(
    409,
    schema=ErrorSchema,
    description="The job is queued or running, a dry run, not a regrade or rollback, rolled "
    "back already, or followed by a later regrade not rolled back; or another regrade or "
    "rollback of its exam is queued or running",
)
def rollback(job_id: uuid.UUID) -> dict[str, Any]:
    """Roll back a finished real regrade (or rollback): the scores it replaced, as a new job"""
    job = rollbacks.create_rollback(db_session(), job_id, admin_id=current_identity().user_id)
    db_session().commit()
    send_task(TaskName.START_ROLLBACK, str(job.id))
    return {"job_id": job.id, "status_url": url_for("jobs.job", job_id=job.id)}
