"""The partner REST API under /api/v1: members, accruals, redemptions, refunds, rewards and
vouchers. Every write needs an ``Idempotency-Key``; errors are problem details."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy import select

from saas.api import oauth, schemas, webhooks
from saas.api.openapi import Operation, document, openapi_document
from saas.api.partners import check_location
from saas.api.problems import from_body, from_error, problem
from saas.db import utcnow
from saas.extensions import csrf
from saas.loyalty.claims import issue_claim_code
from saas.loyalty.errors import InvalidInput, LoyaltyError
from saas.loyalty.idempotency import check_key, run_once
from saas.loyalty.ledger import available_points
from saas.loyalty.members import enrol_member, get_member
from saas.loyalty.models import LedgerEntry, Member, Reward
from saas.loyalty.orders import OrderInput, accrue, refund
from saas.loyalty.rewards import redeem_points, redeem_reward, use_voucher
from saas.loyalty.tiers import member_tier
from saas.web.policy import PUBLIC, allow, partner
from saas.web.tenant import brand_db

bp = Blueprint("api", __name__)
csrf.exempt(bp)

ENTRIES_PAGE = 50


def money(amount_minor: int, currency: str) -> dict[str, Any]:
    return {"amount_minor": amount_minor, "currency": currency}


@bp.errorhandler(LoyaltyError)
def loyalty_error(error: LoyaltyError):
    return from_error(error)


@bp.post("/oauth/token")
@allow(PUBLIC)  # the client authenticates with its credentials inside the endpoint
def token():
    return oauth.token_response()


@bp.get("/openapi.json")
@allow(PUBLIC)
def openapi():
    return jsonify(openapi_document(request.url_root.rstrip("/") + "/api/v1"))


@bp.get("/docs")
@allow(PUBLIC)
def docs():
    """Render the OpenAPI document as a readable page."""
    from saas.api.partners import SCOPES
    from saas.web.themes import render

    spec = openapi_document(request.url_root.rstrip("/") + "/api/v1")
    return render("api/docs.html", spec=spec, scopes=SCOPES)


# --- Request helpers -------------------------------------------------------------------------

def json_body() -> dict[str, Any]:
    if not request.is_json:
        raise InvalidInput("send a JSON object with Content-Type: application/json",
                           field="body")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("the body is not a JSON object", field="body")
    return data


def idempotent(payload: dict[str, Any], operation, *, status: int = 201) -> Response:
    """Run ``operation`` once per client and Idempotency-Key and return its outcome."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return problem(400, "idempotency_key_missing", "every write needs an Idempotency-Key "
                       "header, such as a UUID; reuse it only to retry the same request",
                       field="Idempotency-Key")
    check_key(key)
    scope = f"api:{g.api_client.client_id}:{request.endpoint}"
    db = brand_db()
    db.rollback()  # run_once needs a session without an open transaction
    outcome = run_once(db, scope, key, payload, operation)
    if not outcome.ok:
        response = from_body(outcome.body)
    else:
        response = jsonify(outcome.body)
        response.status_code = status
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def source() -> str:
    return f"partner:{g.api_partner.code}"


def member_json(member: Member) -> dict[str, Any]:
    db = brand_db()
    tier = member_tier(db, member)
    return {"ref": member.ref, "status": str(member.status), "email": member.email,
            "locale": member.locale, "joined_at": member.joined_at.isoformat(),
            "balance": member.balance, "available": available_points(db, member, utcnow()),
            "tier": tier.code if tier else None}


# --- Members ---------------------------------------------------------------------------------

@bp.get("/members/<ref>")
@allow(partner("members:read"))
@document(Operation("getMember", "Get a member", "members:read", response=schemas.MEMBER))
def get_member_view(ref: str):
    return jsonify(member_json(get_member(brand_db(), ref)))


@bp.post("/members")
@allow(partner("members:write"))
@document(Operation("enrolMember", "Enrol a member", "members:write", write=True,
                    request=schemas.ENROL, response=schemas.MEMBER, status=201))
def enrol():
    data = schemas.validate(json_body(), schemas.ENROL)
    payload = {"ref": data["ref"], "email": data.get("email"), "locale": data.get("locale")}

    def run():
        member = enrol_member(brand_db(), data["ref"], email=data.get("email"),
                              locale=data.get("locale"))
        return _Json(member_json(member))

    return idempotent(payload, run)


@bp.post("/members/<ref>/claim-codes")
@allow(partner("members:write"))
@document(Operation("issueClaimCode", "Issue a one-time claim code", "members:write",
                    write=True, response=schemas.CLAIM_CODE, status=201))
def claim_code(ref: str):
    def run():
        return issue_claim_code(brand_db(), ref, issued_by=source())

    return idempotent({"member": ref}, run)


@bp.get("/members/<ref>/balance")
@allow(partner("members:read"))
@document(Operation("getBalance", "Get a member's balance", "members:read",
                    response=schemas.BALANCE))
def balance(ref: str):
    member = get_member(brand_db(), ref)
    return jsonify({"member": member.ref, "balance": member.balance,
                    "available": available_points(brand_db(), member, utcnow()),
                    "debt": member.debt})


def _cursor(raw: str | None) -> int | None:
    if not raw:
        return None
    try:
        return int(base64.urlsafe_b64decode(raw.encode() + b"==").decode())
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(f"invalid cursor {raw!r}: pass next_cursor from the previous page",
                           field="cursor", value=raw) from None


@bp.get("/members/<ref>/entries")
@allow(partner("members:read"))
@document(Operation("listEntries", "List a member's ledger entries, newest first",
                    "members:read", response=schemas.ENTRIES,
                    parameters=[schemas.CURSOR_PARAMETER, schemas.LIMIT_PARAMETER]))
