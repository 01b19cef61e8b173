"""Question pools: exam entries `{tag, count, points?}` that draw `count` distinct questions
carrying `tag` for each attempt when it starts.

The draw is made once, at start, from the candidate lists of the exam's cached payload (no
query per start), with a seed stored on the attempt; the drawn ids and their points are
stored too (`Attempt.drawn`), so resume, grading, regrade, results and exports read the
same questions whatever the bank looks like later. A question is never drawn twice in one
attempt: pools draw fewest candidates first, each from what the fixed entries and the pools
before it left, and their draws then take the pools' places in the exam order.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.errors import Conflict, InvalidInput
from shared.models import Exam, ExamPool, Question, QuestionTag

_seeds = random.SystemRandom()


@dataclass(frozen=True)
class Draw:
    """One attempt's questions in exam order, and what it drew from pools."""

    order: list[str]
    drawn: dict[str, dict[str, Any]]
    seed: int | None


def new_seed() -> int:
    return _seeds.getrandbits(63)  # fits a signed BIGINT


def draw(entries: list[dict[str, Any]], seed: int) -> Draw:
    """The exam order with each pool replaced by its draw. `entries` as in the payload:
    `{"question_id"}` or `{"pool": {position, count, points, candidates}}`; pure."""
    rng = random.Random(seed)
    taken = {e["question_id"] for e in entries if "question_id" in e}
    picks: dict[int, list[str]] = {}
    for pool in draw_order([e["pool"] for e in entries if "pool" in e]):
        left = [qid for qid in pool["candidates"] if qid not in taken]
        # Too few only if the bank changed under a published exam (publish and question
        # edits refuse it): the attempt gets what there is, its max_score says so.
        picks[pool["position"]] = rng.sample(left, min(pool["count"], len(left)))
        taken.update(picks[pool["position"]])
    order: list[str] = []
    drawn: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if "question_id" in entry:
            order.append(entry["question_id"])
            continue
        pool = entry["pool"]
        order.extend(picks[pool["position"]])
        for qid in picks[pool["position"]]:
            drawn[qid] = {"entry": pool["position"], "points": pool["points"]}
    return Draw(order=order, drawn=drawn, seed=seed if picks else None)


def draw_order(pools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pools draw the fewest candidates first, so that overlapping pools (questions with
    both tags) leave each other enough; `ensure_drawable` checks in the same order."""
    return sorted(pools, key=lambda pool: (len(pool["candidates"]), pool["position"]))


def drawn_points(attempt: Any, qid: str) -> Decimal | None:
    """The pool's points for a question the attempt drew; None: the usual points apply
    (the fixed entry's, or a drawn question's own)."""
    return drawn_points_of(attempt.drawn, qid)


def drawn_points_of(drawn: dict[str, dict[str, Any]] | None, qid: str) -> Decimal | None:
    points = ((drawn or {}).get(qid) or {}).get("points")
    return None if points is None else Decimal(points)


def candidates(session: Session, exam: Exam) -> dict[int, list[Question]]:
    """Each pool's candidates now (by position), sorted by id so a seed reproduces a draw."""
    pools = list(exam.pools)
    if not pools:
        return {}
    fixed = {item.question_id for item in exam.items}
    rows = session.execute(
        select(QuestionTag.tag, Question)
        .join(Question, Question.id == QuestionTag.question_id)
        .where(QuestionTag.tag.in_({p.tag for p in pools}))
    ).all()
    by_tag: dict[str, list[Question]] = {}
    for tag, question in rows:
        if question.id not in fixed:
            by_tag.setdefault(tag, []).append(question)
    return {p.position: sorted(by_tag.get(p.tag, []), key=lambda q: str(q.id)) for p in pools}


def check_new_pools(session: Session, items: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Field errors for pools of a question list whose tag no question carries."""
    tags = {item["pool"]["tag"] for item in items if "pool" in item}
    known = set(session.scalars(select(QuestionTag.tag).where(QuestionTag.tag.in_(tags))))
    problems: list[str] = []
    for index, item in enumerate(items, start=1):
        if "pool" in item and item["pool"]["tag"] not in known:
            problems.append(f"item {index}: no question carries the tag {item['pool']['tag']!r}")
    return {"questions": problems} if problems else {}


def ensure_drawable(session: Session, exam: Exam) -> None:
    """Conflict unless every pool can always draw its count. In the draw's order, a pool
    counts only what the pools before it can't take from it, at worst."""
    found = candidates(session, exam)
    by_position = {pool.position: pool for pool in exam.pools}
    order = draw_order(
        [{"position": p, "candidates": found.get(p, [])} for p in sorted(by_position)]
    )
    earlier: list[tuple[int, set[uuid.UUID]]] = []
    for entry in order:
        pool = by_position[entry["position"]]
        mine = {q.id for q in entry["candidates"]}
        have = len(mine) - sum(min(count, len(mine & theirs)) for count, theirs in earlier)
        if have < pool.count:
            have = max(have, 0)
            raise Conflict(
                f"the pool at position {pool.position} (tag {pool.tag!r}) has {have} "
                f"question{'' if have == 1 else 's'} to draw {pool.count} from",
                pool={"position": pool.position, "tag": pool.tag},
            )
        earlier.append((pool.count, mine))


def check_total(items: list[dict[str, Any]], limit: int) -> None:
    total = sum(item["pool"]["count"] if "pool" in item else 1 for item in items)
    if total > limit:
        raise InvalidInput(
            "too many questions", {"questions": [f"at most {limit} questions per attempt"]}
        )


def exams_drawing_from(tags: set[str]) -> Any:
    """The ids of exams with a pool on one of `tags`, as a subquery."""
    return select(ExamPool.exam_id).where(ExamPool.tag.in_(tags))


def touch_exams_drawing(session: Session, tags: set[str], now: datetime) -> None:
    """A question that gains, keeps or loses one of these tags changes what those exams'
    pools draw from: their cached payload and keys are keyed on updated_at."""
    if tags:
        session.execute(
            update(Exam)
            .where(Exam.id.in_(exams_drawing_from(tags)))
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )


def entries(exam: Exam) -> list[dict[str, Any]]:
    """The exam's entries in order, fixed questions and pools, as GET /questions shows them."""
    rows: list[dict[str, Any]] = [
        {
            "position": item.position,
            "question_id": item.question_id,
            "effective_points": item.effective_points,
            "points": item.points,
            "question": item.question,
            "pool": None,
        }
        for item in exam.items
    ]
    rows += [
        {
            "position": pool.position,
            "question_id": None,
            "effective_points": pool.max_points,
            "points": pool.points,
            "question": None,
            "pool": pool,
        }
        for pool in exam.pools
    ]
    return sorted(rows, key=lambda row: row["position"])
