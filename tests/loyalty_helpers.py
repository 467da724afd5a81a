"""Builders for loyalty tests: rules, rewards, tiers and purchases in a brand database."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from saas.loyalty.models import EarnRule, Reward, Tier
from saas.loyalty.orders import OrderInput, accrue

_refs = itertools.count(1)
T0 = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def add_rule(session, code="base", *, points=1, per="1.00", rounding="down", priority=10,
             conditions=None, extra_actions=()):
    session.add(EarnRule(
        code=code, name=code, priority=priority, stacking="stack", rounding=rounding,
        conditions=conditions or {},
        actions=[{"type": "points_per_amount", "points": points, "per": per}, *extra_actions],
        active=True,
    ))
    session.commit()


def add_reward(session, code="coffee", cost=100, *, stock=None, limit=None, valid_days=None):
    session.add(Reward(code=code, name={"en": code}, description={}, cost_points=cost,
                       stock=stock, per_member_limit=limit, voucher_valid_days=valid_days,
                       active=True))
    session.commit()


def add_tiers(session, *tiers):
    for code, threshold, multiplier in tiers:
        session.add(Tier(code=code, name={"en": code.title()}, threshold=threshold,
                         multiplier=multiplier))
    session.commit()


def buy(session, brand, member_ref, amount_minor, *, ref=None, at=T0, source="console",
        currency=None, commit=True, **fields):
    order = OrderInput(ref=ref or f"o{next(_refs)}", member_ref=member_ref,
                       amount_minor=amount_minor, currency=currency or brand.base_currency,
                       ordered_at=at, **fields)
    result = accrue(session, brand, order, source=source, enrol=True)
    if commit:
        session.commit()
    return result
