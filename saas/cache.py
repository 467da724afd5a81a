"""A small per-brand cache. Every key includes the brand, so brands never read each other's.

On Redis the keys are ``tessera:<slug>:cache:<key>``; without Redis a per-process dictionary
stands in. Cache failures are logged and treated as misses, because a cache must never
break a request.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class BrandCache:
    def __init__(self, slug: str, redis: Redis | None, memory: MemoryStore) -> None:
        if not slug:
            raise ValueError("a cache needs a brand slug")
        self.slug = slug
        self.redis = redis
        self.memory = memory
        self.prefix = f"tessera:{slug}:cache:"

    def get(self, key: str, default: Any = None) -> Any:
        if self.redis is None:
            return self.memory.get(self.prefix + key, default)
        try:
            raw = self.redis.get(self.prefix + key)
        except RedisError as exc:
            log.warning("cache read of %s failed: %s", key, exc)
            return default
        return default if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, ttl: int = 300) -> None:
        if self.redis is None:
            self.memory.set(self.prefix + key, value, ttl)
            return
        try:
            self.redis.set(self.prefix + key, json.dumps(value), ex=ttl)
        except RedisError as exc:
            log.warning("cache write of %s failed: %s", key, exc)

    def delete(self, key: str) -> None:
        if self.redis is None:
            self.memory.delete_prefix(self.prefix + key, exact=True)
            return
        try:
            self.redis.delete(self.prefix + key)
        except RedisError as exc:
            log.warning("cache delete of %s failed: %s", key, exc)

    def clear(self) -> None:
        """Remove this brand's entries and only those."""
        if self.redis is None:
            self.memory.delete_prefix(self.prefix)
            return
        try:
            batch = []
            for key in self.redis.scan_iter(match=self.prefix + "*", count=500):
                batch.append(key)
                if len(batch) >= 500:
                    self.redis.delete(*batch)
                    batch.clear()
            if batch:
                self.redis.delete(*batch)
        except RedisError as exc:
            log.warning("cache clear failed: %s", exc)


class MemoryStore:
    """The embedded stand-in for Redis: thread-safe, with expiry, bounded in size."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._data: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, default: Any) -> Any:
        with self._lock:
            hit = self._data.get(key)
            if hit is None or hit[0] < time.monotonic():
                self._data.pop(key, None)
                return default
            return hit[1]

    def set(self, key: str, value: Any, ttl: int) -> None:
        with self._lock:
            if len(self._data) >= self.max_entries:
                self._data.clear()
            self._data[key] = (time.monotonic() + ttl, value)

    def delete_prefix(self, prefix: str, *, exact: bool = False) -> None:
        with self._lock:
            if exact:
                doomed = [prefix] if prefix in self._data else []
            else:
                doomed = [key for key in self._data if key.startswith(prefix)]
            for key in doomed:
                del self._data[key]
