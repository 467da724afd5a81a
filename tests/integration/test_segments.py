"""Member segments: RFM scores, k-means with generated names, rules that target a segment,
and the console page, on both databases."""

from datetime import UTC, datetime, timedelta

import pytest
from loyalty_helpers import add_rule, buy
from sqlalchemy import func, select

from saas.analytics.segments import MemberSegment, Segment, compute_segments, quintile_scores
from saas.loyalty.members import enrol_member
from saas.loyalty.orders import OrderInput, accrue

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def shop(runtime, make_brand):
    """Ten recent big spenders and ten lapsed one-time buyers."""
    brand = make_brand("shop")
    with runtime.brand_session("shop") as session:
        add_rule(session)
        for index in range(10):
            enrol_member(session, f"VIP-{index}", joined_at=NOW - timedelta(days=400))
            enrol_member(session, f"OLD-{index}", joined_at=NOW - timedelta(days=400))
        session.commit()
        for index in range(10):
            for week in range(8):
                buy(session, brand, f"VIP-{index}", 20_000 + 100 * index,
                    at=NOW - timedelta(days=3 + 7 * week))
            buy(session, brand, f"OLD-{index}", 1_500 + 10 * index,
                at=NOW - timedelta(days=300 + index))
    return brand


def run(runtime):
    with runtime.brand_session("shop") as session:
        return compute_segments(session, now=NOW)


def test_two_behaviours_give_two_named_segments(runtime, shop):
    result = run(runtime)
    with runtime.brand_session("shop") as session:
        names = dict(session.execute(select(Segment.code, Segment.name)).all())
    assert result.k == 2
    assert result.silhouette > 0.5
    assert sorted(names.values()) == ["Champions", "Hibernating"]


def test_each_buyer_gets_one_segment(runtime, shop):
    run(runtime)
    with runtime.brand_session("shop") as session:
        vip = session.scalar(select(func.count()).select_from(MemberSegment)
                             .where(MemberSegment.segment_code == "champions"))
        total = session.scalar(select(func.count()).select_from(MemberSegment))
    assert (vip, total) == (10, 20)


def test_rerun_replaces_the_segments(runtime, shop):
    run(runtime)
    run(runtime)
    with runtime.brand_session("shop") as session:
        assert session.scalar(select(func.count()).select_from(Segment)) == 2


def test_rule_for_a_segment_applies_to_its_members_only(runtime, shop):
    run(runtime)
    with runtime.brand_session("shop") as session:
        add_rule(session, "vip-bonus", points=1, priority=20,
                 conditions={"segments": ["champions"]})
        vip = accrue(session, shop, OrderInput("S-1", "VIP-1", 10_000, "USD", NOW), source="t")
        old = accrue(session, shop, OrderInput("S-2", "OLD-1", 10_000, "USD", NOW), source="t")
        session.commit()
    assert vip.points == 200
    assert old.points == 100


def test_quintile_scores_spread_ties():
    import pandas as pd

    scores = quintile_scores(pd.Series([5, 5, 5, 5, 5, 1, 1, 1, 1, 1]))
    assert sorted(scores.tolist()) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_console_lists_segments_and_exports_members(runtime, shop, wsgi_app):
    from console_helpers import console_sign_in, make_console_user
    from werkzeug.test import Client

    run(runtime)
    secret = make_console_user(runtime, "ana@example.com", brand="shop", role="analyst")
    client = Client(wsgi_app)
    console_sign_in(runtime, client, "/t/shop", "ana@example.com", secret)
    page = client.get("/t/shop/admin/analytics/segments")
    export = client.get("/t/shop/admin/analytics/segments/champions.csv")
    lines = export.get_data(as_text=True).splitlines()
    assert b"Champions" in page.data
    assert lines[0].startswith("member,email,recency_days")
    assert len(lines) == 11


def test_campaign_impact_of_a_rule_by_segment(runtime, shop):
    from saas.analytics.segments import campaign_impact

    run(runtime)
    with runtime.brand_session("shop") as session:
        add_rule(session, "vip-bonus", points=1, priority=20,
                 conditions={"segments": ["champions"]})
        accrue(session, shop, OrderInput("S-1", "VIP-1", 10_000, "USD", NOW), source="t")
        accrue(session, shop, OrderInput("S-2", "OLD-1", 10_000, "USD", NOW), source="t")
        session.commit()
        impact = {row.segment: row for row in campaign_impact(
            session, rule="vip-bonus", since=NOW - timedelta(days=1),
            until=NOW + timedelta(days=1))}
    assert (impact["champions"].reached, impact["champions"].total) == (1, 100)
    assert impact["champions"].reach == 0.1
    assert impact["hibernating"].total == 0


def test_console_compares_a_reward_across_segments(runtime, shop, wsgi_app):
    from console_helpers import console_sign_in, make_console_user
    from loyalty_helpers import add_reward
    from werkzeug.test import Client

    from saas.loyalty.rewards import redeem_reward

    run(runtime)
    with runtime.brand_session("shop") as session:
        add_reward(session, "mug", cost=10)
        redeem_reward(session, "VIP-2", "mug", source="test")
        session.commit()
    secret = make_console_user(runtime, "ana@example.com", brand="shop", role="analyst")
    client = Client(wsgi_app)
    console_sign_in(runtime, client, "/t/shop", "ana@example.com", secret)
    page = client.get("/t/shop/admin/analytics/segments/impact?campaign=reward:mug&days=30",
                      headers={"HX-Request": "true"})
    assert b'data-testid="segment-impact"' in page.data
    assert b"<td>1 (10%)</td>" in page.data
