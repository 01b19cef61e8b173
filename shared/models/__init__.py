"""All models, imported here so `Base.metadata` is complete for Alembic and services."""

# ruff: noqa: I001 (the domain packages' models come last: they import the ones above)

from shared.models.attempt import Answer, Attempt, AttemptEvent, AttemptStatus, SubmitReason
from shared.models.base import Base, utcnow
from shared.models.exam import (
    Accommodation,
    Audience,
    Exam,
    ExamPool,
    ExamQuestion,
    ExamStatus,
    ResultsRelease,
)
from shared.models.job import Job, JobItem, JobStatus
from shared.models.notification import EmailStatus, Notification
from shared.models.question import Question, QuestionKey, QuestionTag
from shared.models.user import RevokedSession, Role, UsedRefreshToken, User
from shared.people.models import ExamGroup, ExamStudent, Group, GroupMember, PasswordToken

# Domain packages keep their models beside their services; imported for a complete metadata.
import shared.analysis.models  # noqa: E402, F401
import shared.events.models  # noqa: E402, F401
import shared.interop.lti.models  # noqa: E402, F401
import shared.trust.models  # noqa: E402, F401

__all__ = [
    "Accommodation",
    "Audience",
    "Answer",
    "Attempt",
    "AttemptEvent",
    "AttemptStatus",
    "Base",
    "EmailStatus",
    "Exam",
    "ExamGroup",
    "ExamPool",
    "ExamQuestion",
    "ExamStatus",
    "ExamStudent",
    "Group",
    "GroupMember",
    "Job",
    "JobItem",
    "JobStatus",
    "Notification",
    "PasswordToken",
    "Question",
    "QuestionKey",
    "QuestionTag",
    "ResultsRelease",
    "RevokedSession",
    "Role",
    "SubmitReason",
    "UsedRefreshToken",
    "User",
    "utcnow",
]
