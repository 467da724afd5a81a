"""Webhooks for partners: endpoints, the event outbox, and the events of ledger changes.

Event rows are written in the same transaction as the ledger change that causes them, so an
event exists exactly when its change was committed. The ``webhooks.deliver`` job sends them
(``saas.api.webhook_delivery``); delivery never touches the ledger.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import JSON, ForeignKey, String, Text, delete, event, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from saas.api.models import Partner, PartnerStatus
from saas.db import BrandModel, UTCDateTime, utcnow
from saas.loyalty.errors import InvalidInput, LoyaltyError, NotFound
from saas.loyalty.models import Member, Tier
from saas.security import audit

log = logging.getLogger(__name__)

EVENT_TYPES = {
    "points.earned": "an accrual of the partner credited points",
    "points.redeemed": "the partner redeemed a reward or points for a member",
    "voucher.used": "the partner used a voucher at its till",
    "tier.changed": "a member moved to another tier (sent to every subscribed partner)",
}
MAX_ENDPOINTS_PER_PARTNER = 10
MAX_URL_LENGTH = 2000
# Instance metadata services listen on these addresses in AWS, GCP, Azure and others.
METADATA_ADDRESSES = frozenset({
    ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
})


class WebhookEndpoint(BrandModel):
    """A partner's receiver URL and the event types it subscribes to."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    url: Mapped[str] = mapped_column(String(MAX_URL_LENGTH))
    # Subscribed event types, space-separated.
    events: Mapped[str] = mapped_column(String(400))
    # The signing secret, encrypted with a key derived from TESSERA_SECRET_KEY.
    secret_encrypted: Mapped[str] = mapped_column(String(400))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def event_types(self) -> list[str]:
        return self.events.split()

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "events": self.event_types,
                "active": self.active, "created_at": self.created_at.isoformat()}


class WebhookEvent(BrandModel):
    """One event for one endpoint: the outbox row and its delivery state."""

    __tablename__ = "webhook_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    # When the event is next due. A claimed event gets a lease: this time moves ahead, so
    # an event whose worker stopped mid-delivery becomes due again when the lease ends.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set after the last attempt failed; the event then waits for replay_dead.
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    @property
    def status(self) -> str:
        if self.delivered_at is not None:
            return "delivered"
        return "dead" if self.dead_at is not None else "pending"


# --- Signing secrets -----------------------------------------------------------------------

def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"tessera webhook signing secrets\0" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_secret(secret: str, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(secret.encode()).decode()


def decrypt_secret(token: str, secret_key: str) -> str:
    """Return the signing secret; raises ValueError when TESSERA_SECRET_KEY has changed."""
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("the signing secret cannot be decrypted with the current "
                         "TESSERA_SECRET_KEY; delete the endpoint and add it again") from None


# --- URL validation ------------------------------------------------------------------------

def forbidden_reason(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Name why a webhook may not be sent to ``address``, or return None if it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = (("is_loopback", "a loopback"), ("is_private", "a private"),
              ("is_link_local", "a link-local"), ("is_multicast", "a multicast"),
              ("is_reserved", "a reserved"), ("is_unspecified", "an unspecified"))
    for attribute, label in checks:
        if getattr(address, attribute):
            return f"{label} address"
    if not address.is_global:
        return "a non-public address"
    return None


def resolve_public(host: str, port: int) -> list[str]:
    """Resolve ``host`` and return its addresses; raise ValueError if any is not public.

    Every address counts, because a client may connect to any of them.
    """
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValueError(f"host {host!r} does not resolve ({exc})") from None
    addresses = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]
        reason = forbidden_reason(ipaddress.ip_address(text))
        if reason is not None:
            raise ValueError(f"host {host!r} resolves to {text}, {reason}")
        if text not in addresses:
            addresses.append(text)
    return addresses


def check_url(url: str, allow_hosts: Iterable[str] = ()) -> str:
    """Validate a receiver URL: https, and a host that resolves to public addresses only.

    Hosts in ``allow_hosts`` (TESSERA_WEBHOOK_ALLOW_HOSTS) are exempt from both rules.
    """
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"invalid webhook URL {url!r}: give an https:// URL of at most "
                           f"{MAX_URL_LENGTH} characters", field="url", value=url)
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"invalid webhook URL {url!r} ({exc}): give a URL such as "
                           "https://hooks.example.com/tessera", field="url", value=url) from None
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidInput(f"invalid webhook URL {url!r}: give a URL such as "
                           "https://hooks.example.com/tessera", field="url", value=url)
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(f"invalid webhook URL {url!r}: remove the user name and password; "
                           "verify requests by their Tessera-Signature header instead",
                           field="url", value=url)
    if host in {name.lower() for name in allow_hosts}:
        return url
    if parts.scheme != "https":
        raise InvalidInput(f"invalid webhook URL {url!r}: webhooks are sent over https only; "
                           "use an https:// URL", field="url", value=url)
    try:
        resolve_public(host, port or 443)
    except ValueError as exc:
        raise InvalidInput(f"invalid webhook URL {url!r}: {exc}; give a host that resolves "
                           "to public addresses only", field="url", value=url) from None
    return url


