"""The brand application: one Flask app that serves every brand, resolved per request."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from saas import api
from saas.config import Settings, load_settings
from saas.console import analytics as console_analytics
from saas.console import auth_views as console_auth
from saas.console import catalog as console_catalog
from saas.console import cohorts as console_cohorts
from saas.console import identity as console_identity
from saas.console import imports as console_imports
from saas.console import reports as console_reports
from saas.console import rules as console_rules
from saas.console import segments as console_segments
from saas.console import team as console_team
from saas.console import theme as console_theme
from saas.console import views as console
from saas.extensions import babel, csrf, htmx
from saas.i18n.locale import select_locale
from saas.logging import configure_logging
from saas.portal import pwa as portal_pwa
from saas.portal import rewards as portal_rewards
from saas.portal import views as portal
from saas.runtime import Runtime
from saas.web import errors, health, jobs, policy, security, sessions, templating, tenant, themes

ROOT = Path(__file__).resolve().parent.parent
THEMES = ROOT / "themes"
TRANSLATIONS = ROOT / "translations"

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the brand app from validated settings (read from the environment by default)."""
    app = Flask(
        "saas",
        template_folder=str(THEMES / "base" / "templates"),
        static_folder=str(THEMES / "base" / "static"),
        static_url_path="/static",
    )
    init_settings(app, settings or (runtime.settings if runtime else load_settings()))
    init_logging(app)
    init_runtime(app, runtime)
    init_extensions(app)
    init_request_pipeline(app)
    init_blueprints(app)
    api.init_app(app)
    return app


def init_settings(app: Flask, settings: Settings) -> None:
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="tessera_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        PREFERRED_URL_SCHEME="https" if settings.is_production else "http",
        MAX_CONTENT_LENGTH=200 * 1024 * 1024,
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.extensions["tessera.settings"] = settings


def init_logging(app: Flask) -> None:
    configure_logging(json_format=app.extensions["tessera.settings"].is_production)


def init_runtime(app: Flask, runtime: Runtime | None) -> None:
    app.extensions["tessera"] = runtime or Runtime(app.extensions["tessera.settings"])


def init_extensions(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    htmx.init_app(app)


def init_request_pipeline(app: Flask) -> None:
    sessions.init_app(app)
    security.init_app(app)
    tenant.init_app(app)
    policy.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    themes.init_app(app)
    console_identity.init_app(app)


def init_blueprints(app: Flask) -> None:
    app.register_blueprint(health.bp)
    app.register_blueprint(jobs.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(portal_rewards.bp)
    app.register_blueprint(portal_pwa.bp)
    app.register_blueprint(console_auth.bp, url_prefix="/admin")
    app.register_blueprint(console.bp, url_prefix="/admin")
    app.register_blueprint(console_rules.bp, url_prefix="/admin")
    app.register_blueprint(console_team.bp, url_prefix="/admin")
    app.register_blueprint(console_imports.bp, url_prefix="/admin")
    app.register_blueprint(console_theme.bp, url_prefix="/admin")
    app.register_blueprint(console_catalog.bp, url_prefix="/admin")
    app.register_blueprint(console_analytics.bp, url_prefix="/admin")
    app.register_blueprint(console_cohorts.bp, url_prefix="/admin")
    app.register_blueprint(console_segments.bp, url_prefix="/admin")
    app.register_blueprint(console_reports.bp, url_prefix="/admin")
