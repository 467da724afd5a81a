"""Resolve every brand-app request to exactly one brand, or return 404 or 503."""

from __future__ import annotations

import logging

from flask import Flask, abort, current_app, g, request
from sqlalchemy.orm import Session

from saas.cache import BrandCache
from saas.logging import bind_context
from saas.runtime import Runtime
from saas.tenancy.brands import BrandInfo
from saas.web.dispatch import PREFIX_SLUG
from saas.web.hosts import brand_slug_from_subdomain, host_name, is_platform_host

log = logging.getLogger(__name__)

# Endpoints that every host serves without a brand.
BRANDLESS_ENDPOINTS = frozenset({"health.healthz", "health.readyz"})


def init_app(app: Flask) -> None:
    app.before_request(resolve_brand)
    app.teardown_request(close_brand_session)


def runtime() -> Runtime:
    return current_app.extensions["tessera"]


def resolve_brand() -> None:
    if request.endpoint in BRANDLESS_ENDPOINTS:
        return
    brand = find_brand()
    if brand is None:
        abort(404)
    g.brand = brand
    g.log_context = bind_context(brand=brand.slug)
    g.log_context.__enter__()
    if brand.is_suspended:
        abort(503)


def find_brand() -> BrandInfo | None:
    """Find the brand of this request by path prefix (platform host only) or by host."""
    settings = runtime().settings
    directory = runtime().directory
    slug = request.environ.get(PREFIX_SLUG)
    if slug:
        return directory.by_slug(slug)
    host = host_name(request.host)
    if is_platform_host(host, settings.base_domain):
        return None
    brand = directory.by_domain(host)
    if brand is not None:
        return brand
    slug = brand_slug_from_subdomain(host, settings.base_domain)
    return directory.by_slug(slug) if slug else None


def brand_db() -> Session:
    """Return the request's session on its brand's database, opened on first use."""
    session = g.get("brand_db")
    if session is None:
        session = runtime().open_brand_session(g.brand)
        g.brand_db = session
    return session


def brand_cache() -> BrandCache:
    return runtime().cache(g.brand.slug)


def close_brand_session(_exc: BaseException | None) -> None:
    session = g.pop("brand_db", None)
    if session is not None:
        session.close()
    context = g.pop("log_context", None)
    if context is not None:
        context.__exit__(None, None, None)
