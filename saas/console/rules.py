"""Earn rules in the brand console: list, edit with validation, simulate before saving, and
the versions of each rule (who changed what and when, from the audit trail)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, g, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from saas.console.base import EDITORS, page, record
from saas.loyalty.config import brand_config
from saas.loyalty.evaluator import Evaluation, OrderFacts, evaluate
from saas.loyalty.models import EarnRule
from saas.loyalty.money import to_minor
from saas.loyalty.rules import DAYS, ROUNDING, STACKING, RuleError, RuleSpec, parse_rule
from saas.security.audit import BrandAuditEntry
from saas.web.policy import allow, console
from saas.web.tenant import brand_db

bp = Blueprint("console_rules", __name__)

READERS = ("owner", "admin", "analyst")
LIST_FIELDS = ("channels", "partners", "categories", "tiers", "segments")


class FormError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@bp.get("/rules")
@allow(console(*READERS))
def rules():
    rows = list(brand_db().scalars(select(EarnRule).order_by(EarnRule.priority, EarnRule.code)))
    return page("console/rules.html", rows=rows)


def _split(raw: str) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def _json_field(name: str, default: Any) -> Any:
    raw = request.form.get(name, "").strip()
    if not raw:
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise FormError(name, _("%(field)s is not valid JSON (line %(line)s, column %(column)s): "
                                "%(problem)s", field=name, line=exc.lineno, column=exc.colno,
                                problem=exc.msg)) from None


def _moment(name: str, zone: ZoneInfo) -> str | None:
    """Read a datetime-local field in the brand's time zone as an ISO string with its offset."""
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=zone).isoformat()
    except ValueError:
        raise FormError(name, _("%(field)s must be a date and time such as 2025-03-01T09:00, "
                                "not %(value)s", field=name, value=raw)) from None


def _form_mapping(code: str) -> dict:
    """Read the edit form into the mapping ``parse_rule`` validates."""
    zone = ZoneInfo(g.brand.timezone)
    conditions: dict[str, Any] = {key: _split(request.form.get(key, "")) for key in LIST_FIELDS}
    conditions["days"] = [day for day in DAYS if request.form.get(f"day_{day}") == "on"]
    for key in ("amount_min", "amount_max"):
        if request.form.get(key, "").strip():
            conditions[key] = request.form[key].strip()
    if request.form.get("hours_from") or request.form.get("hours_to"):
        conditions["hours"] = {"from": request.form.get("hours_from", ""),
                               "to": request.form.get("hours_to", "")}
    priority = request.form.get("priority", "").strip()
    return {
        "code": code,
        "name": request.form.get("name", ""),
        "priority": int(priority) if priority.lstrip("-").isdigit() else priority or None,
        "stacking": request.form.get("stacking", "stack"),
        "rounding": request.form.get("rounding", "down"),
        "active": request.form.get("active") == "on",
        "valid_from": _moment("valid_from", zone),
        "valid_until": _moment("valid_until", zone),
        "conditions": {key: value for key, value in conditions.items() if value},
        "actions": _json_field("actions", []),
    }


def _draft(code: str) -> tuple[RuleSpec | None, FormError | RuleError | None]:
    try:
        return parse_rule(_form_mapping(code), path="rule"), None
    except (FormError, RuleError) as exc:
        return None, exc


def _error_text(error: FormError | RuleError | None) -> str | None:
    if error is None:
        return None
    if isinstance(error, RuleError):
        return _("%(path)s: %(value)s is not allowed; expected %(expected)s",
                 path=error.path, value=json.dumps(error.value, default=str),
                 expected=error.expected)
    return error.message


def _rule_or_404(code: str) -> EarnRule:
    row = brand_db().scalar(select(EarnRule).where(EarnRule.code == code))
    if row is None:
        abort(404)
    return row


def _versions(code: str) -> list[BrandAuditEntry]:
    return list(brand_db().scalars(
        select(BrandAuditEntry).where(BrandAuditEntry.target == f"rule:{code}")
        .order_by(BrandAuditEntry.id.desc()).limit(50)))


def _local(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(g.brand.timezone)).strftime("%Y-%m-%dT%H:%M")


def _editor(rule: RuleSpec | dict, *, is_new: bool, error: str | None = None,
            notice: str | None = None, status: int = 200):
    spec = rule if isinstance(rule, dict) else rule.to_json()
    return page("console/rule_edit.html", rule=spec, is_new=is_new, error=error, notice=notice,
                stacking=STACKING, rounding=ROUNDING, days=DAYS, list_fields=LIST_FIELDS,
                versions=[] if is_new else _versions(spec["code"]),
                valid_from=_local(spec_moment(spec, "valid_from")),
                valid_until=_local(spec_moment(spec, "valid_until")),
                actions_json=json.dumps(spec.get("actions", []), indent=2),
                tiers=[tier.code for tier in brand_config(brand_db()).tiers]), status