def check_events(raw: str) -> list[str]:
    names = raw.split() if isinstance(raw, str) else []
    unknown = [name for name in names if name not in EVENT_TYPES]
    if unknown or not names:
        problem = f"unknown event type {unknown[0]!r}" if unknown else "no event type given"
        raise InvalidInput(f"{problem}; give one or more of: {', '.join(EVENT_TYPES)}",
                           field="events", value=raw)
    return sorted(set(names))


# --- Registration --------------------------------------------------------------------------

@dataclass(frozen=True)
class NewEndpoint:
    endpoint: WebhookEndpoint
    partner_code: str
    # Shown once, at registration; afterwards only delivery code reads it.
    signing_secret: str

    def as_json(self) -> dict[str, Any]:
        return self.endpoint.as_json() | {"partner": self.partner_code,
                                          "signing_secret": self.signing_secret}


def find_partner(session: Session, code: str) -> Partner:
    partner = session.scalars(select(Partner).where(Partner.code == code)).one_or_none()
    if partner is None:
        raise NotFound(f"no partner with code {code!r}; `tessera partners create` adds one",
                       field="partner", value=code)
    return partner


def register_endpoint(session: Session, partner_code: str, url: str, events: str, *,
                      actor: str, secret_key: str,
                      allow_hosts: Iterable[str] = ()) -> NewEndpoint:
    """Add an endpoint for the partner, audited; the caller commits. Returns the secret once."""
    partner = find_partner(session, partner_code)
    url = check_url(url, allow_hosts)
    event_types = check_events(events)
    count = session.scalar(select(func.count(WebhookEndpoint.id))
                           .where(WebhookEndpoint.partner_id == partner.id))
    if count >= MAX_ENDPOINTS_PER_PARTNER:
        raise InvalidInput(f"partner {partner.code!r} already has {count} webhook endpoints, "
                           f"the maximum; delete one first", field="partner", value=partner.code)
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    endpoint = WebhookEndpoint(partner_id=partner.id, url=url, events=" ".join(event_types),
                               secret_encrypted=encrypt_secret(secret, secret_key), active=True)
    session.add(endpoint)
    session.flush()
    audit.record(session, actor=actor, action="webhook.create", target=f"webhook:{endpoint.id}",
                 after={"partner": partner.code, "url": url, "events": event_types})
    return NewEndpoint(endpoint, partner.code, secret)


def list_endpoints(session: Session, partner_code: str) -> list[WebhookEndpoint]:
    partner = find_partner(session, partner_code)
    return list(session.scalars(select(WebhookEndpoint)
                                .where(WebhookEndpoint.partner_id == partner.id)
                                .order_by(WebhookEndpoint.id)))


def delete_endpoint(session: Session, partner_code: str, endpoint_id: int, *,
                    actor: str) -> int:
    """Delete an endpoint and its events, audited; the caller commits.

    Returns how many undelivered events were discarded with it.
    """
    partner = find_partner(session, partner_code)
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.partner_id != partner.id:
        raise NotFound(f"partner {partner.code!r} has no webhook endpoint {endpoint_id}; "
                       "`tessera partners webhook list` shows them",
                       field="endpoint", value=endpoint_id)
    undelivered = session.scalar(select(func.count(WebhookEvent.id)).where(
        WebhookEvent.endpoint_id == endpoint.id, WebhookEvent.delivered_at.is_(None)))
    session.execute(delete(WebhookEvent).where(WebhookEvent.endpoint_id == endpoint.id))
    audit.record(session, actor=actor, action="webhook.delete", target=f"webhook:{endpoint.id}",
                 before={"partner": partner.code, "url": endpoint.url,
                         "events": endpoint.event_types},
                 after={"undelivered_events_discarded": undelivered})
    session.delete(endpoint)
    return undelivered


class EventNotDead(LoyaltyError):
    code = "webhook_event_not_dead"


