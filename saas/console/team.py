"""The brand's console users (invite, change role, remove, reset a lost authenticator) and
the audit trail viewer."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, g, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from saas.console import accounts
from saas.console.base import EDITORS, actor, page
from saas.console.identity import current_user, platform_db
from saas.db import utcnow
from saas.extensions import htmx
from saas.loyalty.errors import InvalidInput
from saas.notifications.outbox import queue_email
from saas.platform.models import Delegation, Invitation, Role, User
from saas.security.audit import BrandAuditEntry
from saas.web.policy import allow, console
from saas.web.tenant import brand_db

bp = Blueprint("console_team", __name__)

AUDIT_PAGE = 50


def _members_of_brand():
    rows = platform_db().execute(
        select(User, Delegation.role).join(Delegation, Delegation.user_id == User.id)
        .where(Delegation.brand_id == g.brand.id).order_by(User.email)).all()
    pending = list(platform_db().scalars(
        select(Invitation).where(Invitation.brand_id == g.brand.id,
                                 Invitation.accepted_at.is_(None),
                                 Invitation.revoked_at.is_(None),
                                 Invitation.expires_at > utcnow())
        .order_by(Invitation.created_at.desc())))
    return rows, pending


def _users_page(message: str | None = None, error: str | None = None, status: int = 200):
    rows, pending = _members_of_brand()
    return page("console/users.html", rows=rows, pending=pending, roles=list(Role),
                message=message, error=error, me=current_user().id), status


@bp.get("/users")
@allow(console("owner"))
def users():
    return _users_page()


@bp.post("/users/invite")
@allow(console("owner"))
def invite():
    db = platform_db()
    try:
        new = accounts.invite(db, g.brand.id, request.form.get("email", ""),
                              request.form.get("role", ""), actor=actor(),
                              client_address=request.remote_addr)
    except InvalidInput as exc:
        db.rollback()
        return _users_page(error=_("Not invited: %(reason)s", reason=exc.message), status=400)
    link = url_for("console_auth.accept_invitation", token=new.token, _external=True)
    # The email waits in the brand's outbox; the invitation row is committed first so the
    # link never points at nothing. If the outbox write fails, the owner invites again.
    db.commit()
    queue_email(brand_db(), new.invitation.email, f"{g.brand.name}: console invitation",
                f"You are invited to the {g.brand.name} console. Open this link within "
                f"7 days to accept:\n{link}\n")
    brand_db().commit()
    return _users_page(message=_("Invitation sent to %(email)s.", email=new.invitation.email))


def _target_user(user_id: int) -> User:
    user = platform_db().get(User, user_id)
    if user is None or accounts.role_in_brand(platform_db(), user, g.brand.id) is None \
            or user.is_platform_admin:
        abort(404)
    return user


def _owners_left(excluding: int) -> int:
    return platform_db().scalar(select(func.count()).select_from(Delegation).where(
        Delegation.brand_id == g.brand.id, Delegation.role == Role.OWNER,
        Delegation.user_id != excluding))


@bp.post("/users/<int:user_id>/role")
@allow(console("owner"))
def change_role(user_id: int):
    user = _target_user(user_id)
    role = request.form.get("role", "")
    remove = role == "remove"
    current = accounts.role_in_brand(platform_db(), user, g.brand.id)
    if current == Role.OWNER and (remove or role != Role.OWNER) and _owners_left(user.id) == 0:
        return _users_page(error=_("The brand needs at least one owner: make someone else "
                                   "owner first."), status=400)
    db = platform_db()
    try:
        accounts.set_role(db, g.brand.id, user, None if remove else role, actor=actor(),
                          client_address=request.remote_addr)
    except InvalidInput as exc:
        db.rollback()
        return _users_page(error=_("Not changed: %(reason)s", reason=exc.message), status=400)
    db.commit()
    message = (_("%(email)s no longer has access.", email=user.email) if remove
               else _("%(email)s is now %(role)s.", email=user.email, role=role))
    return _users_page(message=message)


@bp.post("/users/<int:user_id>/reset-second-factor")
@allow(console("owner"))
def reset_second_factor(user_id: int):
    user = _target_user(user_id)
    db = platform_db()
    accounts.reset_second_factor(db, user, actor=actor(), client_address=request.remote_addr)
    db.commit()
    return _users_page(message=_("%(email)s sets up a new authenticator at the next sign-in.",
                                 email=user.email))


# --- Audit trail -----------------------------------------------------------------------------

def _day_bound(raw: str, *, end: bool) -> datetime | None:
    if not raw:
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput(_("Dates look like 2025-03-01, not %(value)s.", value=raw),
                           field="date", value=raw) from None
    moment = datetime.combine(day + timedelta(days=1) if end else day, time(),
                              tzinfo=ZoneInfo(g.brand.timezone))
    return moment


@bp.get("/audit")
@allow(console(*EDITORS))
def audit_trail():
    filters = {key: request.args.get(key, "").strip()[:200]
               for key in ("actor", "action", "target", "since", "until")}
    before = request.args.get("before", type=int)
    query = select(BrandAuditEntry).order_by(BrandAuditEntry.id.desc())
    error = None
    for key in ("actor", "action", "target"):
        if filters[key]:
            column = getattr(BrandAuditEntry, key)
            query = query.where(column.contains(filters[key], autoescape=True))
    try:
        since = _day_bound(filters["since"], end=False)
        until = _day_bound(filters["until"], end=True)
    except InvalidInput as exc:
        since = until = None
        error = exc.message
    if since is not None:
        query = query.where(BrandAuditEntry.recorded_at >= since)
    if until is not None:
        query = query.where(BrandAuditEntry.recorded_at < until)
    if before:
        query = query.where(BrandAuditEntry.id < before)
    rows = list(brand_db().scalars(query.limit(AUDIT_PAGE + 1)))
    next_before = rows[AUDIT_PAGE - 1].id if len(rows) > AUDIT_PAGE else None
    template = "console/_audit_rows.html" if htmx else "console/audit.html"
    return page(template, rows=rows[:AUDIT_PAGE], filters=filters, next_before=next_before,
                error=error), 400 if error else 200
