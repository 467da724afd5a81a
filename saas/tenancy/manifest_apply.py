"""Apply a brand manifest: create the brand, or bring an existing brand in line with it.

Earn rules, rewards and tiers are matched by ``code``. Rules and rewards that the manifest no
longer lists are deactivated, never deleted, because ledger entries and redemptions refer to
them. Everything in the brand database changes in one transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from saas.loyalty import policies as _policies  # noqa: F401 - declares the policy settings
from saas.loyalty.models import EarnRule, Member, Reward, Tier
from saas.loyalty.rules import RuleSpec
from saas.platform.models import Brand, BrandDomain
from saas.runtime import Runtime
from saas.security import audit
from saas.tenancy.manifests import Manifest, ManifestError, RewardSpec, TierSpec
from saas.tenancy.provisioning import BrandSpec, create_brand, validate_spec
from saas.tenancy.settings import get_setting, put_setting
from saas.tenancy.validation import BrandValidationError, check_host, check_region

log = logging.getLogger(__name__)

# Key paths of the manifest for the field names of BrandValidationError.
FIELD_PATHS = {"domain": "domains"}


@dataclass
class ApplyReport:
    """The outcome of applying a manifest: whether the brand was created, and each change."""

    slug: str
    created: bool = False
    changes: list[str] = field(default_factory=list)


def apply_manifest(runtime: Runtime, manifest: Manifest, *, actor: str = "system") -> ApplyReport:
    """Create or update the manifest's brand so that it matches the manifest.

    Raises ManifestError before writing anything when the manifest does not fit this
    deployment or the existing brand, and rolls the brand database back on any error.
    """
    try:
        report = _apply(runtime, manifest, actor)
    except ManifestError as exc:
        if exc.source or not manifest.source:
            raise
        raise ManifestError(exc.path, exc.message, manifest.source) from None
    log.info("manifest of brand %s applied: created=%s, %d changes",
             report.slug, report.created, len(report.changes))
    return report


def _apply(runtime: Runtime, manifest: Manifest, actor: str) -> ApplyReport:
    spec = _check_deployment(runtime, manifest)
    if not _brand_exists(runtime, spec.slug):
        return _create(runtime, manifest, spec, actor)
    return _update(runtime, manifest, spec, actor)


def _check_deployment(runtime: Runtime, manifest: Manifest) -> BrandSpec:
    """Run the identity checks that need this deployment's regions and base domain."""
    settings = runtime.settings
    try:
        check_region(manifest.region, settings.regions)
    except BrandValidationError as exc:
        raise ManifestError("region", f"region: {exc}") from None
    for i, host in enumerate(manifest.domains):
        try:
            check_host(host, settings.base_domain, manifest.slug)
        except BrandValidationError as exc:
            raise ManifestError(f"domains[{i}]", f"domains[{i}]: {exc}") from None
    try:
        return validate_spec(runtime, manifest.brand_spec())
    except BrandValidationError as exc:
        raise _manifest_error(exc) from None


def _brand_exists(runtime: Runtime, slug: str) -> bool:
    with runtime.platform_session() as session:
        return session.scalar(select(Brand.id).where(Brand.slug == slug)) is not None


def _create(runtime: Runtime, manifest: Manifest, spec: BrandSpec, actor: str) -> ApplyReport:
    # NOTE: the brand is committed before its catalogue. If writing the catalogue fails, the
    # brand stays without one until the corrected manifest is applied again.
    try:
        create_brand(runtime, spec, actor=actor)
    except BrandValidationError as exc:
        raise _manifest_error(exc) from None
    with runtime.brand_session(spec.slug) as session:
        changes = _sync_brand_database(session, manifest)
        _audit(session, actor, spec.slug, changes)
        session.commit()
    return ApplyReport(spec.slug, created=True, changes=changes)


