"""Requests to move a brand's database to another region.

This module only records a request, with status ``pending``. Carrying out the move means
copying the brand database to the new region's server and switching the brand's home
region, and no code does that yet.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from saas.db import PlatformModel, UTCDateTime, utcnow
from saas.loyalty.errors import InvalidInput
from saas.platform.models import Brand
from saas.security import audit


class MoveStatus(StrEnum):
    PENDING = "pending"


class RegionMoveRequest(PlatformModel):
    """A platform admin's request to move one brand to ``to_region``."""

    __tablename__ = "region_move_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brand.id", ondelete="CASCADE"), index=True)
    from_region: Mapped[str] = mapped_column(String(32))
    to_region: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[MoveStatus] = mapped_column(String(16), default=MoveStatus.PENDING)
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    brand: Mapped[Brand] = relationship()


def request_region_move(db: Session, regions: dict[str, str], slug: str, to_region: str, *,
                        reason: str = "", actor: str,
                        client_address: str | None = None) -> RegionMoveRequest:
    """Record a pending move of brand ``slug`` to ``to_region``; the caller commits.

    ``regions`` is the deploy's region map (``Settings.regions``). A brand has at most one
    pending request, and the target must be a configured region other than its home.
    """
    brand = db.scalar(select(Brand).where(Brand.slug == slug))
    if brand is None:
        raise InvalidInput(f"no brand with slug {slug!r}", field="brand", value=slug)
    if to_region not in regions:
        raise InvalidInput(f"unknown region {to_region!r}: choose one of "
                           f"{', '.join(sorted(regions))}", field="to_region", value=to_region)
    if to_region == brand.home_region:
        raise InvalidInput(f"brand {slug!r} already lives in region {to_region!r}",
                           field="to_region", value=to_region)
    pending = db.scalar(select(RegionMoveRequest.id).where(
        RegionMoveRequest.brand_id == brand.id,
        RegionMoveRequest.status == MoveStatus.PENDING))
    if pending is not None:
        raise InvalidInput(f"brand {slug!r} already has a pending region move",
                           field="brand", value=slug)
    move = RegionMoveRequest(brand_id=brand.id, from_region=brand.home_region,
                             to_region=to_region, reason=(reason or "").strip()[:500],
                             status=MoveStatus.PENDING, requested_by=actor)
    db.add(move)
    db.flush()
    audit.record(db, actor=actor, action="brand.region_move_requested", target=f"brand:{slug}",
                 before={"region": brand.home_region},
                 after={"region": to_region, "reason": move.reason, "status": "pending"},
                 client_address=client_address, platform=True)
    return move
