"""What every brand console page shares: its sections, rendering and audit helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, g, request, url_for
from flask_babel import format_percent, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas.console.identity import current_role, current_user, role_label
from saas.security import audit
from saas.web.tenant import brand_db
from saas.web.themes import render

# Roles that change the program; analysts read, support serves members.
EDITORS = ("owner", "admin")
MEMBER_SERVICE = ("owner", "admin", "support")


@dataclass(frozen=True)
class Section:
    endpoint: str
    label: Any
    roles: tuple[str, ...]


SECTIONS = (
    Section("console.dashboard", _l("Overview"), ("owner", "admin", "analyst", "support")),
    Section("console_analytics.dashboard", _l("Analytics"), ("owner", "admin", "analyst")),
    Section("console_cohorts.cohorts", _l("Cohorts"), ("owner", "admin", "analyst")),
    Section("console_segments.segments", _l("Segments"), ("owner", "admin", "analyst")),
    Section("console_reports.builder", _l("Reports"), ("owner", "admin", "analyst")),
    Section("console.members", _l("Members"), ("owner", "admin", "analyst", "support")),
    Section("console.vouchers", _l("Vouchers"), MEMBER_SERVICE),
    Section("console_rules.rules", _l("Earn rules"), ("owner", "admin", "analyst")),
    Section("console_catalog.rewards", _l("Rewards and tiers"), ("owner", "admin", "analyst")),
    Section("console_imports.upload", _l("Import"), EDITORS),
    Section("console_theme.editor", _l("Theme"), EDITORS),
    Section("console_partners.partners", _l("Partners"), ("owner", "admin", "analyst")),
    Section("console_team.users", _l("Users"), ("owner",)),
    Section("console_team.audit_trail", _l("Audit trail"), EDITORS),
)


@dataclass(frozen=True)
class NavLink:
    url: str
    label: Any
    current: bool


@dataclass(frozen=True)
class ConsoleContext:
    email: str
    role: str
    sections: tuple[NavLink, ...]

    def can(self, *roles: str) -> bool:
        return self.role in roles


def console_context() -> ConsoleContext:
    role = current_role().value
    blueprint = request.blueprint
    links = tuple(
        NavLink(url_for(section.endpoint), section.label,
                section.endpoint.split(".")[0] == blueprint
                and (blueprint != "console" or section.endpoint == request.endpoint))
        for section in SECTIONS
        if role in section.roles and section.endpoint in current_app.view_functions
    )
    return ConsoleContext(current_user().email, role, links)


def status_label(status: str) -> str:
    labels = {"active": _("active"), "blocked": _("blocked"), "closed": _("closed")}
    return labels.get(status, status)


def voucher_status_label(status: str) -> str:
    labels = {"issued": _("not yet used"), "used": _("used"), "cancelled": _("cancelled"),
              "expired": _("expired")}
    return labels.get(status, status)


def localised(names: dict | None) -> str:
    """Pick the request locale's text from a {locale: text} mapping, else the first one."""
    if not names:
        return ""
    locale = str(get_locale())
    return names.get(locale) or names.get(locale.split("_")[0]) or next(iter(names.values()))


def reward_name(reward) -> str:
    return localised(reward.name)


HELPERS = {"role_label": role_label, "status_label": status_label,
           "voucher_status_label": voucher_status_label, "localised": localised,
           "reward_name": reward_name, "format_percent": format_percent}


def page(template: str, **context: Any) -> str:
    return render(template, console=console_context(), **HELPERS, **context)


def actor() -> str:
    return f"user:{current_user().email}"


def record(action: str, target: str, before: dict | None = None,
           after: dict | None = None) -> None:
    """Add an audit entry to the brand's chain in the request's transaction."""
    audit.record(brand_db(), actor=actor(), action=action, target=target, before=before,
                 after=after, client_address=request.remote_addr)


def brand_id() -> int:
    return g.brand.id
