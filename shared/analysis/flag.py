"""One review flag: an attempt, what kind of evidence, in words, and a number to sort by."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Flag:
    attempt_id: uuid.UUID
    kind: str
    detail: str
    score: float
    related_attempt_id: uuid.UUID | None = None  # the other attempt of a similar pair
