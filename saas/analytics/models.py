"""Rollup tables in each brand database: day rows by dimension, and how far the rollup got."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import BrandModel, UTCDateTime, utcnow

# The dimension of the brand-wide rows, whose ``value`` is the empty string.
ALL = "all"
# Dimensions taken from an order: its rows count only orders and entries of orders. The
# tier is the member's tier when the order was recorded.
ORDER_DIMENSIONS = ("channel", "partner", "tier")

# Measures of a day row, each a sum that the rollup only ever adds to.
MEASURES = (
    "new_members",
    "points_earned",
    "points_redeemed",
    "points_expired",
    "points_adjusted",
    "points_other",
    "orders",
    "revenue_minor",
    "member_orders",
    "member_revenue_minor",
)


class KpiDay(BrandModel):
    """The sums of one local day of the brand, for all activity or one dimension value.

    Revenue is net: refunds and cancellations lower it on the day they are recorded for.

    Points are positive amounts for earned, redeemed and expired; adjusted and other
    (reversals and transfers) keep the ledger's sign, so the day's net change of the
    liability is earned - redeemed - expired + adjusted + other. Money is in minor units of
    the brand's base currency.
    """

    __tablename__ = "kpi_day"
    __table_args__ = (UniqueConstraint("day", "dimension", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The brand's local calendar day (brand timezone) of the business timestamp.
    day: Mapped[date] = mapped_column(Date)
    dimension: Mapped[str] = mapped_column(String(20), default=ALL)
    value: Mapped[str] = mapped_column(String(80), default="")
    new_members: Mapped[int] = mapped_column(BigInteger, default=0)
    points_earned: Mapped[int] = mapped_column(BigInteger, default=0)
    points_redeemed: Mapped[int] = mapped_column(BigInteger, default=0)
    points_expired: Mapped[int] = mapped_column(BigInteger, default=0)
    points_adjusted: Mapped[int] = mapped_column(BigInteger, default=0)
    points_other: Mapped[int] = mapped_column(BigInteger, default=0)
    orders: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    member_orders: Mapped[int] = mapped_column(BigInteger, default=0)
    member_revenue_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KpiDayMembers(BrandModel):
    """One set of members of one local day, for all activity or one dimension value.

    ``kind`` is "buyers" (placed an order), "repeat_buyers" (placed two or more) or
    "redeemers" (redeemed a reward; brand-wide rows only). ``members`` is a serialized
    roaring bitmap of member ids (pyroaring ``BitMap64``) and ``size`` its cardinality.
    """

    __tablename__ = "kpi_day_members"
    __table_args__ = (UniqueConstraint("day", "dimension", "value", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    dimension: Mapped[str] = mapped_column(String(20), default=ALL)
    value: Mapped[str] = mapped_column(String(80), default="")
    kind: Mapped[str] = mapped_column(String(20))
    members: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RollupWatermark(BrandModel):
    """The highest row id of one source table that the rollup has added to the day rows."""

    __tablename__ = "rollup_watermark"

    # "ledger_entry", "purchase_order" or "member".
    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DashboardLayout(BrandModel):
    """The KPI tiles one console user chose to see, in order."""

    __tablename__ = "dashboard_layout"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_email: Mapped[str] = mapped_column(String(320), unique=True)
    tiles: Mapped[list] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
