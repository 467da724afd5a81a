"""The console analytics page: KPI tiles with the previous period, the chart data, the date
range by HTMX, and role checks, through HTTP on both databases."""

import html
import json
import re
from datetime import UTC, datetime

import pytest
from console_helpers import console_sign_in, make_console_user
from loyalty_helpers import add_rule, add_tiers, buy
from werkzeug.test import Client

from saas.analytics.rollup import rollup

PAGE = "/t/shop/admin/analytics"


@pytest.fixture
def shop(runtime, make_brand):
    """A brand with two orders in March 2025 (15 and 25 points), rolled up."""
    brand = make_brand("shop", name="Shop", timezone="Europe/Berlin")
    with runtime.brand_session("shop") as session:
        add_rule(session)
        buy(session, brand, "m1", 1500, at=datetime(2025, 3, 5, 12, tzinfo=UTC))
        buy(session, brand, "m2", 2500, at=datetime(2025, 3, 20, 12, tzinfo=UTC))
        rollup(session, brand.timezone)
        session.commit()
    return brand


def signed_in(runtime, wsgi_app, role):
    email = f"{role}@example.com"
    secret = make_console_user(runtime, email, brand="shop", role=role)
    client = Client(wsgi_app)
    console_sign_in(runtime, client, "/t/shop", email, secret)
    return client


def tile(body: str, name: str) -> str:
    match = re.search(rf'data-kpi="{name}">(.*?)</div>', body, re.S)
    assert match, f"no tile {name}"
    return match.group(1)


def figure(body: str) -> dict:
    match = re.search(r'data-plotly="([^"]*)"', body)
    assert match, "no chart on the page"
    return json.loads(html.unescape(match.group(1)))


def test_analyst_sees_kpi_tiles(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "analyst")

    response = client.get(f"{PAGE}?start=2025-03-01&end=2025-03-31")
    body = response.get_data(as_text=True)

    assert response.status_code == 200
    assert ">40<" in tile(body, "points_earned")
    assert ">2<" in tile(body, "new_members")
    assert "no previous figure" in tile(body, "points_earned")


def test_tiles_show_change_against_previous_period(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "analyst")

    body = client.get(f"{PAGE}?start=2025-03-16&end=2025-03-31").get_data(as_text=True)

    # 25 points from 16 to 31 March against 15 in the 16 days before.
    assert "+66.7 %" in tile(body, "points_earned")


def test_chart_has_one_point_per_day(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "owner")

    body = client.get(f"{PAGE}?start=2025-03-01&end=2025-03-31").get_data(as_text=True)
    traces = figure(body)["data"]

    assert [len(trace["x"]) for trace in traces] == [31, 31, 31]
    assert sum(traces[0]["y"]) == 40
    assert sum(traces[2]["y"]) == 2


def test_page_loads_plotly_from_own_origin(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "owner")

    response = client.get(PAGE)
    body = response.get_data(as_text=True)
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)

    assert f'src="/t/shop/vendor/plotly.min.js" nonce="{nonce}"' in body
    assert f'src="/t/shop/static/js/charts.js" nonce="{nonce}"' in body
    assert "<script>" not in body


def test_default_range_ends_at_latest_data(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "owner")

    body = client.get(PAGE).get_data(as_text=True)

    assert 'name="start" type="date" value="2025-02-19"' in body
    assert 'name="end" type="date" value="2025-03-20"' in body


