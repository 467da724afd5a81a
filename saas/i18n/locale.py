"""Pick the locale of a request: the person's choice, then Accept-Language, then the brand."""

from __future__ import annotations

from flask import g, request, session


def select_locale() -> str:
    brand = getattr(g, "brand", None)
    if brand is None:
        return request.accept_languages.best_match(["en"]) or "en"
    chosen = session.get("locale")
    if chosen in brand.locales:
        return chosen
    offered = [code.replace("_", "-") for code in brand.locales]
    best = request.accept_languages.best_match(offered)
    if best:
        return best.replace("-", "_")
    return brand.default_locale
