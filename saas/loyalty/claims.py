"""One-time claim codes that link an existing member record to a new sign-in.

Most members exist before they sign in (imported, or enrolled at a till), so a customer
proves a record is theirs with its reference plus a code handed out by the brand. Codes
are stored hashed, expire, work once, and a code is void after a few wrong guesses.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from saas.db import BrandModel, UTCDateTime, utcnow
from saas.loyalty.errors import InvalidInput, LoyaltyError
from saas.loyalty.members import get_member
from saas.loyalty.models import Member

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_LENGTH = 8
DEFAULT_TTL = timedelta(days=14)
MAX_ATTEMPTS = 5


class ClaimRejected(LoyaltyError):
    code = "claim_rejected"


class ClaimCode(BrandModel):
    __tablename__ = "claim_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    issued_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_attempts: Mapped[int] = mapped_column(default=0)


@dataclass(frozen=True)
class IssuedCode:
    member_ref: str
    code: str
    expires_at: datetime

    def as_json(self) -> dict:
        return {"member": self.member_ref, "code": self.code,
                "expires_at": self.expires_at.isoformat()}


def _digest(member_id: int, code: str) -> str:
    return hashlib.sha256(f"{member_id}:{code}".encode()).hexdigest()


def issue_claim_code(session: Session, member_ref: str, *, issued_by: str,
                     ttl: timedelta = DEFAULT_TTL, now: datetime | None = None) -> IssuedCode:
    """Create a code for the member, voiding earlier unused ones; the caller commits.

    The code itself is returned once and only its hash is stored.
    """
    now = now or utcnow()
    member = get_member(session, member_ref)
    session.execute(update(ClaimCode).where(ClaimCode.member_id == member.id,
                                            ClaimCode.used_at.is_(None))
                    .values(expires_at=now))
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    session.add(ClaimCode(member_id=member.id, code_hash=_digest(member.id, code),
                          issued_by=issued_by, created_at=now, expires_at=now + ttl))
    session.flush()
    return IssuedCode(member.ref, code, now + ttl)


def redeem_claim_code(session: Session, member_ref: str, code: str,
                      now: datetime | None = None) -> Member:
    """Check and use up a code; return the member it unlocks. The caller commits.

    A wrong code counts against the member's current code, which stops working after
    MAX_ATTEMPTS wrong guesses, so guessing cannot outrun the code's lifetime. The count is
    committed before ClaimRejected is raised, so a rollback by the caller keeps it.
    """
    now = now or utcnow()
    cleaned = (code or "").strip().upper().replace("-", "").replace(" ", "")
    if not cleaned:
        raise InvalidInput("the claim code is missing", field="code")
    member = get_member(session, member_ref)
    current = session.scalars(
        select(ClaimCode).where(ClaimCode.member_id == member.id, ClaimCode.used_at.is_(None),
                                ClaimCode.expires_at > now)
        .order_by(ClaimCode.id.desc()).with_for_update()
    ).first()
    if current is None or current.failed_attempts >= MAX_ATTEMPTS:
        raise ClaimRejected("this claim code is invalid or expired; ask for a new one",
                            field="code")
    if not hmac.compare_digest(current.code_hash, _digest(member.id, cleaned)):
        current.failed_attempts += 1
        attempts_left = MAX_ATTEMPTS - current.failed_attempts
        session.commit()
        raise ClaimRejected("this claim code is invalid or expired; ask for a new one",
                            field="code", attempts_left=attempts_left)
    current.used_at = now
    return member