def _update(runtime: Runtime, manifest: Manifest, spec: BrandSpec, actor: str) -> ApplyReport:
    # The brand session opens first because opening it reads the platform database, which
    # on SQLite would wait for the write lock that the platform session below holds.
    with runtime.brand_session(spec.slug) as brand_db, runtime.platform_session() as platform_db:
        platform_changes = _update_brand_row(platform_db, spec)
        changes = platform_changes + _sync_brand_database(brand_db, manifest)
        if not changes:
            return ApplyReport(spec.slug)
        _audit(brand_db, actor, spec.slug, changes)
        if platform_changes:
            _audit(platform_db, actor, spec.slug, platform_changes, platform=True)
        # Flushing first surfaces a domain taken in the meantime before the brand commits.
        # NOTE: the two databases cannot share a transaction, so a platform commit that fails
        # after the brand commit leaves the brand database ahead until the next apply.
        platform_db.flush()
        brand_db.commit()
        platform_db.commit()
    runtime.directory.forget()
    return ApplyReport(spec.slug, changes=changes)


def _audit(session: Session, actor: str, slug: str, changes: list[str], *,
           platform: bool = False) -> None:
    audit.record(session, actor=actor, action="manifest.apply", target=f"brand:{slug}",
                 after={"changes": changes}, platform=platform)


# --- Platform database -------------------------------------------------------------------

def _update_brand_row(session: Session, spec: BrandSpec) -> list[str]:
    """Update name, locales, timezone and domains, and reject a currency or region change."""
    query = select(Brand).options(selectinload(Brand.domains)).where(Brand.slug == spec.slug)
    brand = session.scalars(query).one()
    if brand.base_currency != spec.currency:
        raise ManifestError("currency", (
            f"currency: invalid value {spec.currency!r}: brand {spec.slug!r} has base currency "
            f"{brand.base_currency}. Changing the base currency of an existing brand is not "
            f"supported, because its balances, point value and orders are in "
            f"{brand.base_currency}. Keep currency: {brand.base_currency}"))
    if brand.home_region != spec.region:
        raise ManifestError("region", (
            f"region: invalid value {spec.region!r}: brand {spec.slug!r} lives in region "
            f"{brand.home_region}. Moving a brand to another region is a separate, explicit "
            f"operation and not part of applying a manifest. Keep region: {brand.home_region}"))
    wanted = {
        "name": spec.name,
        "locale": spec.locale,
        "locales": list(spec.locales),
        "timezone": spec.timezone,
    }
    current = {
        "name": brand.name,
        "locale": brand.default_locale,
        "locales": brand.locales,
        "timezone": brand.timezone,
    }
    changes = _diff("brand", current, wanted)
    if changes:
        brand.name = spec.name
        brand.default_locale = spec.locale
        brand.enabled_locales = ",".join(spec.locales)
        brand.timezone = spec.timezone
    return changes + _update_domains(session, brand, spec.domains)


def _update_domains(session: Session, brand: Brand, hosts: list[str]) -> list[str]:
    changes = []
    current = {domain.host for domain in brand.domains}
    for i, host in enumerate(hosts):
        if host in current:
            continue
        owner = session.scalar(select(Brand.slug).join(BrandDomain).where(BrandDomain.host == host))
        if owner is not None:
            raise ManifestError(f"domains[{i}]", (
                f"domains[{i}]: domain {host!r} already belongs to brand {owner!r}: remove it "
                "from that brand first, or leave it out of this manifest"))
        brand.domains.append(BrandDomain(host=host))
        changes.append(f"brand: domain {host} added")
    for domain in list(brand.domains):
        if domain.host not in hosts:
            brand.domains.remove(domain)
            changes.append(f"brand: domain {domain.host} removed")
    return changes


def _manifest_error(exc: BrandValidationError) -> ManifestError:
    path = FIELD_PATHS.get(exc.field, exc.field)
    return ManifestError(path, f"{path}: {exc}")


# --- Brand database ----------------------------------------------------------------------

def _sync_brand_database(session: Session, manifest: Manifest) -> list[str]:
    """Upsert rules, rewards and tiers and store the settings. The caller commits."""
    changes = _sync_rules(session, manifest.earn_rules)
    changes += _sync_rewards(session, manifest.rewards)
    changes += _sync_tiers(session, manifest.tiers)
    changes += _sync_settings(session, manifest.settings())
    session.flush()
    return changes


