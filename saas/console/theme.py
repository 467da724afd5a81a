"""The brand's design tokens in the console: edit them with a live preview, save them audited.

The preview never saves. Each change of a field posts the draft, and the returned fragment
links a style sheet (``/admin/theme/preview.css?…``) that sets the draft tokens on the
preview box only. A linked style sheet is used because the Content-Security-Policy allows
style sheets from the app's origin but no inline styles.
"""

from __future__ import annotations

from flask import Blueprint, Response, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas.console.base import EDITORS, page, record
from saas.tenancy.manifests import THEME_KEYS, ManifestError, validate_theme_tokens
from saas.tenancy.settings import get_setting, put_setting
from saas.web.policy import allow, console
from saas.web.tenant import brand_db

bp = Blueprint("console_theme", __name__)

SETTING = "theme.tokens"
# Tokens that are not CSS custom properties (the logo image), so the preview style sheet
# leaves them out.
NON_CSS_TOKENS = ("logo",)
TOKEN_LABELS = {
    "color_primary": _l("Primary colour"), "color_on_primary": _l("Text on the primary colour"),
    "color_surface": _l("Background colour"), "color_text": _l("Text colour"),
    "color_muted": _l("Muted text colour"), "font_body": _l("Body font"),
    "font_heading": _l("Heading font"), "radius": _l("Corner radius"), "logo": _l("Logo"),
}


def _draft() -> dict[str, str]:
    """Read the form's tokens; an empty field keeps the base theme's value."""
    return {key: request.form.get(key, "").strip() for key in THEME_KEYS
            if request.form.get(key, "").strip()}


def _validate(tokens: dict[str, str]) -> tuple[dict[str, str] | None, str | None]:
    try:
        return validate_theme_tokens(tokens), None
    except ManifestError as exc:
        # The message names the token, the value and what is allowed, such as
        # "theme.color_primary: invalid value 'red': expected a colour like #1d4ed8".
        return None, exc.message


def _css_tokens(tokens: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in tokens.items() if key not in NON_CSS_TOKENS}


def _editor(tokens: dict[str, str], *, error: str | None = None, notice: str | None = None,
            status: int = 200):
    clean, _problem = _validate(tokens)
    return page("console/theme.html", tokens=tokens, keys=THEME_KEYS, labels=TOKEN_LABELS,
                error=error, notice=notice, preview_tokens=_css_tokens(clean or {}),
                preview_error=None), status


@bp.get("/theme")
@allow(console(*EDITORS))
def editor():
    notice = _("Theme saved.") if request.args.get("saved") else None
    return _editor(get_setting(brand_db(), SETTING), notice=notice)


@bp.post("/theme")
@allow(console(*EDITORS))
def save():
    draft = _draft()
    clean, error = _validate(draft)
    if clean is None:
        return _editor(draft, error=_("Not saved: %(reason)s", reason=error), status=400)
    db = brand_db()
    before = get_setting(db, SETTING)
    after = put_setting(db, SETTING, clean)
    record("theme.update", f"setting:{SETTING}", before, after)
    db.commit()
    return redirect(url_for("console_theme.editor", saved=1))


@bp.post("/theme/preview")
@allow(console(*EDITORS))
def preview():
    """Render the preview fragment for the draft tokens; nothing is stored."""
    clean, error = _validate(_draft())
    # 200 even for an invalid draft, because HTMX swaps in only successful responses and the
    # fragment shows the error.
    return page("console/_theme_preview.html", preview_tokens=_css_tokens(clean or {}),
                preview_error=error)


@bp.get("/theme/preview.css")
@allow(console(*EDITORS))
def preview_css():
    """Serve the draft tokens of the query string as custom properties of the preview box."""
    tokens = {key: value for key, value in request.args.items() if key in THEME_KEYS}
    clean, _problem = _validate(tokens)
    if clean is None:
        return Response("/* invalid theme token */\n", status=400, mimetype="text/css")
    lines = [f"  --{name.replace('_', '-')}: {value};"
             for name, value in sorted(_css_tokens(clean).items())]
    response = Response(".theme-preview {\n" + "\n".join(lines) + "\n}\n", mimetype="text/css")
    response.headers["Cache-Control"] = "private, max-age=60"
    return response
