"""Daily rollups and KPIs on SQLite and PostgreSQL: local days across DST, hand-computed
figures, incremental runs and brand isolation."""

from datetime import UTC, date, datetime, timedelta

import pytest
from loyalty_helpers import add_reward, add_rule, add_tiers, buy
from sqlalchemy import delete, func, select

from saas.analytics import rollup as rollup_module
from saas.analytics.kpis import POINT_VALUE_KEY, KpiEngine
from saas.analytics.models import KpiDay, KpiDayMembers, RollupWatermark
from saas.analytics.rollup import rollup
from saas.jobs.queueing import backend as job_backend
from saas.jobs.queueing import enqueue
from saas.jobs.status import job_status
from saas.loyalty.corrections import merge_members
from saas.loyalty.expiry import expire_points
from saas.loyalty.ledger import outstanding_points
from saas.loyalty.members import enrol_member
from saas.loyalty.models import LedgerEntry, Order
from saas.loyalty.orders import refund
from saas.loyalty.rewards import redeem_reward
from saas.tenancy.settings import put_setting

NEW_YORK = "America/New_York"


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def shop(runtime, make_brand):
    """Open a brand (slug, timezone) and its database session; closed after the test."""
    opened = []

    def open_brand(slug="shop", timezone="UTC"):
        brand = make_brand(slug, timezone=timezone)
        session = runtime.open_brand_session(brand)
        opened.append(session)
        return brand, session

    yield open_brand
    for session in opened:
        session.close()


def roll(session, brand):
    added = rollup(session, brand.timezone)
    session.commit()
    return added


def day_totals(session, column):
    rows = session.execute(select(KpiDay.day, column).where(KpiDay.dimension == "all")
                           .order_by(KpiDay.day))
    return {day: total for day, total in rows}


# --- Local days across daylight-saving time ------------------------------------------------

@pytest.fixture
def new_york_members(shop):
    brand, session = shop(timezone=NEW_YORK)
    enrol_member(session, "m-nov2", joined_at=utc(2024, 11, 3, 3, 30))  # 2 Nov 23:30 EDT
    enrol_member(session, "m-nov3", joined_at=utc(2024, 11, 4, 4, 30))  # 3 Nov 23:30 EST
    enrol_member(session, "m-nov4", joined_at=utc(2024, 11, 4, 5, 30))  # 4 Nov 00:30 EST
    session.commit()
    roll(session, brand)
    return KpiEngine(session, brand.timezone, brand.base_currency)


def test_new_members_report_has_three_days(new_york_members):
    rows = new_york_members.daily_series("new_members", date(2024, 11, 2), date(2024, 11, 4))

    assert [row.day for row in rows] == [date(2024, 11, 2), date(2024, 11, 3),
                                         date(2024, 11, 4)]
    assert [row.value for row in rows] == [1, 1, 1]


def test_dst_end_day_lasts_25_hours(new_york_members):
    rows = new_york_members.daily_series("new_members", date(2024, 11, 2), date(2024, 11, 4))
    november_3 = rows[1]

    assert november_3.utc_start == utc(2024, 11, 3, 4, 0)
    assert november_3.utc_end == utc(2024, 11, 4, 5, 0)
    assert november_3.utc_end - november_3.utc_start == timedelta(hours=25)


def test_late_evening_join_counts_on_local_day(new_york_members):
    rows = new_york_members.daily_series("new_members", date(2024, 11, 3), date(2024, 11, 3))

    assert rows[0].utc_start <= utc(2024, 11, 4, 4, 30) < rows[0].utc_end
    assert rows[0].value == 1


def test_dst_start_day_lasts_23_hours(shop):
    brand, session = shop(timezone=NEW_YORK)
    engine = KpiEngine(session, brand.timezone, brand.base_currency)

    row = engine.daily_series("new_members", date(2024, 3, 10), date(2024, 3, 10))[0]

    assert row.utc_end - row.utc_start == timedelta(hours=23)


def test_daily_series_fills_gaps_with_zero(new_york_members):
    rows = new_york_members.daily_series("points_earned", date(2024, 10, 30),
                                         date(2024, 11, 5))

    assert len(rows) == 7
    assert [row.value for row in rows] == [0] * 7


