"""Admin corrections: manual adjustments and merging two records of one person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.db import utcnow
from saas.loyalty.errors import InsufficientPoints, InvalidInput
from saas.loyalty.expiry import lot_expiry
from saas.loyalty.ledger import LotSpec, Posting, available_points, post
from saas.loyalty.members import get_member, lock_member
from saas.loyalty.models import EntryKind, Lot, LotAllocation, Member, MemberStatus
from saas.loyalty.policies import load_policies
from saas.tenancy.brands import BrandInfo


@dataclass(frozen=True)
class MergeResult:
    kept_ref: str
    merged_ref: str
    points_moved: int
    balance: int

    def as_json(self) -> dict[str, Any]:
        return {"member": self.kept_ref, "merged": self.merged_ref,
                "points_moved": self.points_moved, "balance": self.balance}


def adjust_points(session: Session, brand: BrandInfo, member_ref: str, points: int, *,
                  reason: str, source: str = "admin", at: datetime | None = None) -> int:
    """Add or remove points by hand with a mandatory reason; return the new balance."""
    at = at or utcnow()
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise InvalidInput(f"invalid adjustment {points!r}: give a non-zero whole number",
                           field="points", value=points)
    if not reason or not reason.strip():
        raise InvalidInput("a reason is required for a manual adjustment", field="reason")
    member = lock_member(session, get_member(session, member_ref).id)
    if points < 0 and available_points(session, member, at) < -points:
        raise InsufficientPoints(
            f"cannot remove {-points} points: member {member_ref!r} has "
            f"{available_points(session, member, at)} available",
            field="points", value=points,
        )
    expires_at = lot_expiry(at, load_policies(session).expiry, brand.timezone)
    post(session, member, Posting(kind=EntryKind.ADJUST, points=points, source=source,
                                  occurred_at=at, reason=reason.strip()),
         LotSpec(earned_at=at, expires_at=expires_at))
    return member.balance


def merge_members(session: Session, keep_ref: str, merge_ref: str, *, source: str = "admin",
                  at: datetime | None = None) -> MergeResult:
    """Make ``merge_ref`` an alias of ``keep_ref`` and move its balance by two transfers.

    No entry is moved or edited: the merged record's lots are emptied by one transfer
    entry and recreated under the kept member, each with its own earn and expiry times.
    """
    at = at or utcnow()
    keep, gone = get_member(session, keep_ref), get_member(session, merge_ref)
    if keep.id == gone.id:
        raise InvalidInput(f"{merge_ref!r} is already {keep_ref!r} or merged into it",
                           field="merge", value=merge_ref)
    first, second = sorted([keep.id, gone.id])  # lock in id order to avoid deadlocks
    locked = {first: lock_member(session, first), second: lock_member(session, second)}
    keep, gone = locked[keep.id], locked[gone.id]
    moved = gone.balance
    if moved > 0:
        _move_lots(session, keep, gone, moved, source, at)
    elif moved < 0:
        _move_debt(session, keep, gone, -moved, source, at)
    gone.merged_into_id = keep.id
    gone.status = MemberStatus.CLOSED
    keep.last_activity_at = max(
        filter(None, [keep.last_activity_at, gone.last_activity_at]), default=None
    )
    return MergeResult(keep.ref, gone.ref, moved, keep.balance)


def _move_lots(session: Session, keep: Member, gone: Member, points: int, source: str,
               at: datetime) -> None:
    detail = {"from": gone.ref, "to": keep.ref}
    out = post(session, gone, Posting(kind=EntryKind.TRANSFER, points=-points, source=source,
                                      occurred_at=at, reference_type="member",
                                      reference_id=keep.id, reason="merged", detail=detail),
               include_expired=True)
    session.flush()
    taken = session.execute(
        select(LotAllocation.points, Lot.earned_at, Lot.expires_at)
        .join(Lot, Lot.id == LotAllocation.lot_id)
        .where(LotAllocation.entry_id == out.id)
        .order_by(Lot.earned_at, Lot.id)
    ).all()
    copies = [(int(taken_points), earned_at, expires_at)
              for taken_points, earned_at, expires_at in taken]
    post(session, keep, Posting(kind=EntryKind.TRANSFER, points=points, source=source,
                                occurred_at=at, reference_type="member", reference_id=gone.id,
                                reason="merged", detail=detail), LotSpec(copies=copies))


def _move_debt(session: Session, keep: Member, gone: Member, debt: int, source: str,
               at: datetime) -> None:
    detail = {"from": gone.ref, "to": keep.ref}
    post(session, gone, Posting(kind=EntryKind.TRANSFER, points=debt, source=source,
                                occurred_at=at, reference_type="member", reference_id=keep.id,
                                reason="merged debt", detail=detail))
    post(session, keep, Posting(kind=EntryKind.TRANSFER, points=-debt, source=source,
                                occurred_at=at, reference_type="member", reference_id=gone.id,
                                reason="merged debt", detail=detail), allow_debt=True)
