"""An analyst narrows the dashboard to one channel and opens a day from the chart."""

import re
from datetime import UTC, datetime

import pytest
from console_helpers import make_console_user, page_sign_in
from loyalty_helpers import add_rule, buy
from playwright.sync_api import expect

from saas.analytics.rollup import rollup


@pytest.fixture
def shop(runtime, make_brand):
    """Two orders on 5 March 2025: 10 points on the web and 50 in store."""
    brand = make_brand("shop")
    with runtime.brand_session("shop") as session:
        add_rule(session)
        for ref, channel, amount in (("W", "web", 1000), ("S", "store", 5000)):
            buy(session, brand, "M", amount, ref=ref, channel=channel,
                at=datetime(2025, 3, 5, 12, tzinfo=UTC))
        rollup(session, brand.timezone, now=datetime(2025, 3, 6, tzinfo=UTC))
        session.commit()
    return brand


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_analyst_filters_dashboard_and_opens_day(runtime, shop, live_server, page,
                                                 screenshot):
    secret = make_console_user(runtime, "ana@example.com", brand="shop", role="analyst")
    page_sign_in(page, f"{live_server}/t/shop/admin/analytics?start=2025-03-01&end=2025-03-10",
                 "ana@example.com", secret)
    earned = page.locator('[data-kpi="points_earned"] dd').first
    expect(earned).to_have_text("60")

    page.get_by_label("Orders of").select_option("channel:web")
    page.get_by_role("button", name="Show").click()
    expect(earned).to_have_text("10")
    expect(page).to_have_url(re.compile(r"filter=channel%3Aweb"))
    screenshot("analytics-filtered")

    # The bars are new members, so the only one with a height is 5 March. Plotly clicks the
    # point under its hover label, so the pointer rests there first.
    chart = page.get_by_test_id("daily-chart")
    bars = chart.locator(".bars path")
    expect(bars.first).to_be_attached()
    chart.scroll_into_view_if_needed()
    boxes = [bars.nth(index).bounding_box() for index in range(bars.count())]
    box = max(filter(None, boxes), key=lambda found: found["height"])
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    expect(chart.locator(".hoverlayer .hovertext").first).to_be_visible()
    page.mouse.click(x, y)
    expect(page).to_have_url(re.compile(r"/admin/analytics/days/2025-03-05"))
    expect(page.get_by_role("heading", name="Ledger entries of 2025-03-05")).to_be_visible()
    expect(page.locator("main tbody tr")).to_have_count(2)
