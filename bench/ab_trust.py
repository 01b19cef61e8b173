"""A/B levers of issue 19 for bench/ab.py: what the audit chain and the receipt digest add to
a submission (one student's, and a deadline sweep's batch). Saves are not measured: the
autosave writes no chained event, so it runs exactly the statement it ran before."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from bench.data import Data
from shared.cache import MemoryCache
from shared.models import Attempt, utcnow
from shared.services import attempts as attempt_service
from shared.services import expiry
from shared.trust import chain

SWEEP = 100


@contextmanager
def chain_off() -> Iterator[None]:
    """Before issue 19: events written without hashes, submissions without a digest."""
    event.remove(Session, "before_flush", chain._chain_added)
    event.remove(Session, "do_orm_execute", chain._chain_inserted)
    try:
        yield
    finally:
        event.listen(Session, "before_flush", chain._chain_added)
        event.listen(Session, "do_orm_execute", chain._chain_inserted)


def without_chain(operation: Callable[[Session], Any]) -> Callable[[Session], Any]:
    def run(session: Session) -> Any:
        with chain_off():
            return operation(session)

    return run


def levers(data: Data) -> list[dict[str, Any]]:
    """The submit and the sweep, each without and with the chain (rolled back each time)."""
    exam_id, exam_questions = data.exam(question_count=20)
    one = data.attempts(exam_id, data.users(1), exam_questions, answered=True)[0]
    many = data.attempts(exam_id, data.users(SWEEP), exam_questions, answered=True)
    cache = MemoryCache()

    def submit(session: Session) -> Any:
        attempt = session.get(Attempt, one, populate_existing=True)
        return attempt_service.submit(session, cache, attempt, None, utcnow())

    def sweep(session: Session) -> Any:
        later = utcnow() + timedelta(days=1)
        return expiry.submit_overdue(session, many, later, by="sweep")

    return [
        {
            "lever": "a submission's chained event and receipt digest (issue 19)",
            "where": "every submit (20 answered questions)",
            "variants": {"no chain, no digest": without_chain(submit), "chained, now": submit},
        },
        {
            "lever": f"chained events and digests of a sweep of {SWEEP} attempts (issue 19)",
            "where": "the deadline: beat's expiry sweep",
            "variants": {"no chain, no digest": without_chain(sweep), "chained, now": sweep},
        },
    ]
