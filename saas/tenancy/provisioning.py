"""Create brands: validate, create the brand database in its home region, record the brand.

On PostgreSQL a brand database is cloned from a migrated template database on the region's
server (``CREATE DATABASE … TEMPLATE …``), which takes a fraction of a second however many
migrations exist. On SQLite each brand is a file in the region's folder.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from saas.db import make_engine, normalise_url
from saas.platform.models import Brand, BrandDomain, BrandStatus
from saas.runtime import Runtime
from saas.security import audit
from saas.tenancy import migrations
from saas.tenancy.brands import BrandInfo
from saas.tenancy.validation import (
    BrandValidationError,
    check_currency,
    check_host,
    check_locale,
    check_region,
    check_slug,
    check_timezone,
)

log = logging.getLogger(__name__)

TEMPLATE_SLUG = "_template"


@dataclass
class BrandSpec:
    slug: str
    name: str
    domains: list[str] = field(default_factory=list)
    region: str | None = None
    locale: str = "en"
    locales: list[str] = field(default_factory=list)
    currency: str = "USD"
    timezone: str = "UTC"


def validate_spec(runtime: Runtime, spec: BrandSpec) -> BrandSpec:
    """Return a normalised copy of ``spec`` or raise BrandValidationError naming the field."""
    settings = runtime.settings
    slug = check_slug(spec.slug)
    name = (spec.name or "").strip()
    if not name or len(name) > 200:
        raise BrandValidationError("name", f"invalid name {spec.name!r}: give 1-200 characters")
    locale = check_locale(spec.locale)
    locales = [check_locale(code) for code in spec.locales] or [locale]
    if locale not in locales:
        locales.insert(0, locale)
    domains = [check_host(host, settings.base_domain, slug) for host in spec.domains]
    return BrandSpec(
        slug=slug,
        name=name,
        domains=list(dict.fromkeys(domains)),
        region=check_region(spec.region or settings.default_region, settings.regions),
        locale=locale,
        locales=list(dict.fromkeys(locales)),
        currency=check_currency(spec.currency),
        timezone=check_timezone(spec.timezone),
    )


def create_brand(runtime: Runtime, spec: BrandSpec, *, actor: str = "system",
                 client_address: str | None = None) -> BrandInfo:
    """Validate ``spec``, provision the brand's database and record the brand.

    The platform row is committed only after the database exists, and the database is
    removed again if that commit fails, so a failure leaves neither half behind.
    """
    spec = validate_spec(runtime, spec)
    with runtime.platform_session() as session:
        _check_unique(session, spec)
        brand = Brand(
            slug=spec.slug,
            name=spec.name,
            home_region=spec.region,
            default_locale=spec.locale,
            enabled_locales=",".join(spec.locales),
            base_currency=spec.currency,
            timezone=spec.timezone,
            status=BrandStatus.ACTIVE,
            domains=[BrandDomain(host=host) for host in spec.domains],
        )
        session.add(brand)
        session.flush()
        audit.record(session, actor=actor, action="brand.create", target=f"brand:{spec.slug}",
                     after={"name": spec.name, "region": spec.region, "domains": spec.domains,
                            "locale": spec.locale, "locales": spec.locales,
                            "currency": spec.currency, "timezone": spec.timezone},
                     client_address=client_address, platform=True)
        url = runtime.settings.brand_database_url(spec.region, spec.slug)
        create_brand_database(runtime, spec.region, url)
        try:
            session.commit()
        except IntegrityError as exc:
            drop_brand_database(runtime, url)
            raise BrandValidationError("slug", f"brand {spec.slug!r} already exists") from exc
        log.info("brand %s created in region %s", spec.slug, spec.region)
    runtime.directory.forget()
    return runtime.brand(spec.slug)


def set_brand_status(runtime: Runtime, slug: str, status: BrandStatus, *,
                     actor: str = "system", client_address: str | None = None) -> None:
    with runtime.platform_session() as session:
        brand = session.scalars(select(Brand).where(Brand.slug == slug)).one_or_none()
        if brand is None:
            raise BrandValidationError("slug", f"no brand with slug {slug!r}")
        audit.record(session, actor=actor, action="brand.status", target=f"brand:{slug}",
                     before={"status": str(brand.status)}, after={"status": str(status)},
                     client_address=client_address, platform=True)
        brand.status = status
        session.commit()
    runtime.directory.forget()
    log.info("brand %s is now %s", slug, status)


def _check_unique(session, spec: BrandSpec) -> None:
    if session.scalar(select(Brand.id).where(Brand.slug == spec.slug)) is not None:
        raise BrandValidationError("slug", f"brand {spec.slug!r} already exists")
    for host in spec.domains:
        owner = session.scalar(
            select(Brand.slug).join(BrandDomain).where(BrandDomain.host == host)
        )
        if owner is not None:
            raise BrandValidationError("domain", f"domain {host!r} already belongs to {owner!r}")


def create_brand_database(runtime: Runtime, region: str, url: str) -> None:
    """Create and migrate the database at ``url`` on the region's server."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        _create_sqlite_database(url)
        return
    template_url = runtime.settings.brand_database_url(region, TEMPLATE_SLUG)
    with _maintenance_connection(url) as connection:
        # One provisioning at a time per server: CREATE DATABASE … TEMPLATE fails while
        # anybody else is connected to the template.
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _lock_key(url)})
        try:
            _ensure_template(runtime, connection, template_url)
            name = make_url(url).database
            template = make_url(normalise_url(template_url)).database
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _lock_key(url)})


def drop_brand_database(runtime: Runtime, url: str) -> None:
    url = normalise_url(url)
    runtime.engines.discard(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        Path(parsed.database).unlink(missing_ok=True)
        return
    with _maintenance_connection(url) as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))


def _create_sqlite_database(url: str) -> None:
    path = Path(make_url(url).database)
    if path.exists():
        raise BrandValidationError("slug", f"a brand database already exists at {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    try:
        migrations.upgrade(engine, "brand")
    except Exception:
        engine.dispose()
        path.unlink(missing_ok=True)
        raise
    engine.dispose()


def _ensure_template(runtime: Runtime, connection, template_url: str) -> None:
    """Create the region's template database if missing and bring it to the newest schema."""
    name = make_url(normalise_url(template_url)).database
    exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    if not exists:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(template_url, application_name=runtime.application_name)
    try:
        if migrations.current_revision(engine) != migrations.head_revision("brand"):
            migrations.upgrade(engine, "brand")
    finally:
        engine.dispose()


def _maintenance_connection(url: str):
    server = make_url(normalise_url(url)).set(database="postgres")
    engine = make_engine(server.render_as_string(hide_password=False))
    return _ClosingConnection(engine)


class _ClosingConnection:
    """An autocommit connection (CREATE DATABASE cannot run in a transaction) and its engine."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def __enter__(self):
        self.connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self.connection

    def __exit__(self, *exc_info) -> None:
        self.connection.close()
        self.engine.dispose()


def _lock_key(url: str) -> int:
    parsed = make_url(url)
    return zlib.crc32(f"tessera-provision:{parsed.host}:{parsed.port}".encode())
