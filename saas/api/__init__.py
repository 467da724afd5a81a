"""The partner REST API: OAuth2 client credentials, JSON endpoints under /api/v1."""

from flask import Flask


def init_app(app: Flask) -> None:
    from saas.api import apply, limits, oauth, partner_page, sla, views
    from saas.console import partners as console_partners
    from saas.web import vendor

    oauth.init_app(app)
    app.register_blueprint(views.bp, url_prefix="/api/v1")
    app.register_blueprint(apply.bp)
    app.register_blueprint(partner_page.bp, url_prefix="/partner")
    app.register_blueprint(console_partners.bp, url_prefix="/admin")
    app.register_blueprint(vendor.bp)
    limits.init_app(app)
    app.after_request(sla.record_request)
