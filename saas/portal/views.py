"""Portal pages: joining, signing in, the balance, member card, claim and profile."""

from __future__ import annotations

from urllib.parse import urlsplit

import segno
from babel import Locale
from flask import Blueprint, Response, abort, current_app, g, redirect, request, url_for
from flask import session as flask_session
from flask_babel import gettext as _
from sqlalchemy import select

from saas.db import utcnow
from saas.extensions import htmx
from saas.loyalty.errors import InvalidInput, LoyaltyError
from saas.loyalty.ledger import available_points
from saas.loyalty.models import Member, Reward
from saas.loyalty.tiers import member_tier, qualifying_points, tiers_by_threshold
from saas.portal.accounts import (
    SignInFailed,
    SignInThrottled,
    authenticate,
    claim_member,
    request_password_reset,
    reset_password,
    send_verification,
    sign_up,
    verify_email,
)
from saas.portal.preferences import Purpose, current_consents, update_preferences
from saas.portal.session import current_account, sign_in_session, sign_out_session
from saas.security.throttle import SignInThrottle
from saas.tenancy.manifests import NON_CSS_THEME_KEYS, validate_theme_tokens
from saas.tenancy.settings import get_setting
from saas.web.policy import MEMBER, PUBLIC, allow
from saas.web.tenant import brand_cache, brand_db
from saas.web.themes import render

bp = Blueprint("portal", __name__)


def _secret() -> str:
    return current_app.extensions["tessera.settings"].secret_key


def _throttle() -> SignInThrottle:
    return SignInThrottle(brand_cache(), "member")


