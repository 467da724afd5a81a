"""Rewards and tiers in the brand console: list them, create and edit them with validation,
and audit every change with before and after in the same transaction."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, g, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from saas.console.base import EDITORS, page, record
from saas.loyalty.models import Reward, Tier
from saas.tenancy.manifests import CODE, MAX_MULTIPLIER, MAX_NAME
from saas.web.policy import allow, console
from saas.web.tenant import brand_db

bp = Blueprint("console_catalog", __name__)

READERS = ("owner", "admin", "analyst")
MAX_VOUCHER_DAYS = 3660


class FormError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@bp.get("/rewards")
@allow(console(*READERS))
def rewards():
    db = brand_db()
    return page("console/catalog.html",
                rewards=list(db.scalars(select(Reward).order_by(Reward.code))),
                tiers=list(db.scalars(select(Tier).order_by(Tier.threshold, Tier.id))),
                notice=_("Saved.") if request.args.get("saved") else None)


# --- Form values -----------------------------------------------------------------------------

def _text(name: str) -> str:
    return request.form.get(name, "").strip()


def _code() -> str:
    code = _text("code")
    if not CODE.fullmatch(code):
        raise FormError("code", _("code: %(value)s is not allowed; use 1-64 lowercase letters, "
                                  "digits, hyphens and underscores, such as free-coffee.",
                                  value=code or _("empty")))
    return code


def _whole(name: str, minimum: int, maximum: int | None = None, *,
           optional: bool = False) -> int | None:
    """Read a whole number within the bounds; an empty optional field gives None."""
    raw = _text(name)
    if not raw and optional:
        return None
    try:
        number = int(raw)
    except ValueError:
        number = None
    if number is None or number < minimum or (maximum is not None and number > maximum):
        if maximum is None:
            expected = _("a whole number of %(minimum)s or more", minimum=minimum)
        else:
            expected = _("a whole number from %(minimum)s to %(maximum)s", minimum=minimum,
                         maximum=maximum)
        if optional:
            expected = _("%(expected)s, or empty for none", expected=expected)
        raise FormError(name, _("%(field)s: %(value)s is not allowed; expected %(expected)s.",
                                field=name, value=raw or _("empty"), expected=expected))
    return number


def _names() -> dict[str, str]:
    """Read ``name_<locale>`` for each enabled locale; the default locale's name is required."""
    names: dict[str, str] = {}
    for locale in g.brand.locales:
        field = f"name_{locale}"
        text = _text(field)
        if len(text) > MAX_NAME:
            raise FormError(field, _("%(field)s: the name has %(length)s characters; the "
                                     "maximum is %(maximum)s.", field=field, length=len(text),
                                     maximum=MAX_NAME))
        if text:
            names[locale] = text
    if g.brand.default_locale not in names:
        field = f"name_{g.brand.default_locale}"
        raise FormError(field, _("%(field)s: the name in the default language is required.",
                                 field=field))
    return names


def _moment(name: str) -> datetime | None:
    """Read a datetime-local field in the brand's time zone."""
    raw = _text(name)
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=ZoneInfo(g.brand.timezone))
    except ValueError:
        raise FormError(name, _("%(field)s: %(value)s is not allowed; expected a date and time "
                                "such as 2025-03-01T09:00.", field=name, value=raw)) from None


def _local(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(g.brand.timezone)).strftime("%Y-%m-%dT%H:%M")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# --- Rewards ---------------------------------------------------------------------------------

def reward_json(row: Reward) -> dict[str, Any]:
    return {"code": row.code, "name": dict(row.name), "cost_points": row.cost_points,
            "stock": row.stock, "per_member_limit": row.per_member_limit,
            "valid_from": _iso(row.valid_from), "valid_until": _iso(row.valid_until),
            "voucher_valid_days": row.voucher_valid_days, "active": row.active}


def _reward_values(row: Reward | None) -> dict[str, str]:
    """Return the form's field values: the submitted ones after a POST, else the saved row's."""
    if request.method == "POST":
        return {key: value for key, value in request.form.items() if key != "csrf_token"}
    if row is None:
        return {"active": "on"}
    values = {f"name_{locale}": text for locale, text in row.name.items()}
    values.update({
        "code": row.code, "cost_points": str(row.cost_points),
        "stock": "" if row.stock is None else str(row.stock),
        "per_member_limit": "" if row.per_member_limit is None else str(row.per_member_limit),
        "valid_from": _local(row.valid_from), "valid_until": _local(row.valid_until),
        "voucher_valid_days": ("" if row.voucher_valid_days is None
                               else str(row.voucher_valid_days)),
        "active": "on" if row.active else "",
    })
    return values


def _reward_page(row: Reward | None, *, error: str | None = None, field: str | None = None,
                 status: int = 200):
    return page("console/reward_edit.html", row=row, values=_reward_values(row), error=error,
                error_field=field, locales=g.brand.locales), status


def _read_reward(row: Reward) -> None:
    """Copy the validated form onto ``row``; raise FormError naming the first bad field."""
    names = _names()
    cost = _whole("cost_points", 1)
    stock = _whole("stock", 0, optional=True)
    limit = _whole("per_member_limit", 1, optional=True)
    valid_from = _moment("valid_from")
    valid_until = _moment("valid_until")
    if valid_from and valid_until and valid_until <= valid_from:
        raise FormError("valid_until", _("valid_until: %(value)s is not allowed; expected a "
                                         "time after valid_from (%(start)s).",
                                         value=_text("valid_until"),
                                         start=_text("valid_from")))
    days = _whole("voucher_valid_days", 1, MAX_VOUCHER_DAYS, optional=True)
    row.name = names
    row.cost_points = cost
    row.stock = stock
    row.per_member_limit = limit
    row.valid_from = valid_from
    row.valid_until = valid_until
    row.voucher_valid_days = days
    row.active = request.form.get("active") == "on"


