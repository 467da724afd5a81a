"""The WSGI front: routes each request to the platform app or the brand app.

On the platform host (localhost, 127.0.0.1 or the base domain) paths under ``/t/<slug>/``
go to the brand app with ``/t/<slug>`` moved into SCRIPT_NAME, so generated URLs and cookie
paths keep the prefix; every other path goes to the platform app, which serves the console
under ``/platform``. Every other host goes to the brand app, which resolves it to a brand
or answers 404.
"""

from __future__ import annotations

from werkzeug.middleware.proxy_fix import ProxyFix

from saas.web.hosts import PREFIX, host_name, is_platform_host

PREFIX_SLUG = "tessera.prefix_slug"


class TenantDispatcher:
    def __init__(self, brand_app, platform_app, base_domain: str) -> None:
        self.brand_app = brand_app
        self.platform_app = platform_app
        self.base_domain = base_domain

    def __call__(self, environ, start_response):
        host = host_name(environ.get("HTTP_HOST") or environ.get("SERVER_NAME", ""))
        if not is_platform_host(host, self.base_domain):
            return self.brand_app(environ, start_response)
        match = PREFIX.match(environ.get("PATH_INFO", ""))
        if match is None:
            return self.platform_app(environ, start_response)
        slug, rest = match.group(1), match.group(2)
        environ[PREFIX_SLUG] = slug
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + f"/t/{slug}"
        environ["PATH_INFO"] = rest or "/"
        return self.brand_app(environ, start_response)


def build_wsgi_app(brand_app, platform_app, base_domain: str, trusted_proxies: int):
    """Compose the dispatcher, trusting ``trusted_proxies`` hops of X-Forwarded-* headers."""
    app = TenantDispatcher(brand_app, platform_app, base_domain)
    if trusted_proxies:
        app = ProxyFix(app, x_for=trusted_proxies, x_proto=trusted_proxies,
                       x_host=trusted_proxies, x_port=trusted_proxies)
    return app
