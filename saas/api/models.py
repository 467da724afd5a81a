"""Partners of a brand, their API clients and issued access tokens (brand database)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Date, ForeignKey, String, UniqueConstraint
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
    # Service objectives set by the brand: availability and error rate in percent, p95 in ms.
    sla_availability: Mapped[float] = mapped_column(default=99.5)
    sla_error_rate: Mapped[float] = mapped_column(default=1.0)
    sla_p95_ms: Mapped[int] = mapped_column(default=300)
    application: Mapped[str | None] = mapped_column(String(2000))
    # Codes of the partner's shops or tills; when set, an accrual's location must be one.
    locations: Mapped[list] = mapped_column(JSON, default=list)
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


class ApiRequest(BrandModel):
    """One partner API request: kept briefly, summed into ``partner_sla_day`` by a job."""

    __tablename__ = "api_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    endpoint: Mapped[str] = mapped_column(String(80))
    status: Mapped[int] = mapped_column()
    duration_ms: Mapped[float] = mapped_column()
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class PartnerSlaDay(BrandModel):
    """A partner's requests, error rate and latency percentiles on one UTC day."""

    __tablename__ = "partner_sla_day"
    __table_args__ = (UniqueConstraint("partner_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    requests: Mapped[int] = mapped_column(default=0)
    server_errors: Mapped[int] = mapped_column(default=0)
    client_errors: Mapped[int] = mapped_column(default=0)
    p50_ms: Mapped[float | None] = mapped_column()
    p95_ms: Mapped[float | None] = mapped_column()
    p99_ms: Mapped[float | None] = mapped_column()
    breached: Mapped[bool] = mapped_column(default=False)
    # What broke the objectives, such as {"p95_ms": [412.0, 300]}: measured and objective.
    breaches: Mapped[dict | None] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
