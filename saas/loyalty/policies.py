"""Per-brand loyalty policies, stored as brand settings with defaults and validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from saas.tenancy.settings import declare_setting, get_setting

EXPIRY_MODES = ("never", "fixed_months", "inactivity_months")


def _expiry(value: Any) -> dict:
    if not isinstance(value, dict) or value.get("mode") not in EXPIRY_MODES:
        raise ValueError(
            f"invalid expiry policy {value!r}: expected mode one of {', '.join(EXPIRY_MODES)}"
        )
    if value["mode"] == "never":
        return {"mode": "never"}
    months = value.get("months")
    if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 120:
        raise ValueError(f"invalid expiry months {months!r}: expected a whole number 1-120")
    return {"mode": value["mode"], "months": months}


def _window(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 120:
        raise ValueError(
            f"invalid tier window {value!r}: expected 1-120 months, or null for lifetime"
        )
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"invalid flag {value!r}: expected true or false")
    return value


def _point_value(value: Any) -> str:
    from decimal import Decimal, InvalidOperation

    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"invalid point value {value!r}: expected a decimal number") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"invalid point value {value!r}: expected zero or more")
    return str(number)


declare_setting("points.expiry", {"mode": "never"}, _expiry)
declare_setting("tiers.window_months", 12, _window)
declare_setting("points.allow_debt", True, _bool)
# Money value of one point in the base currency's major units, for liability reports.
declare_setting("points.value", "0.01", _point_value)


@dataclass(frozen=True)
class Policies:
    expiry: dict
    tier_window_months: int | None
    allow_debt: bool


def load_policies(session: Session) -> Policies:
    return Policies(
        expiry=get_setting(session, "points.expiry"),
        tier_window_months=get_setting(session, "tiers.window_months"),
        allow_debt=get_setting(session, "points.allow_debt"),
    )
