"""The per-attempt autosave allowance (`AUTOSAVES_PER_ATTEMPT`), in one Redis round trip.

flask-limiter's decorator with `deduct_when` costs a third of an autosave's CPU: its
per-request machinery and two round trips (test, then hit after the response). Here the
`limits` strategy flask-limiter itself uses is called directly, on the same storage: the
fast path counts first (one round trip) and gives the save back if it was not accepted
(refused, the database down), so only accepted saves count, as before. Only the attempt's
owner reaches it (the fast path knows the owner before it counts; the ordinary path counts
after a save was accepted), so a stranger can't spend someone's allowance. If Redis is
down the save goes through, as flask-limiter's RATELIMIT_SWALLOW_ERRORS does for every
other limit."""

from __future__ import annotations

import functools
import logging
import time
import uuid
from typing import Any

from flask_smorest import abort
from limits import RateLimitItem, parse

from web.extensions import limiter, settings

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=8)
def _item(spec: str) -> RateLimitItem:
    return parse(spec)


def _keys(attempt_id: uuid.UUID) -> tuple[str, str]:
    return (settings().REDIS_KEY_PREFIX + "autosave", str(attempt_id))


def take(attempt_id: uuid.UUID) -> None:
    """Count one save against the attempt's allowance; 429 `rate_limited` if it is spent."""
    if _ask("hit", attempt_id, "checked") is False:
        give_back(attempt_id)  # a refused save does not count either
        _refuse(attempt_id)


def give_back(attempt_id: uuid.UUID) -> None:
    """Undo `take` for a save that was not accepted (rare: an error path)."""
    _ask("hit", attempt_id, "given back", cost=-1)


def ensure_left(attempt_id: uuid.UUID) -> None:
    """429 if the allowance is spent, without counting (the ordinary path counts after)."""
    if _ask("test", attempt_id, "checked") is False:
        _refuse(attempt_id)


def count(attempt_id: uuid.UUID) -> None:
    _ask("hit", attempt_id, "counted")


def _ask(method: str, attempt_id: uuid.UUID, what: str, **kwargs: Any) -> bool | None:
    """The limits strategy's `hit` or `test` on this attempt's allowance; None if Redis
    failed (logged): the save goes through."""
    item = _item(settings().AUTOSAVES_PER_ATTEMPT)
    try:
        return bool(getattr(limiter.limiter, method)(item, *_keys(attempt_id), **kwargs))
    except Exception as exc:  # noqa: BLE001 - Redis down: never refuse a save for it
        log.warning("autosave allowance not %s: %s", what, exc.__class__.__name__)
        return None


def _refuse(attempt_id: uuid.UUID) -> None:
    item = _item(settings().AUTOSAVES_PER_ATTEMPT)
    try:
        reset = limiter.limiter.get_window_stats(item, *_keys(attempt_id)).reset_time
        wait = max(1, int(reset - time.time()))
    except Exception:  # noqa: BLE001
        wait = 1
    abort(
        429,
        message="too many saves for this attempt: retry after Retry-After",
        error="rate_limited",
        headers={"Retry-After": str(wait)},
    )
