"""History filters and the profile form update in place with HTMX, and work without JavaScript."""

from datetime import UTC, datetime, timedelta

import pytest
from loyalty_helpers import add_rule, buy
from playwright.sync_api import expect
from portal_helpers import confirm_and_sign_in, join
from sqlalchemy import select

from saas.loyalty.models import Member
from saas.portal.accounts import MemberAccount

# Set before an action; a full page load clears it, an HTMX swap keeps it.
MARK_PAGE = "window.samePage = true"
IS_SAME_PAGE = "window.samePage === true"


def member_with_purchase(runtime, make_brand, page, live_server):
    brand = make_brand("shop", name="Shop")
    with runtime.brand_session("shop") as session:
        add_rule(session)
    join(page, live_server, "shop", "ana@example.com")
    confirm_and_sign_in(runtime, page, live_server, "shop", "ana@example.com")
    expect(page.locator("#balance")).to_be_visible()
    with runtime.brand_session("shop") as session:
        account = session.scalars(select(MemberAccount)).one()
        ref = session.get(Member, account.member_id).ref
        buy(session, brand, ref, 4500, at=datetime.now(UTC) - timedelta(days=1))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_history_filter_swaps_results(runtime, make_brand, live_server, page):
    member_with_purchase(runtime, make_brand, page, live_server)
    page.goto(f"{live_server}/t/shop/history")
    expect(page.locator("#history-results")).to_contain_text("Earned")
    page.evaluate(MARK_PAGE)

    page.get_by_label("Show").select_option("redeem")

    expect(page.locator("#history-results")).to_contain_text("Nothing here yet")
    expect(page.get_by_role("status")).to_have_text("0 entries on page 1")
    expect(page).to_have_url(f"{live_server}/t/shop/history?kind=redeem")
    assert page.evaluate(IS_SAME_PAGE)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_profile_saves_in_place(runtime, make_brand, live_server, page):
    member_with_purchase(runtime, make_brand, page, live_server)
    page.goto(f"{live_server}/t/shop/profile")
    page.evaluate(MARK_PAGE)

    page.get_by_label("Send me offers and news").check()
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_have_text("Your settings are saved.")
    expect(page.get_by_label("Send me offers and news")).to_be_checked()
    assert page.evaluate(IS_SAME_PAGE)


@pytest.fixture
def page_without_javascript(browser):
    context = browser.new_context(java_script_enabled=False)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_history_filter_without_javascript(runtime, make_brand, live_server,
                                           page_without_javascript):
    page = page_without_javascript
    member_with_purchase(runtime, make_brand, page, live_server)
    page.goto(f"{live_server}/t/shop/history")

    page.get_by_label("Show").select_option("redeem")
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(f"{live_server}/t/shop/history?kind=redeem")
    expect(page.locator("#history-results")).to_contain_text("Nothing here yet")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_profile_without_javascript(runtime, make_brand, live_server, page_without_javascript):
    page = page_without_javascript
    member_with_purchase(runtime, make_brand, page, live_server)
    page.goto(f"{live_server}/t/shop/profile")

    page.get_by_label("Send me offers and news").check()
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(f"{live_server}/t/shop/profile?saved=1")
    expect(page.get_by_role("status")).to_have_text("Your settings are saved.")
