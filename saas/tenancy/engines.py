"""A bounded, least-recently-used registry of brand engines.

Each brand database gets its own engine with a small pool. Only ``max_engines`` engines stay
open; the least recently used one is disposed when another is needed. A connection still in
use on a disposed engine is closed when it is returned. So a process keeps at most
``max_engines * (BRAND_POOL_SIZE + BRAND_MAX_OVERFLOW)`` brand connections, plus one for each
session that was still open on an engine when it was evicted.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from sqlalchemy import Engine, event

from saas.db import BRAND_MAX_OVERFLOW, BRAND_POOL_SIZE, make_engine

log = logging.getLogger(__name__)


class EngineRegistry:
    def __init__(self, max_engines: int, application_name: str = "tessera") -> None:
        if max_engines < 1:
            raise ValueError(f"max_engines must be at least 1, not {max_engines}")
        self.max_engines = max_engines
        self.application_name = application_name
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def max_connections(self) -> int:
        """Upper bound of brand connections this registry can hold open at once."""
        return self.max_engines * (BRAND_POOL_SIZE + BRAND_MAX_OVERFLOW)

    def get(self, url: str) -> Engine:
        """Return the engine for ``url``, creating it and evicting the oldest if needed."""
        with self._lock:
            engine = self._engines.get(url)
            if engine is not None:
                self._engines.move_to_end(url)
                return engine
            engine = make_engine(url, application_name=self.application_name, brand=True)
            _close_on_return_after_eviction(engine)
            self._engines[url] = engine
            evicted = []
            while len(self._engines) > self.max_engines:
                evicted.append(self._engines.popitem(last=False)[1])
        for old in evicted:
            log.debug("disposing brand engine %s", old.url.database)
            _evict(old)
        return engine

    def discard(self, url: str) -> None:
        """Dispose the engine of ``url`` if one is open, for example before dropping it."""
        with self._lock:
            engine = self._engines.pop(url, None)
        if engine is not None:
            _evict(engine)

    def dispose_all(self) -> None:
        with self._lock:
            engines = list(self._engines.values())
            self._engines.clear()
        for engine in engines:
            _evict(engine)

    def __len__(self) -> int:
        return len(self._engines)


def _evict(engine: Engine) -> None:
    engine.tessera_evicted = True
    engine.dispose()


def _close_on_return_after_eviction(engine: Engine) -> None:
    # A disposed pool keeps returned connections open until it is garbage collected.
    # Closing them on return keeps the connection count within the bound.
    @event.listens_for(engine.pool, "checkin")
    def _close_if_evicted(dbapi_connection, record) -> None:
        if getattr(engine, "tessera_evicted", False) and dbapi_connection is not None:
            record.invalidate()