def spec_moment(spec: dict, key: str) -> datetime | None:
    value = spec.get(key)
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@bp.route("/rules/new", methods=["GET", "POST"])
@allow(console(*EDITORS))
def new_rule():
    if request.method == "GET":
        return _editor({"code": "", "name": "", "priority": 100, "stacking": "stack",
                        "rounding": "down", "active": True, "conditions": {},
                        "actions": [{"type": "points_per_amount", "points": 1, "per": 1}]},
                       is_new=True)
    code = request.form.get("code", "").strip()
    if brand_db().scalar(select(EarnRule.id).where(EarnRule.code == code)) is not None:
        return _editor(_raw_form(code), is_new=True, status=400, error=_(
            "A rule with the code %(code)s exists already; choose another code.", code=code))
    spec, error = _draft(code)
    if spec is None:
        return _editor(_raw_form(code), is_new=True, error=_error_text(error), status=400)
    row = EarnRule(code=spec.code, version=1)
    _store(row, spec)
    brand_db().add(row)
    record("rule.create", f"rule:{spec.code}", None, spec.to_json() | {"version": 1})
    brand_db().commit()
    return redirect(url_for("console_rules.edit_rule", code=spec.code, saved=1))


def _raw_form(code: str) -> dict:
    """Return the submitted values, to show them again next to an error."""
    conditions = {key: _split(request.form.get(key, "")) for key in LIST_FIELDS}
    conditions["days"] = [day for day in DAYS if request.form.get(f"day_{day}") == "on"]
    conditions["amount_min"] = request.form.get("amount_min", "")
    conditions["amount_max"] = request.form.get("amount_max", "")
    conditions["hours"] = {"from": request.form.get("hours_from", ""),
                           "to": request.form.get("hours_to", "")}
    try:
        actions = json.loads(request.form.get("actions", "") or "[]")
    except json.JSONDecodeError:
        actions = request.form.get("actions", "")
    return {"code": code, "name": request.form.get("name", ""),
            "priority": request.form.get("priority", ""),
            "stacking": request.form.get("stacking", "stack"),
            "rounding": request.form.get("rounding", "down"),
            "active": request.form.get("active") == "on", "conditions": conditions,
            "actions": actions}


def _store(row: EarnRule, spec: RuleSpec) -> None:
    data = spec.to_json()
    row.name = spec.name
    row.priority = spec.priority
    row.stacking = spec.stacking
    row.rounding = spec.rounding
    row.conditions = data["conditions"]
    row.actions = data["actions"]
    row.valid_from = spec.valid_from
    row.valid_until = spec.valid_until
    row.active = spec.active


@bp.route("/rules/<code>", methods=["GET", "POST"])
@allow(console(*EDITORS))
def edit_rule(code: str):
    row = _rule_or_404(code)
    if request.method == "GET":
        saved = _("Saved as version %(version)s.", version=row.version) \
            if request.args.get("saved") else None
        return _editor(RuleSpec.from_model(row), is_new=False, notice=saved)
    spec, error = _draft(code)
    if spec is None:
        return _editor(_raw_form(code), is_new=False, error=_error_text(error), status=400)
    before = RuleSpec.from_model(row).to_json() | {"version": row.version}
    _store(row, spec)
    row.version += 1
    record("rule.update", f"rule:{code}", before, spec.to_json() | {"version": row.version})
    brand_db().commit()
    return redirect(url_for("console_rules.edit_rule", code=code, saved=1))


# --- Simulator -----------------------------------------------------------------------------

def _order_facts() -> OrderFacts:
    currency = g.brand.base_currency
    raw_amount = request.form.get("sim_amount", "").strip()
    try:
        amount = Decimal(raw_amount.replace(",", "."))
        minor = to_minor(amount, currency)
    except (InvalidOperation, ValueError):
        raise FormError("sim_amount", _("The order amount must be a number such as 42.50, not "
                                        "%(value)s.", value=raw_amount or _("empty"))) from None
    if minor < 0:
        raise FormError("sim_amount", _("The order amount cannot be negative."))
    zone = ZoneInfo(g.brand.timezone)
    raw_time = request.form.get("sim_time", "").strip()
    try:
        ordered_at = (datetime.fromisoformat(raw_time).replace(tzinfo=zone) if raw_time
                      else datetime.now(zone))
    except ValueError:
        raise FormError("sim_time", _("The order time must be a date and time such as "
                                      "2025-03-01T09:00, not %(value)s.", value=raw_time)) from None
    return OrderFacts(
        amount_minor=minor, currency=currency, ordered_at=ordered_at,
        channel=request.form.get("sim_channel", "").strip() or None,
        partner=request.form.get("sim_partner", "").strip() or None,
        categories=frozenset(_split(request.form.get("sim_categories", ""))),
        tier=request.form.get("sim_tier", "").strip() or None,
    )


def simulate_rules(rules: list[RuleSpec], order: OrderFacts) -> Evaluation:
    config = brand_config(brand_db())
    tier = next((tier for tier in config.tiers if tier.code == order.tier), None)
    return evaluate(rules, order, g.brand.timezone,
                    tier_multiplier=tier.multiplier if tier else Decimal(1),
                    tier_name=tier.code if tier else None)


@bp.post("/rules/<code>/simulate")
@allow(console(*EDITORS))
def simulate(code: str):
    """Evaluate an order with the draft replacing the saved rule, next to the saved rules."""
    try:
        order = _order_facts()
    except FormError as exc:
        return page("console/_simulation.html", error=exc.message, draft=None, saved=None), 400
    spec, error = _draft(code)
    if spec is None:
        return page("console/_simulation.html", error=_error_text(error), draft=None,
                    saved=None), 400
    saved_rules = [rule for rule in brand_config(brand_db()).rules if rule.active]
    draft_rules = [rule for rule in saved_rules if rule.code != code]
    if spec.active:
        draft_rules.append(spec)
    return page("console/_simulation.html", error=None,
                draft=simulate_rules(draft_rules, order),
                saved=simulate_rules(saved_rules, order))
