"""The partner's own page on the brand's site: its credentials, usage and service levels.

Contacts are invited when the brand approves the partner, sign in with password and TOTP
like console users, and see only their own partner.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, request
from flask_babel import gettext as _
from sqlalchemy import select

from saas.api.models import Partner, PartnerClient, PartnerStatus
from saas.api.partners import add_client, rotate_secret
from saas.api.webhooks import EVENT_TYPES, delete_endpoint, list_endpoints, register_endpoint
from saas.console.identity import current_partner_code, current_user
from saas.console.partners import partner_activity
from saas.loyalty.errors import LoyaltyError
from saas.security import audit
from saas.web.policy import PARTNER_CONTACT, allow
from saas.web.tenant import brand_db
from saas.web.themes import render

bp = Blueprint("partner_page", __name__)


def _partner() -> Partner:
    partner = brand_db().scalar(select(Partner).where(Partner.code == current_partner_code()))
    if partner is None:
        abort(404)
    return partner


def _record(action: str, partner: Partner, after: dict) -> None:
    audit.record(brand_db(), actor=f"user:{current_user().email}", action=action,
                 target=f"partner:{partner.code}", after=after,
                 client_address=request.remote_addr)


def _page(partner: Partner, *, message=None, error=None, secret=None, webhook_secret=None,
          status=200):
    return render("partner_page/overview.html", partner=partner, message=message, error=error,
                  secret=secret, webhook_secret=webhook_secret, email=current_user().email,
                  endpoints=list_endpoints(brand_db(), partner.code), event_types=EVENT_TYPES,
                  **partner_activity(partner)), status


@bp.get("/")
@allow(PARTNER_CONTACT)
def overview():
    return _page(_partner())


@bp.post("/clients")
@allow(PARTNER_CONTACT)
def new_client():
    partner = _partner()
    if partner.status != PartnerStatus.ACTIVE:
        return _page(partner, status=409, error=_("Your partnership is %(status)s, so no new "
                                                  "credentials can be made.",
                                                  status=partner.status))
    client_id, secret = add_client(brand_db(), partner)
    _record("partner.client_create", partner, {"client_id": client_id})
    brand_db().commit()
    return _page(partner, secret={"client_id": client_id, "secret": secret},
                 message=_("Client created. Copy the secret now: it is shown only once."))


@bp.post("/clients/<client_id>/rotate")
@allow(PARTNER_CONTACT)
def rotate(client_id: str):
    partner = _partner()
    client = brand_db().scalar(select(PartnerClient).where(
        PartnerClient.partner_id == partner.id, PartnerClient.client_id == client_id,
        PartnerClient.revoked_at.is_(None)))
    if client is None:
        abort(404)
    secret = rotate_secret(brand_db(), client)
    _record("partner.secret_rotate", partner,
            {"client_id": client_id,
             "previous_valid_until": client.previous_valid_until.isoformat()})
    brand_db().commit()
    return _page(partner, secret={"client_id": client_id, "secret": secret}, message=_(
        "New secret issued; the old one works for 24 more hours. Copy the new secret now: it is "
        "shown only once."))


def _actor() -> str:
    return f"user:{current_user().email}"


@bp.post("/webhooks")
@allow(PARTNER_CONTACT)
def add_webhook():
    partner = _partner()
    events = " ".join(name for name in EVENT_TYPES if request.form.get(f"event_{name}") == "on")
    settings = current_app.extensions["tessera.settings"]
    try:
        created = register_endpoint(brand_db(), partner.code, request.form.get("url", ""),
                                    events, actor=_actor(), secret_key=settings.secret_key,
                                    allow_hosts=settings.webhook_allow_hosts)
    except LoyaltyError as exc:
        brand_db().rollback()
        return _page(partner, status=400, error=_("Webhook not added: %(reason)s",
                                                  reason=exc.message))
    brand_db().commit()
    return _page(partner, webhook_secret=created.signing_secret, message=_(
        "Webhook added. Copy its signing secret now: it is shown only once."))


@bp.post("/webhooks/<int:endpoint_id>/delete")
@allow(PARTNER_CONTACT)
def remove_webhook(endpoint_id: int):
    partner = _partner()
    try:
        discarded = delete_endpoint(brand_db(), partner.code, endpoint_id, actor=_actor())
    except LoyaltyError:
        brand_db().rollback()
        abort(404)
    brand_db().commit()
    return _page(partner, message=_("Webhook deleted; %(count)s undelivered events were "
                                    "discarded.", count=discarded))