def entries(ref: str):
    member = get_member(brand_db(), ref)
    before = _cursor(request.args.get("cursor"))
    limit = request.args.get("limit", ENTRIES_PAGE)
    if not str(limit).isdigit() or not 1 <= int(limit) <= 200:
        raise InvalidInput(f"invalid limit {limit!r}: give a whole number from 1 to 200",
                           field="limit", value=str(limit))
    query = select(LedgerEntry).where(LedgerEntry.member_id == member.id)
    if before is not None:
        query = query.where(LedgerEntry.id < before)
    rows = list(brand_db().scalars(query.order_by(LedgerEntry.id.desc()).limit(int(limit) + 1)))
    page = rows[:int(limit)]
    next_cursor = (base64.urlsafe_b64encode(str(page[-1].id).encode()).decode().rstrip("=")
                   if len(rows) > int(limit) else None)
    return jsonify({"entries": [{
        "id": row.id, "kind": str(row.kind), "points": row.points, "source": row.source,
        "reason": row.reason, "occurred_at": row.occurred_at.isoformat()} for row in page],
        "next_cursor": next_cursor})


# --- Points ----------------------------------------------------------------------------------

@bp.post("/accruals")
@allow(partner("points:earn"))
@document(Operation("createAccrual", "Record an order and earn points by the brand's rules",
                    "points:earn", write=True, request=schemas.ACCRUAL,
                    response=schemas.ACCRUAL_RESULT, status=201))
def accrual():
    data = schemas.validate(json_body(), schemas.ACCRUAL)
    check_location(g.api_partner, data.get("location"))
    amount = data["amount"]
    order = OrderInput(
        ref=data["order_ref"], member_ref=data["member"], amount_minor=amount["amount_minor"],
        currency=amount["currency"].upper(), ordered_at=_moment(data.get("ordered_at")),
        channel=data.get("channel"), partner=g.api_partner.code, location=data.get("location"),
        categories=tuple(data.get("categories", [])), items=tuple(data.get("items", [])))

    def run():
        db = brand_db()
        result = accrue(db, g.brand, order, source=source(),
                        enrol=bool(data.get("enrol", False)))
        webhooks.accrual_events(db, g.api_partner.id, result, order.ordered_at)
        webhooks.deliver_after_commit(db, current_app.extensions["tessera"])
        return result

    # The request as sent: a retry without ordered_at must match the first try, whose time
    # the server filled in.
    return idempotent(data | {"partner": g.api_partner.code}, run)


def _moment(value: str | None) -> datetime:
    if value is None:
        return utcnow()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise InvalidInput(f"invalid time {value!r}: give ISO 8601 with an offset, such as "
                           "2025-03-01T09:30:00Z", field="ordered_at", value=value)
    return moment.astimezone(UTC)


@bp.post("/refunds")
@allow(partner("points:earn"))
@document(Operation("createRefund", "Refund part or all of an order and reverse its points",
                    "points:earn", write=True, request=schemas.REFUND,
                    response=schemas.REFUND_RESULT, status=201))
def refund_view():
    data = schemas.validate(json_body(), schemas.REFUND)

    def run():
        return refund(brand_db(), source(), data["order_ref"], data["refund_ref"],
                      data["amount"]["amount_minor"])

    return idempotent(data, run)


@bp.post("/redemptions")
@allow(partner("points:redeem"))
@document(Operation("createRedemption", "Redeem a reward or an amount of points",
                    "points:redeem", write=True, request=schemas.REDEMPTION,
                    response=schemas.REDEMPTION_RESULT, status=201))
def redemption():
    data = schemas.validate(json_body(), schemas.REDEMPTION)
    if ("reward" in data) == ("points" in data):
        raise InvalidInput("give either reward (a reward code) or points, not both",
                           field="reward")

    def run():
        db = brand_db()
        if "reward" in data:
            result = redeem_reward(db, data["member"], data["reward"], source=source())
        else:
            result = redeem_points(db, data["member"], data["points"], source=source(),
                                   reason=data.get("reason"))
        webhooks.redemption_events(db, g.api_partner.id, result)
        webhooks.deliver_after_commit(db, current_app.extensions["tessera"])
        return result

    return idempotent(data, run)


# --- Rewards and vouchers --------------------------------------------------------------------

@bp.get("/rewards")
@allow(partner("rewards:read"))
@document(Operation("listRewards", "List the active rewards", "rewards:read",
                    response=schemas.REWARDS))
def rewards():
    rows = brand_db().scalars(select(Reward).where(Reward.active.is_(True)).order_by(Reward.code))
    return jsonify({"rewards": [{
        "code": row.code, "name": row.name, "cost_points": row.cost_points,
        "stock": row.stock, "per_member_limit": row.per_member_limit} for row in rows]})


@bp.post("/vouchers/<code>/use")
@allow(partner("vouchers:write"))
@document(Operation("useVoucher", "Validate and use a voucher at the till, once",
                    "vouchers:write", write=True, response=schemas.REDEMPTION_RESULT,
                    status=200))
def voucher_use(code: str):
    def run():
        db = brand_db()
        result = use_voucher(db, code, used_by=source())
        webhooks.voucher_events(db, g.api_partner.id, result)
        webhooks.deliver_after_commit(db, current_app.extensions["tessera"])
        return result

    return idempotent({"voucher": code.strip().upper()}, run, status=200)


class _Json:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def as_json(self) -> dict[str, Any]:
        return self.body


@bp.errorhandler(500)
def server_error(_error):
    current_app.logger.exception("API request failed")
    return problem(500, "server_error", "the request failed on our side; retry with the same "
                   "Idempotency-Key")
