"""Evaluation of earn rules against one order: the points earned and a line per step.

The evaluator is pure. It reads the rules and the order facts, writes nothing, and returns
the same result for the same input, so a recorded earning can be explained later.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from saas.loyalty.money import currency_exponent, to_major
from saas.loyalty.rules import (
    DAYS,
    Bonus,
    Cap,
    Conditions,
    Multiplier,
    PointsPerAmount,
    RuleSpec,
)

ROUNDING_LABELS = {"down": "down", "half_up": "half up", "half_even": "half to even"}
# Decimal places of fractional points in explanations. Longer values are cut and end in '...'.
SHOWN_PLACES = 4


@dataclass(frozen=True)
class OrderFacts:
    """Facts about an order that rules can test, with the amount in the base currency."""

    amount_minor: int
    currency: str
    ordered_at: datetime
    channel: str | None = None
    partner: str | None = None
    categories: frozenset[str] = frozenset()
    tier: str | None = None
    segments: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        amount = self.amount_minor
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise ValueError(
                f"invalid order amount {amount!r}: expected a whole number of minor units, "
                "0 or more"
            )
        currency_exponent(self.currency)
        if not isinstance(self.ordered_at, datetime) or self.ordered_at.utcoffset() is None:
            raise ValueError(
                f"invalid order time {self.ordered_at!r}: expected a datetime with a time zone"
            )
        for name in ("categories", "segments"):
            if not isinstance(getattr(self, name), frozenset):
                raise ValueError(
                    f"invalid order {name} {getattr(self, name)!r}: expected a frozenset of codes"
                )


@dataclass(frozen=True)
class RuleLine:
    """One step of an evaluation. ``rule`` is None for the tier, cap and minimum lines."""

    rule: str | None
    name: str
    points: int
    explanation: str

    def as_json(self) -> dict:
        # Written out rather than dataclasses.asdict, which is slow on the import's hot path.
        return {"rule": self.rule, "name": self.name, "points": self.points,
                "explanation": self.explanation}


@dataclass(frozen=True)
class Evaluation:
    """The points an order earns, with the lines that add up to them."""

    points: int
    lines: tuple[RuleLine, ...]

    def as_json(self) -> dict:
        """Return the JSON form stored with the ledger entry."""
        return {"points": self.points, "lines": [line.as_json() for line in self.lines]}


def evaluate(
    rules: Sequence[RuleSpec],
    order: OrderFacts,
    timezone: str,
    tier_multiplier: Decimal = Decimal(1),
    tier_name: str | None = None,
) -> Evaluation:
    """Apply the rules to an order in (priority, code) order and return the points earned.

    Days and hours are tested in ``timezone``, the brand's IANA time zone. The tier
    multiplier applies to the sum of the rule lines, and the smallest cap among the applied
    rules applies last.
    """
    zone = _load_zone(timezone)
    multiplier = _check_multiplier(tier_multiplier)
    local = order.ordered_at.astimezone(zone)
    amount = to_major(order.amount_minor, order.currency)
    lines: list[RuleLine] = []
    caps: list[tuple[int, str]] = []
    for rule in sorted(rules, key=lambda spec: (spec.priority, spec.code)):
        if not _applies(rule, order, local.time(), DAYS[local.weekday()], amount):
            continue
        earlier = sum(line.points for line in lines)
        line, cap = _rule_line(rule, amount, order.currency, earlier)
        lines.append(line)
        if cap is not None:
            caps.append((cap, rule.code))
        if rule.stacking == "exclusive":
            break
    subtotal = sum(line.points for line in lines)
    if multiplier != 1:
        lines.append(_tier_line(multiplier, subtotal, tier_name or order.tier or "Tier"))
    lines.extend(_limit_lines(sum(line.points for line in lines), min(caps, default=None)))
    return Evaluation(points=sum(line.points for line in lines), lines=tuple(lines))


def _applies(rule: RuleSpec, order: OrderFacts, clock: time, day: str, amount: Decimal) -> bool:
    """Return whether the rule is active and valid at the order time and its conditions hold."""
    if not rule.active:
        return False
    if rule.valid_from is not None and order.ordered_at < rule.valid_from:
        return False
    if rule.valid_until is not None and order.ordered_at >= rule.valid_until:
        return False
    return _conditions_hold(rule.conditions, order, clock, day, amount)


def _conditions_hold(
    conditions: Conditions, order: OrderFacts, clock: time, day: str, amount: Decimal
) -> bool:
    checks = (
        not conditions.channels or order.channel in conditions.channels,
        not conditions.partners or order.partner in conditions.partners,
        not conditions.categories or not order.categories.isdisjoint(conditions.categories),
        conditions.amount_min is None or amount >= conditions.amount_min,
        conditions.amount_max is None or amount <= conditions.amount_max,
        not conditions.days or day in conditions.days,
        conditions.hours is None or conditions.hours.contains(clock),
        not conditions.tiers or order.tier in conditions.tiers,
        not conditions.segments or not order.segments.isdisjoint(conditions.segments),
    )
    return all(checks)


def _rule_line(
    rule: RuleSpec, amount: Decimal, currency: str, earlier: int
) -> tuple[RuleLine, int | None]:
    """Compute a rule's points from its actions, rounded once, and the rule's smallest cap."""
    # Fractions keep every step exact, so a third of a point tripled by a multiplier is 1.
    total = Fraction(0)
    steps: list[str] = []
    cap: int | None = None
    for action in rule.actions:
        match action:
            case PointsPerAmount(points=points, per=per):
                gained = Fraction(amount) * Fraction(points) / Fraction(per)
                steps.append(
                    f"{_plural(points)} per {per} {currency} on {amount} {currency}"
                    f" = {_show(gained)}"
                )
            case Multiplier(factor=factor):
                base = earlier + total
                gained = (Fraction(factor) - 1) * base
                steps.append(f"x{factor} on {_show(base)} points = +{_show(gained)}")
            case Bonus(points=points):
                gained = Fraction(points)
                steps.append(f"bonus {points}")
            case Cap(points=points):
                gained = Fraction(0)
                cap = points if cap is None else min(cap, points)
                steps.append(f"order capped at {points} points")
        total += gained
    rounded = _round(total, rule.rounding)
    return RuleLine(rule.code, rule.name, rounded, _explain(steps, total, rounded, rule)), cap


def _round(value: Fraction, rounding: str) -> int:
    """Round exactly to an integer, as ROUND_DOWN, ROUND_HALF_UP or ROUND_HALF_EVEN do."""
    whole = math.trunc(value)
    # Twice the dropped fraction is below 1 before the halfway point and above 1 after it.
    twice_dropped = abs(value - whole) * 2
    away = whole + (1 if value > 0 else -1)
    if rounding == "down" or twice_dropped < 1:
        return whole
    if twice_dropped > 1 or rounding == "half_up":
        return away
    return whole if whole % 2 == 0 else away


def _explain(steps: list[str], total: Fraction, points: int, rule: RuleSpec) -> str:
    explanation = "; ".join(steps)
    if len(steps) > 1:
        explanation += f"; total {_show(total)}"
    if total != points:
        explanation += f", rounded {ROUNDING_LABELS[rule.rounding]}"
    return explanation


def _tier_line(multiplier: Decimal, subtotal: int, name: str) -> RuleLine:
    points = math.floor((Fraction(multiplier) - 1) * subtotal)
    explanation = f"x{multiplier} {name} multiplier on {subtotal} points = {points:+d}"
    return RuleLine(None, name, points, explanation + ", rounded down")


def _limit_lines(total: int, cap: tuple[int, str] | None) -> list[RuleLine]:
    """Return the lines that bring the total down to the cap and up to zero, if needed."""
    lines: list[RuleLine] = []
    if cap is not None and total > cap[0]:
        limit, code = cap
        explanation = f"total of {total} capped at {limit} points by rule {code!r}"
        lines.append(RuleLine(None, "Cap", limit - total, explanation))
        total = limit
    if total < 0:
        # Validated actions never take points away, but a RuleSpec built by hand might.
        explanation = f"total of {total} raised to 0 because an order never removes points"
        lines.append(RuleLine(None, "Minimum", -total, explanation))
    return lines


def _load_zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(
            f"unknown time zone {timezone!r}: expected an IANA name such as America/New_York"
        ) from None


def _check_multiplier(value: Decimal) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise ValueError(
            f"invalid tier multiplier {value!r}: expected a Decimal such as Decimal('1.5')"
        )
    number = Decimal(value)
    if not number.is_finite() or number < 0:
        raise ValueError(f"invalid tier multiplier {value!r}: expected a number of 0 or more")
    return number


def _plural(points: Decimal) -> str:
    return "1 point" if points == 1 else f"{points} points"


def _show(value: Fraction) -> str:
    """Format points for an explanation, cut after SHOWN_PLACES decimals and marked '...'."""
    scaled = value * 10**SHOWN_PLACES
    truncated = math.trunc(scaled)
    # Built from a string, the Decimal is exact, whatever the context's precision.
    text = format(Decimal(f"{truncated}E-{SHOWN_PLACES}"), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    return text if scaled == truncated else text + "..."
