"""Portal pages for spending points: the reward catalog, redeeming, vouchers and history."""

from __future__ import annotations

import uuid

import segno
from flask import Blueprint, Response, abort, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from saas.db import utcnow
from saas.extensions import htmx
from saas.loyalty.idempotency import run_once
from saas.loyalty.ledger import available_points
from saas.loyalty.models import EntryKind, LedgerEntry, Member, Order, Redemption, Reward
from saas.loyalty.rewards import redeem_reward
from saas.portal.session import current_account
from saas.web.policy import MEMBER, allow
from saas.web.tenant import brand_db
from saas.web.themes import render

bp = Blueprint("portal_rewards", __name__)

HISTORY_PAGE_SIZE = 20


def _member() -> Member:
    return brand_db().get(Member, current_account().member_id)


def _rejection_message(code: str) -> str:
    messages = {
        "insufficient_points": _("You do not have enough points for this reward yet."),
        "out_of_stock": _("This reward is out of stock."),
        "limit_reached": _("You have already redeemed this reward as often as allowed."),
        "reward_unavailable": _("This reward is not available at the moment."),
        "negative_balance": _("Redeeming is paused until new purchases cover a refund."),
        "member_not_active": _("Your membership cannot redeem rewards at the moment."),
    }
    return messages.get(code, _("The reward could not be redeemed. Please try again."))


@bp.get("/rewards")
@allow(MEMBER)
def catalog():
    session = brand_db()
    member = _member()
    rewards = session.scalars(select(Reward).where(Reward.active.is_(True))
                              .order_by(Reward.cost_points)).all()
    return render("portal/rewards.html", rewards=rewards, member=member,
                  available=available_points(session, member, utcnow()),
                  request_key=uuid.uuid4().hex, message=None)


@bp.post("/rewards/<code>/redeem")
@allow(MEMBER)
def redeem(code: str):
    """Redeem once per form: the form's key makes a double submit replay the first outcome."""
    session = brand_db()
    member = _member()
    member_id, member_ref = member.id, member.ref
    key = request.form.get("request_key", "")
    session.rollback()  # run_once starts from a session without an open transaction
    outcome = run_once(session, f"portal:{member_id}", key or uuid.uuid4().hex,
                       {"reward": code},
                       lambda: redeem_reward(session, member_ref, code, source="portal"))
    message = (_("Done! Your voucher is ready.") if outcome.ok
               else _rejection_message(outcome.body.get("code", "")))
    if htmx:
        return render("portal/_redeem_result.html", ok=outcome.ok, message=message,
                      vouchers_url=url_for("portal_rewards.vouchers")), 200 if outcome.ok else 409
    if outcome.ok:
        return redirect(url_for("portal_rewards.vouchers"))
    return render("portal/message.html", message=message,
                  link=url_for("portal_rewards.catalog"), link_text=_("Back to rewards")), 409


@bp.get("/vouchers")
@allow(MEMBER)
def vouchers():
    session = brand_db()
    rows = session.execute(
        select(Redemption, Reward).join(Reward, Reward.id == Redemption.reward_id)
        .where(Redemption.member_id == _member().id).order_by(Redemption.id.desc())
    ).all()
    items = [{"redemption": redemption, "reward": reward,
              "qr": segno.make(redemption.voucher_code, error="m").png_data_uri(scale=5)}
             for redemption, reward in rows]
    return render("portal/vouchers.html", items=items)


@bp.get("/history")
@allow(MEMBER)
def history():
    session = brand_db()
    kind = request.args.get("kind") or None
    if kind is not None and kind not in set(EntryKind):
        abort(400)
    page = max(1, request.args.get("page", 1, type=int))
    query = select(LedgerEntry).where(LedgerEntry.member_id == _member().id)
    if kind:
        query = query.where(LedgerEntry.kind == kind)
    entries = session.scalars(query.order_by(LedgerEntry.id.desc())
                              .offset((page - 1) * HISTORY_PAGE_SIZE)
                              .limit(HISTORY_PAGE_SIZE + 1)).all()
    page_entries = entries[:HISTORY_PAGE_SIZE]
    order_ids = [entry.reference_id for entry in page_entries if entry.reference_type == "order"]
    orders = {order.id: order
              for order in session.scalars(select(Order).where(Order.id.in_(order_ids)))}
    status = ngettext("%(num)s entry on page %(page)s", "%(num)s entries on page %(page)s",
                      len(page_entries), page=page)
    context = {"entries": page_entries, "orders": orders, "page": page, "kind": kind,
               "status": status,
               "has_more": len(entries) > HISTORY_PAGE_SIZE, "kind_labels": _kind_labels()}
    if htmx and not htmx.history_restore_request:
        response = Response(render("portal/_history_results.html", partial=True, **context))
    else:
        response = Response(render("portal/history.html", partial=False,
                                   kinds=[str(k) for k in EntryKind], **context))
    response.vary.add("HX-Request")
    return response


def _kind_labels() -> dict[str, str]:
    return {
        EntryKind.EARN: _("Earned"), EntryKind.REDEEM: _("Redeemed"),
        EntryKind.EXPIRE: _("Expired"), EntryKind.ADJUST: _("Adjusted"),
        EntryKind.REVERSE: _("Reversed"), EntryKind.TRANSFER: _("Transferred"),
    }
