"""Host names: which requests belong to the platform and which to a brand."""

from __future__ import annotations

import re

from saas.tenancy.validation import PLATFORM_HOSTS

PREFIX = re.compile(r"^/t/([a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?)(/.*)?$", re.DOTALL)


def host_name(raw_host: str) -> str:
    """Return the host in lower case without its port (IPv6 literals keep their brackets)."""
    host = (raw_host or "").strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_platform_host(host: str, base_domain: str) -> bool:
    return host in PLATFORM_HOSTS or host == base_domain


def brand_slug_from_subdomain(host: str, base_domain: str) -> str | None:
    suffix = "." + base_domain
    if host.endswith(suffix):
        label = host[: -len(suffix)]
        if label and "." not in label:
            return label
    return None
