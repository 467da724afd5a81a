"""Exactly-once requests: replay, mismatch, in-flight conflicts and scopes."""

from datetime import timedelta

import pytest
from loyalty_helpers import T0, add_reward, add_rule
from sqlalchemy import func, select

from saas.loyalty.errors import IdempotencyInFlight, IdempotencyMismatch
from saas.loyalty.idempotency import RETENTION, run_once
from saas.loyalty.members import enrol_member, get_member
from saas.loyalty.models import IdempotencyRecord, LedgerEntry
from saas.loyalty.orders import OrderInput, accrue
from saas.loyalty.rewards import redeem_reward


@pytest.fixture
def brand_pair(runtime, make_brand):
    sessions = []

    def open_brand(slug):
        brand = make_brand(slug)
        session = runtime.open_brand_session(brand)
        add_rule(session)
        add_reward(session, cost=100)
        enrol_member(session, "m1")
        session.commit()
        session.close()
        sessions.append(session)
        return brand

    return open_brand


def accrual(runtime, brand, key, amount, source="partner:1", ref="A-1"):
    order = OrderInput(ref=ref, member_ref="m1", amount_minor=amount, currency="USD",
                       ordered_at=T0)
    with runtime.open_brand_session(brand) as session:
        return run_once(session, source, key, order.canonical(),
                        lambda: accrue(session, brand, order, source=source))


def balance(runtime, brand):
    with runtime.open_brand_session(brand) as session:
        return get_member(session, "m1").balance


def entries(runtime, brand):
    with runtime.open_brand_session(brand) as session:
        return session.scalar(select(func.count(LedgerEntry.id)))


def test_same_key_same_request_replays(runtime, brand_pair):
    brand = brand_pair("shop")
    first = accrual(runtime, brand, "k1", 1000)
    second = accrual(runtime, brand, "k1", 1000)
    assert first.body == second.body
    assert second.replayed
    assert balance(runtime, brand) == 10
    assert entries(runtime, brand) == 1


def test_same_key_different_request_rejected(runtime, brand_pair):
    brand = brand_pair("shop")
    accrual(runtime, brand, "k1", 1000)
    with pytest.raises(IdempotencyMismatch, match="different request"):
        accrual(runtime, brand, "k1", 2000)
    assert balance(runtime, brand) == 10


def test_rejection_is_replayed(runtime, brand_pair):
    brand = brand_pair("shop")
    with runtime.open_brand_session(brand) as session:
        def attempt():
            return run_once(session, "portal", "r1", {"reward": "coffee"},
                            lambda: redeem_reward(session, "m1", "coffee", source="portal"))

        first = attempt()
        accrual(runtime, brand, "k1", 50000)
        second = attempt()
    assert first.body["code"] == "insufficient_points"
    assert second.body == first.body
    assert second.replayed


def test_key_scoped_by_source(runtime, brand_pair):
    brand = brand_pair("shop")
    accrual(runtime, brand, "1", 1000, source="partner:1")
    other = accrual(runtime, brand, "1", 2000, source="partner:2", ref="B-1")
    assert other.ok
    assert balance(runtime, brand) == 30


def test_key_scoped_by_brand(runtime, brand_pair):
    alpha, beta = brand_pair("alpha"), brand_pair("beta")
    accrual(runtime, alpha, "1", 1000)
    assert accrual(runtime, beta, "1", 5000).ok
    assert balance(runtime, alpha) == 10
    assert balance(runtime, beta) == 50


def test_in_flight_duplicate_conflicts(runtime, brand_pair):
    brand = brand_pair("shop")
    order = OrderInput(ref="A-1", member_ref="m1", amount_minor=1000, currency="USD",
                       ordered_at=T0)
    with runtime.open_brand_session(brand) as outer:
        def nested():
            with runtime.open_brand_session(brand) as inner:
                with pytest.raises(IdempotencyInFlight):
                    run_once(inner, "partner:1", "k1", order.canonical(), lambda: None)
            return accrue(outer, brand, order, source="partner:1")

        outcome = run_once(outer, "partner:1", "k1", order.canonical(), nested)
    assert outcome.ok


def test_unexpected_error_releases_key(runtime, brand_pair):
    brand = brand_pair("shop")

    def broken():
        raise RuntimeError("crash")

    with runtime.open_brand_session(brand) as session:
        with pytest.raises(RuntimeError):
            run_once(session, "partner:1", "k1", {"a": 1}, broken)
        count = session.scalar(select(func.count(IdempotencyRecord.id)))
    assert count == 0
    assert accrual(runtime, brand, "k1", 1000).ok


def test_canonical_comparison_ignores_key_order(runtime, brand_pair):
    brand = brand_pair("shop")
    with runtime.open_brand_session(brand) as session:
        first = run_once(session, "s", "k", {"a": 1, "b": 2}, lambda: _Result({"x": 1}))
        second = run_once(session, "s", "k", {"b": 2, "a": 1}, lambda: _Result({"x": 2}))
    assert second.body == first.body


class _Result:
    def __init__(self, body):
        self.body = body

    def as_json(self):
        return self.body


def test_expired_key_runs_again(runtime, brand_pair):
    brand = brand_pair("shop")
    later = T0 + RETENTION + timedelta(days=1)
    with runtime.open_brand_session(brand) as session:
        run_once(session, "s", "k", {"a": 1}, lambda: _Result({"x": 1}), now=T0)
        again = run_once(session, "s", "k", {"a": 2}, lambda: _Result({"x": 2}), now=later)
        records = session.scalar(select(func.count(IdempotencyRecord.id)))

    assert again.body == {"x": 2}
    assert not again.replayed
    assert records == 1
