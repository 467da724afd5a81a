"""Console users: password sign-in with lockout, TOTP, recovery codes, resets and invitations.

Console users live in the platform database because one person may hold roles in several
brands. Every change to a user's factors writes an audit entry in the platform database in
the same transaction; the caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from saas.db import utcnow
from saas.loyalty.errors import InvalidInput, LoyaltyError
from saas.platform.models import (
    Delegation,
    Invitation,
    PartnerContact,
    RecoveryCode,
    Role,
    User,
)
from saas.security import audit
from saas.security.passwords import (
    WeakPassword,
    check_new_password,
    hash_password,
    needs_rehash,
    verify_password,
)

LOCK_AFTER_FAILURES = 5
LOCK_PERIOD = timedelta(minutes=15)
RECOVERY_CODE_COUNT = 10
REMEMBER_DEVICE = timedelta(days=30)
RESET_LINK_AGE = timedelta(hours=2)
INVITATION_AGE = timedelta(days=7)
TOTP_ISSUER = "Tessera"


class SignInFailed(LoyaltyError):
    code = "sign_in_failed"


class AccountLocked(LoyaltyError):
    code = "account_locked"

    def __init__(self, until: datetime) -> None:
        super().__init__(f"account locked until {until.isoformat()}")
        self.until = until


def normalise_email(email: str) -> str:
    clean = (email or "").strip().lower()
    if "@" not in clean or len(clean) > 320 or any(c.isspace() for c in clean):
        raise InvalidInput(f"invalid email address {email!r}", field="email", value=email)
    return clean


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _rotate_stamp(user: User) -> None:
    user.security_stamp = secrets.token_hex(16)


def _checked_password(password: str, email: str) -> str:
    try:
        return check_new_password(password, email=email)
    except WeakPassword as exc:
        raise InvalidInput(str(exc), field="password") from None


# --- Password ------------------------------------------------------------------------------

def authenticate(db: Session, email: str, password: str, *, client_address: str | None = None,
                 now: datetime | None = None) -> User:
    """Return the user for a correct password, counting failures; commits its own changes.

    After ``LOCK_AFTER_FAILURES`` wrong passwords in a row the account is locked for
    ``LOCK_PERIOD`` and a security event is recorded in the platform's audit trail.
    """
    now = now or utcnow()
    user = db.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None or not user.is_active:
        verify_password(None, password)  # spend the same time as for a real account
        raise SignInFailed("wrong email or password")
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked(user.locked_until)
    if not verify_password(user.password_hash, password):
        user.failed_signins += 1
        if user.failed_signins >= LOCK_AFTER_FAILURES:
            user.failed_signins = 0
            user.locked_until = now + LOCK_PERIOD
            audit.record(db, actor=f"user:{user.email}", action="security.account_locked",
                         target=f"user:{user.email}",
                         after={"locked_until": user.locked_until.isoformat()},
                         client_address=client_address, platform=True)
            db.commit()
            raise AccountLocked(user.locked_until)
        db.commit()
        raise SignInFailed("wrong email or password")
    user.failed_signins = 0
    user.locked_until = None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.commit()
    return user


def create_user(db: Session, email: str, password: str, *, name: str = "",
                platform_admin: bool = False, actor: str,
                client_address: str | None = None) -> User:
    """Create a console user; the caller commits."""
    email = normalise_email(email)
    if db.scalar(select(User.id).where(User.email == email)) is not None:
        raise InvalidInput(f"a user with the email {email!r} already exists", field="email",
                           value=email)
    user = User(email=email, name=name.strip()[:200],
                password_hash=hash_password(_checked_password(password, email)),
                is_platform_admin=platform_admin)
    db.add(user)
    db.flush()
    audit.record(db, actor=actor, action="user.create", target=f"user:{email}",
                 after={"name": user.name, "platform_admin": platform_admin},
                 client_address=client_address, platform=True)
    return user


# --- TOTP and recovery codes ------------------------------------------------------------------

def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str, issuer: str = TOTP_ISSUER) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """Return the time step ``code`` belongs to, allowing one step of clock drift."""
    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def confirm_totp(db: Session, user: User, secret: str, code: str, *,
                 client_address: str | None = None, now: datetime | None = None) -> list[str]:
    """Enrol ``secret`` once ``code`` proves the authenticator works; return recovery codes.

    The codes are shown once; only their hashes are kept. The caller commits.
    """
    now = now or utcnow()
    step = _matching_step(secret, code, now)
    if step is None:
        raise InvalidInput(f"the code {code!r} does not match; enter the 6 digits your "
                           "authenticator app shows now", field="code", value=code)
    user.totp_secret = secret
    user.totp_confirmed_at = now
    user.totp_last_step = step
    _rotate_stamp(user)
    codes = _replace_recovery_codes(db, user)
    audit.record(db, actor=f"user:{user.email}", action="mfa.enrol", target=f"user:{user.email}",
                 client_address=client_address, platform=True)
    return codes


def verify_totp(db: Session, user: User, code: str, *, now: datetime | None = None) -> bool:
    """Accept a current code once; the caller commits (the used step is remembered)."""
    if not user.totp_secret or user.totp_confirmed_at is None:
        return False
    step = _matching_step(user.totp_secret, code, now or utcnow())
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def _replace_recovery_codes(db: Session, user: User) -> list[str]:
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODE_COUNT)]
    db.add_all(RecoveryCode(user_id=user.id, code_hash=_hash_token(code)) for code in codes)
    return codes


def use_recovery_code(db: Session, user: User, code: str, *, client_address: str | None = None,
                      now: datetime | None = None) -> bool:
    """Spend one recovery code; the caller commits. The use is audited."""
    clean = (code or "").strip().lower()
    row = db.scalar(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash_token(clean),
        RecoveryCode.used_at.is_(None)).with_for_update())
    if row is None:
        return False
    row.used_at = now or utcnow()
    left = db.scalar(select(RecoveryCode.id).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None),
        RecoveryCode.id != row.id).limit(1))
    audit.record(db, actor=f"user:{user.email}", action="mfa.recovery_code_used",
                 target=f"user:{user.email}", after={"codes_left": left is not None},
                 client_address=client_address, platform=True)
    return True


def reset_second_factor(db: Session, user: User, *, actor: str,
                        client_address: str | None = None) -> None:
    """Remove the user's authenticator so they enrol a new one at the next sign-in."""
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    _rotate_stamp(user)
    audit.record(db, actor=actor, action="mfa.reset", target=f"user:{user.email}",
                 client_address=client_address, platform=True)


