"""Control-plane tables in the platform database."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.db import PlatformModel, UTCDateTime, utcnow


class BrandStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    ANALYST = "analyst"
    SUPPORT = "support"


class Brand(PlatformModel):
    __tablename__ = "brand"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    home_region: Mapped[str] = mapped_column(String(32))
    default_locale: Mapped[str] = mapped_column(String(16))
    # Comma-separated locale codes; the default locale is always among them.
    enabled_locales: Mapped[str] = mapped_column(String(400))
    base_currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64))
    status: Mapped[BrandStatus] = mapped_column(String(16), default=BrandStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    domains: Mapped[list[BrandDomain]] = relationship(
        back_populates="brand", cascade="all, delete-orphan", order_by="BrandDomain.host"
    )

    @property
    def locales(self) -> list[str]:
        return [code for code in self.enabled_locales.split(",") if code]


class BrandDomain(PlatformModel):
    """A host name that resolves to a brand, stored lower-case without a port."""

    __tablename__ = "brand_domain"

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brand.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(253), unique=True)

    brand: Mapped[Brand] = relationship(back_populates="domains")


class User(PlatformModel):
    """A person who signs in to the platform or to a brand console."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # Set once the user has proved the authenticator works; until then the secret is unused.
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last accepted TOTP time step, so one code cannot be used twice.
    totp_last_step: Mapped[int | None] = mapped_column()
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_signins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Changes with the password or second factor; sessions, remembered devices and reset
    # links carry it and stop working when it changes.
    security_stamp: Mapped[str] = mapped_column(
        String(32), default=lambda: secrets.token_hex(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    delegations: Mapped[list[Delegation]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )


class Delegation(PlatformModel):
    """A user's role in one brand."""

    __tablename__ = "delegation"
    __table_args__ = (UniqueConstraint("user_id", "brand_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    brand_id: Mapped[int] = mapped_column(ForeignKey("brand.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="delegations")
    brand: Mapped[Brand] = relationship()


class RecoveryCode(PlatformModel):
    """A single-use code that replaces a lost authenticator once, stored as a SHA-256 hash."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Invitation(PlatformModel):
    """An emailed, single-use, expiring offer of a role in one brand."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brand.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[Role] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set for an invitation to a partner's page instead of a console role.
    partner_code: Mapped[str | None] = mapped_column(String(64))


class PartnerContact(PlatformModel):
    """A person who signs in to one partner's page on a brand's site."""

    __tablename__ = "partner_contact"
    __table_args__ = (UniqueConstraint("user_id", "brand_id", "partner_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    brand_id: Mapped[int] = mapped_column(ForeignKey("brand.id", ondelete="CASCADE"), index=True)
    partner_code: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The platform's audit trail lives in the platform database with these tables.
from saas.security import audit as _audit  # noqa: E402, F401
