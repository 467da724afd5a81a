"""Bring the platform database and every brand database to the newest schema."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import make_url

from saas.db import make_engine
from saas.runtime import Runtime
from saas.tenancy import migrations
from saas.tenancy.provisioning import TEMPLATE_SLUG

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MigrationOutcome:
    slug: str
    before: str | None
    after: str | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def upgrade_platform(runtime: Runtime) -> None:
    migrations.upgrade(runtime.platform_engine, "platform")
    runtime.directory.forget()


def migrate_brands(runtime: Runtime) -> list[MigrationOutcome]:
    """Upgrade each region's template, then each brand; one failure does not stop the rest.

    Every brand records its own revision, so running this again after a failure resumes
    where each brand stands.
    """
    outcomes = [_migrate_template(runtime, region) for region in runtime.settings.regions]
    outcomes = [outcome for outcome in outcomes if outcome is not None]
    for brand in runtime.directory.all():
        engine = runtime.brand_engine(brand)
        outcomes.append(_migrate(brand.slug, engine))
    return outcomes


def _migrate_template(runtime: Runtime, region: str) -> MigrationOutcome | None:
    url = runtime.settings.brand_database_url(region, TEMPLATE_SLUG)
    if make_url(url).get_backend_name() == "sqlite":
        return None
    engine = make_engine(url, application_name=runtime.application_name)
    try:
        try:
            engine.connect().close()
        except Exception:
            return None
        return _migrate(f"{region} template", engine)
    finally:
        engine.dispose()


def _migrate(label: str, engine) -> MigrationOutcome:
    before = None
    try:
        before = migrations.current_revision(engine)
        migrations.upgrade(engine, "brand")
        after = migrations.current_revision(engine)
    except Exception as exc:
        log.exception("migrating %s failed", label)
        return MigrationOutcome(label, before, before, f"{type(exc).__name__}: {exc}")
    log.info("migrated %s from %s to %s", label, before, after)
    return MigrationOutcome(label, before, after)