def test_daily_series_rejects_unknown_metric(new_york_members):
    with pytest.raises(ValueError, match="unknown metric 'revenue'"):
        new_york_members.daily_series("revenue", date(2024, 11, 2), date(2024, 11, 4))


# --- KPIs against hand-computed figures ----------------------------------------------------

@pytest.fixture
def march(shop):
    """Three members, five orders, a redemption and an expiry; March 2025 is the period.

    February: m1 joins and buys 100.00 (100 points, expiring at the end of 10 March).
    March: m1 buys 50.00, m2 joins and buys 200.00 and 30.00, m3 joins and buys 20.00,
    m2 redeems a 100-point reward, and m1's February points expire.
    """
    brand, session = shop()
    put_setting(session, "points.expiry", {"mode": "fixed_months", "months": 1})
    add_rule(session)
    add_reward(session, "coffee", cost=100)
    buy(session, brand, "m1", 10000, at=utc(2025, 2, 10, 12))
    buy(session, brand, "m1", 5000, at=utc(2025, 3, 5, 12))
    buy(session, brand, "m2", 20000, at=utc(2025, 3, 6, 12))
    buy(session, brand, "m3", 2000, at=utc(2025, 3, 10, 12))
    buy(session, brand, "m2", 3000, at=utc(2025, 3, 20, 12))
    redeem_reward(session, "m2", "coffee", source="console", at=utc(2025, 3, 21, 12))
    session.commit()
    expire_points(session, utc(2025, 3, 31, 12), {"mode": "fixed_months", "months": 1})
    session.commit()
    roll(session, brand)
    engine = KpiEngine(session, brand.timezone, brand.base_currency)
    return session, engine


def march_kpis(engine):
    return engine.kpis(date(2025, 3, 1), date(2025, 3, 31))


def test_kpi_member_counts(march):
    _session, engine = march
    kpis = march_kpis(engine)

    assert (kpis["members_total"].value, kpis["members_total"].previous) == (3, 1)
    assert (kpis["new_members"].value, kpis["new_members"].previous) == (2, 1)
    assert kpis["new_members"].change == 1.0
    assert (kpis["active_members_30d"].value, kpis["active_members_30d"].previous) == (3, 1)
    assert kpis["active_members_90d"].value == 3


def test_kpi_points_figures(march):
    _session, engine = march
    kpis = march_kpis(engine)

    assert (kpis["points_earned"].value, kpis["points_earned"].previous) == (300, 100)
    assert kpis["points_earned"].change == 2.0
    assert kpis["points_redeemed"].value == 100
    assert kpis["points_expired"].value == 100
    assert kpis["redemption_rate"].value == pytest.approx(1 / 3)
    assert kpis["breakage_rate"].value == pytest.approx(1 / 3)
    assert kpis["redemption_rate"].previous == 0.0


def test_kpi_outstanding_matches_ledger(march):
    session, engine = march
    kpis = march_kpis(engine)

    assert kpis["points_outstanding"].value == 200
    assert kpis["points_outstanding"].previous == 100
    assert outstanding_points(session) == 200


def test_kpi_liability_uses_point_value(march):
    session, engine = march
    default_value = march_kpis(engine)["liability_minor"].value
    put_setting(session, POINT_VALUE_KEY, "0.5")
    session.commit()

    assert default_value == 200  # points.value 0.01 USD is 1 cent
    assert march_kpis(engine)["liability_minor"].value == 100


def test_kpi_order_figures(march):
    _session, engine = march
    kpis = march_kpis(engine)

    assert (kpis["orders"].value, kpis["orders"].previous) == (4, 1)
    assert kpis["member_revenue_minor"].value == 30000
    assert kpis["revenue_minor"].value == 30000
    assert kpis["average_order_value_minor"].value == 7500
    assert kpis["average_order_value_minor"].previous == 10000
    assert kpis["repeat_purchase_rate"].value == pytest.approx(1 / 3)


