"""A/B lever of an attempt's first save for bench/ab.py: its shape read and the save on one
autocommit connection (now) against the read in a transaction of its own, committed, then
a second checkout for the save (before). The pool pre-pings each checkout, as the API's
does; the save statement is stood in for by the shape read itself, so what differs is the
connection handling: a checkout with its ping, a COMMIT and the isolation-level switches."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from shared.services.fast_save import _SHAPE_READ

AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


def levers(attempt_id: uuid.UUID) -> list[dict[str, Any]]:
    params = {"attempt_id": attempt_id}

    def two_checkouts(session: Session) -> Any:
        own = Session(session.get_bind())
        own.connection().execute(_SHAPE_READ, params).first()
        own.commit()
        own.connection(execution_options=AUTOCOMMIT).execute(_SHAPE_READ, params).first()
        own.close()

    def one_connection(session: Session) -> Any:
        own = Session(session.get_bind())
        connection = own.connection(execution_options=AUTOCOMMIT)
        connection.execute(_SHAPE_READ, params).first()
        connection.execute(_SHAPE_READ, params).first()
        own.close()

    return [
        {
            "lever": "an attempt's first save on one autocommit connection",
            "where": "the first save of each attempt in each API process",
            "variants": {
                "shape read committed, second checkout for the save": two_checkouts,
                "one connection, now": one_connection,
            },
        }
    ]
