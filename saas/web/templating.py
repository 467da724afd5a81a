"""Template helpers: the request's brand and formatting functions, never the config."""

from __future__ import annotations

from babel import Locale
from flask import Flask, g
from flask_babel import get_locale


def init_app(app: Flask) -> None:
    app.context_processor(template_context)


def csp_nonce() -> str:
    return g.get("csp_nonce", "")


def current_locale() -> str:
    locale = get_locale()
    return str(locale).replace("_", "-") if locale else "en"


def text_direction() -> str:
    locale = get_locale() or Locale("en")
    return "rtl" if locale.character_order == "right-to-left" else "ltr"


def template_context() -> dict:
    return {
        "brand": g.get("brand"),
        "csp_nonce": csp_nonce,
        "current_locale": current_locale,
        "text_direction": text_direction,
    }
