"""Validation of brand identity fields, shared by the CLI, manifests and the consoles."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOST = re.compile(rf"^(?=.{{1,253}}$){LABEL}(\.{LABEL})*$")
PLATFORM_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class BrandValidationError(ValueError):
    """A brand field is invalid: ``field`` names it and the message states what is allowed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_slug(slug: str) -> str:
    if not SLUG.match(slug or "") or len(slug) < 2:
        raise BrandValidationError(
            "slug",
            f"invalid slug {slug!r}: use 2-40 lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit",
        )
    return slug


def check_host(host: str, base_domain: str, slug: str) -> str:
    """Normalise a brand's own domain and reject hosts that belong to the platform."""
    clean = (host or "").strip().lower().rstrip(".")
    if not HOST.match(clean):
        raise BrandValidationError(
            "domain", f"invalid domain {host!r}: give a host name without scheme, port or path"
        )
    if clean in PLATFORM_HOSTS or clean == base_domain:
        raise BrandValidationError(
            "domain", f"domain {clean!r} is the platform's own host; choose the brand's domain"
        )
    if clean.endswith("." + base_domain) and clean != f"{slug}.{base_domain}":
        raise BrandValidationError(
            "domain",
            f"domain {clean!r} is under the platform domain {base_domain!r}; only "
            f"{slug}.{base_domain} can belong to brand {slug!r}",
        )
    return clean


def check_locale(code: str) -> str:
    """Return the locale in Babel's form (``de_DE``) or raise."""
    try:
        return str(Locale.parse((code or "").replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        raise BrandValidationError(
            "locale", f"unknown locale {code!r}: use a code such as en, de_DE or ja"
        ) from None


def check_currency(code: str) -> str:
    clean = (code or "").strip().upper()
    if clean not in list_currencies():
        raise BrandValidationError(
            "currency", f"unknown currency {code!r}: use an ISO 4217 code such as USD, EUR or JPY"
        )
    return clean


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise BrandValidationError(
            "timezone", f"unknown timezone {name!r}: use an IANA name such as Europe/Berlin"
        ) from None
    if name not in available_timezones() and name != "UTC":
        raise BrandValidationError(
            "timezone", f"unknown timezone {name!r}: use an IANA name such as Europe/Berlin"
        )
    return name


def check_region(name: str, regions) -> str:
    if name not in regions:
        raise BrandValidationError(
            "region", f"unknown region {name!r}: configured regions are {', '.join(regions)}"
        )
    return name
