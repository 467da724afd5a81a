"""A brand's loyalty configuration (rules, tiers, policies), cached per process.

Every accrual needs the rules, tiers and policies; reading and parsing them each time costs
more than the accrual's own writes. A version stored among the brand's settings changes in
the same flush as any ORM change to rules, tiers, rewards or settings, so one small read
shows whether the cached copy is still current.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from saas.loyalty.models import EarnRule, Reward, Tier
from saas.loyalty.policies import Policies, load_policies
from saas.loyalty.rules import RuleSpec
from saas.tenancy.settings import BrandSetting, declare_setting, get_setting

VERSION_KEY = "config.version"
CACHED_BRANDS = 256

declare_setting(VERSION_KEY, "", str)


@dataclass(frozen=True)
class TierInfo:
    id: int
    code: str
    threshold: int
    multiplier: Decimal


@dataclass(frozen=True)
class BrandConfig:
    rules: tuple[RuleSpec, ...]
    tiers: tuple[TierInfo, ...]  # by threshold, lowest first
    policies: Policies

    def tier(self, tier_id: int | None) -> TierInfo | None:
        return next((tier for tier in self.tiers if tier.id == tier_id), None)

    def tier_for_points(self, points: int) -> TierInfo | None:
        """Return the highest tier that ``points`` reach. A value on a threshold qualifies."""
        reached = None
        for tier in self.tiers:
            if points >= tier.threshold:
                reached = tier
        return reached


_cache: dict[tuple[str, str], BrandConfig] = {}
_lock = threading.Lock()


def brand_config(session: Session) -> BrandConfig:
    """Return the brand's configuration, reading it again only when its version changed."""
    version = get_setting(session, VERSION_KEY)
    key = (str(session.get_bind().url), version)
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    config = _load(session)
    with _lock:
        if len(_cache) >= CACHED_BRANDS:
            _cache.clear()
        _cache[key] = config
    return config


def _load(session: Session) -> BrandConfig:
    rows = session.scalars(select(EarnRule).where(EarnRule.active.is_(True))
                           .order_by(EarnRule.priority, EarnRule.code))
    tiers = session.scalars(select(Tier).order_by(Tier.threshold, Tier.id))
    return BrandConfig(
        rules=tuple(RuleSpec.from_model(row) for row in rows),
        tiers=tuple(TierInfo(t.id, t.code, t.threshold, Decimal(t.multiplier)) for t in tiers),
        policies=load_policies(session),
    )


@event.listens_for(Session, "before_flush")
def _bump_version(session: Session, _context, _instances) -> None:
    touched = [*session.new, *session.dirty, *session.deleted]
    relevant = [obj for obj in touched if isinstance(obj, (EarnRule, Tier, Reward))
                or (isinstance(obj, BrandSetting) and obj.key != VERSION_KEY)]
    if not relevant:
        return
    with session.no_autoflush:
        row = session.get(BrandSetting, VERSION_KEY)
    value = f'"{uuid.uuid4().hex}"'
    if row is None:
        session.add(BrandSetting(key=VERSION_KEY, value=value))
    else:
        row.value = value
