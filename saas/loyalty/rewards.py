"""Redeeming points for rewards, vouchers, and cancelling unused redemptions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from saas.db import utcnow
from saas.loyalty.errors import (
    InsufficientPoints,
    InvalidInput,
    LimitReached,
    NegativeBalance,
    NotFound,
    OutOfStock,
    RewardUnavailable,
    VoucherNotUsable,
)
from saas.loyalty.ledger import LotSpec, Posting, available_points, post
from saas.loyalty.members import get_member, lock_member, require_active
from saas.loyalty.models import (
    EntryKind,
    LedgerEntry,
    Member,
    Redemption,
    RedemptionStatus,
    Reward,
)

# Crockford's base32 without I, L, O and U: easy to read out and type at a till.
VOUCHER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class RedemptionResult:
    redemption_id: int
    member_ref: str
    reward_code: str | None
    points: int
    voucher_code: str | None
    status: str
    expires_at: datetime | None
    balance: int

    def as_json(self) -> dict[str, Any]:
        return {
            "redemption_id": self.redemption_id, "member": self.member_ref,
            "reward": self.reward_code, "points": self.points, "voucher": self.voucher_code,
            "status": self.status,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "balance": self.balance,
        }


def new_voucher_code() -> str:
    raw = "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def get_reward(session: Session, code: str, *, lock: bool = False) -> Reward:
    query = select(Reward).where(Reward.code == code)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    reward = session.scalars(query).one_or_none()
    if reward is None:
        raise NotFound(f"no reward {code!r}", field="reward", value=code)
    return reward


def redeem_reward(session: Session, member_ref: str, reward_code: str, *, source: str,
                  at: datetime | None = None) -> RedemptionResult:
    """Spend points on a reward and issue its voucher; the caller commits.

    Locks the member, then the reward, so concurrent redemptions serialise on the member
    and stock is never oversold.
    """
    at = at or utcnow()
    member = lock_member(session, get_member(session, member_ref).id)
    _check_can_spend(member)
    reward = get_reward(session, reward_code, lock=True)
    _check_reward(session, member, reward, at)
    _check_points(session, member, reward.cost_points, at)

    redemption = Redemption(
        member_id=member.id, reward_id=reward.id, points=reward.cost_points, source=source,
        voucher_code=new_voucher_code(), status=RedemptionStatus.ISSUED, issued_at=at,
        expires_at=at + timedelta(days=reward.voucher_valid_days)
        if reward.voucher_valid_days else None,
    )
    session.add(redemption)
    session.flush()
    _post_redeem(session, member, redemption, source, at)
    if reward.stock is not None:
        reward.stock -= 1
    member.last_activity_at = max(filter(None, [member.last_activity_at, at]))
    return _result(redemption, member, reward)


def redeem_points(session: Session, member_ref: str, points: int, *, source: str,
                  reason: str | None = None, at: datetime | None = None) -> RedemptionResult:
    """Spend an amount of points without a catalog reward (a discount at a till)."""
    at = at or utcnow()
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise InvalidInput(f"invalid points {points!r}: give a whole number, 1 or more",
                           field="points", value=points)
    member = lock_member(session, get_member(session, member_ref).id)
    _check_can_spend(member)
    _check_points(session, member, points, at)
    redemption = Redemption(member_id=member.id, reward_id=None, points=points, source=source,
                            status=RedemptionStatus.USED, issued_at=at, used_at=at,
                            used_by=source)
    session.add(redemption)
    session.flush()
    _post_redeem(session, member, redemption, source, at, reason)
    member.last_activity_at = max(filter(None, [member.last_activity_at, at]))
    return _result(redemption, member, None)


def cancel_redemption(session: Session, redemption_id: int, *, source: str,
                      at: datetime | None = None) -> RedemptionResult:
    """Cancel an unused redemption: points go back to their lots, the stock is returned."""
    at = at or utcnow()
    redemption = _lock_redemption(session, Redemption.id == redemption_id, str(redemption_id))
    member = lock_member(session, redemption.member_id)
    reward = session.get(Reward, redemption.reward_id) if redemption.reward_id else None
    if redemption.status == RedemptionStatus.CANCELLED:
        return _result(redemption, member, reward)
    if redemption.status != RedemptionStatus.ISSUED:
        raise VoucherNotUsable(
            f"redemption {redemption_id} is {redemption.status} and cannot be cancelled",
            field="redemption", value=redemption_id,
        )
    redeem_entry = session.scalar(select(LedgerEntry.id).where(
        LedgerEntry.reference_type == "redemption", LedgerEntry.reference_id == redemption.id,
        LedgerEntry.kind == EntryKind.REDEEM,
    ))
    post(session, member, Posting(
        kind=EntryKind.REVERSE, points=redemption.points, source=source, occurred_at=at,
        reference_type="redemption", reference_id=redemption.id, reason="redemption cancelled",
    ), LotSpec(earned_at=at, restore_entry_id=redeem_entry))
    redemption.status = RedemptionStatus.CANCELLED
    redemption.cancelled_at = at
    if reward is not None and reward.stock is not None:
        get_reward(session, reward.code, lock=True).stock += 1
    return _result(redemption, member, reward)


def use_voucher(session: Session, code: str, *, used_by: str,
                at: datetime | None = None) -> RedemptionResult:
    """Mark a voucher used at a till; a second use is rejected and changes nothing."""
    at = at or utcnow()
    normalised = (code or "").strip().upper()
    redemption = _lock_redemption(session, Redemption.voucher_code == normalised, code)
    if redemption.status != RedemptionStatus.ISSUED:
        when = f" at {redemption.used_at.isoformat()}" if redemption.used_at else ""
        raise VoucherNotUsable(f"voucher {normalised} is already {redemption.status}{when}",
                               field="voucher", value=normalised, status=str(redemption.status))
    if redemption.expires_at is not None and redemption.expires_at < at:
        raise VoucherNotUsable(
            f"voucher {normalised} expired at {redemption.expires_at.isoformat()}",
            field="voucher", value=normalised, status="expired",
        )
    redemption.status = RedemptionStatus.USED
    redemption.used_at = at
    redemption.used_by = used_by
    member = session.get(Member, redemption.member_id)
    reward = session.get(Reward, redemption.reward_id) if redemption.reward_id else None
    return _result(redemption, member, reward)


def expire_vouchers(session: Session, at: datetime) -> int:
    """Mark issued vouchers past their date as expired; their points stay spent."""
    result = session.execute(
        update(Redemption)
        .where(Redemption.status == RedemptionStatus.ISSUED, Redemption.expires_at < at)
        .values(status=RedemptionStatus.EXPIRED)
    )
    return result.rowcount


def redemptions_of(session: Session, member: Member, reward: Reward) -> int:
    return int(session.scalar(select(func.count(Redemption.id)).where(
        Redemption.member_id == member.id, Redemption.reward_id == reward.id,
        Redemption.status != RedemptionStatus.CANCELLED,
    )))


def _lock_redemption(session: Session, condition, shown: str) -> Redemption:
    query = (select(Redemption).where(condition).with_for_update()
             .execution_options(populate_existing=True))
    redemption = session.scalars(query).one_or_none()
    if redemption is None:
        raise NotFound(f"no voucher or redemption {shown!r}", field="voucher", value=shown)
    return redemption


def _check_can_spend(member: Member) -> None:
    require_active(member)
    if member.balance < 0 or member.debt > 0:
        raise NegativeBalance(
            f"member {member.ref!r} owes {member.debt} points from a refund; "
            "redemptions resume once new purchases have paid it back",
            field="member", value=member.ref, balance=member.balance,
        )


def _check_reward(session: Session, member: Member, reward: Reward, at: datetime) -> None:
    if not reward.active or (reward.valid_from and at < reward.valid_from) or (
        reward.valid_until and at >= reward.valid_until
    ):
        raise RewardUnavailable(f"reward {reward.code!r} is not available now",
                                field="reward", value=reward.code)
    if reward.stock is not None and reward.stock <= 0:
        raise OutOfStock(f"reward {reward.code!r} is out of stock", field="reward",
                         value=reward.code)
    if reward.per_member_limit is not None and \
            redemptions_of(session, member, reward) >= reward.per_member_limit:
        raise LimitReached(
            f"member {member.ref!r} has reached the limit of {reward.per_member_limit} "
            f"for reward {reward.code!r}", field="reward", value=reward.code,
            limit=reward.per_member_limit,
        )


def _check_points(session: Session, member: Member, cost: int, at: datetime) -> None:
    available = available_points(session, member, at)
    if available < cost:
        raise InsufficientPoints(
            f"insufficient points: {cost} needed, {available} available",
            field="points", value=cost, available=available,
        )


def _post_redeem(session, member, redemption, source, at, reason=None) -> None:
    post(session, member, Posting(
        kind=EntryKind.REDEEM, points=-redemption.points, source=source, occurred_at=at,
        reference_type="redemption", reference_id=redemption.id, reason=reason,
    ))


def _result(redemption: Redemption, member: Member, reward: Reward | None) -> RedemptionResult:
    return RedemptionResult(
        redemption.id, member.ref, reward.code if reward else None, redemption.points,
        redemption.voucher_code, str(redemption.status), redemption.expires_at, member.balance,
    )