def test_kpi_funnel_counts(march):
    _session, engine = march
    kpis = march_kpis(engine)

    assert kpis["active_members"].value == 3
    assert kpis["buyers"].value == 3
    assert kpis["repeat_buyers"].value == 1  # m2, on 6 and 20 March


def test_non_member_average_order_value(shop):
    brand, session = shop()
    add_rule(session)
    buy(session, brand, "m1", 3000, at=utc(2025, 3, 5, 12))
    for ref, amount in (("G1", 1000), ("G2", 2000)):
        session.add(Order(source="till", ref=ref, member_id=None, amount_minor=amount,
                          currency="USD", base_amount_minor=amount, fx_rate="1",
                          ordered_at=utc(2025, 3, 6, 12), categories=[], items=[]))
    session.commit()
    roll(session, brand)
    engine = KpiEngine(session, brand.timezone, brand.base_currency)

    figures = engine.figures(date(2025, 3, 1), date(2025, 3, 31))

    assert figures["average_order_value_minor"] == 3000
    assert figures["non_member_average_order_value_minor"] == 1500


def test_revenue_composition_by_channel(shop):
    brand, session = shop()
    add_rule(session)
    buy(session, brand, "m1", 1000, at=utc(2025, 3, 5, 12), channel="web")
    buy(session, brand, "m2", 5000, at=utc(2025, 3, 5, 12), channel="store")
    buy(session, brand, "m3", 2000, at=utc(2025, 3, 5, 12))
    roll(session, brand)
    engine = KpiEngine(session, brand.timezone, brand.base_currency)

    parts = engine.composition(date(2025, 3, 1), date(2025, 3, 31), "channel")

    assert parts == [("store", 5000), ("", 2000), ("web", 1000)]


def test_kpi_channel_filter(shop):
    brand, session = shop()
    add_rule(session)
    buy(session, brand, "m1", 1000, at=utc(2025, 3, 5, 12), channel="web")
    buy(session, brand, "m2", 3000, at=utc(2025, 3, 6, 12), channel="store")
    roll(session, brand)
    engine = KpiEngine(session, brand.timezone, brand.base_currency)

    web = engine.kpis(date(2025, 3, 1), date(2025, 3, 31), dimension="channel", value="web")

    assert web["orders"].value == 1
    assert web["points_earned"].value == 10
    assert web["revenue_minor"].value == 1000
    assert web["active_members_30d"].value == 1
    assert web["new_members"].value == 2  # members belong to no channel


# --- Incremental runs -----------------------------------------------------------------------

def test_second_run_adds_nothing(march):
    session, _engine = march
    before = day_totals(session, KpiDay.points_earned)

    added = roll(session, session.info["brand"])

    assert added == {"ledger_entry": 0, "purchase_order": 0, "member": 0,
                     "order_refund": 0}
    assert day_totals(session, KpiDay.points_earned) == before


def test_rows_past_watermark_are_added(march):
    session, engine = march
    brand = session.info["brand"]
    buy(session, brand, "m4", 4000, at=utc(2025, 3, 5, 15))

    added = roll(session, brand)

    assert added == {"ledger_entry": 1, "purchase_order": 1, "member": 1, "order_refund": 0}
    assert day_totals(session, KpiDay.points_earned)[date(2025, 3, 5)] == 90
    assert march_kpis(engine)["orders"].value == 5


def test_watermarks_record_last_ids(march):
    session, _engine = march
    marks = dict(session.execute(select(RollupWatermark.source, RollupWatermark.last_id)).all())

    assert marks["member"] == 3
    assert marks["purchase_order"] == 5
    assert marks["ledger_entry"] == session.scalar(select(func.max(LedgerEntry.id)))


def test_rollup_job_runs_for_brand(runtime, shop):
    brand, session = shop()
    add_rule(session)
    buy(session, brand, "m1", 1000, at=utc(2025, 3, 5, 12))

    job_id = enqueue(runtime, brand.slug, "analytics.rollup")
    job_backend(runtime).join()
    session.rollback()
    status = job_status(session, job_id)

    assert status.status == "finished"
    assert status.result == {"ledger_entry": 1, "purchase_order": 1, "member": 1,
                             "order_refund": 0}


