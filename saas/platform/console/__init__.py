"""The platform console: a Flask-AppBuilder app for platform admins, mounted at /platform.

It is a Flask app of its own, so Flask-AppBuilder's Babel, locale selector and language
switch (``/lang/<code>``) stay inside it. It reads the platform app's session cookie (same
name, secret key and serializer) to find the signed-in user. The ``access`` module bridges
sign-in and guards every route.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from flask import Flask, g
from flask_appbuilder import AppBuilder
from flask_appbuilder.const import AUTH_REMOTE_USER
from flask_wtf import CSRFProtect
from werkzeug.local import LocalProxy

from saas.app import init_settings
from saas.console import identity as console_identity
from saas.platform.app import PLATFORM_SESSION_COOKIE
from saas.platform.console import access, views
from saas.platform.console.access import MOUNT, endpoint_policies
from saas.runtime import Runtime
from saas.web import security, templating

TEMPLATES = Path(__file__).resolve().parent / "templates"

# Languages of FAB's language switch; FAB ships catalogs for each of them.
LANGUAGES = {
    "en": {"flag": "gb", "name": "English"},
    "de": {"flag": "de", "name": "Deutsch"},
    "es": {"flag": "es", "name": "Español"},
    "ja": {"flag": "jp", "name": "日本語"},
}


# The inline style attributes of Flask-AppBuilder 5.3's templates (general/lib.html,
# model/edit.html, model/show.html, widgets/show*.html). The console's CSP allows exactly
# these values with CSP3 'unsafe-hashes', and no other style attribute or <style> element.
FAB_STYLE_ATTRIBUTES = ("", "display: none;", "display: none", "display:inherit;",
                        "color: red", "display: flex;", "white-space: pre-line")


def _style_hash(value: str) -> str:
    digest = base64.b64encode(hashlib.sha256(value.encode()).digest()).decode()
    return f"'sha256-{digest}'"


STYLE_ATTRIBUTE_POLICY = "style-src-attr 'unsafe-hashes' " + " ".join(
    _style_hash(value) for value in FAB_STYLE_ATTRIBUTES)


def content_security_policy(response):
    """Set the platform CSP plus the hashes of Flask-AppBuilder's style attributes."""
    nonce = g.get("csp_nonce", "")
    policy = f"{security.content_security_policy(nonce)}; {STYLE_ATTRIBUTE_POLICY}"
    response.headers["Content-Security-Policy"] = policy
    return response


def create_console_app(runtime: Runtime) -> Flask:
    """Build the console app; the caller mounts it at ``MOUNT`` of the platform app."""
    app = Flask("saas.platform.console", template_folder=str(TEMPLATES), static_folder=None)
    init_settings(app, runtime.settings)
    app.config.update(
        # The platform app's session cookie, which contains the console sign-in.
        SESSION_COOKIE_NAME=PLATFORM_SESSION_COOKIE,
        SESSION_COOKIE_PATH="/",
        APP_NAME="Tessera platform",
        LANGUAGES=LANGUAGES,
        # No FAB login form: AUTH_REMOTE_USER registers no password view, and with
        # FAB_ADD_SECURITY_VIEWS off FAB adds neither its login nor its user and role pages.
        AUTH_TYPE=AUTH_REMOTE_USER,
        AUTH_USER_REGISTRATION=False,
        AUTH_ROLE_ADMIN=access.ADMIN_ROLE,
        AUTH_ROLE_PUBLIC=access.PUBLIC_ROLE,
        FAB_ROLES=access.FAB_ROLES,
        FAB_ADD_SECURITY_VIEWS=False,
        FAB_ADD_SECURITY_API=False,
        FAB_ADD_OPENAPI_VIEWS=False,
        FAB_ADD_MENU_API=False,
        FAB_API_SWAGGER_UI=False,
        # FAB's ab_* tables are not used: roles are built in and users come from the session.
        FAB_CREATE_DB=False,
        FAB_UPDATE_PERMS=False,
        FAB_SECURITY_SIGNALS_ENABLED=False,
    )
    app.extensions["tessera"] = runtime

    # Hook order matters: request id and CSP nonce, then who may call the route, then the
    # CSRF check, then FAB's own hooks (registered by AppBuilder below).
    security.init_app(app)
    # Registered after security's hook, so it runs before it and security keeps this CSP.
    app.after_request(content_security_policy)
    app.before_request(access.enforce)
    CSRFProtect(app)
    # FAB's templates add csp_nonce() to their scripts where it is defined; as a global it is
    # also defined inside macros imported without context.
    app.jinja_env.globals["csp_nonce"] = templating.csp_nonce
    console_identity.init_app(app)

    # FAB's views read through the request's platform session, which the sign-in check and
    # the domain code also use. On SQLite a second session would wait for the write lock.
    db = LocalProxy(console_identity.platform_db)
    with app.app_context():
        appbuilder = AppBuilder(indexview=views.ConsoleIndexView,
                                security_manager_class=access.ConsoleSecurityManager)
        appbuilder.init_app(app, db)
        views.register(appbuilder, runtime.settings)
    app.context_processor(lambda: {"platform_root": _platform_root()})
    return app


def _platform_root() -> str:
    from flask import request

    return request.script_root.removesuffix(MOUNT)


__all__ = ["MOUNT", "create_console_app", "endpoint_policies"]
