"""A small JSON cache: Redis in server mode, process memory in embedded mode.

A cache is an optimisation only: every failure is logged and treated as a miss, so a Redis
outage slows requests down but never fails them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

import redis

from shared.config import Settings

log = logging.getLogger(__name__)


class Cache(Protocol):
    def get(self, key: str) -> Any | None: ...

    def set(self, key: str, value: Any, ttl: int) -> None: ...


class MemoryCache:
    """Per-process LRU with expiry (embedded mode: a few gunicorn workers on one machine)."""

    def __init__(self, max_items: int = 256) -> None:
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_items = max_items

    def get(self, key: str) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] < time.monotonic():
                self._items.pop(key, None)
                return None
            self._items.move_to_end(key)
            return json.loads(item[1])

    def set(self, key: str, value: Any, ttl: int) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + ttl, json.dumps(value))
            self._items.move_to_end(key)
            while len(self._items) > self._max_items:
                self._items.popitem(last=False)


class RedisCache:
    """Shared by every API process, so the payload is built once per exam, not per process."""

    def __init__(self, url: str, prefix: str = "exam:") -> None:
        # Short timeouts: a slow cache must cost milliseconds, not the request.
        self._client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._prefix = prefix

    def get(self, key: str) -> Any | None:
        try:
            raw = self._client.get(self._prefix + key)
        except redis.RedisError as exc:
            log.warning("cache get failed: %s", exc)
            return None
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, ttl: int) -> None:
        try:
            self._client.set(self._prefix + key, json.dumps(value), ex=ttl)
        except redis.RedisError as exc:
            log.warning("cache set failed: %s", exc)


class TwoLevelCache:
    """Process memory in front of Redis: a hot key costs no round trip at all. Only for keys
    whose value never changes (the key itself changes with the data, as with the exam
    payload keyed on the exam's updated_at), so the local copy can't go stale."""

    def __init__(self, near: Cache, far: Cache, near_ttl: int = 60) -> None:
        self.near, self.far, self.near_ttl = near, far, near_ttl

    def get(self, key: str) -> Any | None:
        value = self.near.get(key)
        if value is None:
            value = self.far.get(key)
            if value is not None:
                self.near.set(key, value, self.near_ttl)
        return value

    def set(self, key: str, value: Any, ttl: int) -> None:
        self.near.set(key, value, min(ttl, self.near_ttl))
        self.far.set(key, value, ttl)


def create_cache(settings: Settings) -> Cache:
    url = settings.cache_url
    if not url:
        return MemoryCache()
    prefix = f"{settings.redis_prefix('cache')}exam:"
    return TwoLevelCache(MemoryCache(), RedisCache(url, prefix=prefix))


def shared_level(cache: Cache) -> Cache:
    """The level every process shares (Redis in server mode), for values that change under
    the same key: a TwoLevelCache's near copy of one would outlive its ttl."""
    return cache.far if isinstance(cache, TwoLevelCache) else cache


def get_or_build(cache: Cache, key: str, build: Callable[[], Any], ttl: int) -> Any:
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, ttl)
    return value
