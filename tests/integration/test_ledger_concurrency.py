"""Concurrent writers on PostgreSQL: the member row lock serialises them."""

import threading

import pytest
from loyalty_helpers import add_reward, add_rule, buy
from sqlalchemy import func, select

from saas.loyalty.errors import InsufficientPoints
from saas.loyalty.idempotency import run_once
from saas.loyalty.members import get_member
from saas.loyalty.models import EntryKind, LedgerEntry
from saas.loyalty.rewards import redeem_reward


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_parallel_redemptions_spend_once(runtime, make_brand):
    brand = make_brand("shop")
    with runtime.open_brand_session(brand) as session:
        add_rule(session)
        add_reward(session, cost=100)
        buy(session, brand, "m1", 10000)

    barrier = threading.Barrier(20)
    outcomes = []

    def attempt(index):
        with runtime.open_brand_session(brand) as session:
            barrier.wait()
            outcome = run_once(session, "portal", f"key-{index}", {"reward": "coffee"},
                               lambda: redeem_reward(session, "m1", "coffee", source="portal"))
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with runtime.open_brand_session(brand) as session:
        member = get_member(session, "m1")
        redeems = session.scalar(select(func.count()).where(LedgerEntry.kind == EntryKind.REDEEM))
    succeeded = [o for o in outcomes if o.ok]
    failed = [o for o in outcomes if not o.ok]
    assert len(succeeded) == 1
    assert len(failed) == 19
    assert all(o.body["code"] == InsufficientPoints.code for o in failed)
    assert member.balance == 0
    assert redeems == 1
