"""Ledger behaviour on SQLite and PostgreSQL: money, rounding, refunds, expiry, tiers."""

from datetime import UTC, datetime, timedelta

import pytest
from loyalty_helpers import T0, add_reward, add_rule, add_tiers, buy
from sqlalchemy import func, select

from saas.loyalty.corrections import adjust_points, merge_members
from saas.loyalty.errors import (
    InsufficientPoints,
    InvalidInput,
    LimitReached,
    NegativeBalance,
    OrderConflict,
    OutOfStock,
    RefundTooLarge,
    VoucherNotUsable,
)
from saas.loyalty.expiry import expire_points
from saas.loyalty.ledger import available_points, outstanding_points
from saas.loyalty.members import enrol_member, get_member
from saas.loyalty.models import EntryKind, ExchangeRate, LedgerEntry, Lot, Member
from saas.loyalty.orders import cancel, refund
from saas.loyalty.rewards import cancel_redemption, redeem_reward, use_voucher
from saas.tenancy.settings import put_setting


@pytest.fixture
def shop(runtime, make_brand):
    """A brand's database session with a factory to set the brand's currency."""
    def open_brand(slug="shop", currency="USD", timezone="UTC"):
        brand = make_brand(slug, currency=currency, timezone=timezone)
        session = runtime.open_brand_session(brand)
        opened.append(session)
        return brand, session

    opened = []
    yield open_brand
    for session in opened:
        session.close()


def balance(session, ref):
    session.expire_all()
    return get_member(session, ref).balance


def entry_sum(session, ref):
    member = get_member(session, ref)
    return session.scalar(select(func.coalesce(func.sum(LedgerEntry.points), 0))
                          .where(LedgerEntry.member_id == member.id))


def test_inr_refunds_reverse_proportionally(shop):
    brand, session = shop(currency="INR")
    add_rule(session, per="10")
    buy(session, brand, "m1", 100000, ref="A")
    assert balance(session, "m1") == 100

    refund(session, "console", "A", "r1", 10000)
    session.commit()
    assert balance(session, "m1") == 90

    refund(session, "console", "A", "r2", 90000)
    session.commit()
    assert balance(session, "m1") == 0


def test_inr_buy_refund_cycles_end_at_zero(shop):
    brand, session = shop(currency="INR")
    add_rule(session, per="10")
    for cycle in range(3):
        buy(session, brand, "m1", 50000, ref=f"c{cycle}")
        refund(session, "console", f"c{cycle}", "all", 50000)
        session.commit()
    assert balance(session, "m1") == 0
    assert entry_sum(session, "m1") == 0


@pytest.mark.parametrize(
    ("rounding", "amount_minor", "points"),
    [("half_up", 50, 1), ("half_up", 250, 3), ("half_up", 350, 4), ("half_up", 249, 2),
     ("half_even", 250, 2), ("half_even", 350, 4), ("down", 299, 2)],
)
def test_rule_rounding_modes(shop, rounding, amount_minor, points):
    brand, session = shop(currency="EUR")
    add_rule(session, rounding=rounding)
    assert buy(session, brand, "m1", amount_minor).points == points


def test_jpy_has_no_minor_unit(shop):
    brand, session = shop(currency="JPY")
    add_rule(session, per="100")
    assert buy(session, brand, "m1", 500).points == 5


def test_kwd_has_three_decimals(shop):
    brand, session = shop(currency="KWD")
    add_rule(session, per="1")
    assert buy(session, brand, "m1", 2755).points == 2


def test_foreign_currency_uses_rate_at_order_time(shop):
    brand, session = shop(currency="EUR")
    add_rule(session, per="1")
    session.add_all([
        ExchangeRate(currency="JPY", rate="150", valid_from=T0 - timedelta(days=30)),
        ExchangeRate(currency="JPY", rate="160.25", valid_from=T0 - timedelta(days=1)),
        ExchangeRate(currency="JPY", rate="100", valid_from=T0 + timedelta(days=1)),
    ])
    session.commit()
    result = buy(session, brand, "m1", 1000, currency="JPY")
    order = session.get(__import__("saas.loyalty.models", fromlist=["Order"]).Order,
                        result.order_id)
    assert order.base_amount_minor == 624
    assert order.fx_rate == "160.25"
    assert result.points == 6


