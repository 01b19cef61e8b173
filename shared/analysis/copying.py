"""Answer-copying index: pairs of graded attempts sharing improbably many identical wrong
answers to choice questions.

For a pair, take the choice questions both answered wrongly (n) and count those where the
wrong answers are identical (x). If the two worked independently, on question q they pick
the same wrong answer with chance m_q = sum over wrong answers d of (share of q's wrong
answerers who chose d)^2; x then follows a Poisson binomial with those chances, and p is
the chance of x or more identical wrong answers. Among N attempts N(N-1)/2 pairs are
compared, so the pair is flagged when p * pairs <= SIMILAR_ALPHA (Bonferroni): in an exam
of honest students, a flag anywhere has at most that chance.
"""

from __future__ import annotations

import json
import math
import uuid
from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.analysis import rows
from shared.analysis import statistics as st
from shared.analysis.flag import Flag
from shared.models import Answer, Attempt, AttemptStatus, Question

CHOICE_TYPES = ("single_choice", "multiple_choice", "true_false")
SIMILAR_ALPHA = 0.01  # family-wise chance of a false flag in an exam of honest students
SIMILAR_MIN_IDENTICAL = 3  # fewer identical wrong answers are never evidence enough

Wrong = dict[str, dict[str, str]]  # attempt id -> question id -> its wrong answer (texts)


def similar_answers(session: Session, exam_id: uuid.UUID) -> list[Flag]:
    """A flag on each attempt of every improbably similar pair, naming the other one."""
    wrong, attempts = _wrong_answers(session, exam_id)
    pairs = len(attempts) * (len(attempts) - 1) // 2
    if pairs == 0:
        return []
    chance = _match_chances(wrong)
    needed = _fewest_identical(chance.values(), SIMILAR_ALPHA / pairs)
    flags = []
    for a, b in _candidates(wrong, needed):
        both = wrong[a].keys() & wrong[b].keys()
        identical = sum(1 for q in both if wrong[a][q] == wrong[b][q])
        if identical < needed:
            continue
        chances = [chance[q] for q in both]
        p = st.tail_at_least(chances, identical)
        if p * pairs > SIMILAR_ALPHA:
            continue
        flags += _pair_flags(a, b, identical, len(both), sum(chances), p, pairs)
    return flags


def _fewest_identical(chances: Any, limit: float) -> int:
    """The fewest identical wrong answers that could give p <= limit: x of them all
    matching has chance at least min(chances)^x, and p is at least that. Pairs with fewer
    are never evidence, so they need not be looked at (SIMILAR_MIN_IDENTICAL at least)."""
    lowest = min(chances, default=1.0)
    if lowest >= 1.0:
        return 10**9  # every wrong answer the same: agreeing on it proves nothing
    if lowest <= 0.0:
        return SIMILAR_MIN_IDENTICAL
    return max(SIMILAR_MIN_IDENTICAL, math.ceil(math.log(limit) / math.log(lowest) - 1e-9))


def _wrong_answers(session: Session, exam_id: uuid.UUID) -> tuple[Wrong, set[str]]:
    """Each graded attempt's wrong answers to choice questions (a canonical text each);
    attempts and questions by the text of their ids."""
    graded = [Attempt.exam_id == exam_id, Attempt.status == AttemptStatus.GRADED]
    attempts = set(session.scalars(select(rows.as_text(Attempt.id)).where(*graded)))
    found = session.connection().execute(  # Core rows: the ORM's row handling is wasted here
        select(
            rows.as_text(Answer.attempt_id),
            rows.as_text(Answer.question_id),
            rows.as_text(Answer.response),
        )
        .join(Attempt, Attempt.id == Answer.attempt_id)
        .join(Question, Question.id == Answer.question_id)
        .where(*graded, Question.type.in_(CHOICE_TYPES), Answer.is_correct.is_(False))
    )
    canonical = rows.Memo(_canonical)
    wrong: Wrong = {}
    for attempt_id, question_id, response in found:
        answer = canonical(response)
        if answer is not None:  # JSON null (cleared, unanswered) is an omission
            wrong.setdefault(attempt_id, {})[question_id] = answer
    return wrong, attempts


def _canonical(raw: str) -> str | None:
    """One text per answer: a multiple-choice answer is the set of options chosen."""
    value = json.loads(raw)
    if value is None:
        return None
    return json.dumps(sorted(value) if isinstance(value, list) else value)


def _match_chances(wrong: Wrong) -> dict[str, float]:
    """Per question, the chance two independent wrong answerers give the same wrong answer."""
    counts: dict[str, Counter[str]] = {}
    for answers in wrong.values():
        for question_id, answer in answers.items():
            counts.setdefault(question_id, Counter())[answer] += 1
    chances = {}
    for question_id, chosen in counts.items():
        total = sum(chosen.values())
        chances[question_id] = sum((c / total) ** 2 for c in chosen.values())
    return chances


def _candidates(wrong: Wrong, needed: int) -> set[tuple[str, str]]:
    """Pairs that may share `needed` identical wrong answers (a prefix filter, exact):
    with each attempt's answers ordered rarest first, two attempts sharing `needed` of them
    share one among the first len - needed + 1 of each. Only those prefixes are indexed,
    so popular wrong answers, which most pairs share, rarely make a pair worth checking."""
    frequency: Counter[tuple[str, str]] = Counter(
        token for answers in wrong.values() for token in answers.items()
    )
    index: dict[tuple[str, str], list[str]] = {}
    found: set[tuple[str, str]] = set()
    for attempt_id in sorted(wrong):
        tokens = sorted(wrong[attempt_id].items(), key=lambda t: (frequency[t], t[0], t[1]))
        if len(tokens) < needed:
            continue
        for token in tokens[: len(tokens) - needed + 1]:
            for other in index.setdefault(token, []):
                found.add((other, attempt_id))
            index[token].append(attempt_id)
    return found


def _pair_flags(
    a: str, b: str, identical: int, both: int, expected: float, p: float, pairs: int
) -> list[Flag]:
    score = round(-math.log10(max(p, 1e-300)), 2)
    flags = []
    a_id, b_id = uuid.UUID(a), uuid.UUID(b)
    for mine, other in ((a_id, b_id), (b_id, a_id)):
        detail = (
            f"{identical} of the {both} questions both got wrong have the same wrong answer as "
            f"attempt {other}; expected {expected:.1f} by chance; p = {p:.2g} "
            f"({pairs} pairs of attempts compared)."
        )
        flags.append(Flag(mine, "similar_answers", detail, score, related_attempt_id=other))
    return flags
