"""Brand manifests: one YAML file that describes a brand, its catalogue and its policies.

``load_manifest`` and ``parse_manifest`` validate a manifest without touching a database.
``saas.tenancy.manifest_apply.apply_manifest`` then makes a brand match it. Every error is a
``ManifestError`` whose message starts with the key path, such as ``rewards[1].cost_points``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from saas.config import REGION_NAME
from saas.loyalty.rules import RuleError, RuleSpec, parse_rules
from saas.tenancy.provisioning import BrandSpec
from saas.tenancy.settings import declare_setting
from saas.tenancy.theme_assets import check_font_stack, check_logo
from saas.tenancy.validation import (
    BrandValidationError,
    check_currency,
    check_locale,
    check_slug,
    check_timezone,
)

TOP_KEYS = (
    "slug", "name", "domains", "region", "locale", "locales", "currency", "timezone",
    "theme", "policies", "earn_rules", "rewards", "tiers",
)
REQUIRED_TOP_KEYS = ("slug", "name", "region", "locale", "currency", "timezone")
# The custom properties of themes/base/static/css/base.css, with _ for -.
THEME_KEYS = (
    "color_primary", "color_on_primary", "color_surface", "color_text", "color_muted",
    "font_body", "font_heading", "radius", "logo",
)
# Theme tokens that are not CSS custom properties, so theme.css leaves them out.
NON_CSS_THEME_KEYS = ("logo",)
POLICY_KEYS = ("expiry", "tier_window_months", "allow_debt", "point_value")
EXPIRY_MODES = ("never", "fixed_months", "inactivity_months")
REWARD_KEYS = (
    "code", "name", "description", "cost_points", "stock", "per_member_limit",
    "valid_from", "valid_until", "voucher_valid_days", "active",
)
TIER_KEYS = ("code", "name", "threshold", "multiplier")

COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
CSS_LENGTH = re.compile(r"(?:[0-9]{1,3}|[0-9]{0,3}\.[0-9]{1,3})(?:px|rem|em)")
CODE = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?")
CODE_RULE = "1-64 lowercase letters, digits, hyphens and underscores, such as free-coffee"
TIMESTAMP_RULE = "an ISO 8601 date and time with a UTC offset, such as 2025-01-01T00:00:00+01:00"
MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_MULTIPLIER = Decimal(10)


class ManifestError(ValueError):
    """An invalid manifest. ``path`` names the key, such as ``rewards[1].cost_points``.

    The message starts with the path, and with the file name when one is known.
    """

    def __init__(self, path: str, message: str, source: str | None = None) -> None:
        super().__init__(f"{source}: {message}" if source else message)
        self.path = path
        self.message = message
        self.source = source


@dataclass(frozen=True)
class RewardSpec:
    """A reward as the manifest gives it. ``columns`` returns the values of its Reward row."""

    code: str
    name: Mapping[str, str]
    cost_points: int
    description: Mapping[str, str] = field(default_factory=dict)
    stock: int | None = None
    per_member_limit: int | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    voucher_valid_days: int | None = None
    active: bool = True

    def columns(self) -> dict[str, Any]:
        return {
            "name": dict(self.name),
            "description": dict(self.description),
            "cost_points": self.cost_points,
            "stock": self.stock,
            "per_member_limit": self.per_member_limit,
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "voucher_valid_days": self.voucher_valid_days,
            "active": self.active,
        }


@dataclass(frozen=True)
class TierSpec:
    """A tier, with ``multiplier`` as a decimal string in its shortest form, such as "1.25"."""

    code: str
    name: Mapping[str, str]
    threshold: int
    multiplier: str = "1"

    def columns(self) -> dict[str, Any]:
        return {"name": dict(self.name), "threshold": self.threshold,
                "multiplier": self.multiplier}


@dataclass(frozen=True)
class PolicySpec:
    """Loyalty policies. Each default is the default of the brand setting that stores it."""

    expiry: Mapping[str, Any] = field(default_factory=lambda: {"mode": "never"})
    tier_window_months: int | None = 12
    allow_debt: bool = True
    point_value: str = "0.01"


@dataclass(frozen=True)
class Manifest:
    """A validated manifest. ``source`` is the file it came from, for messages."""

    slug: str
    name: str
    region: str
    locale: str
    locales: tuple[str, ...]
    currency: str
    timezone: str
    domains: tuple[str, ...] = ()
    theme: Mapping[str, str] = field(default_factory=dict)
    policies: PolicySpec = field(default_factory=PolicySpec)
    earn_rules: tuple[RuleSpec, ...] = ()
    rewards: tuple[RewardSpec, ...] = ()
    tiers: tuple[TierSpec, ...] = ()
    source: str | None = None

    def brand_spec(self) -> BrandSpec:
        return BrandSpec(
            slug=self.slug, name=self.name, domains=list(self.domains), region=self.region,
            locale=self.locale, locales=list(self.locales), currency=self.currency,
            timezone=self.timezone,
        )

    def settings(self) -> dict[str, Any]:
        """Return the brand settings this manifest sets, by setting key."""
        return {
            "theme.tokens": dict(self.theme),
            "points.expiry": dict(self.policies.expiry),
            "tiers.window_months": self.policies.tier_window_months,
            "points.allow_debt": self.policies.allow_debt,
            "points.value": self.policies.point_value,
        }


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that rejects a key given twice in one mapping.

    PyYAML keeps the last value of a repeated key, so a second ``rewards:`` would silently
    replace the first.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[str] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            if isinstance(key, str):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate the manifest file at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError("", f"cannot read {path}: {exc}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        raise ManifestError(
            "", f"{path}: invalid YAML at {where}: {exc.problem or exc.context}"
        ) from None
    except yaml.YAMLError as exc:
        raise ManifestError("", f"{path}: invalid YAML: {exc}") from None
    return parse_manifest(data, source=str(path))


def parse_manifest(data: Any, source: str | None = None) -> Manifest:
    """Validate manifest ``data`` (as YAML loads it) and return it as a Manifest.

    ``source`` names the file in error messages.
    """
    try:
        return _parse(data, source)
    except ManifestError as exc:
        if exc.source or not source:
            raise
        raise ManifestError(exc.path, exc.message, source) from None


def _parse(data: Any, source: str | None) -> Manifest:
    """Validate the keys in the order the docs list them, stopping at the first error."""
    data = _mapping(data, "", TOP_KEYS, REQUIRED_TOP_KEYS)
    slug = _identity(check_slug, data["slug"], "slug")
    name = _string(data["name"], "name", f"the brand's display name, 1-{MAX_NAME} characters")
    domains = _domains(data.get("domains"))
    region = _region(data["region"])
    locale = _identity(check_locale, data["locale"], "locale")
    locales = [_identity(check_locale, code, f"locales[{i}]")
               for i, code in enumerate(_list(data.get("locales"), "locales"))]
    if locale not in locales:
        locales.insert(0, locale)
    locales = list(dict.fromkeys(locales))
    currency = _identity(check_currency, data["currency"], "currency")
    timezone = _identity(check_timezone, data["timezone"], "timezone")
    theme = validate_theme_tokens({} if data.get("theme") is None else data["theme"])
    policies = _policies(data.get("policies"))
    earn_rules = _earn_rules(data.get("earn_rules"))
    rewards = _rewards(data.get("rewards"), locale, locales)
    tiers = _tiers(data.get("tiers"), locale, locales)
    _check_rule_tiers(earn_rules, tiers)
    return Manifest(
        slug=slug, name=name, region=region, locale=locale, locales=tuple(locales),
        currency=currency, timezone=timezone, domains=domains, theme=theme, policies=policies,
        earn_rules=earn_rules, rewards=rewards, tiers=tiers, source=source,
    )


# --- Brand identity -----------------------------------------------------------------------

def _identity(check: Callable[[str], str], value: Any, path: str) -> str:
    """Run a check of saas.tenancy.validation and put the key path in front of its message."""
    if not isinstance(value, str):
        raise _invalid(path, value, "a string" + _yaml_hint(value))
    try:
        return check(value)
    except BrandValidationError as exc:
        raise ManifestError(path, f"{path}: {exc}") from None


def _region(value: Any) -> str:
    # Whether the region is configured on this deployment is checked when applying.
    if not isinstance(value, str) or not REGION_NAME.fullmatch(value):
        raise _invalid("region", value, "a region name such as eu, us or apac")
    return value


def _domains(value: Any) -> tuple[str, ...]:
    # The host rules need the platform's base domain, so apply_manifest checks each host.
    hosts = []
    for i, host in enumerate(_list(value, "domains")):
        hosts.append(_string(host, f"domains[{i}]", "a host name such as shop.example.com"))
    return tuple(dict.fromkeys(host.lower().rstrip(".") for host in hosts))


# --- Theme --------------------------------------------------------------------------------

def validate_theme_tokens(value: Any, path: str = "theme") -> dict[str, str]:
    """Return clean design tokens (colours lower-cased) or raise ManifestError naming the token."""
    tokens = _mapping(value, path, THEME_KEYS)
    clean: dict[str, str] = {}
    for key, token in tokens.items():
        token_path = f"{path}.{key}"
        if key in ("font_body", "font_heading"):
            # Theme tokens are written into a style sheet, so a font list must not contain
            # anything that could end a declaration or the style sheet.
            clean[key] = _theme_asset(check_font_stack, token, token_path)
        elif key == "logo":
            clean[key] = _theme_asset(check_logo, token, token_path)
        elif key == "radius":
            if not isinstance(token, str) or not CSS_LENGTH.fullmatch(token):
                raise _invalid(token_path, token, "a CSS length in px, rem or em, such as 0.5rem")
            clean[key] = token
        else:
            if not isinstance(token, str) or not COLOUR.fullmatch(token):
                hint = " in quotes, because an unquoted # starts a YAML comment"
                raise _invalid(token_path, token,
                               "a colour like #1d4ed8" + (hint if token is None else ""))
            clean[key] = token.lower()
    return clean


def _theme_asset(check: Callable[[Any], str], token: Any, path: str) -> str:
    try:
        return check(token)
    except ValueError as exc:
        raise _invalid(path, token, str(exc)) from None


declare_setting("theme.tokens", {}, validate_theme_tokens)


# --- Policies -----------------------------------------------------------------------------

def _policies(value: Any) -> PolicySpec:
    if value is None:
        return PolicySpec()
    data = _mapping(value, "policies", POLICY_KEYS)
    defaults = PolicySpec()
    window = data.get("tier_window_months", defaults.tier_window_months)
    if window is not None:
        window = _whole(window, "policies.tier_window_months", 1, 120,
                        "a whole number of months from 1 to 120, or null to count lifetime points")
    allow_debt = data.get("allow_debt", defaults.allow_debt)
    if not isinstance(allow_debt, bool):
        raise _invalid("policies.allow_debt", allow_debt, "true or false")
    point_value = defaults.point_value
    if "point_value" in data:
        point_value = _decimal(data["point_value"], "policies.point_value",
                               "a decimal number of 0 or more, such as \"0.01\"")
    return PolicySpec(
        expiry=_expiry(data.get("expiry", defaults.expiry)),
        tier_window_months=window,
        allow_debt=allow_debt,
        point_value=point_value,
    )


def _expiry(value: Any) -> dict[str, Any]:
    path = "policies.expiry"
    data = _mapping(value, path, ("mode", "months"), ("mode",))
    mode = data["mode"]
    if mode not in EXPIRY_MODES:
        raise _invalid(f"{path}.mode", mode, f"one of {', '.join(EXPIRY_MODES)}")
    if mode == "never":
        if "months" in data:
            raise ManifestError(f"{path}.months", f"{path}.months: not allowed with mode "
                                "never: remove it, or choose fixed_months or inactivity_months")
        return {"mode": "never"}
    if "months" not in data:
        raise _missing(path, "months")
    months = _whole(data["months"], f"{path}.months", 1, 120,
                    "a whole number of months from 1 to 120")
    return {"mode": mode, "months": months}


# --- Earn rules, rewards, tiers -----------------------------------------------------------

def _earn_rules(value: Any) -> tuple[RuleSpec, ...]:
    try:
        return parse_rules(_list(value, "earn_rules"), path="earn_rules")
    except RuleError as exc:
        raise ManifestError(exc.path, str(exc)) from None


def _check_rule_tiers(rules: Sequence[RuleSpec], tiers: Sequence[TierSpec]) -> None:
    """Reject a rule condition on a tier code that no tier has, which would never match."""
    codes = [tier.code for tier in tiers]
    for i, rule in enumerate(rules):
        for j, code in enumerate(rule.conditions.tiers):
            if code not in codes:
                raise _invalid(f"earn_rules[{i}].conditions.tiers[{j}]", code,
                               f"a tier code of this manifest ({', '.join(codes) or 'none'})")


def _rewards(value: Any, default: str, locales: Sequence[str]) -> tuple[RewardSpec, ...]:
    rewards = tuple(_reward(item, f"rewards[{i}]", default, locales)
                    for i, item in enumerate(_list(value, "rewards")))
    _check_unique_codes([reward.code for reward in rewards], "rewards", "reward")
    return rewards


def _reward(value: Any, path: str, default: str, locales: Sequence[str]) -> RewardSpec:
    data = _mapping(value, path, REWARD_KEYS, ("code", "name", "cost_points"))
    optional = _optional_reader(data, path)
    description = {} if data.get("description") is None else data["description"]
    reward = RewardSpec(
        code=_code(data["code"], f"{path}.code"),
        name=_translations(data["name"], f"{path}.name", locales, MAX_NAME, default),
        description=_translations(description, f"{path}.description", locales,
                                  MAX_DESCRIPTION),
        cost_points=_whole(data["cost_points"], f"{path}.cost_points", 1, None,
                           "a whole number of points, 1 or more"),
        stock=optional("stock", lambda v, p: _whole(
            v, p, 0, None, "a whole number of 0 or more, or null for unlimited stock")),
        per_member_limit=optional("per_member_limit", lambda v, p: _whole(
            v, p, 1, None, "a whole number of 1 or more, or null for no limit")),
        valid_from=optional("valid_from", _timestamp),
        valid_until=optional("valid_until", _timestamp),
        voucher_valid_days=optional("voucher_valid_days", lambda v, p: _whole(
            v, p, 1, 3660, "a whole number of days from 1 to 3660, or null for no expiry")),
        active=_flag(data.get("active", True), f"{path}.active"),
    )
    if reward.valid_from and reward.valid_until and reward.valid_until <= reward.valid_from:
        raise _invalid(f"{path}.valid_until", reward.valid_until,
                       f"a time after valid_from ({reward.valid_from.isoformat()})")
    return reward


def _tiers(value: Any, default: str, locales: Sequence[str]) -> tuple[TierSpec, ...]:
    tiers = tuple(_tier(item, f"tiers[{i}]", default, locales)
                  for i, item in enumerate(_list(value, "tiers")))
    _check_unique_codes([tier.code for tier in tiers], "tiers", "tier")
    seen: dict[int, int] = {}
    for i, tier in enumerate(tiers):
        if tier.threshold in seen:
            path = f"tiers[{i}].threshold"
            raise ManifestError(path, (
                f"{path}: invalid value {tier.threshold}: tiers[{seen[tier.threshold]}] has the "
                "same threshold; give each tier its own threshold"))
        seen[tier.threshold] = i
    if tiers and 0 not in seen:
        raise ManifestError("tiers", "tiers: no tier has threshold 0: give the entry tier "
                            "threshold: 0, so that every member has a tier")
    return tiers


def _tier(value: Any, path: str, default: str, locales: Sequence[str]) -> TierSpec:
    data = _mapping(value, path, TIER_KEYS, ("code", "name", "threshold"))
    multiplier = "1"
    if "multiplier" in data:
        multiplier = _decimal(data["multiplier"], f"{path}.multiplier",
                              "a decimal number from 1 to 10, such as \"1.25\"",
                              minimum=Decimal(1), maximum=MAX_MULTIPLIER)
    return TierSpec(
        code=_code(data["code"], f"{path}.code"),
        name=_translations(data["name"], f"{path}.name", locales, MAX_NAME, default),
        threshold=_whole(data["threshold"], f"{path}.threshold", 0, None,
                         "a whole number of points, 0 or more"),
        multiplier=multiplier,
    )


def _check_unique_codes(codes: Sequence[str], path: str, item_name: str) -> None:
    first: dict[str, int] = {}
    for i, code in enumerate(codes):
        if code in first:
            raise ManifestError(f"{path}[{i}].code", (
                f"{path}[{i}].code: duplicate code {code!r}: {path}[{first[code]}] has it "
                f"already; give each {item_name} its own code"))
        first[code] = i


# --- Values -------------------------------------------------------------------------------

def _mapping(value: Any, path: str, allowed: Sequence[str],
             required: Sequence[str] = ()) -> dict[str, Any]:
    """Return ``value`` if it is a mapping with only ``allowed`` keys and every ``required`` one."""
    if not isinstance(value, dict):
        raise _invalid(path or "manifest", value, f"a mapping with keys {', '.join(allowed)}")
    for key in value:
        if key not in allowed:
            raise _unknown_key(path, key, allowed)
    for key in required:
        if key not in value:
            raise _missing(path, key)
    return value


def _list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _invalid(path, value, "a list (write [] for none)")
    return value


def _optional_reader(data: Mapping[str, Any], path: str) -> Callable[..., Any]:
    """Return a reader of optional keys: a missing key or null gives None."""
    def read(key: str, parse: Callable[[Any, str], Any]) -> Any:
        value = data.get(key)
        return None if value is None else parse(value, f"{path}.{key}")
    return read


def _string(value: Any, path: str, expected: str, max_length: int = MAX_NAME) -> str:
    if isinstance(value, str) and value.strip() and len(value.strip()) <= max_length:
        return value.strip()
    raise _invalid(path, value, expected + _yaml_hint(value))


def _code(value: Any, path: str) -> str:
    if not isinstance(value, str) or not CODE.fullmatch(value):
        raise _invalid(path, value, CODE_RULE)
    return value


def _whole(value: Any, path: str, minimum: int, maximum: int | None, expected: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(path, value, expected)
    if value < minimum or (maximum is not None and value > maximum):
        raise _invalid(path, value, expected)
    return value


def _flag(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _invalid(path, value, "true or false")
    return value


def _decimal(value: Any, path: str, expected: str, *, minimum: Decimal = Decimal(0),
             maximum: Decimal | None = None) -> str:
    """Return a decimal number within the bounds as its shortest plain string, such as "1.1"."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _invalid(path, value, expected)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _invalid(path, value, expected) from None
    if not number.is_finite() or number < minimum:
        raise _invalid(path, value, expected)
    if maximum is not None and number > maximum:
        raise _invalid(path, value, expected)
    return format(number.normalize(), "f")