def test_zero_amount_order_counts_without_points(shop):
    brand, session = shop()
    add_rule(session)
    result = buy(session, brand, "m1", 0)
    assert result.points == 0
    assert result.order_id is not None
    assert entry_sum(session, "m1") == 0


def test_order_reference_conflict_names_order(shop):
    brand, session = shop()
    add_rule(session)
    first = buy(session, brand, "m1", 1000, ref="A-1")
    with pytest.raises(OrderConflict) as caught:
        buy(session, brand, "m1", 2000, ref="A-1")
    assert caught.value.details["order_id"] == first.order_id


def test_same_order_reference_other_source_allowed(shop):
    brand, session = shop()
    add_rule(session)
    buy(session, brand, "m1", 1000, ref="A-1", source="partner:1")
    assert buy(session, brand, "m1", 1000, ref="A-1", source="partner:2").points == 10


def test_member_reference_kept_exactly(shop):
    brand, session = shop()
    member = enrol_member(session, "00042")
    session.commit()
    assert member.ref == "00042"
    assert get_member(session, "00042").id == member.id


@pytest.mark.parametrize("ref", ["", "a b", "x" * 65, "é", "a/b", None])
def test_member_reference_rejected(shop, ref):
    brand, session = shop()
    with pytest.raises(InvalidInput, match="invalid member reference"):
        enrol_member(session, ref)


def test_london_expiry_at_end_of_local_day(shop):
    brand, session = shop(timezone="Europe/London")
    put_setting(session, "points.expiry", {"mode": "fixed_months", "months": 6})
    add_rule(session)
    buy(session, brand, "m1", 1000, at=datetime(2025, 1, 15, 10, 0, tzinfo=UTC))
    lot = session.scalars(select(Lot)).one()
    member = get_member(session, "m1")

    assert lot.expires_at == datetime(2025, 7, 15, 22, 59, 59, tzinfo=UTC)
    assert available_points(session, member, datetime(2025, 7, 15, 22, 30, tzinfo=UTC)) == 10
    assert available_points(session, member, datetime(2025, 7, 15, 23, 30, tzinfo=UTC)) == 0


def test_expiry_job_expires_once(shop):
    brand, session = shop(timezone="Europe/London")
    put_setting(session, "points.expiry", {"mode": "fixed_months", "months": 6})
    add_rule(session)
    buy(session, brand, "m1", 1000, at=datetime(2025, 1, 15, 10, 0, tzinfo=UTC))
    policy = {"mode": "fixed_months", "months": 6}

    early = expire_points(session, datetime(2025, 7, 15, 22, 30, tzinfo=UTC), policy)
    late = expire_points(session, datetime(2025, 7, 15, 23, 30, tzinfo=UTC), policy)
    again = expire_points(session, datetime(2025, 7, 16, tzinfo=UTC), policy)
    session.commit()

    assert (early, late, again) == (0, 10, 0)
    assert balance(session, "m1") == 0


