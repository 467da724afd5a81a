"""The platform app: the platform host's start page and, under /platform, the console."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app

from saas.app import THEMES, init_settings
from saas.extensions import babel
from saas.runtime import Runtime
from saas.web import errors, health, security, templating, themes
from saas.web.themes import render

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
    app.extensions["tessera"] = runtime
    babel.init_app(app, locale_selector=lambda: "en")
    security.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    themes.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(bp)
    return app


@bp.get("/")
def index():
    """List the brands in development only; production shows nothing private."""
    runtime: Runtime = current_app.extensions["tessera"]
    brands = None if runtime.settings.is_production else runtime.directory.all()
    return render("platform/index.html", brands=brands)
