"""Portal pages."""

from __future__ import annotations

from flask import Blueprint, Response

from saas.tenancy.manifests import validate_theme_tokens
from saas.tenancy.settings import get_setting
from saas.web.tenant import brand_db
from saas.web.themes import render

bp = Blueprint("portal", __name__)


@bp.get("/")
def home():
    return render("portal/home.html")


@bp.get("/theme.css")
def theme_css():
    """Serve the brand's design tokens as CSS custom properties overriding the base theme."""
    # Validated again on the way out, so only known tokens with safe values reach the CSS.
    tokens = validate_theme_tokens(get_setting(brand_db(), "theme.tokens"))
    lines = [f"  --{name.replace('_', '-')}: {value};" for name, value in sorted(tokens.items())]
    response = Response(":root {\n" + "\n".join(lines) + "\n}\n", mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=60"
    return response
