"""The question bank: create, edit (with the contract's conflict rules), delete, search."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from shared.db import contains_pattern
from shared.errors import Conflict, NotFound
from shared.models import (
    Answer,
    Exam,
    ExamPool,
    ExamQuestion,
    ExamStatus,
    Question,
    QuestionTag,
    utcnow,
)
from shared.question_types import KEY_FIELDS, normalize_definition
from shared.services import pools

# Fields a type change keeps; everything else must fit the new type and is sent anew.
TYPE_NEUTRAL_FIELDS = ("prompt", "points", "tags", "explanation")


def definition_of(question: Question) -> dict[str, Any]:
    """A question as the plain definition dict that `normalize_definition` produces."""
    return {
        "type": question.type,
        "prompt": question.prompt,
        "options": question.options,
        "correct_answer": question.correct_answer,
        "points": question.points,
        "scoring": question.scoring,
        "tolerance": question.tolerance,
        "case_sensitive": question.case_sensitive,
        "tags": question.tags,
        "explanation": question.explanation,
    }


def build_question(definition: dict[str, Any]) -> Question:
    """A new Question from a normalized definition (not yet added to a session)."""
    fields = {k: v for k, v in definition.items() if k != "tags"}
    question = Question(id=uuid.uuid4(), version=1, **fields)
    _set_tags(question, definition["tags"])
    question.key_versions.append(question.snapshot_key())
    return question


def create_question(session: Session, data: dict[str, Any]) -> Question:
    question = build_question(normalize_definition(data))
    session.add(question)
    session.flush()
    pools.touch_exams_drawing(session, set(question.tags), question.created_at)
    return question


def create_questions(session: Session, definitions: Iterable[dict[str, Any]]) -> list[uuid.UUID]:
    """Bulk insert of already normalized definitions (the spreadsheet import)."""
    questions = [build_question(d) for d in definitions]
    session.add_all(questions)
    session.flush()
    pools.touch_exams_drawing(session, {tag for q in questions for tag in q.tags}, utcnow())
    return [q.id for q in questions]


def get_question(session: Session, question_id: uuid.UUID) -> Question:
    question = session.get(Question, question_id)
    if question is None:
        raise NotFound("question not found")
    return question


def update_question(session: Session, question_id: uuid.UUID, patch: dict[str, Any]) -> Question:
    """Apply a partial edit. Key edits always apply (and bump the version); type and
    options edits are refused once a published exam uses the question."""
    question = get_question(session, question_id)
    current = definition_of(question)
    if "type" in patch and patch["type"] != question.type:
        base = {k: current[k] for k in TYPE_NEUTRAL_FIELDS}
    else:
        base = current
    clean = normalize_definition({**base, **patch})
    structure_changed = clean["type"] != question.type or clean["options"] != question.options
    if structure_changed and _used_by_published_exam(session, question_id, current["tags"]):
        raise Conflict("a published exam uses this question: its type and options are fixed")
    dropped = set(current["tags"]) - set(clean["tags"])
    if dropped and _published_pools_on(session, dropped):
        # Students may have drawn it: it must stay in the pool they drew it from.
        raise Conflict("a published exam draws questions from this tag: it cannot be removed")
    key_changed = any(clean[field] != current[field] for field in KEY_FIELDS)
    for field, value in clean.items():
        if field != "tags":
            setattr(question, field, value)
    _set_tags(question, clean["tags"])
    if key_changed:
        question.version += 1
        session.add(question.snapshot_key())
    question.updated_at = utcnow()
    _touch_exams_using(session, question_id, question.updated_at)
    pools.touch_exams_drawing(
        session, set(current["tags"]) | set(clean["tags"]), question.updated_at
    )
    session.flush()
    return question


def delete_question(session: Session, question_id: uuid.UUID) -> None:
    question = get_question(session, question_id)
    in_use = session.scalar(select(exists().where(ExamQuestion.question_id == question_id)))
    if in_use:
        raise Conflict("an exam uses this question; remove it from the exam first")
    tags = set(question.tags)
    if tags and session.scalar(select(pools.exams_drawing_from(tags).exists())):
        if _published_pools_on(session, tags):
            raise Conflict("a published exam draws questions from this question's tags")
        if session.scalar(select(exists().where(Answer.question_id == question_id))):
            raise Conflict("students were given this question from a pool")
        pools.touch_exams_drawing(session, tags, utcnow())
    session.delete(question)
    session.flush()


def search_questions(
    session: Session,
    *,
    type: str | None = None,
    tag: str | None = None,
    q: str | None = None,
    offset: int = 0,
    limit: int | None = 50,
) -> tuple[list[Question], int]:
    """One page of questions (all if `limit` is None), newest first, and the total count."""
    query = select(Question)
    if type:
        query = query.where(Question.type == type)
    if tag:
        query = query.where(
            exists().where(QuestionTag.question_id == Question.id, QuestionTag.tag == tag)
        )
    if q:
        query = query.where(Question.prompt.ilike(contains_pattern(q), escape="\\"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    query = query.order_by(Question.created_at.desc(), Question.id).offset(offset)
    page = session.scalars(query.limit(limit) if limit is not None else query).all()
    return list(page), total


def _used_by_published_exam(session: Session, question_id: uuid.UUID, tags: list[str]) -> bool:
    """A published exam holds it, or has a pool that may draw it."""
    held = session.scalar(
        select(
            exists().where(
                ExamQuestion.question_id == question_id,
                ExamQuestion.exam_id == Exam.id,
                Exam.status == ExamStatus.PUBLISHED,
            )
        )
    )
    return bool(held) or (bool(tags) and _published_pools_on(session, set(tags)))


def _published_pools_on(session: Session, tags: set[str]) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    ExamPool.tag.in_(tags),
                    ExamPool.exam_id == Exam.id,
                    Exam.status == ExamStatus.PUBLISHED,
                )
            )
        )
    )


def _touch_exams_using(session: Session, question_id: uuid.UUID, now: datetime) -> None:
    """Exams showing this question change too: their cached payload is keyed on updated_at."""
    session.execute(
        update(Exam)
        .where(
            Exam.id.in_(select(ExamQuestion.exam_id).where(ExamQuestion.question_id == question_id))
        )
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )


def _set_tags(question: Question, tags: list[str]) -> None:
    # Reuse rows for kept tags: deleting and re-inserting the same key in one flush fails.
    existing = {row.tag: row for row in question.tag_rows}
    rows = []
    for position, tag in enumerate(tags):
        row = existing.get(tag) or QuestionTag(tag=tag)
        row.position = position
        rows.append(row)
    question.tag_rows = rows
