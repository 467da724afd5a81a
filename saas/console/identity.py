"""The console user of a request, kept in the session, and the checks of console policies.

Signing in has stages, stored in the session: after the password the session contains the
user's id with stage ``second_factor`` (or ``enrol`` for a user without an authenticator),
and only after the TOTP or recovery code does the stage become ``signed_in``. The session
also carries the user's security stamp, so a password reset or a factor reset ends every
session at once, and the time of sign-in, so a console session lasts at most
``SESSION_LIFETIME``.

On a brand's host the console role comes from the user's delegation in that brand (the
session cookie is bound to the brand, so it never reaches another brand). On the platform
host only platform admins sign in.
"""

from __future__ import annotations

import time
from datetime import timedelta

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from saas.console.accounts import partner_of, role_in_brand
from saas.extensions import htmx
from saas.platform.models import Role, User
from saas.web.policy import Policy, register_check

USER_KEY = "console_user"
STAMP_KEY = "console_stamp"
STAGE_KEY = "console_stage"
SINCE_KEY = "console_since"

STAGE_SECOND_FACTOR = "second_factor"
STAGE_ENROL = "enrol"
STAGE_SIGNED_IN = "signed_in"

SESSION_LIFETIME = timedelta(hours=12)


def init_app(app: Flask) -> None:
    app.teardown_request(_close_platform_db)


def platform_db() -> Session:
    """Return the request's session on the platform database, opened on first use."""
    db = g.get("platform_db")
    if db is None:
        db = current_app.extensions["tessera"].platform_session()
        g.platform_db = db
    return db


def _close_platform_db(_exc: BaseException | None) -> None:
    db = g.pop("platform_db", None)
    if db is not None:
        db.close()


def start_stage(user: User, stage: str) -> None:
    session.clear()
    session[USER_KEY] = user.id
    session[STAMP_KEY] = user.security_stamp
    session[STAGE_KEY] = stage
    session[SINCE_KEY] = int(time.time())


def finish_sign_in(user: User) -> None:
    start_stage(user, STAGE_SIGNED_IN)


def sign_out() -> None:
    session.clear()


def pending_user(stage: str) -> User | None:
    """Return the user part-way through sign-in at ``stage``, if the session is still valid."""
    if session.get(STAGE_KEY) != stage:
        return None
    return _session_user()


def _session_user() -> User | None:
    user_id = session.get(USER_KEY)
    if not isinstance(user_id, int):
        return None
    since = session.get(SINCE_KEY, 0)
    if time.time() - since > SESSION_LIFETIME.total_seconds():
        return None
    user = platform_db().get(User, user_id)
    if user is None or not user.is_active or user.security_stamp != session.get(STAMP_KEY):
        return None
    return user


def current_user() -> User | None:
    """Return the fully signed-in console user, or None."""
    if "console_user_row" not in g:
        g.console_user_row = (_session_user() if session.get(STAGE_KEY) == STAGE_SIGNED_IN
                              else None)
    return g.console_user_row


def current_role() -> Role | None:
    """Return the signed-in user's role in the request's brand."""
    if "console_role" not in g:
        user = current_user()
        brand = g.get("brand")
        g.console_role = (role_in_brand(platform_db(), user, brand.id)
                          if user is not None and brand is not None else None)
    return g.console_role


def role_label(role: str) -> str:
    labels = {Role.OWNER: _("owner"), Role.ADMIN: _("admin"), Role.ANALYST: _("analyst"),
              Role.SUPPORT: _("support"), "partner": _("partner contact")}
    return labels.get(role, str(role))


def _refuse_anonymous():
    sign_in = url_for("console_auth.sign_in", next=request.full_path.rstrip("?"))
    if request.method == "GET" and not htmx:
        return redirect(sign_in)
    response = current_app.make_response(("", 401))
    if htmx:
        response.headers["HX-Redirect"] = sign_in
    return response


def check_console(policy: Policy):
    if current_user() is None:
        return _refuse_anonymous()
    role = current_role()
    if role is None or role.value not in policy.roles:
        abort(403)
    return None


def check_platform_admin(_policy: Policy):
    user = current_user()
    if user is None:
        return _refuse_anonymous()
    if not user.is_platform_admin:
        abort(403)
    return None


def current_partner_code() -> str | None:
    """Return the partner whose page the signed-in user may open in the request's brand."""
    if "partner_code" not in g:
        user = current_user()
        brand = g.get("brand")
        g.partner_code = (partner_of(platform_db(), user, brand.id)
                          if user is not None and brand is not None else None)
    return g.partner_code


def check_partner_contact(_policy: Policy):
    if current_user() is None:
        return _refuse_anonymous()
    if current_partner_code() is None:
        abort(403)
    return None


register_check("console", check_console)
register_check("partner_contact", check_partner_contact)
register_check("platform_admin", check_platform_admin)
