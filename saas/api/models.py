"""Partners of a brand, their API clients and issued access tokens (brand database)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.db import BrandModel, UTCDateTime, utcnow


class PartnerStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class Partner(BrandModel):
    __tablename__ = "partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[PartnerStatus] = mapped_column(String(16), default=PartnerStatus.PENDING)
    contact_email: Mapped[str | None] = mapped_column(String(320))
    # The scopes this partner's clients may request, space-separated.
    allowed_scopes: Mapped[str] = mapped_column(String(400), default="")
    # A Flask-Limiter rate such as "120/minute".
    rate_limit: Mapped[str] = mapped_column(String(40), default="120/minute")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    clients: Mapped[list[PartnerClient]] = relationship(back_populates="partner")

    @property
    def scopes(self) -> list[str]:
        return self.allowed_scopes.split()


class PartnerClient(BrandModel):
    """OAuth2 client credentials of a partner. Secrets are stored as SHA-256 hashes."""

    __tablename__ = "partner_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    # After a rotation the previous secret keeps working until this time.
    previous_secret_hash: Mapped[str | None] = mapped_column(String(64))
    previous_valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    partner: Mapped[Partner] = relationship(back_populates="clients")


class ApiToken(BrandModel):
    """An issued access token, stored as a SHA-256 hash, bound to one client and scopes."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("partner_client.id"), index=True)
    scopes: Mapped[str] = mapped_column(String(400))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
