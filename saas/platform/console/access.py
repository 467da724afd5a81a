"""Who may use the platform console, checked in one before_request hook.

Flask-AppBuilder does not authenticate anybody here. The platform app's sign-in pages
(``/admin/sign-in`` with password and TOTP) put the console user into the platform session
cookie, which the browser also sends to ``/platform``. For each request, ``enforce`` reads
that user with ``saas.console.identity.current_user``: an anonymous GET is redirected to
the sign-in page (other methods get 401), a user who is not a platform admin gets 403.

A platform admin is then shown to Flask-AppBuilder (through Flask-Login's request loader)
as a FAB user object that exists only for this request and has one built-in role that grants
every permission. Built-in roles (``FAB_ROLES``) are checked in memory, so FAB needs none
of its ``ab_*`` tables, and none are created.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, abort, current_app, redirect, request
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import Role
from flask_appbuilder.security.sqla.models import User as FabUser

from saas.console.identity import current_user
from saas.platform.models import User
from saas.web.policy import PLATFORM_ADMIN, PUBLIC, Policy

# Mount point of the console in the platform app. The sign-in pages are one level up.
MOUNT = "/platform"

ADMIN_ROLE = "Platform admin"
PUBLIC_ROLE = "Public"

# Built-in roles, matched by regular expressions on (view, permission) in memory.
FAB_ROLES = {ADMIN_ROLE: [[".*", ".*"]], PUBLIC_ROLE: []}

# Static files of Flask and of FAB: the only routes open to anonymous callers.
PUBLIC_ENDPOINTS = frozenset({"static", "appbuilder.static"})


def policy_for(endpoint: str) -> Policy:
    return PUBLIC if endpoint in PUBLIC_ENDPOINTS else PLATFORM_ADMIN


def endpoint_policies(app: Flask) -> dict[str, Policy]:
    """Return every endpoint of the console app with the policy ``enforce`` applies to it."""
    return {rule.endpoint: policy_for(rule.endpoint) for rule in app.url_map.iter_rules()}


def actor() -> str:
    """Return the audit actor of the request: the signed-in platform admin."""
    return f"user:{current_user().email}"


def sign_in_url() -> str:
    """Return the URL of the sign-in page, which leads back to this console page."""
    platform_root = request.script_root.removesuffix(MOUNT)
    back = MOUNT + request.full_path.rstrip("?")
    return f"{platform_root}/admin/sign-in?{urlencode({'next': back})}"


def enforce():
    endpoint = request.endpoint
    if endpoint is None:
        return None  # no route matched, so the 404 handler responds
    if policy_for(endpoint) is PUBLIC:
        return None
    user = current_user()
    if user is None:
        if request.method == "GET":
            return redirect(sign_in_url())
        return current_app.make_response(("", 401))
    if not user.is_platform_admin:
        abort(403)
    return None


def fab_user(user: User) -> FabUser:
    """Build a FAB user for ``user``; it is never added to a database session."""
    name = user.name or user.email
    return FabUser(id=user.id, username=user.email, email=user.email, first_name=name,
                   last_name="", active=True, roles=[Role(name=ADMIN_ROLE)])


def load_request_user(_request):
    user = current_user()
    if user is None or not user.is_platform_admin:
        return None
    return fab_user(user)


class ConsoleSecurityManager(SecurityManager):
    """FAB's security manager without its login, user database or permission tables."""

    def create_login_manager(self, app):
        login_manager = super().create_login_manager(app)
        login_manager.request_loader(load_request_user)
        # The session belongs to the platform app; Flask-Login must not write to it.
        login_manager.session_protection = None
        return login_manager

    def load_user(self, pk):
        return None  # users come from the request loader only

    def get_public_role(self):
        return Role(name=PUBLIC_ROLE)
