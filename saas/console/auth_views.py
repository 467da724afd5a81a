"""Console sign-in pages: password, TOTP enrolment and check, recovery codes, password reset,
and accepting an invitation. Registered under ``/admin`` on brand hosts and on the platform
host (where only platform admins may finish signing in)."""

from __future__ import annotations

from urllib.parse import urlsplit

import segno
from flask import Blueprint, Response, current_app, g, redirect, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from saas.console import accounts
from saas.console.identity import (
    STAGE_ENROL,
    STAGE_SECOND_FACTOR,
    current_user,
    finish_sign_in,
    pending_user,
    platform_db,
    role_label,
    sign_out,
    start_stage,
)
from saas.loyalty.errors import InvalidInput
from saas.notifications.outbox import queue_email
from saas.platform.models import User
from saas.web.policy import PUBLIC, allow
from saas.web.sessions import session_scope
from saas.web.tenant import brand_db
from saas.web.themes import render

bp = Blueprint("console_auth", __name__)

DEVICE_COOKIE = "tessera_device"
PENDING_TOTP_KEY = "console_pending_totp"
FRESH_CODES_KEY = "console_recovery_codes"


def _secret_key() -> str:
    return current_app.extensions["tessera.settings"].secret_key


def _scope() -> str:
    brand = g.get("brand")
    return session_scope(request) if brand is not None else "platform"


def _home() -> str:
    brand = g.get("brand")
    if brand is None:
        return request.script_root + "/platform/"
    user = current_user() or pending_user(STAGE_SECOND_FACTOR) or pending_user(STAGE_ENROL)
    if user is not None and accounts.role_in_brand(platform_db(), user, brand.id) is None \
            and accounts.partner_of(platform_db(), user, brand.id) is not None:
        return url_for("partner_page.overview")
    return url_for("console.dashboard")