def test_order_counts_under_its_tier(shop):
    brand, session = shop()
    add_rule(session)
    add_tiers(session, ("basic", 0, "1"), ("gold", 100, "2"))
    # A new member has no tier until its first order is credited.
    buy(session, brand, "m1", 5000, at=utc(2025, 3, 4, 12))  # 50 points, then basic
    buy(session, brand, "m1", 10000, at=utc(2025, 3, 5, 12))  # 100 points, then gold
    buy(session, brand, "m1", 1000, at=utc(2025, 3, 6, 12))  # 10 points, doubled
    roll(session, brand)
    engine = KpiEngine(session, brand.timezone, brand.base_currency)

    basic = engine.figures(date(2025, 3, 1), date(2025, 3, 31), dimension="tier", value="basic")
    gold = engine.figures(date(2025, 3, 1), date(2025, 3, 31), dimension="tier", value="gold")

    assert (basic["orders"], basic["points_earned"]) == (1, 100)
    assert (gold["orders"], gold["points_earned"]) == (1, 20)
    assert gold["active_members_30d"] == 1


def test_refund_lowers_revenue_on_its_day(shop):
    brand, session = shop()
    add_rule(session)
    buy(session, brand, "m1", 10000, ref="A", at=utc(2025, 3, 5, 12), channel="web")
    refund(session, "console", "A", "r1", 2500, at=utc(2025, 3, 20, 12))
    session.commit()
    roll(session, brand)
    engine = KpiEngine(session, brand.timezone, brand.base_currency)

    march = engine.figures(date(2025, 3, 1), date(2025, 3, 31))
    web = engine.figures(date(2025, 3, 1), date(2025, 3, 31), dimension="channel", value="web")
    refund_day = engine.daily_series("revenue_minor", date(2025, 3, 20), date(2025, 3, 20))

    assert march["revenue_minor"] == 7500
    assert march["member_revenue_minor"] == 7500
    assert web["revenue_minor"] == 7500
    assert refund_day[0].value == -2500


# --- Distinct members from the day member sets ----------------------------------------------

def test_repeat_buyer_across_two_runs(shop):
    brand, session = shop()
    add_rule(session)
    buy(session, brand, "m1", 1000, at=utc(2025, 3, 5, 9))
    buy(session, brand, "m2", 1000, at=utc(2025, 3, 5, 9))
    roll(session, brand)
    buy(session, brand, "m1", 1000, at=utc(2025, 3, 5, 18))
    roll(session, brand)
    engine = KpiEngine(session, brand.timezone, brand.base_currency)

    kpis = engine.kpis(date(2025, 3, 1), date(2025, 3, 31))

    assert kpis["repeat_purchase_rate"].value == pytest.approx(1 / 2)


def test_repeat_buyer_on_two_days(shop):
    brand, session = shop()
    add_rule(session)
    buy(session, brand, "m1", 1000, at=utc(2025, 3, 5, 12))
    buy(session, brand, "m1", 1000, at=utc(2025, 3, 25, 12))
    buy(session, brand, "m2", 1000, at=utc(2025, 3, 25, 12))
    buy(session, brand, "m3", 1000, at=utc(2025, 2, 25, 12))
    buy(session, brand, "m3", 1000, at=utc(2025, 3, 25, 12))
    roll(session, brand)
    engine = KpiEngine(session, brand.timezone, brand.base_currency)

    kpis = engine.kpis(date(2025, 3, 1), date(2025, 3, 31))

    # m3's first order falls in the previous period, so only m1 bought twice in March.
    assert kpis["repeat_purchase_rate"].value == pytest.approx(1 / 3)


def test_active_window_counts_local_days(shop):
    brand, session = shop(timezone=NEW_YORK)
    add_rule(session)
    # 1 March 23:30 EST is the first of the 30 local days up to 30 March.
    buy(session, brand, "first-day", 1000, at=utc(2025, 3, 2, 4, 30))
    # 28 February 23:30 EST is the day before the window.
    buy(session, brand, "day-before", 1000, at=utc(2025, 3, 1, 4, 30))
    roll(session, brand)
    engine = KpiEngine(session, brand.timezone, brand.base_currency)

    figures = engine.figures(date(2025, 3, 30), date(2025, 3, 30))

    assert figures["active_members_30d"] == 1
    assert figures["active_members_90d"] == 2