def test_expiry_counts_from_order_time(shop):
    brand, session = shop(timezone="UTC")
    put_setting(session, "points.expiry", {"mode": "fixed_months", "months": 1})
    add_rule(session)
    buy(session, brand, "m1", 1000, at=datetime(2025, 1, 31, 10, 0, tzinfo=UTC))
    assert session.scalars(select(Lot)).one().expires_at == datetime(2025, 2, 28, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(("earned", "tier"), [(200, "bronze"), (999, "bronze"), (1000, "silver"), (5000, "gold")])
def test_tier_thresholds(shop, earned, tier):
    brand, session = shop()
    add_rule(session)
    add_tiers(session, ("bronze", 0, "1"), ("silver", 1000, "1"), ("gold", 5000, "1"))
    buy(session, brand, "m1", earned * 100)
    member = get_member(session, "m1")
    from saas.loyalty.tiers import member_tier

    assert member_tier(session, member).code == tier


def test_tier_counts_earned_not_balance(shop):
    brand, session = shop()
    add_rule(session)
    add_reward(session, cost=900)
    add_tiers(session, ("bronze", 0, "1"), ("silver", 1000, "1"))
    buy(session, brand, "m1", 100000)
    redeem_reward(session, "m1", "coffee", source="portal")
    session.commit()
    from saas.loyalty.tiers import recalculate_tiers

    recalculate_tiers(session, T0 + timedelta(days=1))
    assert get_member(session, "m1").tier_id is not None
    assert balance(session, "m1") == 100
    assert session.get(__import__("saas.loyalty.models", fromlist=["Tier"]).Tier,
                       get_member(session, "m1").tier_id).code == "silver"


def test_tier_downgrade_after_window(shop):
    brand, session = shop()
    add_rule(session)
    add_tiers(session, ("bronze", 0, "1"), ("silver", 1000, "1"))
    buy(session, brand, "m1", 100000, at=T0)
    from saas.loyalty.tiers import member_tier, recalculate_tiers

    recalculate_tiers(session, T0 + timedelta(days=400))
    assert member_tier(session, get_member(session, "m1")).code == "bronze"


def test_tier_multiplier_applies(shop):
    brand, session = shop()
    add_rule(session)
    add_tiers(session, ("bronze", 0, "1"), ("gold", 100, "1.5"))
    buy(session, brand, "m1", 10000)
    assert buy(session, brand, "m1", 1000).points == 15


def test_voucher_used_once(shop):
    brand, session = shop()
    add_rule(session)
    add_reward(session, cost=100)
    buy(session, brand, "m1", 10000)
    voucher = redeem_reward(session, "m1", "coffee", source="portal").voucher_code
    session.commit()

    used = use_voucher(session, voucher, used_by="till-1")
    session.commit()
    with pytest.raises(VoucherNotUsable, match="already used"):
        use_voucher(session, voucher, used_by="till-2")
    session.rollback()
    from saas.loyalty.models import Redemption

    assert used.status == "used"
    assert session.scalars(select(Redemption)).one().used_by == "till-1"


def test_redeem_insufficient_points(shop):
    brand, session = shop()
    add_rule(session)
    add_reward(session, cost=100)
    buy(session, brand, "m1", 5000)
    with pytest.raises(InsufficientPoints, match="100 needed, 50 available"):
        redeem_reward(session, "m1", "coffee", source="portal")


def test_redeem_out_of_stock(shop):
    brand, session = shop()
    add_rule(session)
    add_reward(session, cost=10, stock=1)
    buy(session, brand, "m1", 10000)
    redeem_reward(session, "m1", "coffee", source="portal")
    session.commit()
    with pytest.raises(OutOfStock):
        redeem_reward(session, "m1", "coffee", source="portal")


def test_redeem_member_limit(shop):
    brand, session = shop()
    add_rule(session)
    add_reward(session, cost=10, limit=1)
    buy(session, brand, "m1", 10000)
    redeem_reward(session, "m1", "coffee", source="portal")
    session.commit()
    with pytest.raises(LimitReached, match="limit of 1"):
        redeem_reward(session, "m1", "coffee", source="portal")


def test_cancel_redemption_returns_points_and_stock(shop):
    brand, session = shop()
    add_rule(session)
    add_reward(session, cost=100, stock=5)
    buy(session, brand, "m1", 10000)
    redemption = redeem_reward(session, "m1", "coffee", source="portal")
    session.commit()
    cancel_redemption(session, redemption.redemption_id, source="admin")
    session.commit()
    from saas.loyalty.models import Reward

    assert balance(session, "m1") == 100
    assert session.scalars(select(Reward)).one().stock == 5
    assert session.scalars(select(Lot)).one().remaining == 100


def test_refund_of_spent_points_creates_debt(shop):
    brand, session = shop()
    add_rule(session)
    add_reward(session, cost=100)
    buy(session, brand, "m1", 10000, ref="A")
    redeem_reward(session, "m1", "coffee", source="portal")
    refund(session, "console", "A", "r1", 10000)
    session.commit()
    member = get_member(session, "m1")

    assert member.balance == -100
    assert member.debt == 100
    with pytest.raises(NegativeBalance):
        redeem_reward(session, "m1", "coffee", source="portal")


def test_new_earnings_pay_debt_first(shop):
    brand, session = shop()
    add_rule(session)
    add_reward(session, cost=100)
    buy(session, brand, "m1", 10000, ref="A")
    redeem_reward(session, "m1", "coffee", source="portal")
    refund(session, "console", "A", "r1", 10000)
    buy(session, brand, "m1", 15000, ref="B")
    member = get_member(session, "m1")
    assert (member.balance, member.debt) == (50, 0)
    assert session.scalar(select(func.sum(Lot.remaining))) == 50


def test_refund_replay_changes_nothing(shop):
    brand, session = shop()
    add_rule(session)
    buy(session, brand, "m1", 10000, ref="A")
    refund(session, "console", "A", "r1", 5000)
    refund(session, "console", "A", "r1", 5000)
    session.commit()
    assert balance(session, "m1") == 50


def test_refund_beyond_order_rejected(shop):
    brand, session = shop()
    add_rule(session)
    buy(session, brand, "m1", 10000, ref="A")
    refund(session, "console", "A", "r1", 6000)
    with pytest.raises(RefundTooLarge, match="4000 of 10000"):
        refund(session, "console", "A", "r2", 6000)


def test_cancel_reverses_each_entry_once(shop):
    brand, session = shop()
    add_rule(session)
    buy(session, brand, "m1", 10000, ref="A")
    refund(session, "console", "A", "r1", 3000)
    cancel(session, "console", "A")
    cancel(session, "console", "A")
    session.commit()
    reversals = session.scalars(select(LedgerEntry.points).where(LedgerEntry.kind == EntryKind.REVERSE)).all()
    assert balance(session, "m1") == 0
    assert sorted(reversals) == [-70, -30]


def test_merge_moves_lots_with_expiry(shop):
    brand, session = shop()
    put_setting(session, "points.expiry", {"mode": "fixed_months", "months": 6})
    add_rule(session)
    buy(session, brand, "keep", 1000, at=T0)
    buy(session, brand, "dupe", 2000, at=T0 - timedelta(days=40))
    old_expiry = session.scalars(select(Lot).where(Lot.member_id == get_member(session, "dupe").id)).one().expires_at
    merge_members(session, "keep", "dupe")
    session.commit()
    keep = get_member(session, "keep")
    moved = session.scalars(select(Lot).where(Lot.member_id == keep.id, Lot.remaining > 0).order_by(Lot.earned_at)).all()

    assert get_member(session, "dupe").id == keep.id
    assert keep.balance == 30
    assert moved[0].expires_at == old_expiry
    assert session.scalar(select(Member.balance).where(Member.ref == "dupe")) == 0
    assert len(session.scalars(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.TRANSFER)).all()) == 2