# --- Remembered devices and password resets ----------------------------------------------------

def _serializer(secret_key: str, purpose: str, scope: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=f"tessera-console|{purpose}|{scope}")


def remember_device(secret_key: str, scope: str, user: User) -> str:
    return _serializer(secret_key, "device", scope).dumps([user.id, user.security_stamp])


def remembered_user_id(secret_key: str, scope: str, token: str | None) -> tuple[int, str] | None:
    if not token:
        return None
    try:
        user_id, stamp = _serializer(secret_key, "device", scope).loads(
            token, max_age=int(REMEMBER_DEVICE.total_seconds()))
    except (BadSignature, ValueError, TypeError):
        return None
    return int(user_id), str(stamp)


def password_reset_token(secret_key: str, user: User) -> str:
    return _serializer(secret_key, "reset", "console").dumps([user.id, user.security_stamp])


def reset_password(db: Session, secret_key: str, token: str, password: str, *,
                   client_address: str | None = None) -> User:
    """Set a new password from an emailed link; the link works once. The caller commits."""
    try:
        user_id, stamp = _serializer(secret_key, "reset", "console").loads(
            token, max_age=int(RESET_LINK_AGE.total_seconds()))
    except SignatureExpired:
        raise InvalidInput("this reset link has expired; ask for a new one",
                           field="token") from None
    except (BadSignature, ValueError, TypeError):
        raise InvalidInput("this reset link is not valid; ask for a new one",
                           field="token") from None
    user = db.get(User, int(user_id))
    if user is None or user.security_stamp != stamp:
        raise InvalidInput("this reset link was already used; ask for a new one", field="token")
    user.password_hash = hash_password(_checked_password(password, user.email))
    user.failed_signins = 0
    user.locked_until = None
    _rotate_stamp(user)
    audit.record(db, actor=f"user:{user.email}", action="user.password_reset",
                 target=f"user:{user.email}", client_address=client_address, platform=True)
    return user


# --- Delegations and invitations --------------------------------------------------------------

def role_in_brand(db: Session, user: User, brand_id: int) -> Role | None:
    """Platform admins act as owners of every brand."""
    if user.is_platform_admin:
        return Role.OWNER
    role = db.scalar(select(Delegation.role).where(Delegation.user_id == user.id,
                                                   Delegation.brand_id == brand_id))
    return Role(role) if role else None


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(role.value for role in Role)
        raise InvalidInput(f"unknown role {value!r}; choose one of {allowed}", field="role",
                           value=value) from None


@dataclass(frozen=True)
class NewInvitation:
    invitation: Invitation
    token: str


PARTNER_ROLE = "partner"


