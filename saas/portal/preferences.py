"""A member's language and consents. Consents are kept as an append-only record of changes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from saas.db import BrandModel, UTCDateTime, utcnow
from saas.loyalty.errors import InvalidInput
from saas.loyalty.models import Member
from saas.tenancy.brands import BrandInfo


class Purpose(StrEnum):
    MARKETING_EMAIL = "marketing_email"
    POINTS_REMINDERS = "points_reminders"


class ConsentEvent(BrandModel):
    """One grant or withdrawal of a consent; the latest per purpose is the current state."""

    __tablename__ = "consent_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    purpose: Mapped[Purpose] = mapped_column(String(40))
    granted: Mapped[bool] = mapped_column()
    source: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def current_consents(session: Session, member_id: int) -> dict[str, bool]:
    """Return every purpose with its latest state; never asked means not granted."""
    latest = (select(ConsentEvent.purpose, func.max(ConsentEvent.id).label("last"))
              .where(ConsentEvent.member_id == member_id)
              .group_by(ConsentEvent.purpose).subquery())
    rows = session.execute(select(ConsentEvent.purpose, ConsentEvent.granted)
                           .join(latest, ConsentEvent.id == latest.c.last)).all()
    states = {str(purpose): False for purpose in Purpose}
    states.update({str(purpose): granted for purpose, granted in rows})
    return states


def update_preferences(session: Session, brand: BrandInfo, member: Member, locale: str,
                       consents: dict[str, bool], *, source: str) -> None:
    """Store the language and record each consent that changed; the caller commits."""
    if locale not in brand.locales:
        raise InvalidInput(f"locale {locale!r} is not offered by this brand",
                           field="locale", value=locale)
    member.locale = locale
    before = current_consents(session, member.id)
    for purpose in Purpose:
        wanted = bool(consents.get(str(purpose), False))
        if before[str(purpose)] != wanted:
            session.add(ConsentEvent(member_id=member.id, purpose=purpose, granted=wanted,
                                     source=source))
