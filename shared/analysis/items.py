"""Item analysis of an exam over its graded attempts: facility, discrimination, corrected
point-biserial and option counts per question; mean, median, spread and Cronbach's alpha of
the totals. Two bulk queries (attempts, answers) and one pass over their rows."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, case, cast, func, null, select
from sqlalchemy.orm import Session

from shared.analysis import rows
from shared.analysis import statistics as st
from shared.models import Answer, Attempt, AttemptStatus, ExamQuestion, Question
from shared.services import exams, grading
from shared.services.pools import drawn_points_of

CHOICE_TYPES = ("single_choice", "multiple_choice", "true_false")
TF = ("true", "false")  # a true/false question's two "options"
HISTOGRAM_BINS = 10  # of the percentage score: 0-10 %, ..., 90-100 %


@dataclass
class _Item:
    """What the pass collects for one question, over the graded attempts that got it."""

    fractions: list[float] = field(default_factory=list)
    points: list[float] = field(default_factory=list)
    totals: list[float] = field(default_factory=list)
    chosen: Counter[str] = field(default_factory=Counter)
    possible: float = 0.0
    omitted: int = 0
    pending: int = 0
    position: int = 10**9  # exam order; a drawn question takes its pool's


def item_analysis(session: Session, exam_id: uuid.UUID) -> dict[str, Any]:
    """The analysis of the exam's graded attempts (an empty one when there are none)."""
    exams.get_exam(session, exam_id)  # NotFound for an unknown exam
    attempts = _graded_attempts(session, exam_id)
    totals = {row.id: float(row.score or 0) for row in attempts}
    keys = grading.exam_keys(session, exam_id, drawn=True)
    positions = _fixed_positions(session, exam_id)
    drawn = {row.id: row.drawn for row in attempts}
    items: dict[str, _Item] = {}
    scores: Scores = {row.id: {} for row in attempts}
    questions_seen: dict[str, tuple[str, str, _Item, float] | None] = {}
    responses = rows.json_text()
    for attempt_id, raw_qid, response, omitted, points, pending in _graded_answers(
        session, exam_id
    ):
        if raw_qid not in questions_seen:  # once per question: its id, type, tallies, points
            questions_seen[raw_qid] = _question(raw_qid, keys, items, positions)
        seen = questions_seen[raw_qid]
        if seen is None or attempt_id not in totals:
            continue
        qid, kind, item, possible = seen
        mine = drawn[attempt_id]
        if mine and qid in mine:  # drawn from a pool: the pool's points and place
            possible = float(drawn_points_of(mine, qid) or possible)
            item.position = min(item.position, int(mine[qid]["entry"]))
        answer = (responses(response), omitted, points, pending)
        _collect(item, kind, answer, possible, totals[attempt_id])
        scores[attempt_id][qid] = None if pending else points
    questions = _describe(session, items, keys)
    return {**_summary(attempts, scores), "questions": questions}


def _graded_attempts(session: Session, exam_id: uuid.UUID) -> list[Any]:
    """Graded attempts, ids as text (they only join the answers to their attempt)."""
    return list(
        session.execute(
            select(rows.as_text(Attempt.id).label("id"), Attempt.score, Attempt.max_score,
                   Attempt.drawn)
            .where(Attempt.exam_id == exam_id, Attempt.status == AttemptStatus.GRADED)
            .order_by(Attempt.submitted_at, Attempt.id)  # ties in a group go by submission
        )
    )  # fmt: skip


def _graded_answers(session: Session, exam_id: uuid.UUID) -> Any:
    """Their answers, in the same order. Only a choice question's response is read (for
    option counts): an essay may be 20,000 characters, and whether it was left empty is
    all the analysis needs."""
    choice = Question.type.in_(CHOICE_TYPES)
    query = (
        select(
            rows.as_text(Answer.attempt_id).label("attempt_id"),
            rows.as_text(Answer.question_id).label("question_id"),
            case((choice, rows.as_text(Answer.response)), else_=null()).label("response"),
            (func.coalesce(rows.as_text(Answer.response), "null") == "null").label("omitted"),
            func.coalesce(cast(Answer.points_awarded, Float), 0.0).label("points"),
            Answer.needs_manual,
        )
        .join(Attempt, Attempt.id == Answer.attempt_id)
        .join(Question, Question.id == Answer.question_id)
        .where(Attempt.exam_id == exam_id, Attempt.status == AttemptStatus.GRADED)
        .order_by(Attempt.submitted_at, Attempt.id)
    )
    # Core rows straight from the connection: the ORM's row handling is wasted on columns.
    return session.connection().execute(query.execution_options(yield_per=5000))


def _fixed_positions(session: Session, exam_id: uuid.UUID) -> dict[str, int]:
    found = session.execute(
        select(ExamQuestion.question_id, ExamQuestion.position).where(
            ExamQuestion.exam_id == exam_id
        )
    )
    return {str(qid): position for qid, position in found}


