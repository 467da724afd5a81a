"""The platform app: the platform host's start page and, under /platform, the console."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app

from saas.app import THEMES, init_settings
from saas.console import auth_views as console_auth
from saas.console import identity as console_identity
from saas.extensions import babel, csrf
from saas.runtime import Runtime
from saas.web import errors, health, policy, security, templating, themes
from saas.web.policy import PUBLIC, allow
from saas.web.themes import render

# Its own cookie name: the brand app's cookies under /t/<slug>/ share the platform host.
PLATFORM_SESSION_COOKIE = "tessera_platform_session"

bp = Blueprint("platform_home", __name__)


def create_platform_app(runtime: Runtime) -> Flask:
    """Build the platform host's app; it shares the brand app's runtime and settings."""
    app = Flask(
        "saas.platform",
        template_folder=str(THEMES / "base" / "templates"),
        static_folder=str(THEMES / "base" / "static"),
        static_url_path="/static",
    )
    init_settings(app, runtime.settings)
    app.config["SESSION_COOKIE_NAME"] = PLATFORM_SESSION_COOKIE
    app.extensions["tessera"] = runtime
    babel.init_app(app, locale_selector=lambda: "en")
    csrf.init_app(app)
    security.init_app(app)
    policy.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    themes.init_app(app)
    console_identity.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(bp)
    app.register_blueprint(console_auth.bp, url_prefix="/admin")
    return app


@bp.get("/")
@allow(PUBLIC)
def index():
    """List the brands in development only; production shows nothing private."""
    runtime: Runtime = current_app.extensions["tessera"]
    brands = None if runtime.settings.is_production else runtime.directory.all()
    return render("platform/index.html", brands=brands)
