"""Per-brand templates in a sandbox: brand overrides, then the brand's theme, then the base.

Each brand gets its own Jinja environment (cached), so two brands' templates of the same
name never share a compiled template. The environment is sandboxed and templates see only
an explicit context: the request's ``brand`` (a frozen BrandInfo), formatting helpers
(dates, numbers and money in the request's locale), ``url_for`` and gettext. Flask's
``config``, ``request``, ``session`` and ``g`` are not passed, because each of them leads to
the app's configuration or a database URL.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, get_flashed_messages, url_for
from flask_babel import format_datetime, format_decimal, get_locale, gettext, ngettext
from flask_wtf.csrf import generate_csrf
from jinja2 import ChoiceLoader, FileSystemLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from saas.loyalty.money import format_money
from saas.tenancy.brands import BrandInfo
from saas.web.templating import csp_nonce, current_locale, text_direction

ROOT = Path(__file__).resolve().parent.parent.parent
THEMES = ROOT / "themes"
BASE_THEME = THEMES / "base" / "templates"
MAX_CACHED_ENVIRONMENTS = 512


def theme_folders(instance_path: Path, brand: BrandInfo | None) -> list[Path]:
    """Template folders in look-up order for ``brand`` (the base theme alone without one)."""
    if brand is None:
        return [BASE_THEME]
    candidates = [instance_path / "themes" / brand.slug / "templates",
                  THEMES / brand.slug / "templates"]
    return [folder for folder in candidates if folder.is_dir()] + [BASE_THEME]


class ThemeEnvironments:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self._environments: dict[tuple[str, ...], SandboxedEnvironment] = {}
        self._lock = threading.Lock()

    def for_brand(self, brand: BrandInfo | None) -> SandboxedEnvironment:
        settings = self.app.extensions["tessera.settings"]
        folders = tuple(str(folder) for folder in theme_folders(settings.instance_path, brand))
        with self._lock:
            environment = self._environments.get(folders)
            if environment is None:
                if len(self._environments) >= MAX_CACHED_ENVIRONMENTS:
                    self._environments.clear()
                environment = self._build(folders)
                self._environments[folders] = environment
            return environment

    def _build(self, folders: tuple[str, ...]) -> SandboxedEnvironment:
        environment = SandboxedEnvironment(
            loader=ChoiceLoader([FileSystemLoader(folder) for folder in folders]),
            autoescape=select_autoescape(["html", "xml"]),
            extensions=["jinja2.ext.i18n"],
            auto_reload=self.app.debug,
        )
        environment.install_gettext_callables(gettext, ngettext, newstyle=True)
        environment.globals.update(
            url_for=url_for, get_flashed_messages=get_flashed_messages, csp_nonce=csp_nonce,
            csrf_token=generate_csrf, format_datetime=format_datetime,
            format_number=format_decimal, format_money=format_request_money,
            current_locale=current_locale, text_direction=text_direction,
        )
        return environment


def format_request_money(amount_minor: int, currency: str) -> str:
    """Format minor units of ``currency`` in the request's locale, such as 1.234,56 € in de_DE."""
    return format_money(amount_minor, currency, str(get_locale() or "en"))


def init_app(app: Flask) -> None:
    app.extensions["tessera.themes"] = ThemeEnvironments(app)


def render(name: str, **context: Any) -> str:
    """Render template ``name`` with the request's brand theme and only ``context``."""
    brand = g.get("brand")
    environment = current_app.extensions["tessera.themes"].for_brand(brand)
    return environment.get_template(name).render(brand=brand, **context)