def _reward_or_404(code: str) -> Reward:
    row = brand_db().scalar(select(Reward).where(Reward.code == code))
    if row is None:
        abort(404)
    return row


@bp.route("/rewards/new", methods=["GET", "POST"])
@allow(console(*EDITORS))
def new_reward():
    if request.method == "GET":
        return _reward_page(None)
    db = brand_db()
    row = Reward(description={})
    try:
        row.code = _code()
        if db.scalar(select(Reward.id).where(Reward.code == row.code)) is not None:
            raise FormError("code", _("code: a reward with the code %(code)s exists already; "
                                      "choose another code.", code=row.code))
        _read_reward(row)
    except FormError as exc:
        return _reward_page(None, error=exc.message, field=exc.field, status=400)
    db.add(row)
    record("reward.create", f"reward:{row.code}", None, reward_json(row))
    db.commit()
    return redirect(url_for("console_catalog.rewards", saved=1))


@bp.route("/rewards/<code>", methods=["GET", "POST"])
@allow(console(*EDITORS))
def edit_reward(code: str):
    db = brand_db()
    row = _reward_or_404(code)
    if request.method == "GET":
        return _reward_page(row)
    before = reward_json(row)
    try:
        _read_reward(row)
    except FormError as exc:
        db.rollback()
        return _reward_page(_reward_or_404(code), error=exc.message, field=exc.field,
                            status=400)
    record("reward.update", f"reward:{code}", before, reward_json(row))
    db.commit()
    return redirect(url_for("console_catalog.rewards", saved=1))


# --- Tiers -----------------------------------------------------------------------------------

def tier_json(row: Tier) -> dict[str, Any]:
    return {"code": row.code, "name": dict(row.name), "threshold": row.threshold,
            "multiplier": row.multiplier}


def _tier_values(row: Tier | None) -> dict[str, str]:
    if request.method == "POST":
        return {key: value for key, value in request.form.items() if key != "csrf_token"}
    if row is None:
        return {"multiplier": "1"}
    values = {f"name_{locale}": text for locale, text in row.name.items()}
    values.update({"code": row.code, "threshold": str(row.threshold),
                   "multiplier": row.multiplier})
    return values


def _tier_page(row: Tier | None, *, error: str | None = None, field: str | None = None,
               status: int = 200):
    return page("console/tier_edit.html", row=row, values=_tier_values(row), error=error,
                error_field=field, locales=g.brand.locales), status


def _multiplier() -> str:
    raw = _text("multiplier")
    try:
        number = Decimal(raw.replace(",", "."))
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or not 1 <= number <= MAX_MULTIPLIER:
        raise FormError("multiplier", _("multiplier: %(value)s is not allowed; expected a "
                                        "decimal number from 1 to %(maximum)s, such as 1.25.",
                                        value=raw or _("empty"), maximum=MAX_MULTIPLIER))
    return format(number.normalize(), "f")


def _read_tier(row: Tier) -> None:
    """Copy the validated form onto ``row``; raise FormError naming the first bad field."""
    names = _names()
    threshold = _whole("threshold", 0)
    multiplier = _multiplier()
    others = list(brand_db().scalars(select(Tier).where(Tier.id != row.id)) if row.id
                  else brand_db().scalars(select(Tier)))
    same = next((tier for tier in others if tier.threshold == threshold), None)
    if same is not None:
        raise FormError("threshold", _("threshold: %(value)s is not allowed; the tier %(code)s "
                                       "has the same threshold. Give each tier its own.",
                                       value=threshold, code=same.code))
    if threshold != 0 and not any(tier.threshold == 0 for tier in others):
        raise FormError("threshold", _("threshold: %(value)s is not allowed; one tier needs "
                                       "threshold 0, so that every member has a tier.",
                                       value=threshold))
    row.name = names
    row.threshold = threshold
    row.multiplier = multiplier


def _tier_or_404(code: str) -> Tier:
    row = brand_db().scalar(select(Tier).where(Tier.code == code))
    if row is None:
        abort(404)
    return row


@bp.route("/tiers/new", methods=["GET", "POST"])
@allow(console(*EDITORS))
def new_tier():
    if request.method == "GET":
        return _tier_page(None)
    db = brand_db()
    row = Tier(benefits={})
    try:
        row.code = _code()
        if db.scalar(select(Tier.id).where(Tier.code == row.code)) is not None:
            raise FormError("code", _("code: a tier with the code %(code)s exists already; "
                                      "choose another code.", code=row.code))
        _read_tier(row)
    except FormError as exc:
        return _tier_page(None, error=exc.message, field=exc.field, status=400)
    db.add(row)
    record("tier.create", f"tier:{row.code}", None, tier_json(row))
    db.commit()
    return redirect(url_for("console_catalog.rewards", saved=1))


@bp.route("/tiers/<code>", methods=["GET", "POST"])
@allow(console(*EDITORS))
def edit_tier(code: str):
    db = brand_db()
    row = _tier_or_404(code)
    if request.method == "GET":
        return _tier_page(row)
    before = tier_json(row)
    try:
        _read_tier(row)
    except FormError as exc:
        db.rollback()
        return _tier_page(_tier_or_404(code), error=exc.message, field=exc.field, status=400)
    # NOTE: members keep their tier until their next purchase or the tiers.recalculate job.
    record("tier.update", f"tier:{code}", before, tier_json(row))
    db.commit()
    return redirect(url_for("console_catalog.rewards", saved=1))
