"""The partner REST API: OAuth2 client credentials, JSON endpoints under /api/v1."""

from flask import Flask


def init_app(app: Flask) -> None:
    from saas.api import limits, oauth, views

    oauth.init_app(app)
    app.register_blueprint(views.bp, url_prefix="/api/v1")
    limits.init_app(app)
