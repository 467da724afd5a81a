"""Request ids and the security headers every response carries."""

from __future__ import annotations

import re
import secrets
import uuid

from flask import Flask, current_app, g, request

from saas.logging import bind_context

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
HSTS = "max-age=63072000; includeSubDomains"


def init_app(app: Flask) -> None:
    app.before_request(start_request)
    app.after_request(add_security_headers)
    app.teardown_request(end_request)


def start_request() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.csp_nonce = secrets.token_urlsafe(16)
    g.request_log_context = bind_context(request_id=g.request_id)
    g.request_log_context.__enter__()


def end_request(_exc: BaseException | None) -> None:
    context = g.pop("request_log_context", None)
    if context is not None:
        context.__exit__(None, None, None)


def content_security_policy(nonce: str) -> str:
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def add_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(g.get("csp_nonce", "")))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if "request_id" in g:
        headers["X-Request-ID"] = g.request_id
    if current_app.extensions["tessera.settings"].is_production:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response
