"""Deploy settings: read from ``TESSERA_*`` variables, validated once, read-only afterwards.

The embedded default keeps its settings in ``instance/settings.json``, written by
``tessera init``; an environment variable always wins over that file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENVIRONMENTS = ("development", "production")
REGION_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
INSTANCE_SETTINGS = "settings.json"


class ConfigError(Exception):
    """A deploy setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    regions: Mapping[str, str]
    default_region: str
    secret_key: str
    base_domain: str
    env: str = "development"
    redis_url: str | None = None
    trusted_proxies: int = 0
    instance_path: Path = field(default_factory=lambda: Path("instance"))
    smtp_url: str | None = None
    max_brand_engines: int = 32
    # Webhook hosts exempt from the https and public-address rules (local test receivers).
    webhook_allow_hosts: frozenset[str] = frozenset()
    # Seconds before each retry of a failed webhook delivery; one more attempt than entries.
    webhook_backoff: tuple[int, ...] = (60, 300, 1800, 7200, 21600)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def brand_database_url(self, region: str, slug: str) -> str:
        """Return the database URL of brand ``slug`` in ``region``."""
        return self.regions[region].replace("{brand}", slug)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build validated settings from the environment and the instance folder."""
    environ = os.environ if environ is None else environ
    instance_path = Path(environ.get("TESSERA_INSTANCE_PATH", "instance")).resolve()
    values = dict(_read_instance_settings(instance_path))
    values.update({key: value for key, value in environ.items() if key.startswith("TESSERA_")})

    regions = _parse_regions(_required(values, "TESSERA_REGIONS", "name=url-template pairs"))
    default_region = values.get("TESSERA_DEFAULT_REGION") or next(iter(regions))
    if default_region not in regions:
        raise ConfigError(
            f"TESSERA_DEFAULT_REGION={default_region!r} is not one of the regions in "
            f"TESSERA_REGIONS ({', '.join(regions)}); name one of those"
        )

    return Settings(
        database_url=_database_url(values, "TESSERA_DATABASE_URL"),
        regions=MappingProxyType(regions),
        default_region=default_region,
        secret_key=_secret_key(values),
        base_domain=_base_domain(values),
        env=_choice(values, "TESSERA_ENV", ENVIRONMENTS, "development"),
        redis_url=_redis_url(values),
        trusted_proxies=_int(values, "TESSERA_TRUSTED_PROXIES", 0, minimum=0, maximum=10),
        instance_path=instance_path,
        smtp_url=values.get("TESSERA_SMTP_URL") or None,
        max_brand_engines=_int(values, "TESSERA_MAX_BRAND_ENGINES", 32, minimum=1, maximum=10000),
        webhook_allow_hosts=_host_names(values, "TESSERA_WEBHOOK_ALLOW_HOSTS"),
        webhook_backoff=_backoff(values, "TESSERA_WEBHOOK_BACKOFF"),
    )


def _read_instance_settings(instance_path: Path) -> dict[str, str]:
    path = instance_path / INSTANCE_SETTINGS
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is not readable JSON ({exc}); rerun `tessera init`") from exc
    return {str(key): str(value) for key, value in data.items()}


def _required(values: Mapping[str, str], name: str, expected: str) -> str:
    value = values.get(name, "").strip()
    if not value:
        raise ConfigError(
            f"{name} is missing: expected {expected}. Set it, or run `tessera init` "
            "for the embedded default"
        )
    return value


def _database_url(values: Mapping[str, str], name: str) -> str:
    value = _required(values, name, "an SQLAlchemy database URL")
    _check_database_url(name, value)
    return value


def _check_database_url(name: str, value: str) -> None:
    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise ConfigError(f"{name} is not a database URL: {exc}") from exc
    if url.get_backend_name() not in ("postgresql", "sqlite"):
        raise ConfigError(
            f"{name} uses {url.get_backend_name()!r}: expected a postgresql:// or sqlite:// URL"
        )


def _parse_regions(text: str) -> dict[str, str]:
    regions: dict[str, str] = {}
    for part in text.split(","):
        name, sep, template = part.strip().partition("=")
        name = name.strip()
        if not sep or not template:
            raise ConfigError(
                f"TESSERA_REGIONS has {part.strip()!r}: expected name=url-template, for example "
                "eu=postgresql://postgres@127.0.0.1/tessera_eu_{brand}"
            )
        if not REGION_NAME.match(name):
            raise ConfigError(
                f"TESSERA_REGIONS has region name {name!r}: use lowercase letters, digits and "
                "hyphens, starting with a letter"
            )
        if "{brand}" not in template:
            raise ConfigError(
                f"TESSERA_REGIONS template of region {name!r} lacks {{brand}}: the template must "
                "name each brand's database with {brand}"
            )
        if name in regions:
            raise ConfigError(f"TESSERA_REGIONS names region {name!r} twice")
        _check_database_url(f"TESSERA_REGIONS (region {name})", template.replace("{brand}", "x"))
        regions[name] = template
    return regions


def _secret_key(values: Mapping[str, str]) -> str:
    value = _required(values, "TESSERA_SECRET_KEY", "a random string of at least 32 characters")
    if len(value) < 32:
        raise ConfigError(
            "TESSERA_SECRET_KEY is too short: expected at least 32 characters, for example "
            'the output of `python -c "import secrets; print(secrets.token_urlsafe(48))"`'
        )
    return value


def _base_domain(values: Mapping[str, str]) -> str:
    value = _required(values, "TESSERA_BASE_DOMAIN", "a host name such as loyalty.example.com")
    value = value.lower().rstrip(".")
    if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", value):
        raise ConfigError(f"TESSERA_BASE_DOMAIN={value!r} is not a host name (no scheme, no port)")
    return value


def _choice(values: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = values.get(name, "").strip() or default
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is invalid: expected one of {', '.join(allowed)}")
    return value


def _int(values: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int) -> int:
    text = values.get(name, "").strip()
    if not text:
        return default
    try:
        number = int(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a whole number") from None
    if not minimum <= number <= maximum:
        raise ConfigError(f"{name}={number} is out of range: expected {minimum} to {maximum}")
    return number


def _redis_url(values: Mapping[str, str]) -> str | None:
    value = values.get("TESSERA_REDIS_URL", "").strip()
    if not value:
        return None
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"TESSERA_REDIS_URL={value!r} is invalid: expected redis://host:port/db"
        )
    return value


def _host_names(values: Mapping[str, str], name: str) -> frozenset[str]:
    hosts = set()
    for part in values.get(name, "").split(","):
        host = part.strip().lower().rstrip(".")
        if not host:
            continue
        if not re.fullmatch(r"[a-z0-9:]([a-z0-9.:-]*[a-z0-9])?", host):
            raise ConfigError(
                f"{name} has {part.strip()!r}: expected comma-separated host names or IP "
                "addresses, without scheme or port, such as 127.0.0.1,localhost"
            )
        hosts.add(host)
    return frozenset(hosts)


def _backoff(values: Mapping[str, str], name: str) -> tuple[int, ...]:
    text = values.get(name, "").strip()
    if not text:
        return Settings.webhook_backoff
    delays = []
    for part in text.split(","):
        try:
            delay = int(part.strip())
        except ValueError:
            raise ConfigError(
                f"{name} has {part.strip()!r}: expected comma-separated whole seconds, such as "
                "60,300,1800,7200,21600"
            ) from None
        if not 1 <= delay <= 7 * 24 * 3600:
            raise ConfigError(f"{name} has {delay}: each delay must be 1 to 604800 seconds")
        delays.append(delay)
    if len(delays) > 20:
        raise ConfigError(f"{name} lists {len(delays)} delays: give at most 20")
    return tuple(delays)