def _question(
    raw_qid: str, keys: dict[str, dict[str, Any]], items: dict[str, _Item], positions: Any
) -> tuple[str, str, _Item, float] | None:
    """A question's id, type, tallies and usual points (None: not one of the exam's)."""
    qid = str(uuid.UUID(raw_qid))
    key = keys.get(qid)
    if key is None:
        return None
    item = items[qid] = _Item(position=positions.get(qid, 10**9))
    return qid, key["type"], item, float(key["points"])


def _collect(
    item: _Item, kind: str, answer: tuple[Any, ...], possible: float, total: float
) -> None:
    """Add one attempt's answer (response, omitted, points, pending) to its question's tallies."""
    response, omitted, points, pending = answer
    item.possible = max(item.possible, possible)
    if omitted:
        item.omitted += 1
    else:
        _count_choice(item, kind, response)
    if pending:  # an essay waiting for a human: no score to analyse yet
        item.pending += 1
        return
    item.points.append(points)
    item.fractions.append(points / possible if possible else 0.0)
    item.totals.append(total)


def _count_choice(item: _Item, kind: str, response: Any) -> None:
    if kind == "single_choice":
        item.chosen[str(response)] += 1
    elif kind == "multiple_choice" and isinstance(response, list):
        item.chosen.update(str(choice) for choice in set(response))
    elif kind == "true_false":
        item.chosen["true" if response is True else "false"] += 1


def _describe(
    session: Session, items: dict[str, _Item], keys: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """A question's statistics, in exam order (a pool's draws at its place, by prompt)."""
    found = session.execute(
        select(Question.id, Question.prompt, Question.options).where(
            Question.id.in_([uuid.UUID(qid) for qid in items])
        )
    )
    bank = {str(qid): (prompt, options) for qid, prompt, options in found}
    described = []
    for qid, item in items.items():
        prompt, options = bank.get(qid, ("", None))
        key = keys[qid]
        corrected = [t - p for t, p in zip(item.totals, item.points, strict=True)]
        described.append({
            "question_id": qid, "type": key["type"], "prompt": prompt,
            "position": item.position, "max_points": item.possible,
            "attempts": len(item.points) + item.pending, "pending": item.pending,
            "omitted": item.omitted, "mean_points": st.rounded(st.mean(item.points)),
            "facility": st.rounded(st.mean(item.fractions)),
            "discrimination": st.rounded(st.discrimination(item.fractions, item.totals)),
            "point_biserial": st.rounded(st.correlation(item.points, corrected)),
            "options": _options(key, options, item.chosen),
        })  # fmt: skip
    described.sort(key=lambda q: (q["position"], q["prompt"], q["question_id"]))
    return described


def _options(key: dict[str, Any], options: Any, chosen: Counter[str]) -> list[dict[str, Any]]:
    """How often each option was chosen, the key marked; none for other question types."""
    kind, answer = key["type"], key["correct_answer"]
    if kind == "true_false":
        return [_option(label, label, answer is (label == "true"), chosen) for label in TF]
    if kind not in CHOICE_TYPES:
        return []
    right = set(answer if isinstance(answer, list) else [answer])
    return [_option(o["id"], o.get("text", ""), o["id"] in right, chosen) for o in options or []]


def _option(option_id: str, text: str, correct: bool, chosen: Counter[str]) -> dict[str, Any]:
    return {"id": option_id, "text": text, "correct": correct, "chosen": chosen[option_id]}


Scores = dict[str, dict[str, float | None]]  # attempt -> question -> points (None: pending)


def _summary(attempts: list[Any], scores: Scores) -> dict[str, Any]:
    """Totals' mean, median, spread, histogram and reliability."""
    totals = [float(row.score or 0) for row in attempts]
    alpha, k = _reliability(scores)
    return {
        "attempts": len(attempts),
        "mean": st.rounded(st.mean(totals)),
        "median": st.rounded(st.median(totals)),
        "stdev": st.rounded(st.stdev(totals)),
        "reliability": st.rounded(alpha),
        "reliability_items": k,
        "histogram": _histogram(attempts),
    }


def _reliability(scores: Scores) -> tuple[float | None, int]:
    """Cronbach's alpha over the questions every graded attempt held (with pools, the fixed
    ones), on the attempts with none of them pending; and how many questions that is."""
    if not scores:
        return None, 0
    common = set.intersection(*(set(held) for held in scores.values()))
    columns = sorted(common)
    matrix = [
        [held[qid] for qid in columns]
        for held in scores.values()
        if all(held[qid] is not None for qid in columns)
    ]
    return st.cronbach_alpha(matrix), len(columns)  # type: ignore[arg-type]


def _histogram(attempts: list[Any]) -> list[dict[str, Any]]:
    """Attempts per tenth of the percentage score (100 % falls in the last bin)."""
    counts = [0] * HISTOGRAM_BINS
    for row in attempts:  # in Decimal: 70 % of the points is exactly bin 7, never 6.99...
        tenth = int((row.score or 0) * HISTOGRAM_BINS / row.max_score) if row.max_score else 0
        counts[min(HISTOGRAM_BINS - 1, max(0, tenth))] += 1
    width = 100 // HISTOGRAM_BINS
    return [
        {"from_percent": i * width, "to_percent": (i + 1) * width, "count": count}
        for i, count in enumerate(counts)
    ]
