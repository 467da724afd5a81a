"""Partners in the brand console: applications, approval, scopes and limits, service
objectives with daily measurements, and client secrets (each shown once)."""

from __future__ import annotations

import plotly.graph_objects as go
from flask import Blueprint, abort, g, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from saas.api.models import Partner, PartnerClient, PartnerSlaDay, PartnerStatus
from saas.api.partners import (
    SCOPES,
    add_client,
    check_locations,
    check_rate_limit,
    revoke_client,
    rotate_secret,
)
from saas.api.webhooks import WebhookEndpoint, WebhookEvent, replay_dead
from saas.console.accounts import invite
from saas.console.base import EDITORS, actor, page, record
from saas.console.identity import platform_db
from saas.loyalty.errors import InvalidInput, LoyaltyError
from saas.notifications.outbox import queue_email
from saas.web.policy import allow, console
from saas.web.tenant import brand_db

bp = Blueprint("console_partners", __name__)

READERS = ("owner", "admin", "analyst")
SLA_DAYS = 30

# Status changes an admin may make, from the current status.
TRANSITIONS = {
    "approve": ({PartnerStatus.PENDING}, PartnerStatus.ACTIVE),
    "reject": ({PartnerStatus.PENDING}, PartnerStatus.REJECTED),
    "suspend": ({PartnerStatus.ACTIVE}, PartnerStatus.SUSPENDED),
    "resume": ({PartnerStatus.SUSPENDED}, PartnerStatus.ACTIVE),
}


def partner_json(partner: Partner) -> dict:
    return {"status": str(partner.status), "scopes": partner.scopes,
            "rate_limit": partner.rate_limit, "sla_availability": partner.sla_availability,
            "sla_error_rate": partner.sla_error_rate, "sla_p95_ms": partner.sla_p95_ms,
            "locations": list(partner.locations or [])}


@bp.get("/partners")
@allow(console(*READERS))
def partners():
    rows = list(brand_db().scalars(select(Partner).order_by(Partner.status, Partner.name)))
    return page("console/partners.html", rows=rows)


def _partner_or_404(code: str) -> Partner:
    partner = brand_db().scalar(select(Partner).where(Partner.code == code))
    if partner is None:
        abort(404)
    return partner


def _chart(days: list[PartnerSlaDay]) -> str:
    """Return a JSON Plotly figure of the daily p95 latency and error rate, drawn by charts.js."""
    figure = go.Figure()
    x = [day.day.isoformat() for day in days]
    figure.add_bar(x=x, y=[day.requests for day in days], name=_("Requests"), yaxis="y2",
                   opacity=0.3)
    figure.add_scatter(x=x, y=[day.p95_ms for day in days], name=_("p95 latency (ms)"))
    figure.add_scatter(x=x, y=[round(100 * (day.server_errors + day.client_errors)
                                     / day.requests, 3) if day.requests else None
                               for day in days], name=_("Error rate (%)"))
    figure.update_layout(margin={"l": 40, "r": 40, "t": 20, "b": 40}, height=320,
                         yaxis2={"overlaying": "y", "side": "right", "showgrid": False},
                         legend={"orientation": "h"})
    return figure.to_json()


def partner_activity(partner: Partner) -> dict:
    """Return the partner's clients, its last SLA_DAYS days (oldest first) and their chart."""
    db = brand_db()
    clients = list(db.scalars(select(PartnerClient).where(PartnerClient.partner_id == partner.id)
                              .order_by(PartnerClient.id)))
    days = list(db.scalars(select(PartnerSlaDay).where(PartnerSlaDay.partner_id == partner.id)
                           .order_by(PartnerSlaDay.day.desc()).limit(SLA_DAYS)))
    days.reverse()
    return {"clients": clients, "days": days, "chart": _chart(days) if days else None}


def _detail(partner: Partner, *, message: str | None = None, error: str | None = None,
            secret: dict | None = None, status: int = 200):
    db = brand_db()
    activity = partner_activity(partner)
    dead = list(db.scalars(select(WebhookEvent).join(WebhookEndpoint).where(
        WebhookEndpoint.partner_id == partner.id, WebhookEvent.dead_at.is_not(None))
        .order_by(WebhookEvent.id.desc()).limit(50)))
    return page("console/partner.html", partner=partner, scopes=SCOPES, message=message,
                error=error, secret=secret, dead=dead, **activity), status


@bp.get("/partners/<code>")
@allow(console(*READERS))
def partner(code: str):
    return _detail(_partner_or_404(code))


@bp.post("/partners/<code>/status")
@allow(console(*EDITORS))
def change_status(code: str):
    partner = _partner_or_404(code)
    action = request.form.get("action", "")
    if action not in TRANSITIONS:
        return _detail(partner, error=_("Unknown action %(action)s.", action=action), status=400)
    allowed_from, target = TRANSITIONS[action]
    if partner.status not in allowed_from:
        return _detail(partner, status=409, error=_(
            "A partner that is %(status)s cannot be changed that way.", status=partner.status))
    before = partner_json(partner)
    partner.status = target
    record(f"partner.{action}", f"partner:{partner.code}", before, partner_json(partner))
    brand_db().commit()
    if action == "approve" and partner.contact_email:
        _invite_contact(partner)
    return _detail(partner, message=_("Partner is now %(status)s.", status=partner.status))


