"""The points ledger: append-only entries, lots consumed first-in first-out, and debt.

Every change goes through ``post``: it runs with the member row locked, writes one entry,
moves points between lots and debt, and updates the cached balance in the same
transaction, so that for every member

    balance == sum(entry.points) == sum(open lot remainders) - debt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from saas.loyalty.models import EntryKind, LedgerEntry, Lot, LotAllocation, Member


@dataclass(frozen=True)
class Posting:
    """The content of one ledger entry; ``points`` is signed."""

    kind: EntryKind
    points: int
    source: str
    occurred_at: datetime
    reference_type: str | None = None
    reference_id: int | None = None
    idempotency_key: str | None = None
    reason: str | None = None
    detail: dict[str, Any] | None = None


@dataclass
class LotSpec:
    """The destination of credited points: a new lot with these times, or earlier lots."""

    earned_at: datetime | None = None
    expires_at: datetime | None = None
    # Give points back to the lots this entry took them from (a cancelled redemption).
    restore_entry_id: int | None = None
    # Recreate lots with their own times (a merge moving another member's lots).
    copies: list[tuple[int, datetime, datetime | None]] = field(default_factory=list)


def post(session: Session, member: Member, posting: Posting, lots: LotSpec | None = None,
         *, allow_debt: bool = False, only_lot: Lot | None = None,
         include_expired: bool = False) -> LedgerEntry:
    """Write one entry for a locked member and move its points through lots and debt."""
    if posting.points == 0:
        raise ValueError("a ledger entry needs a non-zero number of points")
    entry = LedgerEntry(
        member_id=member.id, kind=posting.kind, points=posting.points, source=posting.source,
        reference_type=posting.reference_type, reference_id=posting.reference_id,
        idempotency_key=posting.idempotency_key, reason=posting.reason, detail=posting.detail,
        occurred_at=posting.occurred_at,
    )
    session.add(entry)
    session.flush()
    if posting.points > 0:
        _credit(session, member, entry, posting.points, lots or LotSpec(posting.occurred_at))
    else:
        lots_to_use = [only_lot] if only_lot is not None else open_lots(
            session, member.id, None if include_expired else posting.occurred_at
        )
        _debit(session, member, entry, -posting.points, lots_to_use, allow_debt)
    member.balance += posting.points
    return entry


def open_lots(session: Session, member_id: int, valid_at: datetime | None) -> list[Lot]:
    """Lots with points left, oldest first; with ``valid_at``, only those not yet expired."""
    query = select(Lot).where(Lot.member_id == member_id, Lot.remaining > 0)
    if valid_at is not None:
        query = query.where(or_(Lot.expires_at.is_(None), Lot.expires_at >= valid_at))
    return list(session.scalars(query.order_by(Lot.earned_at, Lot.id)))


def available_points(session: Session, member: Member, at: datetime) -> int:
    """Points the member can spend at ``at``: unexpired lot remainders minus debt."""
    total = session.scalar(
        select(func.coalesce(func.sum(Lot.remaining), 0)).where(
            Lot.member_id == member.id,
            Lot.remaining > 0,
            or_(Lot.expires_at.is_(None), Lot.expires_at >= at),
        )
    )
    return int(total) - member.debt


def _credit(session: Session, member: Member, entry: LedgerEntry, points: int,
            lots: LotSpec) -> None:
    paid = min(member.debt, points)
    member.debt -= paid
    rest = points - paid
    if rest and lots.restore_entry_id is not None:
        rest = _restore(session, entry, lots.restore_entry_id, rest)
    for lot_points, earned_at, expires_at in _skip_paid(lots.copies, paid):
        _new_lot(session, member, entry, lot_points, earned_at, expires_at)
        rest -= lot_points
    if rest:
        _new_lot(session, member, entry, rest, lots.earned_at or entry.occurred_at,
                 lots.expires_at)


def _new_lot(session, member, entry, points, earned_at, expires_at) -> None:
    session.add(Lot(member_id=member.id, entry_id=entry.id, points=points, remaining=points,
                    earned_at=earned_at, expires_at=expires_at))


def _skip_paid(copies, paid: int):
    """Yield lot copies after the oldest ``paid`` points went to the member's debt."""
    for points, earned_at, expires_at in copies:
        skip = min(points, paid)
        paid -= skip
        if points - skip:
            yield points - skip, earned_at, expires_at


def _restore(session: Session, entry: LedgerEntry, source_entry_id: int, points: int) -> int:
    """Put points back into the lots an earlier entry consumed; return what is left."""
    allocations = session.scalars(
        select(LotAllocation).where(LotAllocation.entry_id == source_entry_id)
        .order_by(LotAllocation.id)
    )
    for allocation in allocations:
        if points <= 0:
            break
        give = min(allocation.points, points)
        lot = session.get(Lot, allocation.lot_id)
        lot.remaining += give
        session.add(LotAllocation(entry_id=entry.id, lot_id=lot.id, points=-give))
        points -= give
    return points


def _debit(session: Session, member: Member, entry: LedgerEntry, points: int,
           lots: list[Lot], allow_debt: bool) -> None:
    for lot in lots:
        if points == 0:
            break
        take = min(lot.remaining, points)
        if take == 0:
            continue
        lot.remaining -= take
        session.add(LotAllocation(entry_id=entry.id, lot_id=lot.id, points=take))
        points -= take
    if points:
        if not allow_debt:
            raise ValueError(
                f"entry {entry.id} needs {points} points more than member {member.ref!r} has"
            )
        member.debt += points


def outstanding_points(session: Session) -> int:
    """Return the brand's liability in points: the sum of every member's balance."""
    total = session.scalar(select(func.coalesce(func.sum(Member.balance), 0)))
    return int(total)