def _timestamp(value: Any, path: str) -> datetime:
    """Accept an aware datetime as YAML loads it, or an ISO 8601 string."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _invalid(path, value, TIMESTAMP_RULE) from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise _invalid(path, value, TIMESTAMP_RULE)
    return value


def _translations(value: Any, path: str, locales: Sequence[str], max_length: int,
                  required: str | None = None) -> dict[str, str]:
    """Return texts by locale. Each locale must be enabled, and ``required`` must be given."""
    if not isinstance(value, dict):
        raise _invalid(path, value, f"a mapping of locale to text, such as {{{locales[0]}: ...}}")
    texts: dict[str, str] = {}
    for key, text in value.items():
        key_path = f"{path}.{key}"
        locale = _identity(check_locale, str(key), key_path)
        if locale not in locales:
            raise ManifestError(key_path, (
                f"{key_path}: locale {locale!r} is not enabled for this brand: add it to "
                f"locales (now {', '.join(locales)}) or remove this text"))
        texts[locale] = _string(text, key_path, f"1-{max_length} characters", max_length)
    if required and required not in texts:
        raise ManifestError(path, (
            f"{path}: missing the text in the default locale {required}: "
            f"add {path}.{required}"))
    return texts


def _invalid(path: str, value: Any, expected: str) -> ManifestError:
    return ManifestError(path, f"{path}: invalid value {_show(value)}: expected {expected}")


def _missing(path: str, key: str) -> ManifestError:
    full = f"{path}.{key}" if path else key
    return ManifestError(full, f"{full}: missing: add {key} to {path or 'the manifest'}")


def _unknown_key(path: str, key: Any, allowed: Sequence[str]) -> ManifestError:
    full = f"{path}.{key}" if path else str(key)
    close = difflib.get_close_matches(str(key), allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ManifestError(full, (
        f"{full}: unknown key {str(key)!r}: allowed keys are {', '.join(allowed)}{hint}"))


def _show(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _yaml_hint(value: Any) -> str:
    if isinstance(value, bool):
        return " (YAML reads unquoted yes, no, on and off as true or false, so quote the value)"
    return ""
