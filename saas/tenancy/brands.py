"""Brand look-up by slug or host, cached briefly so every request does not hit the platform."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from saas.platform.models import Brand, BrandDomain, BrandStatus

# Seconds a looked-up brand is reused; suspension reaches every process within this delay.
DIRECTORY_TTL = 5.0


@dataclass(frozen=True)
class BrandInfo:
    """The brand facts a request or job needs, safe to share between threads."""

    id: int
    slug: str
    name: str
    home_region: str
    default_locale: str
    locales: tuple[str, ...]
    base_currency: str
    timezone: str
    status: str
    domains: tuple[str, ...]

    @property
    def is_suspended(self) -> bool:
        return self.status == BrandStatus.SUSPENDED

    @classmethod
    def from_row(cls, brand: Brand) -> BrandInfo:
        return cls(
            id=brand.id,
            slug=brand.slug,
            name=brand.name,
            home_region=brand.home_region,
            default_locale=brand.default_locale,
            locales=tuple(brand.locales),
            base_currency=brand.base_currency,
            timezone=brand.timezone,
            status=str(brand.status),
            domains=tuple(domain.host for domain in brand.domains),
        )


class BrandDirectory:
    def __init__(self, platform_engine: Engine, ttl: float = DIRECTORY_TTL) -> None:
        self.platform_engine = platform_engine
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, BrandInfo | None]] = {}
        self._lock = threading.Lock()

    def by_slug(self, slug: str) -> BrandInfo | None:
        return self._cached(("slug", slug), lambda: self._load(Brand.slug == slug))

    def by_domain(self, host: str) -> BrandInfo | None:
        host = host.lower()
        subquery = select(BrandDomain.brand_id).where(BrandDomain.host == host)
        return self._cached(("host", host), lambda: self._load(Brand.id.in_(subquery)))

    def all(self) -> list[BrandInfo]:
        with Session(self.platform_engine) as session:
            query = select(Brand).options(selectinload(Brand.domains)).order_by(Brand.slug)
            return [BrandInfo.from_row(brand) for brand in session.scalars(query)]

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def _cached(self, key: tuple[str, str], load) -> BrandInfo | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        info = load()
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now, info)
        return info

    def _load(self, condition) -> BrandInfo | None:
        with Session(self.platform_engine) as session:
            query = select(Brand).options(selectinload(Brand.domains)).where(condition)
            brand = session.scalars(query).one_or_none()
            return BrandInfo.from_row(brand) if brand else None
