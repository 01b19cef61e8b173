"""Who may sit an exam: every active student (`everyone`), or the students assigned by name
or through a group (`assigned`). Taking a student out never touches their attempts."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, delete, exists, func, insert, or_, select, union
from sqlalchemy.orm import Session

from shared.errors import InvalidInput
from shared.models import Audience, Exam, Role, User
from shared.people.models import ExamGroup, ExamStudent, Group, GroupMember


def eligible(student_id: Any) -> Any:
    """A condition on Exam: this student is in its audience (one indexed EXISTS each)."""
    return or_(
        Exam.audience == Audience.EVERYONE,
        exists().where(ExamStudent.exam_id == Exam.id, ExamStudent.user_id == student_id),
        exists().where(
            ExamGroup.exam_id == Exam.id,
            GroupMember.group_id == ExamGroup.group_id,
            GroupMember.user_id == student_id,
        ),
    )


def is_eligible(session: Session, exam: Exam, student_id: uuid.UUID) -> bool:
    if exam.audience == Audience.EVERYONE:
        return True
    return bool(session.scalar(select(exists().where(Exam.id == exam.id, eligible(student_id)))))


def assignees(session: Session, exam: Exam) -> dict[str, Any]:
    group_ids = session.scalars(
        select(ExamGroup.group_id).where(ExamGroup.exam_id == exam.id).order_by(ExamGroup.group_id)
    ).all()
    user_ids = session.scalars(
        select(ExamStudent.user_id)
        .where(ExamStudent.exam_id == exam.id)
        .order_by(ExamStudent.user_id)
    ).all()
    return {
        "audience": exam.audience,
        "group_ids": list(group_ids),
        "user_ids": list(user_ids),
        "eligible_count": eligible_count(session, exam),
    }


def set_assignees(
    session: Session, exam: Exam, *, group_ids: list[uuid.UUID], user_ids: list[uuid.UUID]
) -> dict[str, Any]:
    """Exactly these groups and students (attempts of anyone taken out are kept)."""
    group_ids, user_ids = list(dict.fromkeys(group_ids)), list(dict.fromkeys(user_ids))
    errors: dict[str, list[str]] = {}
    known_groups = set(session.scalars(select(Group.id).where(Group.id.in_(group_ids))))
    if missing := [str(g) for g in group_ids if g not in known_groups]:
        errors["group_ids"] = ["no such groups: " + ", ".join(missing[:20])]
    students = set(
        session.scalars(select(User.id).where(User.id.in_(user_ids), User.role == Role.STUDENT))
    )
    if missing := [str(u) for u in user_ids if u not in students]:
        errors["user_ids"] = ["not students: " + ", ".join(missing[:20])]
    if errors:
        raise InvalidInput("some assignees do not exist", errors)
    session.execute(delete(ExamGroup).where(ExamGroup.exam_id == exam.id))
    session.execute(delete(ExamStudent).where(ExamStudent.exam_id == exam.id))
    if group_ids:
        session.execute(insert(ExamGroup), [{"exam_id": exam.id, "group_id": g} for g in group_ids])
    if user_ids:
        session.execute(insert(ExamStudent), [{"exam_id": exam.id, "user_id": u} for u in user_ids])
    session.flush()
    return assignees(session, exam)


def eligible_count(session: Session, exam: Exam) -> int:
    """Active students who may sit the exam."""
    members = eligible_students(exam).subquery()
    return session.scalar(select(func.count()).select_from(members)) or 0


def eligible_students(exam: Exam) -> Select[tuple[uuid.UUID]]:
    """The ids of the active students who may sit the exam, as a query to build on."""
    active_students = (User.role == Role.STUDENT, User.active.is_(True))
    if exam.audience == Audience.EVERYONE:
        return select(User.id.label("user_id")).where(*active_students)
    named = select(ExamStudent.user_id.label("user_id")).where(ExamStudent.exam_id == exam.id)
    grouped = (
        select(GroupMember.user_id.label("user_id"))
        .join(ExamGroup, ExamGroup.group_id == GroupMember.group_id)
        .where(ExamGroup.exam_id == exam.id)
    )
    audience = union(named, grouped).subquery()
    return (
        select(User.id.label("user_id"))
        .join(audience, User.id == audience.c.user_id)
        .where(*active_students)
    )
