"""Member sign-in accounts: sign-up, email verification, sign-in, and claiming a record.

Domain code without Flask: the portal's views call these functions. Messages for members
are translated by the views; the errors here carry stable codes.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from saas.db import BrandModel, UTCDateTime, utcnow
from saas.loyalty.claims import redeem_claim_code
from saas.loyalty.corrections import merge_members
from saas.loyalty.errors import InvalidInput, LoyaltyError
from saas.loyalty.members import enrol_member
from saas.notifications.outbox import queue_email
from saas.security.passwords import check_new_password, hash_password, verify_password
from saas.security.throttle import SignInThrottle
from saas.tenancy.brands import BrandInfo

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
VERIFY_MAX_AGE = 3 * 24 * 3600
REF_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


class MemberAccount(BrandModel):
    __tablename__ = "member_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), unique=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignInFailed(LoyaltyError):
    code = "sign_in_failed"


class SignInThrottled(LoyaltyError):
    code = "sign_in_throttled"


@dataclass(frozen=True)
class SignUpResult:
    account_id: int | None  # None when the address already had an account


def _serializer(secret_key: str, brand: BrandInfo, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=f"tessera-member-{purpose}|{brand.slug}")


def normalise_email(email: str) -> str:
    clean = (email or "").strip().lower()
    if not EMAIL.match(clean):
        raise InvalidInput(f"invalid email address {email!r}", field="email", value=email)
    return clean


def sign_up(session: Session, brand: BrandInfo, secret_key: str, email: str, password: str,
            verify_url: str, *, locale: str | None = None) -> SignUpResult:
    """Create a member with an account and queue the verification email; the caller commits.

    An address that already has an account gets an email saying so, and the caller shows
    the same page either way, so sign-up does not reveal who is a member.
    """
    email = normalise_email(email)
    try:
        check_new_password(password, email=email)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="password") from None
    if session.scalar(select(MemberAccount.id).where(MemberAccount.email == email)):
        queue_email(session, email, f"{brand.name}: you already have an account",
                    "Someone tried to sign up with this address. If it was you, sign in or "
                    "reset your password instead.")
        return SignUpResult(None)
    ref = "W" + "".join(secrets.choice(REF_ALPHABET) for _ in range(11))
    member = enrol_member(session, ref, email=email, locale=locale)
    account = MemberAccount(member_id=member.id, email=email,
                            password_hash=hash_password(password))
    session.add(account)
    session.flush()
    send_verification(session, brand, secret_key, account, verify_url)
    return SignUpResult(account.id)


def send_verification(session: Session, brand: BrandInfo, secret_key: str,
                      account: MemberAccount, verify_url: str) -> None:
    """Queue an email with a link that confirms the account's address; the caller commits."""
    token = _serializer(secret_key, brand, "verify").dumps(account.id)
    queue_email(session, account.email, f"{brand.name}: confirm your email address",
                f"Open this link to confirm your address:\n{verify_url}?token={token}\n")


def verify_email(session: Session, brand: BrandInfo, secret_key: str, token: str,
                 now: datetime | None = None) -> MemberAccount:
    try:
        account_id = _serializer(secret_key, brand, "verify").loads(token,
                                                                    max_age=VERIFY_MAX_AGE)
    except SignatureExpired:
        raise InvalidInput("this confirmation link has expired; sign in to get a new one",
                           field="token") from None
    except BadSignature:
        raise InvalidInput("this confirmation link is invalid", field="token") from None
    account = session.get(MemberAccount, account_id)
    if account is None:
        raise InvalidInput("this confirmation link is invalid", field="token")
    account.verified_at = account.verified_at or now or utcnow()
    return account


def authenticate(session: Session, throttle: SignInThrottle, email: str, password: str,
                 address: str) -> MemberAccount:
    """Return the account for a correct email and password, or raise; the caller commits."""
    clean = (email or "").strip().lower()
    wait = throttle.wait(clean, address)
    if wait.seconds:
        raise SignInThrottled(f"too many failed attempts; try again in {wait.seconds} seconds",
                              field="password", retry_after=wait.seconds)
    account = session.scalars(select(MemberAccount).where(MemberAccount.email == clean)).first()
    if not verify_password(account.password_hash if account else None, password or ""):
        throttle.failed(clean, address)
        raise SignInFailed("the email address or the password is wrong", field="password")
    throttle.succeeded(clean, address)
    account.last_sign_in_at = utcnow()
    return account


def claim_member(session: Session, account: MemberAccount, member_ref: str, code: str) -> str:
    """Link an existing member record to this account with its claim code.

    The account's own new record is merged into the claimed one, so the claimed reference
    keeps its history and any points the new record had move along. Returns the reference.
    """
    claimed = redeem_claim_code(session, member_ref, code)
    own = session.get(type(claimed), account.member_id)
    if own.id != claimed.id:
        merge_members(session, claimed.ref, own.ref, source="portal")
        account.member_id = claimed.id
    if claimed.email is None:
        claimed.email = account.email
    return claimed.ref


RESET_MAX_AGE = 3600


def request_password_reset(session: Session, brand: BrandInfo, secret_key: str, email: str,
                           reset_url: str) -> None:
    """Queue a reset link if the address has an account, and reveal nothing either way."""
    try:
        clean = normalise_email(email)
    except InvalidInput:
        return
    account = session.scalars(select(MemberAccount).where(MemberAccount.email == clean)).first()
    if account is None:
        return
    token = _reset_serializer(secret_key, brand, account).dumps(account.id)
    queue_email(session, clean, f"{brand.name}: reset your password",
                f"Open this link within an hour to choose a new password:\n"
                f"{reset_url}?token={token}\n\nIf you did not ask for this, ignore this email.")


def reset_password(session: Session, brand: BrandInfo, secret_key: str, token: str,
                   password: str) -> MemberAccount:
    """Set a new password from a reset link; the link stops working once it is used."""
    try:
        account_id = URLSafeTimedSerializer(secret_key).loads_unsafe(token)[1]
    except BadSignature:
        account_id = None
    account = session.get(MemberAccount, account_id) if isinstance(account_id, int) else None
    if account is None:
        raise InvalidInput("this reset link is invalid", field="token")
    try:
        _reset_serializer(secret_key, brand, account).loads(token, max_age=RESET_MAX_AGE)
    except SignatureExpired:
        raise InvalidInput("this reset link has expired; ask for a new one",
                           field="token") from None
    except BadSignature:
        raise InvalidInput("this reset link is invalid or was already used",
                           field="token") from None
    try:
        check_new_password(password, email=account.email)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="password") from None
    account.password_hash = hash_password(password)
    account.verified_at = account.verified_at or utcnow()  # the link proved the address
    return account


def _reset_serializer(secret_key: str, brand: BrandInfo,
                      account: MemberAccount) -> URLSafeTimedSerializer:
    # The current password hash is part of the salt, so a used link no longer verifies.
    return _serializer(secret_key, brand, f"reset|{account.password_hash}")
