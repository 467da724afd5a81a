"""Rate limits per brand and partner client (Flask-Limiter, moving window, on Redis).

The limit key is the brand and the verified client id, set by the bearer check, never a
header the caller controls or the short-lived token. Without Redis the limits live in the
process's memory; when Redis fails the limiter lets requests through and logs the error.
"""

from __future__ import annotations

from flask import Flask, g
from flask_limiter import HeaderNames, Limiter

from saas.api import views

DEFAULT_LIMIT = "120/minute"


def client_key() -> str:
    client = g.get("api_client")
    return f"{g.brand.slug}:{client.client_id if client is not None else 'anonymous'}"


def client_limit() -> str:
    partner = g.get("api_partner")
    return partner.rate_limit if partner is not None else DEFAULT_LIMIT


def init_app(app: Flask) -> Limiter:
    """Create the app's limiter; call after the access checks so the client is known."""
    settings = app.extensions["tessera.settings"]
    limiter = Limiter(
        key_func=client_key,
        app=app,
        storage_uri=settings.redis_url or "memory://",
        strategy="moving-window",
        key_prefix="tessera:ratelimit",
        headers_enabled=True,
        header_name_mapping={HeaderNames.LIMIT: "RateLimit-Limit",
                             HeaderNames.REMAINING: "RateLimit-Remaining",
                             HeaderNames.RESET: "RateLimit-Reset",
                             HeaderNames.RETRY_AFTER: "Retry-After"},
        swallow_errors=True,
        in_memory_fallback_enabled=False,
        default_limits=[],
    )
    limiter.limit(client_limit, key_func=client_key)(views.bp)
    limiter.exempt(views.token)
    limiter.exempt(views.openapi)
    limiter.exempt(views.docs)
    app.extensions["tessera.limiter"] = limiter
    return limiter
