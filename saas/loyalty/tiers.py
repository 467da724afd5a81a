"""Tiers: reached by points earned in a rolling window of order times, never by balance."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from saas.loyalty.expiry import add_months
from saas.loyalty.models import EntryKind, LedgerEntry, Member, Tier
from saas.loyalty.policies import Policies, load_policies


def tiers_by_threshold(session: Session) -> list[Tier]:
    return list(session.scalars(select(Tier).order_by(Tier.threshold, Tier.id)))


def tier_for_points(tiers: list[Tier], points: int) -> Tier | None:
    """Return the highest tier that ``points`` reach. A value on a threshold qualifies."""
    reached = None
    for tier in tiers:
        if points >= tier.threshold:
            reached = tier
    return reached


def member_tier(session: Session, member: Member) -> Tier | None:
    return session.get(Tier, member.tier_id) if member.tier_id else None


def qualifying_points(session: Session, member_id: int, at: datetime,
                      window_months: int | None) -> int:
    """Points earned by orders in the window ending at ``at``, net of their refunds."""
    earned = or_(
        LedgerEntry.kind == EntryKind.EARN,
        and_(LedgerEntry.kind == EntryKind.REVERSE, LedgerEntry.reference_type == "order"),
    )
    query = select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
        LedgerEntry.member_id == member_id, earned, LedgerEntry.occurred_at <= at,
    )
    if window_months is not None:
        start_day = add_months(at.date(), -window_months)
        start = datetime.combine(start_day, at.timetz())
        query = query.where(LedgerEntry.occurred_at > start)
    return max(0, int(session.scalar(query)))


def upgrade_tier(session: Session, member: Member, at: datetime,
                 policies: Policies | None = None, config=None) -> None:
    """Move the member up at once if the window now reaches a higher tier; never down."""
    from saas.loyalty.config import brand_config

    config = config or brand_config(session)
    if not config.tiers:
        return
    current = config.tier(member.tier_id)
    if current is not None and current.threshold >= config.tiers[-1].threshold:
        return  # already in the top tier
    policies = policies or config.policies
    points = qualifying_points(session, member.id, at, policies.tier_window_months)
    reached = config.tier_for_points(points)
    if reached is not None and (current is None or reached.threshold > current.threshold):
        member.tier_id = reached.id
        member.tier_since = at


def recalculate_tiers(session: Session, at: datetime) -> dict[str, int]:
    """Set every member's tier from the window ending at ``at``, downgrades included."""
    tiers = tiers_by_threshold(session)
    policies = load_policies(session)
    changed = 0
    members = session.scalars(select(Member).where(Member.merged_into_id.is_(None))).all()
    for member in members:
        points = qualifying_points(session, member.id, at, policies.tier_window_months)
        reached = tier_for_points(tiers, points)
        new_id = reached.id if reached else None
        if new_id != member.tier_id:
            member.tier_id = new_id
            member.tier_since = at
            changed += 1
    return {"members": len(members), "changed": changed}