def test_htmx_request_gets_only_the_body(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "analyst")

    response = client.get(f"{PAGE}?start=2025-03-01&end=2025-03-10",
                          headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "<html" not in body
    assert ">15<" in tile(body, "points_earned")


def test_reversed_range_shows_an_error(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "owner")

    body = client.get(f"{PAGE}?start=2025-03-31&end=2025-03-01").get_data(as_text=True)

    assert "Invalid range: the end 2025-03-01 is before the start 2025-03-31." in body


def test_invalid_date_shows_an_error(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "owner")

    body = client.get(f"{PAGE}?start=March").get_data(as_text=True)

    assert "Invalid date March to -: use YYYY-MM-DD" in body


def test_support_role_is_refused(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "support")

    assert client.get(PAGE).status_code == 403


def test_section_link_shown_to_analysts(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "analyst")

    body = client.get("/t/shop/admin/").get_data(as_text=True)

    assert 'href="/t/shop/admin/analytics"' in body


def test_roi_follows_the_saved_assumptions(runtime, wsgi_app, make_brand):
    from console_helpers import console_sign_in, form_post, make_console_user
    from sqlalchemy import select
    from werkzeug.test import Client

    from saas.security.audit import BrandAuditEntry

    make_brand("roi")
    secret = make_console_user(runtime, "own@example.com", brand="roi", role="owner")
    client = Client(wsgi_app)
    console_sign_in(runtime, client, "/t/roi", "own@example.com", secret)
    saved = form_post(client, "/t/roi/admin/analytics/roi", token_from="/t/roi/admin/analytics",
                      incremental_percent="50", margin_percent="40",
                      monthly_cost_minor="1000")
    refused = form_post(client, "/t/roi/admin/analytics/roi",
                        token_from="/t/roi/admin/analytics", incremental_percent="150",
                        margin_percent="40", monthly_cost_minor="1000")
    with runtime.brand_session("roi") as session:
        entry = session.scalar(select(BrandAuditEntry).where(
            BrandAuditEntry.action == "analytics.roi_update"))
    assert saved.status_code == 200
    assert b'value="50.0"' in saved.data
    assert refused.status_code == 400
    assert b"incremental_percent" in refused.data
    assert entry.after["monthly_cost_minor"] == 1000


def test_program_roi_formula(runtime, make_brand):
    from decimal import Decimal

    from saas.analytics.roi import program_roi

    make_brand("calc")
    with runtime.brand_session("calc") as session:
        roi = program_roi(session, {"member_revenue_minor": 100_000, "points_redeemed": 1_000},
                          Decimal(1), 30)
    # margin 100,000 * 20 % * 30 % = 6,000; cost 1,000 points * 1 = 1,000; (6,000-1,000)/1,000
    assert roi.incremental_margin_minor == 6_000
    assert roi.cost_minor == 1_000
    assert roi.ratio == 5.0


def test_day_drill_down_lists_the_entries_of_the_local_day(runtime, wsgi_app, make_brand):
    from datetime import UTC, datetime

    from console_helpers import console_sign_in, make_console_user
    from loyalty_helpers import add_rule, buy
    from werkzeug.test import Client

    from saas.loyalty.members import enrol_member

    brand = make_brand("drill", timezone="America/New_York")
    with runtime.brand_session("drill") as session:
        add_rule(session)
        enrol_member(session, "LATE")
        enrol_member(session, "NEXT")
        session.commit()
        # 03:30 UTC on 5 March is still 4 March in New York.
        buy(session, brand, "LATE", 1000, at=datetime(2025, 3, 5, 3, 30, tzinfo=UTC))
        buy(session, brand, "NEXT", 1000, at=datetime(2025, 3, 5, 15, 0, tzinfo=UTC))
    secret = make_console_user(runtime, "ana@example.com", brand="drill", role="analyst")
    client = Client(wsgi_app)
    console_sign_in(runtime, client, "/t/drill", "ana@example.com", secret)
    page = client.get("/t/drill/admin/analytics/days/2025-03-04")
    assert b">LATE</a>" in page.data
    assert b">NEXT</a>" not in page.data


def test_dashboard_filters_orders_by_channel(runtime, wsgi_app, make_brand):
    from datetime import UTC, datetime

    from console_helpers import console_sign_in, make_console_user
    from loyalty_helpers import add_rule
    from werkzeug.test import Client

    from saas.analytics.rollup import rollup
    from saas.loyalty.members import enrol_member
    from saas.loyalty.orders import OrderInput, accrue

    brand = make_brand("chan")
    with runtime.brand_session("chan") as session:
        add_rule(session)
        enrol_member(session, "M")
        session.commit()
        for ref, channel, amount in (("W", "web", 1000), ("S", "store", 5000)):
            accrue(session, brand, OrderInput(ref, "M", amount, "USD",
                                              datetime(2025, 3, 5, 12, tzinfo=UTC),
                                              channel=channel), source="t")
        session.commit()
        rollup(session, brand.timezone, now=datetime(2025, 3, 6, tzinfo=UTC))
        session.commit()
    secret = make_console_user(runtime, "ana@example.com", brand="chan", role="analyst")
    client = Client(wsgi_app)
    console_sign_in(runtime, client, "/t/chan", "ana@example.com", secret)
    page = client.get("/t/chan/admin/analytics?start=2025-03-05&end=2025-03-05&filter=channel:web",
                      headers={"HX-Request": "true"})
    tile = page.data.split(b'data-kpi="points_earned"', 1)[1].split(b"</div>", 1)[0]
    assert b"<dd>10</dd>" in tile


def test_filter_groups_channels_and_tiers(runtime, wsgi_app, make_brand):
    brand = make_brand("tiers")
    with runtime.brand_session("tiers") as session:
        add_rule(session)
        add_tiers(session, ("basic", 0, "1"))
        for hour in (10, 12):  # the first order is credited before the member has a tier
            buy(session, brand, "M", 1000, at=datetime(2025, 3, 5, hour, tzinfo=UTC),
                channel="web")
        rollup(session, brand.timezone, now=datetime(2025, 3, 6, tzinfo=UTC))
        session.commit()
    secret = make_console_user(runtime, "ana@example.com", brand="tiers", role="analyst")
    client = Client(wsgi_app)
    console_sign_in(runtime, client, "/t/tiers", "ana@example.com", secret)

    page = client.get("/t/tiers/admin/analytics?start=2025-03-05&end=2025-03-05"
                      "&filter=tier:basic").get_data(as_text=True)

    assert '<optgroup label="Channel"><option value="channel:web">web</option>' in page
    assert ('<optgroup label="Tier"><option value="tier:basic" selected>basic</option>'
            in page)


def test_owner_sees_liability_first_by_default(runtime, wsgi_app, make_brand):
    from console_helpers import console_sign_in, make_console_user
    from werkzeug.test import Client

    make_brand("lay")
    secret = make_console_user(runtime, "own@example.com", brand="lay", role="owner")
    client = Client(wsgi_app)
    console_sign_in(runtime, client, "/t/lay", "own@example.com", secret)
    page = client.get("/t/lay/admin/analytics").data
    assert page.index(b'data-kpi="liability_minor"') < page.index(b'data-kpi="members_total"')
    assert b'data-kpi="points_earned"' not in page


def test_saved_layout_replaces_the_role_default(runtime, wsgi_app, make_brand):
    from console_helpers import console_sign_in, form_post, make_console_user
    from werkzeug.test import Client

    make_brand("lay")
    secret = make_console_user(runtime, "own@example.com", brand="lay", role="owner")
    client = Client(wsgi_app)
    console_sign_in(runtime, client, "/t/lay", "own@example.com", secret)
    form_post(client, "/t/lay/admin/analytics/layout", token_from="/t/lay/admin/analytics",
              tile_points_earned="on", tile_new_members="on")
    page = client.get("/t/lay/admin/analytics").data
    form_post(client, "/t/lay/admin/analytics/layout", token_from="/t/lay/admin/analytics",
              reset="yes")
    reset = client.get("/t/lay/admin/analytics").data
    assert page.count(b"data-kpi=") == 2
    assert b'data-kpi="liability_minor"' in reset


def test_dashboard_shows_funnel_and_composition(runtime, wsgi_app, make_brand):
    brand = make_brand("mix")
    with runtime.brand_session("mix") as session:
        add_rule(session)
        buy(session, brand, "M", 1000, at=datetime(2025, 3, 5, 12, tzinfo=UTC), channel="web")
        rollup(session, brand.timezone, now=datetime(2025, 3, 6, tzinfo=UTC))
        session.commit()
    secret = make_console_user(runtime, "ana@example.com", brand="mix", role="analyst")
    client = Client(wsgi_app)
    console_sign_in(runtime, client, "/t/mix", "ana@example.com", secret)
    url = "/t/mix/admin/analytics?start=2025-03-01&end=2025-03-31"

    everything = client.get(url).get_data(as_text=True)
    web = client.get(url + "&filter=channel:web").get_data(as_text=True)

    assert 'data-testid="funnel"' in everything
    assert 'data-testid="composition"' in everything
    assert "Bought in the period" in html.unescape(everything)
    assert 'data-testid="composition"' not in web

