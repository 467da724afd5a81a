"""Tables of the loyalty domain, in each brand's database."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import BrandModel, UTCDateTime, utcnow

# Points and money in minor units are 64-bit integers on every database.
Points = BigInteger


class MemberStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"
    CLOSED = "closed"


class EntryKind(StrEnum):
    EARN = "earn"
    REDEEM = "redeem"
    EXPIRE = "expire"
    ADJUST = "adjust"
    REVERSE = "reverse"
    TRANSFER = "transfer"


class RedemptionStatus(StrEnum):
    ISSUED = "issued"
    USED = "used"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Member(BrandModel):
    __tablename__ = "member"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The brand's own reference, kept exactly as given (leading zeros included).
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    locale: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[MemberStatus] = mapped_column(String(16), default=MemberStatus.ACTIVE)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Cached sum of the member's ledger entries, changed only under the member's row lock.
    balance: Mapped[int] = mapped_column(Points, default=0)
    # Points owed after a refund of points already spent; new earnings pay it first.
    debt: Mapped[int] = mapped_column(Points, default=0)
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("tier.id"))
    tier_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when this record was merged into another one; its ref then resolves there.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint("debt >= 0", name="debt_not_negative"),)


class Order(BrandModel):
    """A purchase, whatever its source; revenue and lifetime value read these, not points."""

    __tablename__ = "purchase_order"
    __table_args__ = (
        UniqueConstraint("source", "ref"),
        Index("ix_purchase_order_member_ordered", "member_id", "ordered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(80))
    ref: Mapped[str] = mapped_column(String(128))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    amount_minor: Mapped[int] = mapped_column(Points)
    currency: Mapped[str] = mapped_column(String(3))
    base_amount_minor: Mapped[int] = mapped_column(Points)
    # Units of ``currency`` per one unit of the base currency, as a decimal string.
    fx_rate: Mapped[str] = mapped_column(String(40), default="1")
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str | None] = mapped_column(String(40))
    partner: Mapped[str | None] = mapped_column(String(80))
    location: Mapped[str | None] = mapped_column(String(80))
    # The code of the member's tier when the order was recorded, which its points used.
    tier: Mapped[str | None] = mapped_column(String(64))
    categories: Mapped[list] = mapped_column(JSON, default=list)
    items: Mapped[list] = mapped_column(JSON, default=list)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OrderRefund(BrandModel):
    """A refund of part or all of an order's amount, or its cancellation."""

    __tablename__ = "order_refund"
    __table_args__ = (UniqueConstraint("order_id", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_order.id"), index=True)
    ref: Mapped[str] = mapped_column(String(128))
    amount_minor: Mapped[int] = mapped_column(Points)
    is_cancellation: Mapped[bool] = mapped_column(default=False)
    refunded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerEntry(BrandModel):
    """One append-only change of a member's points; nothing updates or deletes it."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        Index("ix_ledger_entry_member_id_id", "member_id", "id"),
        Index("ix_ledger_entry_reference", "reference_type", "reference_id"),
        Index("ix_ledger_entry_recorded", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    kind: Mapped[EntryKind] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Points)
    source: Mapped[str] = mapped_column(String(80))
    # "order", "redemption", "lot", "member" or "admin", with the row id it refers to.
    reference_type: Mapped[str | None] = mapped_column(String(20))
    reference_id: Mapped[int | None] = mapped_column(BigInteger)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Lot(BrandModel):
    """Points earned together, with their expiry; spent first-in, first-out."""

    __tablename__ = "lot"
    __table_args__ = (
        Index("ix_lot_member_open", "member_id", "earned_at"),
        Index("ix_lot_expires", "expires_at"),
        CheckConstraint("remaining >= 0", name="remaining_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"))
    points: Mapped[int] = mapped_column(Points)
    remaining: Mapped[int] = mapped_column(Points)
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LotAllocation(BrandModel):
    """How many points of which lot an entry took, so a cancellation can give them back."""

    __tablename__ = "lot_allocation"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    points: Mapped[int] = mapped_column(Points)


class IdempotencyRecord(BrandModel):
    """The first outcome of a request key, replayed for retries of the same request."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    completed: Mapped[bool] = mapped_column(default=False)
    status_code: Mapped[int | None] = mapped_column()
    response: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class EarnRule(BrandModel):
    __tablename__ = "earn_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(default=100)
    stacking: Mapped[str] = mapped_column(String(16), default="stack")
    rounding: Mapped[str] = mapped_column(String(16), default="down")
    conditions: Mapped[dict] = mapped_column(JSON, default=dict)
    actions: Mapped[list] = mapped_column(JSON, default=list)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Reward(BrandModel):
    __tablename__ = "reward"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    # Translations by locale, for example {"en": "Free coffee", "de": "Gratis Kaffee"}.
    name: Mapped[dict] = mapped_column(JSON)
    description: Mapped[dict] = mapped_column(JSON, default=dict)
    cost_points: Mapped[int] = mapped_column(Points)
    # None means unlimited.
    stock: Mapped[int | None] = mapped_column()
    per_member_limit: Mapped[int | None] = mapped_column()
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Days a voucher stays usable after it is issued; None means until used or cancelled.
    voucher_valid_days: Mapped[int | None] = mapped_column()
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),)


class Redemption(BrandModel):
    """Points spent on a reward, with the voucher it issued."""

    __tablename__ = "redemption"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    reward_id: Mapped[int | None] = mapped_column(ForeignKey("reward.id"), index=True)
    points: Mapped[int] = mapped_column(Points)
    source: Mapped[str] = mapped_column(String(80))
    voucher_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    status: Mapped[RedemptionStatus] = mapped_column(String(16), default=RedemptionStatus.ISSUED)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by: Mapped[str | None] = mapped_column(String(80))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Tier(BrandModel):
    __tablename__ = "tier"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[dict] = mapped_column(JSON)
    # Points earned within the tier window needed to reach this tier.
    threshold: Mapped[int] = mapped_column(Points)
    # Earn multiplier as a decimal string, "1" for none.
    multiplier: Mapped[str] = mapped_column(String(20), default="1")
    benefits: Mapped[dict] = mapped_column(JSON, default=dict)


class ExchangeRate(BrandModel):
    """Units of ``currency`` per one unit of the brand's base currency, from ``valid_from``."""

    __tablename__ = "exchange_rate"
    __table_args__ = (UniqueConstraint("currency", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[str] = mapped_column(String(40))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
