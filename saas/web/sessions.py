"""Signed cookie sessions bound to one brand.

The signature's salt includes the brand's key (its prefix slug or its host), so a cookie
made for brand A does not verify on brand B even if it is copied over. Under the
``/t/<slug>/`` development prefix the cookie path is the prefix, so the browser keeps one
cookie per brand on the shared host.
"""

from __future__ import annotations

from flask import Flask, Request, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from saas.web.dispatch import PREFIX_SLUG
from saas.web.hosts import host_name


def init_app(app: Flask) -> None:
    app.session_interface = BrandSessionInterface()


def session_scope(current: Request) -> str:
    slug = current.environ.get(PREFIX_SLUG)
    return f"prefix:{slug}" if slug else f"host:{host_name(current.host)}"


class BrandSessionInterface(SecureCookieSessionInterface):
    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # Flask opens and saves the session with the request context pushed.
        if not app.secret_key:
            return None
        return URLSafeTimedSerializer(
            app.secret_key,
            salt=f"tessera-session|{session_scope(request)}",
            serializer=self.serializer,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            },
        )

    def get_cookie_path(self, app: Flask) -> str:
        if request.environ.get(PREFIX_SLUG):
            return request.script_root + "/"
        return super().get_cookie_path(app)