def _sync_rules(session: Session, specs: Iterable[RuleSpec]) -> list[str]:
    rows = {row.code: row for row in session.scalars(select(EarnRule))}
    changes = []
    for spec in specs:
        values = _rule_columns(spec)
        row = rows.get(spec.code)
        if row is None:
            session.add(EarnRule(**values))
            changes.append(f"earn rule {spec.code}: created")
            continue
        updated = _update_row(row, values, f"earn rule {spec.code}")
        if updated:
            # Every change of a rule, deactivation included, gives it a new version.
            row.version += 1
            updated.append(f"earn rule {spec.code}: version {row.version - 1} -> {row.version}")
        changes += updated
    changes += _deactivate_missing(rows, {spec.code for spec in specs}, "earn rule")
    return changes


def _rule_columns(spec: RuleSpec) -> dict[str, Any]:
    """Return the earn_rule column values, with datetimes where to_json writes ISO text."""
    values = spec.to_json()
    values["valid_from"] = spec.valid_from
    values["valid_until"] = spec.valid_until
    return values


def _sync_rewards(session: Session, specs: Iterable[RewardSpec]) -> list[str]:
    rows = {row.code: row for row in session.scalars(select(Reward))}
    changes = []
    for spec in specs:
        row = rows.get(spec.code)
        if row is None:
            session.add(Reward(code=spec.code, **spec.columns()))
            changes.append(f"reward {spec.code}: created")
            continue
        changes += _update_row(row, spec.columns(), f"reward {spec.code}")
    changes += _deactivate_missing(rows, {spec.code for spec in specs}, "reward")
    return changes


def _sync_tiers(session: Session, specs: Iterable[TierSpec]) -> list[str]:
    """Upsert tiers and delete the unlisted ones, unless a member is in one of them."""
    rows = {row.code: row for row in session.scalars(select(Tier))}
    wanted = {spec.code for spec in specs}
    removed = [row for code, row in rows.items() if code not in wanted]
    for row in removed:
        members = session.scalar(select(func.count(Member.id)).where(Member.tier_id == row.id))
        if members:
            raise ManifestError("tiers", (
                f"tiers: tier {row.code!r} is missing from the manifest but {members} members "
                "are in it: keep the tier in the manifest, or move its members to another tier "
                "first"))
    changes = []
    for row in removed:
        session.delete(row)
        changes.append(f"tier {row.code}: removed")
    for spec in specs:
        row = rows.get(spec.code)
        if row is None:
            session.add(Tier(code=spec.code, **spec.columns()))
            changes.append(f"tier {spec.code}: created")
            continue
        changes += _update_row(row, spec.columns(), f"tier {spec.code}")
    return changes


def _sync_settings(session: Session, settings: Mapping[str, Any]) -> list[str]:
    changes = []
    for key, value in settings.items():
        current = get_setting(session, key)
        if current == value:
            continue
        put_setting(session, key, value)
        changes.append(f"setting {key}: {_show(current)} -> {_show(value)}")
    return changes


def _update_row(row: Any, values: Mapping[str, Any], label: str) -> list[str]:
    """Set the columns whose value differs, returning one change line for each."""
    changes = _diff(label, {column: getattr(row, column) for column in values}, values)
    for column, value in values.items():
        if getattr(row, column) != value:
            setattr(row, column, value)
    return changes


def _deactivate_missing(rows: Mapping[str, Any], wanted: set[str], label: str) -> list[str]:
    changes = []
    for code, row in rows.items():
        if code in wanted or not row.active:
            continue
        row.active = False
        if isinstance(row, EarnRule):
            row.version += 1
        changes.append(f"{label} {code}: deactivated, because the manifest no longer lists it")
    return changes


def _diff(label: str, current: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    return [
        f"{label}: {key} {_show(current[key])} -> {_show(value)}"
        for key, value in wanted.items()
        if current[key] != value
    ]


def _show(value: Any) -> str:
    """Format a value for a change line the way the manifest would write it."""
    if isinstance(value, datetime):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
