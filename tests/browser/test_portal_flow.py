"""A customer joins, confirms the email, earns points and shows the member card."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from loyalty_helpers import add_reward, add_rule, buy
from playwright.sync_api import expect
from portal_helpers import confirm_and_sign_in, join
from sqlalchemy import select

from saas.loyalty.claims import issue_claim_code
from saas.loyalty.members import enrol_member
from saas.loyalty.models import Member
from saas.portal.accounts import MemberAccount
from saas.tenancy.settings import put_setting


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_join_earn_and_show_card(runtime, make_brand, live_server, page, screenshot):
    brand = make_brand("records", name="Records")
    with runtime.brand_session("records") as session:
        add_rule(session)
        add_reward(session, cost=500)

    join(page, live_server, "records", "ana@example.com")
    confirm_and_sign_in(runtime, page, live_server, "records", "ana@example.com")
    expect(page.locator("#balance")).to_contain_text("0")

    with runtime.brand_session("records") as session:
        account = session.scalars(select(MemberAccount)).one()
        ref = session.get(Member, account.member_id).ref
        buy(session, brand, ref, 61234, at=datetime.now(UTC) - timedelta(hours=1))
    page.reload()
    expect(page.locator("#balance")).to_contain_text("612")
    screenshot("portal-home")

    page.get_by_role("link", name="Member card").first.click()
    expect(page.get_by_role("img", name=f"QR code of membership number {ref}")).to_be_visible()
    screenshot("member-card")

    page.get_by_role("link", name="Rewards").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Redeem").click()
    expect(page.get_by_role("status")).to_contain_text("Your voucher is ready")
    page.get_by_role("link", name="Show my vouchers").click()
    expect(page.get_by_role("img", name=re.compile("QR code of voucher"))).to_be_visible()
    screenshot("vouchers")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_second_brand_has_own_colours(runtime, make_brand, live_server, page):
    make_brand("records", name="Records")
    make_brand("cafe", name="Cafe")
    with runtime.brand_session("cafe") as session:
        put_setting(session, "theme.tokens", {"color_primary": "#7c2d12"})
        session.commit()

    colours = {}
    for slug in ("records", "cafe"):
        page.goto(f"{live_server}/t/{slug}/")
        header = page.locator(".site-header")
        colours[slug] = header.evaluate("element => getComputedStyle(element).backgroundColor")
    assert colours["cafe"] == "rgb(124, 45, 18)"
    assert colours["records"] == "rgb(29, 78, 216)"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_claim_imported_member(runtime, make_brand, live_server, page, screenshot):
    brand = make_brand("records", name="Records")
    with runtime.brand_session("records") as session:
        add_rule(session)
        enrol_member(session, "00042")
        buy(session, brand, "00042", 70000, at=datetime.now(UTC) - timedelta(days=3))
        code = issue_claim_code(session, "00042", issued_by="test").code
        session.commit()

    join(page, live_server, "records", "ana@example.com")
    confirm_and_sign_in(runtime, page, live_server, "records", "ana@example.com")
    page.get_by_role("link", name="Link an existing membership").click()
    page.get_by_label("Membership number").fill("00042")
    page.get_by_label("Claim code").fill(code)
    page.get_by_role("button", name="Link membership").click()

    expect(page.locator("#balance")).to_contain_text("700")
    screenshot("claimed-member")
