"""A/B lever of the database driver for bench/ab.py: psycopg2 (what the API uses) against
psycopg 3 (binary, SQLAlchemy's `postgresql+psycopg`; a statement run five times on a
connection is prepared on the server, psycopg's default). The same three hot statements
on each: the revocation check of every authenticated request, the status poll's read and
an autosave's upsert of one answer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from shared.people import sessions as token_sessions
from shared.services import attempt_views
from shared.services import attempts as attempt_service


def psycopg3_engine(url: str) -> Engine:
    return create_engine(make_url(url).set(drivername="postgresql+psycopg"))


def levers(
    url: str,
    *,
    attempt_id: uuid.UUID,
    student_id: uuid.UUID,
    one_answer: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """The levers; their psycopg 3 engine lives as long as the A/B's process."""
    engine = psycopg3_engine(url)

    def status(session: Session) -> Any:
        return attempt_views.status_row(session, attempt_id, user_id=student_id, is_admin=False)

    operations: dict[str, Callable[[Session], Any]] = {
        "revocation check": lambda session: token_sessions.is_valid(session, "x", uuid.uuid4()),
        "status read": status,
        "autosave upsert (one answer)": lambda session: attempt_service._upsert(
            session, one_answer
        ),
    }
    levers = [
        {
            "lever": f"driver psycopg 3 instead of psycopg2: {name}",
            "where": "every request of its kind on the hot path",
            "variants": {"psycopg2, now": op, "psycopg 3 (prepared after 5 uses)": op},
            "engines": {"psycopg 3 (prepared after 5 uses)": engine},
        }
        for name, op in operations.items()
    ]
    return levers
