"""Property test: any sequence of ledger operations keeps the books balanced."""

import itertools
import os
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loyalty_helpers import T0, add_rule
from sqlalchemy import func, select

from saas.loyalty.corrections import adjust_points
from saas.loyalty.errors import LoyaltyError
from saas.loyalty.expiry import expire_points
from saas.loyalty.ledger import outstanding_points
from saas.loyalty.members import enrol_member
from saas.loyalty.models import LedgerEntry, Lot, Member
from saas.loyalty.orders import OrderInput, accrue, cancel, refund
from saas.loyalty.rewards import redeem_points
from saas.tenancy.settings import put_setting

EXAMPLES = 15 if os.environ.get("CI") else 60
POLICY = {"mode": "fixed_months", "months": 1}

operations = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(0, 50_000)),
        st.tuples(st.just("redeem"), st.integers(1, 400)),
        st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 100)),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(st.just("adjust"), st.integers(-300, 300).filter(bool)),
        st.tuples(st.just("wait"), st.integers(1, 45)),
        st.tuples(st.just("expire")),
    ),
    max_size=25,
)


@pytest.fixture
def ledger_brand(runtime, make_brand):
    brand = make_brand("props")
    session = runtime.open_brand_session(brand)
    put_setting(session, "points.expiry", POLICY)
    add_rule(session, per="1")
    yield brand, session
    session.close()


_members = itertools.count(1)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=operations)
def test_books_balance_after_any_sequence(ledger_brand, steps):
    brand, session = ledger_brand
    ref = f"p{next(_members)}"
    enrol_member(session, ref, joined_at=T0)
    session.commit()
    orders: list[tuple[str, int]] = []
    clock = T0
    for step in steps:
        clock = apply(session, brand, ref, step, orders, clock)
    check_invariants(session, ref)


def apply(session, brand, ref, step, orders, clock):
    kind = step[0]
    try:
        if kind == "earn":
            order_ref = f"{ref}-o{len(orders)}"
            accrue(session, brand, OrderInput(order_ref, ref, step[1], "USD", clock),
                   source="console")
            orders.append((order_ref, step[1]))
        elif kind == "redeem":
            redeem_points(session, ref, step[1], source="portal", at=clock)
        elif kind == "refund" and orders:
            order_ref, amount = orders[step[1] % len(orders)]
            refund(session, "console", order_ref, f"r{step[2]}", max(1, amount * step[2] // 100),
                   at=clock)
        elif kind == "cancel" and orders:
            cancel(session, "console", orders[step[1] % len(orders)][0], at=clock)
        elif kind == "adjust":
            adjust_points(session, brand, ref, step[1], reason="test", at=clock)
        elif kind == "wait":
            clock += timedelta(days=step[1])
        elif kind == "expire":
            expire_points(session, clock, POLICY)
        session.commit()
    except LoyaltyError:
        session.rollback()
    return clock


def check_invariants(session, ref):
    session.expire_all()
    member = session.scalars(select(Member).where(Member.ref == ref)).one()
    entries = session.scalar(select(func.coalesce(func.sum(LedgerEntry.points), 0))
                             .where(LedgerEntry.member_id == member.id))
    lots = session.scalar(select(func.coalesce(func.sum(Lot.remaining), 0))
                          .where(Lot.member_id == member.id))
    lowest_lot = session.scalar(select(func.min(Lot.remaining)).where(Lot.member_id == member.id))
    balances = session.scalar(select(func.coalesce(func.sum(Member.balance), 0)))

    assert member.balance == entries
    assert member.balance == lots - member.debt
    assert member.debt >= 0
    assert lowest_lot is None or lowest_lot >= 0
    assert outstanding_points(session) == balances