def _safe_next(target: str | None) -> str:
    """Follow ``next`` (a path inside this brand) only; anything else goes home."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target \
            or urlsplit(target).netloc:
        return url_for("portal.home")
    return request.script_root + target


@bp.get("/")
@allow(PUBLIC)
def home():
    account = current_account()
    if account is None:
        return render("portal/welcome.html", signed_out=True)
    session = brand_db()
    member = session.get(Member, account.member_id)
    return render("portal/home.html", member=member, **_progress(session, member))


def _progress(session, member: Member) -> dict:
    now = utcnow()
    tier = member_tier(session, member)
    tiers = tiers_by_threshold(session)
    higher = [t for t in tiers if tier is None or t.threshold > tier.threshold]
    next_tier = higher[0] if higher else None
    window = get_setting(session, "tiers.window_months")
    earned = qualifying_points(session, member.id, now, window)
    percent = 100
    if next_tier is not None:
        percent = min(100, round(100 * earned / max(1, next_tier.threshold)))
    available = available_points(session, member, now)
    next_reward = session.scalars(
        select(Reward).where(Reward.active.is_(True), Reward.cost_points > available)
        .order_by(Reward.cost_points).limit(1)).first()
    return {"tier": tier, "next_tier": next_tier, "earned": earned, "percent": percent,
            "available": available, "next_reward": next_reward}


@bp.get("/card")
@allow(MEMBER)
def card():
    member = brand_db().get(Member, current_account().member_id)
    qr = segno.make(member.ref, error="m").png_data_uri(scale=8)
    return render("portal/card.html", member=member, qr=qr)


@bp.route("/join", methods=["GET", "POST"])
@allow(PUBLIC)
def join():
    if request.method == "GET":
        return render("portal/join.html", error=None, email="")
    email = request.form.get("email", "")
    try:
        sign_up(brand_db(), g.brand, _secret(), email, request.form.get("password", ""),
                url_for("portal.verify", _external=True), locale=g.brand.default_locale)
    except InvalidInput as exc:
        brand_db().rollback()
        return render("portal/join.html", error=_join_error(exc), email=email), 422
    brand_db().commit()
    return render("portal/check_email.html", email=email)


def _join_error(exc: InvalidInput) -> str:
    if exc.field == "email":
        return _("Enter a valid email address, such as name@example.com.")
    return _("Choose a password of at least 10 characters that is not a common one.")


@bp.get("/verify")
@allow(PUBLIC)
def verify():
    try:
        verify_email(brand_db(), g.brand, _secret(), request.args.get("token", ""))
    except InvalidInput:
        brand_db().rollback()
        return render("portal/message.html",
                      message=_("This confirmation link is invalid or has expired.")), 400
    brand_db().commit()
    return render("portal/message.html", message=_("Your email address is confirmed."),
                  link=url_for("portal.sign_in"), link_text=_("Sign in"))


@bp.route("/sign-in", methods=["GET", "POST"])
@allow(PUBLIC)
def sign_in():
    if request.method == "GET":
        return render("portal/sign_in.html", error=None, email="")
    email = request.form.get("email", "")
    try:
        account = authenticate(brand_db(), _throttle(), email, request.form.get("password", ""),
                               request.remote_addr or "unknown")
    except SignInThrottled as exc:
        brand_db().rollback()
        message = _("Too many failed attempts. Try again in %(seconds)s seconds.",
                    seconds=exc.details["retry_after"])
        response = Response(render("portal/sign_in.html", error=message, email=email), 429)
        response.headers["Retry-After"] = str(exc.details["retry_after"])
        return response
    except SignInFailed:
        brand_db().rollback()
        return render("portal/sign_in.html", email=email,
                      error=_("The email address or the password is wrong.")), 401
    if account.verified_at is None:
        send_verification(brand_db(), g.brand, _secret(), account,
                          url_for("portal.verify", _external=True))
        brand_db().commit()
        return render("portal/message.html", message=_(
            "Confirm your email address first: we sent you a new link.")), 403
    brand_db().commit()
    sign_in_session(account)
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/forgot-password", methods=["GET", "POST"])
@allow(PUBLIC)
def forgot_password():
    if request.method == "GET":
        return render("portal/forgot.html")
    request_password_reset(brand_db(), g.brand, _secret(), request.form.get("email", ""),
                           url_for("portal.reset", _external=True))
    brand_db().commit()
    return render("portal/message.html",
                  message=_("If this address has an account, we sent it a link to choose a "
                            "new password. The link works for one hour."))


@bp.route("/reset-password", methods=["GET", "POST"])
@allow(PUBLIC)
def reset():
    token = request.values.get("token", "")
    if request.method == "GET":
        return render("portal/reset.html", token=token, error=None)
    try:
        reset_password(brand_db(), g.brand, _secret(), token, request.form.get("password", ""))
    except InvalidInput as exc:
        brand_db().rollback()
        error = (_("Choose a password of at least 10 characters that is not a common one.")
                 if exc.field == "password"
                 else _("This reset link is invalid, expired or already used. Ask for a new one."))
        return render("portal/reset.html", token=token, error=error), 422
    brand_db().commit()
    sign_out_session()
    return render("portal/message.html", message=_("Your password is changed."),
                  link=url_for("portal.sign_in"), link_text=_("Sign in"))


@bp.route("/profile", methods=["GET", "POST"])
@allow(MEMBER)
def profile():
    session = brand_db()
    member = session.get(Member, current_account().member_id)
    if request.method == "POST":
        return _save_profile(session, member)
    response = Response(render("portal/profile.html", partial=False,
                               **_profile_context(session, member,
                                                  saved=request.args.get("saved") == "1")))
    response.vary.add("HX-Request")
    return response


def _save_profile(session, member: Member):
    """Store the form and return the saved form to HTMX, or a redirect to a plain post.

    A new language changes every text of the page, so HTMX then reloads the whole page.
    """
    previous_locale = member.locale
    consents = {str(purpose): request.form.get(str(purpose)) == "on" for purpose in Purpose}
    try:
        update_preferences(session, g.brand, member, request.form.get("locale", ""),
                           consents, source="portal")
    except InvalidInput:
        session.rollback()
        abort(400)
    session.commit()
    flask_session["locale"] = member.locale
    saved_url = url_for("portal.profile", saved=1)
    if not htmx:
        return redirect(saved_url)
    if member.locale != previous_locale:
        response = Response(status=204)
        response.headers["HX-Redirect"] = saved_url
        return response
    return render("portal/_profile_form.html", partial=True,
                  **_profile_context(session, member, saved=True))


def _profile_context(session, member: Member, *, saved: bool) -> dict:
    languages = [(code, Locale.parse(code).get_display_name(code)) for code in g.brand.locales]
    return {"member": member, "languages": languages, "saved": saved,
            "consents": current_consents(session, member.id)}


@bp.post("/sign-out")
@allow(PUBLIC)
def sign_out():
    sign_out_session()
    return redirect(url_for("portal.home"))


@bp.route("/claim", methods=["GET", "POST"])
@allow(MEMBER)
def claim():
    if request.method == "GET":
        return render("portal/claim.html", error=None)
    try:
        claim_member(brand_db(), current_account(), request.form.get("member", "").strip(),
                     request.form.get("code", ""))
    except LoyaltyError:
        brand_db().rollback()
        return render("portal/claim.html",
                      error=_("The membership number or the code is wrong, or the code has "
                              "expired. Ask the shop for a new code.")), 422
    brand_db().commit()
    return redirect(url_for("portal.home"))


@bp.get("/theme.css")
@allow(PUBLIC)
def theme_css():
    """Serve the brand's design tokens as CSS custom properties overriding the base theme."""
    # Validated again on the way out, so only known tokens with safe values reach the CSS.
    tokens = validate_theme_tokens(get_setting(brand_db(), "theme.tokens"))
    lines = [f"  --{name.replace('_', '-')}: {value};" for name, value in sorted(tokens.items())
             if name not in NON_CSS_THEME_KEYS]
    response = Response(":root {\n" + "\n".join(lines) + "\n}\n", mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=60"
    return response