def invite(db: Session, brand_id: int, email: str, role: str, *, actor: str,
           partner_code: str | None = None, client_address: str | None = None,
           now: datetime | None = None) -> NewInvitation:
    """Create an invitation to a console role, or with ``partner_code`` to that partner's
    page; the caller emails the token's link and commits."""
    email = normalise_email(email)
    role = PARTNER_ROLE if partner_code else parse_role(role).value
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    invitation = Invitation(brand_id=brand_id, email=email, role=role,
                            token_hash=_hash_token(token), invited_by=actor, created_at=now,
                            expires_at=now + INVITATION_AGE, partner_code=partner_code)
    db.add(invitation)
    db.flush()
    audit.record(db, actor=actor, action="invitation.create", target=f"invitation:{email}",
                 after={"brand_id": brand_id, "role": role, "partner": partner_code,
                        "expires_at": invitation.expires_at.isoformat()},
                 client_address=client_address, platform=True)
    return NewInvitation(invitation, token)


def partner_of(db: Session, user: User, brand_id: int) -> str | None:
    """Return the code of the partner whose page ``user`` may open in the brand, if any."""
    return db.scalar(select(PartnerContact.partner_code).where(
        PartnerContact.user_id == user.id, PartnerContact.brand_id == brand_id))


def open_invitation(db: Session, token: str, *, now: datetime | None = None) -> Invitation:
    """Return the pending invitation for ``token``, or raise InvalidInput with the reason."""
    now = now or utcnow()
    invitation = db.scalar(select(Invitation).with_for_update()
                           .where(Invitation.token_hash == _hash_token(token or "")))
    if invitation is None or invitation.revoked_at is not None:
        raise InvalidInput("this invitation link is not valid; ask for a new invitation",
                           field="token")
    if invitation.accepted_at is not None:
        raise InvalidInput("this invitation was already accepted; sign in instead",
                           field="token")
    if invitation.expires_at <= now:
        raise InvalidInput("this invitation has expired; ask for a new invitation",
                           field="token")
    return invitation


def accept_invitation(db: Session, token: str, *, password: str, name: str = "",
                      client_address: str | None = None, now: datetime | None = None) -> User:
    """Accept an invitation: create the user (or check an existing user's password) and
    grant the role. The caller commits."""
    now = now or utcnow()
    invitation = open_invitation(db, token, now=now)
    user = db.scalar(select(User).where(User.email == invitation.email))
    if user is None:
        user = create_user(db, invitation.email, password, name=name,
                           actor=f"user:{invitation.email}", client_address=client_address)
    elif not verify_password(user.password_hash, password):
        raise InvalidInput("wrong password for this existing account; use the password you "
                           "sign in with", field="password")
    if invitation.partner_code:
        return _accept_partner_invitation(db, invitation, user, client_address, now)
    delegation = db.scalar(select(Delegation).where(Delegation.user_id == user.id,
                                                    Delegation.brand_id == invitation.brand_id))
    before = {"role": delegation.role} if delegation else None
    if delegation is None:
        delegation = Delegation(user_id=user.id, brand_id=invitation.brand_id,
                                role=invitation.role)
        db.add(delegation)
    else:
        delegation.role = invitation.role
    invitation.accepted_at = now
    audit.record(db, actor=f"user:{user.email}", action="delegation.accept",
                 target=f"user:{user.email}", before=before,
                 after={"brand_id": invitation.brand_id, "role": str(invitation.role)},
                 client_address=client_address, platform=True)
    return user


def _accept_partner_invitation(db: Session, invitation: Invitation, user: User,
                               client_address: str | None, now: datetime) -> User:
    if partner_of(db, user, invitation.brand_id) != invitation.partner_code:
        db.add(PartnerContact(user_id=user.id, brand_id=invitation.brand_id,
                              partner_code=invitation.partner_code))
    invitation.accepted_at = now
    audit.record(db, actor=f"user:{user.email}", action="partner_contact.accept",
                 target=f"user:{user.email}",
                 after={"brand_id": invitation.brand_id, "partner": invitation.partner_code},
                 client_address=client_address, platform=True)
    return user


def set_role(db: Session, brand_id: int, user: User, role: str | None, *, actor: str,
             client_address: str | None = None) -> None:
    """Change or (with ``role=None``) remove a user's role in a brand; the caller commits."""
    delegation = db.scalar(select(Delegation).where(Delegation.user_id == user.id,
                                                    Delegation.brand_id == brand_id))
    if delegation is None:
        raise InvalidInput(f"{user.email} has no role in this brand", field="user",
                           value=user.email)
    before = {"role": str(delegation.role)}
    if role is None:
        db.delete(delegation)
        after = None
    else:
        delegation.role = parse_role(role)
        after = {"role": str(delegation.role)}
    audit.record(db, actor=actor, action="delegation.remove" if role is None else
                 "delegation.change", target=f"user:{user.email}", before=before, after=after,
                 client_address=client_address, platform=True)