def replay_dead(session: Session, event_id: int, actor: str,
                now: datetime | None = None) -> WebhookEvent:
    """Put a dead event back in the queue with a fresh set of attempts, audited.

    The caller commits.
    """
    row = session.get(WebhookEvent, event_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no webhook event {event_id}", field="event", value=event_id)
    if row.dead_at is None:
        raise EventNotDead(f"webhook event {event_id} is {row.status}, not dead; only dead "
                           "events can be replayed", field="event", value=event_id)
    before = {"attempts": row.attempts, "dead_at": row.dead_at.isoformat(),
              "last_error": row.last_error}
    row.dead_at = None
    row.attempts = 0
    row.next_attempt_at = now or utcnow()
    audit.record(session, actor=actor, action="webhook.replay", target=f"webhook_event:{row.id}",
                 before=before, after={"endpoint": row.endpoint_id, "event": row.event_type})
    return row


# --- Events --------------------------------------------------------------------------------

def emit(session: Session, event_type: str, data: dict[str, Any], *,
         partner_id: int | None) -> int:
    """Add ``event_type`` for every active endpoint subscribed to it; return how many.

    ``partner_id`` limits the event to that partner's endpoints; None sends it to the
    endpoints of every active partner. The rows commit or roll back with the caller's work.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    query = (select(WebhookEndpoint).join(Partner, Partner.id == WebhookEndpoint.partner_id)
             .where(WebhookEndpoint.active.is_(True), Partner.status == PartnerStatus.ACTIVE))
    if partner_id is not None:
        query = query.where(WebhookEndpoint.partner_id == partner_id)
    added = 0
    for endpoint in session.scalars(query.order_by(WebhookEndpoint.id)):
        if event_type in endpoint.event_types:
            session.add(WebhookEvent(endpoint_id=endpoint.id, event_type=event_type,
                                     payload=data))
            added += 1
    if added:
        session.info["webhook_events_added"] = session.info.get("webhook_events_added", 0) + added
    return added


def tier_changed(session: Session, member: Member, before: str | None,
                 at: datetime | None = None) -> int:
    """Emit ``tier.changed`` to every subscribed partner if the member's tier differs."""
    after = (session.scalar(select(Tier.code).where(Tier.id == member.tier_id))
             if member.tier_id is not None else None)
    return _tier_event(session, member.ref, before, after,
                       at or member.tier_since or utcnow())


def _tier_event(session: Session, member_ref: str, before: str | None, after: str | None,
                at: datetime) -> int:
    if after == before:
        return 0
    return emit(session, "tier.changed", {
        "member": member_ref, "from_tier": before, "to_tier": after,
        "changed_at": at.isoformat()}, partner_id=None)


def accrual_events(session: Session, partner_id: int, result, ordered_at: datetime) -> int:
    """Emit the events of an accrual (``saas.loyalty.orders.AccrualResult``)."""
    added = 0
    if result.points:
        added += emit(session, "points.earned", {
            "member": result.member_ref, "order": result.order_ref, "points": result.points,
            "balance": result.balance, "ordered_at": ordered_at.isoformat()},
            partner_id=partner_id)
    return added + _tier_event(session, result.member_ref, result.tier_before,
                               result.tier_after, ordered_at)


def redemption_events(session: Session, partner_id: int, result) -> int:
    """Emit ``points.redeemed`` for a redemption (``saas.loyalty.rewards.RedemptionResult``)."""
    return emit(session, "points.redeemed", {
        "member": result.member_ref, "redemption_id": result.redemption_id,
        "reward": result.reward_code, "points": result.points, "voucher": result.voucher_code,
        "balance": result.balance}, partner_id=partner_id)


def voucher_events(session: Session, partner_id: int, result) -> int:
    """Emit ``voucher.used`` for a voucher used at the partner's till."""
    return emit(session, "voucher.used", {
        "member": result.member_ref, "voucher": result.voucher_code,
        "reward": result.reward_code, "redemption_id": result.redemption_id,
        "used_at": utcnow().isoformat()}, partner_id=partner_id)


# --- Waking the delivery job ---------------------------------------------------------------

def deliver_after_commit(session: Session, runtime) -> None:
    """Queue ``webhooks.deliver`` right after ``session`` commits events, if it adds any.

    Without a working queue the events wait for the scheduled run.
    """
    if session.info.get("webhook_listener"):
        return
    session.info["webhook_listener"] = True
    brand = session.info.get("brand")

    def after_commit(committed: Session) -> None:
        if committed.info.pop("webhook_events_added", 0) and brand is not None:
            from saas.api.webhook_delivery import wake_delivery

            wake_delivery(runtime, brand.slug)

    def after_rollback(rolled_back: Session) -> None:
        rolled_back.info.pop("webhook_events_added", None)

    event.listen(session, "after_commit", after_commit)
    event.listen(session, "after_rollback", after_rollback)