def test_redeemer_active_only_brand_wide(shop):
    brand, session = shop()
    add_rule(session)
    add_reward(session, "coffee", cost=10)
    buy(session, brand, "buyer", 1000, at=utc(2025, 1, 5, 12), channel="web")
    buy(session, brand, "redeemer", 1000, at=utc(2025, 1, 5, 12), channel="web")
    redeem_reward(session, "redeemer", "coffee", source="console", at=utc(2025, 3, 20, 12))
    buy(session, brand, "buyer", 1000, at=utc(2025, 3, 21, 12), channel="web")
    session.commit()
    roll(session, brand)
    engine = KpiEngine(session, brand.timezone, brand.base_currency)

    everything = engine.figures(date(2025, 3, 1), date(2025, 3, 31))
    web = engine.figures(date(2025, 3, 1), date(2025, 3, 31), dimension="channel",
                         value="web")

    assert everything["active_members_30d"] == 2
    assert everything["active_members"] == 2
    assert everything["buyers"] == 1
    assert web["active_members_30d"] == 1


def test_members_total_leaves_out_merged_records(shop):
    brand, session = shop()
    add_rule(session)
    buy(session, brand, "keep", 1000, at=utc(2025, 3, 5, 12))
    buy(session, brand, "duplicate", 1000, at=utc(2025, 3, 6, 12))
    merge_members(session, "keep", "duplicate", at=utc(2025, 3, 7, 12))
    session.commit()
    roll(session, brand)
    engine = KpiEngine(session, brand.timezone, brand.base_currency)

    figures = engine.figures(date(2025, 3, 1), date(2025, 3, 31))

    assert figures["new_members"] == 2
    assert figures["members_total"] == 1


def test_member_sets_written_in_parts(shop, monkeypatch):
    brand, session = shop()
    add_rule(session)
    for ref, hour in (("m1", 9), ("m2", 10), ("m1", 11), ("m3", 12)):
        buy(session, brand, ref, 1000, at=utc(2025, 3, 5, hour))
    # Write the sets out and drop them from memory after every batch of one row.
    monkeypatch.setattr(rollup_module, "MEMORY_SETS", 0)

    rollup(session, brand.timezone, batch_size=1)
    session.commit()
    figures = KpiEngine(session, brand.timezone, brand.base_currency).figures(
        date(2025, 3, 5), date(2025, 3, 5))

    assert figures["buyers"] == 3
    assert figures["repeat_buyers"] == 1


def test_rebuilt_rollup_gives_the_same_member_counts(march):
    session, engine = march
    before = march_kpis(engine)
    session.execute(delete(KpiDay))
    session.execute(delete(KpiDayMembers))
    session.execute(delete(RollupWatermark))
    session.commit()

    roll(session, session.info["brand"])

    assert march_kpis(engine) == before


# --- Brand isolation ------------------------------------------------------------------------

def test_brands_rollups_do_not_mix(shop):
    alpha, alpha_session = shop("alpha")
    beta, beta_session = shop("beta", timezone=NEW_YORK)
    add_rule(alpha_session)
    add_rule(beta_session)
    buy(alpha_session, alpha, "a1", 1000, at=utc(2025, 3, 5, 12))
    buy(beta_session, beta, "b1", 7000, at=utc(2025, 3, 5, 12))
    buy(beta_session, beta, "b2", 2000, at=utc(2025, 3, 6, 12))

    roll(alpha_session, alpha)
    roll(beta_session, beta)

    assert day_totals(alpha_session, KpiDay.points_earned) == {date(2025, 3, 5): 10}
    assert day_totals(beta_session, KpiDay.points_earned) == {date(2025, 3, 5): 70,
                                                              date(2025, 3, 6): 20}
    assert day_totals(alpha_session, KpiDay.new_members) == {date(2025, 3, 5): 1}
