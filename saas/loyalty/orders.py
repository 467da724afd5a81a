"""Orders and the points they earn: accrual, refunds and cancellations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.db import utcnow
from saas.loyalty import money
from saas.loyalty.config import BrandConfig, brand_config
from saas.loyalty.errors import (
    InvalidInput,
    NoExchangeRate,
    NotFound,
    OrderConflict,
    RefundTooLarge,
)
from saas.loyalty.evaluator import Evaluation, OrderFacts, evaluate
from saas.loyalty.expiry import lot_expiry
from saas.loyalty.ledger import LotSpec, Posting, post
from saas.loyalty.members import (
    enrol_member,
    get_member,
    lock_member,
    lock_member_by_ref,
    require_active,
)
from saas.loyalty.models import EntryKind, ExchangeRate, LedgerEntry, Member, Order, OrderRefund
from saas.loyalty.policies import Policies, load_policies
from saas.loyalty.tiers import upgrade_tier
from saas.tenancy.brands import BrandInfo

# How far in the future an order time may lie, for clocks that are slightly ahead.
MAX_CLOCK_SKEW = timedelta(minutes=10)


@dataclass(frozen=True)
class OrderInput:
    ref: str
    member_ref: str
    amount_minor: int
    currency: str
    ordered_at: datetime
    channel: str | None = None
    partner: str | None = None
    location: str | None = None
    categories: tuple[str, ...] = ()
    items: tuple[dict, ...] = field(default_factory=tuple)

    def canonical(self) -> dict[str, Any]:
        """Return the request as idempotency compares it: same meaning, same dictionary."""
        return {
            "ref": self.ref, "member": self.member_ref, "amount_minor": self.amount_minor,
            "currency": self.currency.upper(), "ordered_at": self.ordered_at.isoformat(),
            "channel": self.channel, "partner": self.partner, "location": self.location,
            "categories": sorted(self.categories), "items": list(self.items),
        }


@dataclass(frozen=True)
class AccrualResult:
    order_id: int
    order_ref: str
    member_ref: str
    points: int
    balance: int
    evaluation: Evaluation
    # The member's tier codes before and after the order, for the tier.changed event.
    tier_before: str | None = None
    tier_after: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id, "order": self.order_ref, "member": self.member_ref,
            "points": self.points, "balance": self.balance,
            "breakdown": self.evaluation.as_json()["lines"],
        }


@dataclass(frozen=True)
class RefundResult:
    order_ref: str
    refunded_minor: int
    points_reversed: int
    balance: int
    # True when this refund reference was already recorded and nothing changed.
    replayed: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"order": self.order_ref, "refunded_minor": self.refunded_minor,
                "points_reversed": self.points_reversed, "balance": self.balance}


def check_order(order: OrderInput, now: datetime | None = None) -> None:
    if not isinstance(order.ref, str) or not 1 <= len(order.ref) <= 128:
        raise InvalidInput(f"invalid order reference {order.ref!r}: give 1-128 characters",
                           field="order", value=order.ref)
    if not isinstance(order.amount_minor, int) or isinstance(order.amount_minor, bool) \
            or order.amount_minor < 0:
        raise InvalidInput(
            f"invalid amount {order.amount_minor!r}: give a whole number of minor units, 0 or more",
            field="amount", value=order.amount_minor,
        )
    try:
        money.currency_exponent(order.currency)
    except ValueError:
        raise InvalidInput(f"unknown currency {order.currency!r}: use an ISO 4217 code",
                           field="currency", value=order.currency) from None
    if order.ordered_at.tzinfo is None:
        raise InvalidInput("order time has no timezone: give an offset or Z",
                           field="ordered_at", value=str(order.ordered_at))
    if order.ordered_at > (now or utcnow()) + MAX_CLOCK_SKEW:
        raise InvalidInput(f"order time {order.ordered_at.isoformat()} is in the future",
                           field="ordered_at", value=order.ordered_at.isoformat())


def exchange_rate(session: Session, currency: str, base: str, at: datetime) -> Decimal:
    """Return units of ``currency`` per one unit of ``base`` in force at ``at``."""
    if currency == base:
        return Decimal(1)
    rate = session.scalar(
        select(ExchangeRate.rate)
        .where(ExchangeRate.currency == currency, ExchangeRate.valid_from <= at)
        .order_by(ExchangeRate.valid_from.desc())
        .limit(1)
    )
    if rate is None:
        raise NoExchangeRate(
            f"no exchange rate from {currency} to {base} at {at.isoformat()}; "
            "add one for that date", field="currency", value=currency,
        )
    return Decimal(rate)


def accrue(session: Session, brand: BrandInfo, order: OrderInput, *, source: str,
           enrol: bool = False, policies: Policies | None = None,
           rules: list | None = None) -> AccrualResult:
    """Record ``order`` and credit the points its rules give; the caller commits."""
    check_order(order)
    member = lock_member_by_ref(session, order.member_ref)
    if member is None:
        if not enrol:
            get_member(session, order.member_ref)  # raises NotFound with the reference
        member = enrol_member(session, order.member_ref, joined_at=order.ordered_at)
    require_active(member)
    _check_new_order(session, source, order.ref)

    rate = exchange_rate(session, order.currency, brand.base_currency, order.ordered_at)
    base_minor = money.convert_to_base(order.amount_minor, order.currency,
                                       brand.base_currency, rate)
    config = brand_config(session)
    tier = config.tier(member.tier_id)
    row = Order(
        source=source, ref=order.ref, member_id=member.id, amount_minor=order.amount_minor,
        currency=order.currency, base_amount_minor=base_minor, fx_rate=str(rate),
        ordered_at=order.ordered_at, channel=order.channel, partner=order.partner,
        location=order.location, categories=list(order.categories), items=list(order.items),
        tier=tier.code if tier else None,
    )
    session.add(row)
    session.flush()
    policies = policies or config.policies
    evaluation = evaluate_order(session, brand, member, row, rules, config)
    if evaluation.points:
        credit_order(session, brand, member, row, evaluation, source, policies)
    member.last_activity_at = max(filter(None, [member.last_activity_at, order.ordered_at]))
    upgrade_tier(session, member, order.ordered_at, policies, config)
    after = config.tier(member.tier_id)
    return AccrualResult(row.id, row.ref, member.ref, evaluation.points, member.balance,
                         evaluation, row.tier, after.code if after else None)


def member_segments(session: Session, member_id: int) -> frozenset[str]:
    from saas.analytics.segments import member_segments as lookup

    return lookup(session, member_id)


def evaluate_order(session: Session, brand: BrandInfo, member: Member, row: Order,
                   rules: list | None = None, config: BrandConfig | None = None) -> Evaluation:
    config = config or brand_config(session)
    rules = rules if rules is not None else config.rules
    tier = config.tier(member.tier_id)
    # Only a rule with a segment condition needs the member's segments.
    needs_segments = any(rule.conditions.segments for rule in rules)
    facts = OrderFacts(
        amount_minor=row.base_amount_minor, currency=brand.base_currency,
        ordered_at=row.ordered_at, channel=row.channel, partner=row.partner,
        categories=frozenset(row.categories or ()), tier=tier.code if tier else None,
        segments=member_segments(session, member.id) if needs_segments else frozenset(),
    )
    multiplier = Decimal(tier.multiplier) if tier else Decimal(1)
    tier_name = tier.code if tier else None
    return evaluate(rules, facts, brand.timezone, multiplier, tier_name)


def credit_order(session: Session, brand: BrandInfo, member: Member, row: Order,
                 evaluation: Evaluation, source: str, policies: Policies) -> LedgerEntry:
    expires_at = lot_expiry(row.ordered_at, policies.expiry, brand.timezone)
    return post(session, member, Posting(
        kind=EntryKind.EARN, points=evaluation.points, source=source,
        occurred_at=row.ordered_at, reference_type="order", reference_id=row.id,
        detail={"lines": evaluation.as_json()["lines"]},
    ), LotSpec(earned_at=row.ordered_at, expires_at=expires_at))


def _check_new_order(session: Session, source: str, ref: str) -> None:
    existing = session.scalar(select(Order.id).where(Order.source == source, Order.ref == ref))
    if existing is not None:
        raise OrderConflict(
            f"order {ref!r} from {source} is already recorded (order id {existing}); "
            "retry with the original idempotency key, or use a new order reference",
            field="order", value=ref, order_id=existing,
        )


def find_order(session: Session, source: str, ref: str) -> Order:
    query = select(Order).where(Order.source == source, Order.ref == ref)
    row = session.scalars(query).one_or_none()
    if row is None:
        raise NotFound(f"no order {ref!r} from {source}", field="order", value=ref)
    return row


def refund(session: Session, source: str, order_ref: str, refund_ref: str,
           amount_minor: int, at: datetime | None = None) -> RefundResult:
    """Refund part of an order and reverse its points in proportion; the caller commits.

    The reversal is cumulative: after refunds totalling R of an order of amount A that
    earned E points, exactly floor(E * R / A) points are reversed, so a full refund always
    reverses exactly E. Replaying a refund reference changes nothing.
    """
    at = at or utcnow()
    row = find_order(session, source, order_ref)
    member = lock_member(session, row.member_id)
    existing = session.scalars(
        select(OrderRefund).where(OrderRefund.order_id == row.id, OrderRefund.ref == refund_ref)
    ).one_or_none()
    if existing is not None:
        return RefundResult(row.ref, existing.amount_minor, 0, member.balance, replayed=True)
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool) or amount_minor <= 0:
        raise InvalidInput(f"invalid refund amount {amount_minor!r}: give minor units, 1 or more",
                           field="amount", value=amount_minor)
    refunded = refunded_minor(session, row.id)
    if row.cancelled_at is not None or refunded + amount_minor > row.amount_minor:
        raise RefundTooLarge(
            f"refund of {amount_minor} exceeds what is left of order {row.ref!r} "
            f"({row.amount_minor - refunded} of {row.amount_minor})",
            field="amount", value=amount_minor, refundable_minor=row.amount_minor - refunded,
        )
    session.add(OrderRefund(order_id=row.id, ref=refund_ref, amount_minor=amount_minor,
                            refunded_at=at))
    earned, reversed_ = order_points(session, row.id)
    refunded += amount_minor
    target = earned if row.amount_minor == 0 else earned * refunded // row.amount_minor
    points = _reverse(session, member, row, target - reversed_, source, at, "refund")
    return RefundResult(row.ref, amount_minor, points, member.balance)


def cancel(session: Session, source: str, order_ref: str,
           at: datetime | None = None) -> RefundResult:
    """Cancel an order: reverse every point it still holds, once; a replay changes nothing."""
    at = at or utcnow()
    row = find_order(session, source, order_ref)
    member = lock_member(session, row.member_id)
    if row.cancelled_at is not None:
        return RefundResult(row.ref, 0, 0, member.balance, replayed=True)
    remaining_minor = row.amount_minor - refunded_minor(session, row.id)
    session.add(OrderRefund(order_id=row.id, ref=f"cancel:{row.id}",
                            amount_minor=remaining_minor, is_cancellation=True, refunded_at=at))
    row.cancelled_at = at
    earned, reversed_ = order_points(session, row.id)
    points = _reverse(session, member, row, earned - reversed_, source, at, "cancellation")
    return RefundResult(row.ref, remaining_minor, points, member.balance)


def _reverse(session, member, row, points, source, at, reason) -> int:
    if points <= 0:
        return 0
    policies = load_policies(session)
    post(session, member, Posting(
        kind=EntryKind.REVERSE, points=-points, source=source, occurred_at=at,
        reference_type="order", reference_id=row.id, reason=reason,
    ), allow_debt=True)
    if not policies.allow_debt and member.debt:
        _forgive_debt(session, member, source, at)
    return points


def _forgive_debt(session, member, source, at) -> None:
    # With debt not allowed, the part of a reversal the member cannot cover is written off
    # by an adjustment, so the balance never drops below zero.
    post(session, member, Posting(
        kind=EntryKind.ADJUST, points=member.debt, source=source, occurred_at=at,
        reason="reversal exceeded the balance; written off (debt not allowed)",
    ))


def refunded_minor(session: Session, order_id: int) -> int:
    total = session.scalar(select(func.coalesce(func.sum(OrderRefund.amount_minor), 0))
                           .where(OrderRefund.order_id == order_id))
    return int(total)


def order_points(session: Session, order_id: int) -> tuple[int, int]:
    """Return (points earned, points reversed) of an order, both as positive numbers."""
    rows = session.execute(
        select(LedgerEntry.kind, func.sum(LedgerEntry.points))
        .where(LedgerEntry.reference_type == "order", LedgerEntry.reference_id == order_id)
        .group_by(LedgerEntry.kind)
    ).all()
    sums = {kind: int(total) for kind, total in rows}
    return sums.get(EntryKind.EARN, 0), -sums.get(EntryKind.REVERSE, 0)
