"""When points expire, and the job that expires them."""

from __future__ import annotations

import calendar
import logging
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.loyalty.ledger import Posting, post
from saas.loyalty.members import lock_member
from saas.loyalty.models import EntryKind, Lot, Member

log = logging.getLogger(__name__)

END_OF_DAY = time(23, 59, 59)


def add_months(day: date, months: int) -> date:
    """Return the day ``months`` later, clamped to the month's end (31 Jan + 1 is 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def lot_expiry(earned_at: datetime, policy: dict, timezone: str) -> datetime | None:
    """Expiry of points earned at ``earned_at``: the end of the local day, N months later.

    Inactivity expiry has no per-lot date; the expiry job applies it per member.
    """
    if policy.get("mode") != "fixed_months":
        return None
    zone = ZoneInfo(timezone)
    local_day = earned_at.astimezone(zone).date()
    last_day = add_months(local_day, policy["months"])
    return datetime.combine(last_day, END_OF_DAY, tzinfo=zone).astimezone(earned_at.tzinfo)


def expire_points(session: Session, at: datetime, policy: dict) -> int:
    """Expire every lot past its date (and, under inactivity expiry, idle members' lots).

    Each expired lot gets its own entry, so running this twice expires nothing twice.
    Returns the number of points expired; the caller commits.
    """
    total = 0
    due = session.scalars(
        select(Lot).where(Lot.remaining > 0, Lot.expires_at.is_not(None), Lot.expires_at < at)
        .order_by(Lot.member_id, Lot.id)
    ).all()
    for lot in due:
        total += _expire_lot(session, lot, at, "expired")
    if policy.get("mode") == "inactivity_months":
        total += _expire_inactive(session, at, policy["months"])
    return total


def _expire_inactive(session: Session, at: datetime, months: int) -> int:
    total = 0
    members = session.scalars(select(Member).where(Member.balance > 0)).all()
    for member in members:
        last = member.last_activity_at or member.joined_at
        limit_day = add_months(last.date(), months)
        if datetime.combine(limit_day, last.timetz()) >= at:
            continue
        lots = session.scalars(
            select(Lot).where(Lot.member_id == member.id, Lot.remaining > 0).order_by(Lot.id)
        ).all()
        for lot in lots:
            total += _expire_lot(session, lot, at, "inactive")
    return total


def _expire_lot(session: Session, lot: Lot, at: datetime, reason: str) -> int:
    member = lock_member(session, lot.member_id)
    session.refresh(lot)
    points = lot.remaining
    if points <= 0:
        return 0
    occurred_at = lot.expires_at if lot.expires_at and lot.expires_at < at else at
    post(session, member, Posting(
        kind=EntryKind.EXPIRE, points=-points, source="system", occurred_at=occurred_at,
        reference_type="lot", reference_id=lot.id, idempotency_key=f"expire:lot:{lot.id}",
        reason=reason,
    ), only_lot=lot)
    return points
