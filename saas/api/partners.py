"""Partner records and their client credentials: creation, secret rotation and revocation."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from limits import parse
from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.api.models import Partner, PartnerClient, PartnerStatus
from saas.db import utcnow
from saas.loyalty.errors import InvalidInput

SCOPES = {
    "members:read": "read members, balances and entries",
    "members:write": "enrol members and issue claim codes",
    "points:earn": "record accruals and refunds of the partner's own orders",
    "points:redeem": "redeem rewards or points for members",
    "rewards:read": "read the reward catalog",
    "vouchers:write": "validate and use vouchers at the partner's till",
}
# Granted when a token request names no scope, limited to what the client may have.
DEFAULT_SCOPES = ("members:read", "rewards:read")
ROTATION_OVERLAP = timedelta(hours=24)
CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_scopes(raw: str, field: str = "scopes") -> list[str]:
    scopes = raw.split()
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown or not scopes:
        raise InvalidInput(f"unknown scope {unknown[0]!r}; allowed: {', '.join(SCOPES)}"
                           if unknown else f"give at least one scope of: {', '.join(SCOPES)}",
                           field=field, value=raw)
    return sorted(set(scopes))


def check_rate_limit(raw: str) -> str:
    try:
        parse(raw)
    except ValueError:
        raise InvalidInput(f"invalid rate limit {raw!r}: give a rate such as 120/minute",
                           field="rate_limit", value=raw) from None
    return raw


@dataclass(frozen=True)
class NewCredentials:
    partner: Partner
    client_id: str
    client_secret: str

    def as_json(self) -> dict:
        return {"partner": self.partner.code, "client_id": self.client_id,
                "client_secret": self.client_secret, "scopes": self.partner.scopes,
                "rate_limit": self.partner.rate_limit}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48] or "partner"


def create_partner(session: Session, name: str, scopes: str, *, rate_limit: str = "120/minute",
                   status: PartnerStatus = PartnerStatus.ACTIVE,
                   contact_email: str | None = None) -> NewCredentials:
    """Create a partner with one client; the secret is returned once. The caller commits."""
    if not name or not name.strip() or len(name) > 200:
        raise InvalidInput(f"invalid partner name {name!r}: give 1-200 characters",
                           field="name", value=name)
    code = _slug(name)
    if session.scalar(select(Partner.id).where(Partner.code == code)) is not None:
        code = f"{code}-{secrets.token_hex(2)}"
    partner = Partner(code=code, name=name.strip(), status=status,
                      allowed_scopes=" ".join(check_scopes(scopes)),
                      rate_limit=check_rate_limit(rate_limit), contact_email=contact_email)
    session.add(partner)
    session.flush()
    client_id, secret = add_client(session, partner)
    return NewCredentials(partner, client_id, secret)


def add_client(session: Session, partner: Partner) -> tuple[str, str]:
    client_id = f"tsr_{secrets.token_hex(10)}"
    secret = secrets.token_urlsafe(32)
    session.add(PartnerClient(partner_id=partner.id, client_id=client_id,
                              secret_hash=hash_secret(secret)))
    session.flush()
    return client_id, secret


def rotate_secret(session: Session, client: PartnerClient, *,
                  overlap: timedelta = ROTATION_OVERLAP, now: datetime | None = None) -> str:
    """Issue a new secret; the old one keeps working for ``overlap``. The caller commits."""
    now = now or utcnow()
    secret = secrets.token_urlsafe(32)
    client.previous_secret_hash = client.secret_hash
    client.previous_valid_until = now + overlap
    client.secret_hash = hash_secret(secret)
    return secret


def secret_matches(client: PartnerClient, secret: str, now: datetime | None = None) -> bool:
    if not secret:
        return False
    digest = hash_secret(secret)
    if hmac.compare_digest(digest, client.secret_hash):
        return True
    now = now or utcnow()
    return bool(client.previous_secret_hash and client.previous_valid_until
                and client.previous_valid_until > now
                and hmac.compare_digest(digest, client.previous_secret_hash))


def revoke_client(session: Session, client: PartnerClient, now: datetime | None = None) -> None:
    """Stop the client at once: its tokens are checked against this on every request."""
    client.revoked_at = now or utcnow()


def apply_partner(session: Session, name: str, contact_email: str, application: str) -> Partner:
    """Record an application: a pending partner without scopes or clients. The caller commits."""
    from saas.console.accounts import normalise_email

    if not name or not name.strip() or len(name) > 200:
        raise InvalidInput(f"invalid company name {name!r}: give 1-200 characters",
                           field="name", value=name)
    if len(application or "") > 2000:
        raise InvalidInput("the message is longer than 2,000 characters; shorten it",
                           field="application")
    email = normalise_email(contact_email)
    code = _slug(name)
    if session.scalar(select(Partner.id).where(Partner.code == code)) is not None:
        code = f"{code}-{secrets.token_hex(2)}"
    partner = Partner(code=code, name=name.strip(), status=PartnerStatus.PENDING,
                      contact_email=email, allowed_scopes="",
                      application=(application or "").strip() or None)
    session.add(partner)
    session.flush()
    return partner


LOCATION = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_LOCATIONS = 500


def check_locations(raw: str) -> list[str]:
    """Parse location codes separated by commas, spaces or new lines."""
    codes = [code for code in re.split(r"[\s,]+", raw or "") if code]
    for code in codes:
        if not LOCATION.fullmatch(code):
            raise InvalidInput(f"invalid location code {code!r}: use 1-64 letters, digits, "
                               "'.', '-' or '_'", field="locations", value=code)
    if len(codes) > MAX_LOCATIONS:
        raise InvalidInput(f"{len(codes)} locations given; at most {MAX_LOCATIONS} are allowed",
                           field="locations")
    return sorted(set(codes))


def check_location(partner: Partner, location: str | None) -> None:
    """Reject a location the partner has not registered, when it has registered any."""
    if location is not None and partner.locations and location not in partner.locations:
        raise InvalidInput(f"unknown location {location!r} for partner {partner.code!r}; "
                           f"registered: {', '.join(partner.locations)}", field="location",
                           value=location)
