"""The process-wide objects every entry point shares: settings, engines, brands, Redis.

The web app, the CLI and the worker each build one ``Runtime`` from the deploy settings;
nothing here runs at import time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from saas.cache import BrandCache, MemoryStore
from saas.config import Settings, load_settings
from saas.db import make_engine
from saas.logging import bind_context
from saas.tenancy.brands import BrandDirectory, BrandInfo
from saas.tenancy.engines import EngineRegistry

log = logging.getLogger(__name__)


class BrandNotFound(LookupError):
    """No brand has this slug."""


class Runtime:
    def __init__(self, settings: Settings, application_name: str = "tessera") -> None:
        self.settings = settings
        self.application_name = application_name
        self.engines = EngineRegistry(settings.max_brand_engines, application_name)

    @cached_property
    def platform_engine(self) -> Engine:
        return make_engine(self.settings.database_url, application_name=self.application_name)

    @cached_property
    def directory(self) -> BrandDirectory:
        return BrandDirectory(self.platform_engine)

    @cached_property
    def redis(self) -> Redis | None:
        """The shared Redis client, or None in the embedded default."""
        if not self.settings.redis_url:
            return None
        return Redis.from_url(
            self.settings.redis_url, socket_connect_timeout=2, socket_timeout=5
        )

    @cached_property
    def memory_cache(self) -> MemoryStore:
        return MemoryStore()

    def cache(self, slug: str) -> BrandCache:
        return BrandCache(slug, self.redis, self.memory_cache)

    def platform_session(self) -> Session:
        return Session(self.platform_engine, expire_on_commit=False)

    def brand(self, slug: str) -> BrandInfo:
        info = self.directory.by_slug(slug)
        if info is None:
            raise BrandNotFound(f"no brand with slug {slug!r}; `tessera brands list` shows them")
        return info

    def brand_url(self, brand: BrandInfo) -> str:
        return self.settings.brand_database_url(brand.home_region, brand.slug)

    def brand_engine(self, brand: BrandInfo) -> Engine:
        return self.engines.get(self.brand_url(brand))

    def open_brand_session(self, brand: BrandInfo) -> Session:
        """Open a session on the brand's own database; the caller closes it."""
        session = Session(self.brand_engine(brand), expire_on_commit=False)
        session.info["brand"] = brand
        return session

    @contextmanager
    def brand_session(self, slug: str) -> Iterator[Session]:
        """Open a session on brand ``slug``'s database with the log context bound to it."""
        brand = self.brand(slug)
        with bind_context(brand=slug), self.open_brand_session(brand) as session:
            yield session

    def close(self) -> None:
        self.engines.dispose_all()
        if "platform_engine" in self.__dict__:
            self.platform_engine.dispose()


_process_runtime: Runtime | None = None
_process_lock = threading.Lock()


def process_runtime() -> Runtime:
    """Return this process's runtime, built from the environment on first use (workers)."""
    global _process_runtime
    with _process_lock:
        if _process_runtime is None:
            _process_runtime = Runtime(load_settings())
        return _process_runtime


def set_process_runtime(runtime: Runtime | None) -> None:
    global _process_runtime
    with _process_lock:
        _process_runtime = runtime
