"""Who may call each route, declared next to the route and checked in one place.

Every view function carries a ``Policy`` set by ``@allow(...)``. One ``before_request``
hook looks the policy up and lets the request through, sends it to a sign-in page, or
returns 401 or 403. A route without a declared policy returns 500 and logs the endpoint,
so a forgotten declaration closes the route instead of opening it; a test enumerates
every route to make sure none is missing.

The check of each kind of caller (member, console user, partner client) lives with the
code that knows that caller and is registered here with ``register_check``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, abort, current_app, request

log = logging.getLogger(__name__)

CONSOLE_ROLES = ("owner", "admin", "analyst", "support")


@dataclass(frozen=True)
class Policy:
    """``kind`` is public, member, console, partner, partner_contact or platform_admin."""

    kind: str
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)

    def describe(self) -> str:
        detail = sorted(self.roles or self.scopes)
        return f"{self.kind}({', '.join(detail)})" if detail else self.kind


PUBLIC = Policy("public")
MEMBER = Policy("member")
PLATFORM_ADMIN = Policy("platform_admin")
# A signed-in contact of one of the brand's partners, on that partner's page.
PARTNER_CONTACT = Policy("partner_contact")


def console(*roles: str) -> Policy:
    """Console users holding one of ``roles`` in the request's brand (all roles if none)."""
    unknown = set(roles) - set(CONSOLE_ROLES)
    if unknown:
        raise ValueError(f"unknown console roles: {sorted(unknown)}")
    return Policy("console", roles=frozenset(roles or CONSOLE_ROLES))


def partner(*scopes: str) -> Policy:
    return Policy("partner", scopes=frozenset(scopes))


# Endpoints Flask adds itself, with the policy they get.
BUILT_IN = {"static": PUBLIC}

Check = Callable[[Policy], object]
_checks: dict[str, Check] = {}


def register_check(kind: str, check: Check) -> None:
    """``check(policy)`` returns None to let the request through, or a response."""
    _checks[kind] = check


def allow(policy: Policy):
    """Declare who may call the decorated view."""
    def decorate(view):
        view.tessera_policy = policy
        return view

    return decorate


def policy_of(app: Flask, endpoint: str) -> Policy | None:
    if endpoint in BUILT_IN:
        return BUILT_IN[endpoint]
    view = app.view_functions.get(endpoint)
    view = getattr(view, "view_class", view)
    return getattr(view, "tessera_policy", None)


def init_app(app: Flask) -> None:
    """Register after the brand is resolved: member and console checks need the brand."""
    app.before_request(enforce)


def enforce():
    endpoint = request.endpoint
    if endpoint is None:
        return None  # no route matched, so the 404 handler responds
    policy = policy_of(current_app, endpoint)
    if policy is None:
        log.error("route %s declares no access policy; rejecting the request", endpoint)
        abort(500)
    if policy.kind == "public":
        return None
    check = _checks.get(policy.kind)
    if check is None:
        log.error("no check is registered for %s routes; rejecting %s", policy.kind, endpoint)
        abort(500)
    return check(policy)
