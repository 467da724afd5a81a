"""Compose the deployable WSGI application: the brand app, the platform app and, mounted
under the platform app's /platform, the platform console."""

from __future__ import annotations

from werkzeug.middleware.dispatcher import DispatcherMiddleware

from saas.app import create_app
from saas.config import Settings, load_settings
from saas.platform.app import create_platform_app
from saas.platform.console import MOUNT, create_console_app
from saas.runtime import Runtime
from saas.web.dispatch import build_wsgi_app


def create_wsgi_app(settings: Settings | None = None, runtime: Runtime | None = None):
    runtime = runtime or Runtime(settings or load_settings())
    brand_app = create_app(runtime=runtime)
    platform_app = create_platform_app(runtime)
    console_app = create_console_app(runtime)
    platform_app.wsgi_app = DispatcherMiddleware(platform_app.wsgi_app, {MOUNT: console_app})
    app = build_wsgi_app(
        brand_app, platform_app, runtime.settings.base_domain, runtime.settings.trusted_proxies
    )
    app.brand_app = brand_app
    app.platform_app = platform_app
    app.console_app = console_app
    app.runtime = runtime
    return app