def test_adjustment_needs_reason(shop):
    brand, session = shop()
    enrol_member(session, "m1")
    with pytest.raises(InvalidInput, match="reason is required"):
        adjust_points(session, brand, "m1", 10, reason=" ")


def test_adjustment_posts_entry(shop):
    brand, session = shop()
    enrol_member(session, "m1")
    adjust_points(session, brand, "m1", 25, reason="goodwill")
    session.commit()
    assert balance(session, "m1") == 25
    assert outstanding_points(session) == 25


def test_rule_change_reaches_next_accrual(shop):
    from saas.loyalty.models import EarnRule

    brand, session = shop()
    add_rule(session)
    first = buy(session, brand, "m1", 1000)
    rule = session.scalars(select(EarnRule)).one()
    rule.actions = [{"type": "points_per_amount", "points": 3, "per": "1.00"}]
    session.commit()
    second = buy(session, brand, "m1", 1000)
    assert (first.points, second.points) == (10, 30)


def test_voucher_expires_and_cannot_be_used(shop):
    from saas.loyalty.rewards import expire_vouchers

    brand, session = shop()
    add_rule(session)
    add_reward(session, cost=100, valid_days=30)
    buy(session, brand, "m1", 10000)
    voucher = redeem_reward(session, "m1", "coffee", source="portal", at=T0).voucher_code
    session.commit()

    early = expire_vouchers(session, T0 + timedelta(days=29))
    late = expire_vouchers(session, T0 + timedelta(days=31))
    session.commit()

    assert (early, late) == (0, 1)
    with pytest.raises(VoucherNotUsable, match="already expired"):
        use_voucher(session, voucher, used_by="till", at=T0 + timedelta(days=31))
    assert balance(session, "m1") == 0


def test_merge_of_members_without_activity(shop):
    brand, session = shop()
    enrol_member(session, "keep")
    enrol_member(session, "dupe")
    result = merge_members(session, "keep", "dupe")
    session.commit()
    assert result.points_moved == 0
    assert get_member(session, "dupe").ref == "keep"