def _safe_next(target: str | None) -> str:
    """Follow ``next`` only to a path on this site; anything else goes to the console."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target \
            or urlsplit(target).netloc:
        return _home()
    return request.script_root + target


def _may_use_console(user: User) -> bool:
    brand = g.get("brand")
    if brand is None:
        return user.is_platform_admin
    return accounts.role_in_brand(platform_db(), user, brand.id) is not None \
        or accounts.partner_of(platform_db(), user, brand.id) is not None


def _client() -> str | None:
    return request.remote_addr


@bp.route("/sign-in", methods=["GET", "POST"])
@allow(PUBLIC)
def sign_in():
    if request.method == "GET":
        if current_user() is not None:
            return redirect(_safe_next(request.args.get("next")))
        return render("console/sign_in.html", error=None, email="")
    email = request.form.get("email", "")
    db = platform_db()
    try:
        user = accounts.authenticate(db, email, request.form.get("password", ""),
                                     client_address=_client())
    except accounts.AccountLocked:
        db.rollback()
        return render("console/sign_in.html", email=email, error=_(
            "Too many failed attempts: this account is locked for 15 minutes. "
            "Reset your password to unlock it sooner.")), 429
    except accounts.SignInFailed:
        db.rollback()
        return render("console/sign_in.html", email=email,
                      error=_("The email address or the password is wrong.")), 401
    if not _may_use_console(user):
        return render("console/sign_in.html", email=email,
                      error=_("This account has no access to this console.")), 403
    next_url = request.args.get("next")
    if user.totp_confirmed_at is None:
        start_stage(user, STAGE_ENROL)
        return redirect(url_for("console_auth.enrol", next=next_url))
    remembered = accounts.remembered_user_id(_secret_key(), _scope(),
                                             request.cookies.get(DEVICE_COOKIE))
    if remembered == (user.id, user.security_stamp):
        finish_sign_in(user)
        return redirect(_safe_next(next_url))
    start_stage(user, STAGE_SECOND_FACTOR)
    return redirect(url_for("console_auth.second_factor", next=next_url))


@bp.route("/second-factor", methods=["GET", "POST"])
@allow(PUBLIC)
def second_factor():
    user = pending_user(STAGE_SECOND_FACTOR)
    if user is None:
        return redirect(url_for("console_auth.sign_in"))
    if request.method == "GET":
        return render("console/second_factor.html", error=None)
    db = platform_db()
    code = request.form.get("code", "")
    recovery = request.form.get("recovery_code", "").strip()
    if recovery:
        accepted = accounts.use_recovery_code(db, user, recovery, client_address=_client())
    else:
        accepted = accounts.verify_totp(db, user, code)
    if not accepted:
        db.rollback()
        return render("console/second_factor.html", error=_(
            "That code is not valid. Enter the current 6-digit code from your authenticator "
            "app, or an unused recovery code.")), 401
    db.commit()
    finish_sign_in(user)
    response = redirect(_safe_next(request.args.get("next")))
    if request.form.get("remember") == "yes":
        response.set_cookie(
            DEVICE_COOKIE, accounts.remember_device(_secret_key(), _scope(), user),
            max_age=int(accounts.REMEMBER_DEVICE.total_seconds()),
            path=request.script_root + "/", httponly=True, samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def _qr_data_uri(uri: str) -> str:
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


@bp.route("/enrol", methods=["GET", "POST"])
@allow(PUBLIC)
def enrol():
    user = pending_user(STAGE_ENROL)
    if user is None:
        return redirect(url_for("console_auth.sign_in"))
    secret = session.get(PENDING_TOTP_KEY)
    if not secret:
        secret = session[PENDING_TOTP_KEY] = accounts.new_totp_secret()
    issuer = g.brand.name if g.get("brand") is not None else accounts.TOTP_ISSUER
    uri = accounts.provisioning_uri(secret, user.email, issuer)
    if request.method == "GET":
        return render("console/enrol.html", qr=_qr_data_uri(uri), secret=secret, error=None)
    db = platform_db()
    code = request.form.get("code", "")
    try:
        codes = accounts.confirm_totp(db, user, secret, code, client_address=_client())
    except InvalidInput:
        db.rollback()
        return render("console/enrol.html", qr=_qr_data_uri(uri), secret=secret, error=_(
            "That code does not match. Enter the 6 digits your authenticator app shows "
            "now.")), 400
    db.commit()
    finish_sign_in(user)
    session[FRESH_CODES_KEY] = codes
    return redirect(url_for("console_auth.recovery_codes", next=request.args.get("next")))


@bp.get("/recovery-codes")
@allow(PUBLIC)
def recovery_codes():
    """Show the new recovery codes once, right after enrolment."""
    codes = session.pop(FRESH_CODES_KEY, None)
    if not codes or current_user() is None:
        return redirect(_home())
    return render("console/recovery_codes.html", codes=codes,
                  continue_url=_safe_next(request.args.get("next")))


@bp.post("/sign-out")
@allow(PUBLIC)
def sign_out_view():
    sign_out()
    return redirect(url_for("console_auth.sign_in"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@allow(PUBLIC)
def forgot_password():
    if g.get("brand") is None:
        return render("console/message.html", message=_(
            "Platform admins reset their password from a brand's console or with the command "
            "line.")), 404
    if request.method == "GET":
        return render("console/forgot.html")
    email = request.form.get("email", "").strip().lower()
    user = platform_db().scalar(select(User).where(User.email == email))
    if user is not None and _may_use_console(user):
        token = accounts.password_reset_token(_secret_key(), user)
        link = url_for("console_auth.reset_password", token=token, _external=True)
        queue_email(brand_db(), user.email, f"{g.brand.name}: reset your console password",
                    f"Open this link within two hours to choose a new password:\n{link}\n")
        brand_db().commit()
    return render("console/message.html", message=_(
        "If this address belongs to a console user, we sent a link to reset the password."))


@bp.route("/reset-password", methods=["GET", "POST"])
@allow(PUBLIC)
def reset_password():
    token = request.values.get("token", "")
    if request.method == "GET":
        return render("console/reset.html", token=token, error=None)
    db = platform_db()
    try:
        accounts.reset_password(db, _secret_key(), token, request.form.get("password", ""),
                                client_address=_client())
    except InvalidInput as exc:
        db.rollback()
        return render("console/reset.html", token=token, error=_reset_error(exc)), 400
    db.commit()
    sign_out()
    return render("console/message.html", message=_(
        "Your password is changed. Sign in with the new password."),
        link=url_for("console_auth.sign_in"), link_text=_("Sign in"))


def _reset_error(exc: InvalidInput) -> str:
    if exc.field == "password":
        return _("Choose a stronger password: %(reason)s.", reason=exc.message)
    return _("This reset link is invalid, used or expired. Ask for a new one.")


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@allow(PUBLIC)
def accept_invitation(token: str):
    db = platform_db()
    try:
        invitation = accounts.open_invitation(db, token)
    except InvalidInput:
        db.rollback()
        return render("console/message.html", message=_(
            "This invitation is invalid, used or expired. Ask for a new one.")), 400
    brand = g.get("brand")
    if brand is None or invitation.brand_id != brand.id:
        db.rollback()
        return render("console/message.html", message=_(
            "This invitation is invalid, used or expired. Ask for a new one.")), 400
    existing = db.scalar(select(User.id).where(User.email == invitation.email)) is not None
    context = {"email": invitation.email, "role": role_label(invitation.role),
               "existing": existing}
    if request.method == "GET":
        db.rollback()
        return render("console/accept.html", error=None, **context)
    try:
        user = accounts.accept_invitation(db, token, password=request.form.get("password", ""),
                                          name=request.form.get("name", ""),
                                          client_address=_client())
    except InvalidInput as exc:
        db.rollback()
        message = (_("Choose a stronger password: %(reason)s.", reason=exc.message)
                   if exc.field == "password" and not existing
                   else _("The password is wrong.") if exc.field == "password"
                   else exc.message)
        return render("console/accept.html", error=message, **context), 400
    db.commit()
    if user.totp_confirmed_at is None:
        start_stage(user, STAGE_ENROL)
        return redirect(url_for("console_auth.enrol"))
    start_stage(user, STAGE_SECOND_FACTOR)
    return redirect(url_for("console_auth.second_factor"))


def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


bp.after_request(no_store)