def _invite_contact(partner: Partner) -> None:
    """Invite the partner's contact to the partner page; the link is emailed."""
    db = platform_db()
    new = invite(db, g.brand.id, partner.contact_email, "", partner_code=partner.code,
                 actor=actor(), client_address=request.remote_addr)
    db.commit()
    link = url_for("console_auth.accept_invitation", token=new.token, _external=True)
    queue_email(brand_db(), partner.contact_email,
                f"{g.brand.name}: your partner application is approved",
                "Your application is approved. Open this link within 7 days to set up your "
                f"partner page, where you create API credentials and follow your usage:\n{link}\n")
    brand_db().commit()


def _number(name: str, low: float, high: float) -> float:
    raw = request.form.get(name, "").strip()
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(_("%(field)s must be a number from %(low)s to %(high)s, not "
                             "%(value)s", field=name, low=low, high=high, value=raw or "''"),
                           field=name) from None
    if not low <= value <= high:
        raise InvalidInput(_("%(field)s must be a number from %(low)s to %(high)s, not "
                             "%(value)s", field=name, low=low, high=high, value=raw),
                           field=name)
    return value


@bp.post("/partners/<code>/settings")
@allow(console(*EDITORS))
def settings(code: str):
    partner = _partner_or_404(code)
    before = partner_json(partner)
    try:
        scopes = sorted(name for name in SCOPES if request.form.get(f"scope_{name}") == "on")
        if not scopes:
            raise InvalidInput(_("Choose at least one scope."), field="scopes")
        rate_limit = check_rate_limit(request.form.get("rate_limit", "").strip())
        availability = _number("sla_availability", 0, 100)
        error_rate = _number("sla_error_rate", 0, 100)
        p95 = int(_number("sla_p95_ms", 1, 60000))
        locations = check_locations(request.form.get("locations", ""))
    except InvalidInput as exc:
        brand_db().rollback()
        return _detail(partner, error=_("Not saved: %(reason)s", reason=exc.message),
                       status=400)
    partner.allowed_scopes = " ".join(scopes)
    partner.rate_limit = rate_limit
    partner.locations = locations
    partner.sla_availability, partner.sla_error_rate, partner.sla_p95_ms = (
        availability, error_rate, p95)
    record("partner.update", f"partner:{partner.code}", before, partner_json(partner))
    brand_db().commit()
    return _detail(partner, message=_("Saved."))


@bp.post("/partners/<code>/clients")
@allow(console(*EDITORS))
def new_client(code: str):
    partner = _partner_or_404(code)
    if partner.status != PartnerStatus.ACTIVE:
        return _detail(partner, status=409, error=_(
            "Approve the partner before creating client credentials."))
    client_id, secret = add_client(brand_db(), partner)
    record("partner.client_create", f"partner:{partner.code}", None, {"client_id": client_id})
    brand_db().commit()
    return _detail(partner, secret={"client_id": client_id, "secret": secret},
                   message=_("Client created. Copy the secret now: it is shown only once."))


def _client_or_404(partner: Partner, client_id: str) -> PartnerClient:
    client = brand_db().scalar(select(PartnerClient).where(
        PartnerClient.partner_id == partner.id, PartnerClient.client_id == client_id))
    if client is None:
        abort(404)
    return client


@bp.post("/partners/<code>/clients/<client_id>/rotate")
@allow(console(*EDITORS))
def rotate(code: str, client_id: str):
    partner = _partner_or_404(code)
    client = _client_or_404(partner, client_id)
    if client.revoked_at is not None:
        return _detail(partner, status=409, error=_("This client is revoked."))
    secret = rotate_secret(brand_db(), client)
    record("partner.secret_rotate", f"partner:{partner.code}", None,
           {"client_id": client_id,
            "previous_valid_until": client.previous_valid_until.isoformat()})
    brand_db().commit()
    return _detail(partner, secret={"client_id": client_id, "secret": secret}, message=_(
        "New secret issued; the old one works for 24 more hours. Copy the new secret now: it is "
        "shown only once."))


@bp.post("/partners/<code>/webhook-events/<int:event_id>/replay")
@allow(console(*EDITORS))
def replay(code: str, event_id: int):
    """Send a dead webhook event again from the start of the retry schedule."""
    partner = _partner_or_404(code)
    event = brand_db().scalar(select(WebhookEvent).join(WebhookEndpoint).where(
        WebhookEvent.id == event_id, WebhookEndpoint.partner_id == partner.id))
    if event is None:
        abort(404)
    try:
        replay_dead(brand_db(), event_id, actor())
    except LoyaltyError as exc:
        brand_db().rollback()
        return _detail(partner, status=409, error=_("Not replayed: %(reason)s",
                                                    reason=exc.message))
    brand_db().commit()
    return _detail(partner, message=_("Event %(id)s is queued for delivery again.",
                                      id=event_id))


@bp.post("/partners/<code>/clients/<client_id>/revoke")
@allow(console(*EDITORS))
def revoke(code: str, client_id: str):
    partner = _partner_or_404(code)
    client = _client_or_404(partner, client_id)
    revoke_client(brand_db(), client)
    record("partner.client_revoke", f"partner:{partner.code}", None, {"client_id": client_id})
    brand_db().commit()
    return _detail(partner, message=_("Client revoked; its tokens stop working now."))

