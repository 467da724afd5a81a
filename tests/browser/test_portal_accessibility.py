"""WCAG 2.1 AA checks of the portal pages with axe-core, under the base and the demo themes.

axe-core is vendored in tests/browser/vendor (see the README there), so the audit runs
offline. The page's Content-Security-Policy stays on: the script is served by a Playwright
route on the app's own origin, which the policy allows. The service worker is blocked,
because requests of a page it controls pass through it and never reach the route.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from loyalty_helpers import add_reward, add_rule, add_tiers, buy
from playwright.sync_api import expect
from portal_helpers import confirm_and_sign_in, join
from sqlalchemy import select

from saas.loyalty.models import Member
from saas.loyalty.rewards import redeem_reward
from saas.portal.accounts import MemberAccount
from saas.tenancy.manifests import load_manifest
from saas.tenancy.settings import put_setting

VENDOR = Path(__file__).resolve().parent / "vendor"
TENANTS = Path(__file__).resolve().parents[2] / "tenants"
AXE_PATH = "/__axe-core.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SIGNED_OUT_PAGES = ["", "join", "sign-in"]
MEMBER_PAGES = ["", "card", "rewards", "vouchers", "history", "profile"]


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "service_workers": "block"}


def serve_axe(page, live_server):
    """Serve the vendored axe-core at AXE_PATH on the app's origin through a Playwright route."""
    source = (VENDOR / "axe.min.js").read_text(encoding="utf-8")
    page.route(live_server + AXE_PATH, lambda route: route.fulfill(
        status=200, content_type="text/javascript", body=source))


def audit(page, live_server) -> list[str]:
    """Run axe-core on the current page and return one readable line per failing node."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=live_server + AXE_PATH)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})", WCAG_TAGS)
    lines = []
    for violation in result["violations"]:
        for node in violation["nodes"]:
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"{page.url} {violation['id']} ({violation['impact']}) "
                         f"at {', '.join(map(str, node['target']))}: {violation['help']}. "
                         f"{summary}")
    return lines


def theme_tokens(theme: str) -> dict[str, str]:
    if theme == "base":
        return {}
    return dict(load_manifest(TENANTS / f"{theme}.yaml").theme)


def prepare_brand(runtime, make_brand, theme: str):
    brand = make_brand("shop", name="Shop")
    with runtime.brand_session("shop") as session:
        put_setting(session, "theme.tokens", theme_tokens(theme))
        add_rule(session)
        add_reward(session, cost=100)
        add_reward(session, code="tote-bag", cost=5000)
        add_tiers(session, ("bronze", 0, "1"), ("silver", 2000, "1"))
        session.commit()
    return brand


def give_history(runtime, brand):
    """Give the signed-in member purchases and a voucher, so every page has content."""
    with runtime.brand_session("shop") as session:
        account = session.scalars(select(MemberAccount)).one()
        ref = session.get(Member, account.member_id).ref
        buy(session, brand, ref, 61234, at=datetime.now(UTC) - timedelta(days=2))
        buy(session, brand, ref, 9900, at=datetime.now(UTC) - timedelta(days=1))
        redeem_reward(session, ref, "coffee", source="test")
        session.commit()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("theme", ["base", "cafe", "books", "music"])
def test_portal_pages_pass_axe(runtime, make_brand, live_server, page, theme):
    brand = prepare_brand(runtime, make_brand, theme)
    serve_axe(page, live_server)
    violations = []

    for path in SIGNED_OUT_PAGES:
        page.goto(f"{live_server}/t/shop/{path}")
        violations += audit(page, live_server)
    page.get_by_label("Email address").fill("nobody@example.com")
    page.get_by_label("Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    violations += audit(page, live_server)
    join(page, live_server, "shop", "ana@example.com")
    confirm_and_sign_in(runtime, page, live_server, "shop", "ana@example.com")
    expect(page.locator("#balance")).to_be_visible()
    give_history(runtime, brand)
    for path in MEMBER_PAGES:
        page.goto(f"{live_server}/t/shop/{path}")
        violations += audit(page, live_server)

    assert not violations, f"{len(violations)} axe violations:\n" + "\n".join(violations)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sign_in_tab_order(make_brand, live_server, page):
    make_brand("shop", name="Shop")
    page.goto(f"{live_server}/t/shop/sign-in")
    page.get_by_label("Email address").focus()

    page.keyboard.press("Tab")
    after_email = page.evaluate("document.activeElement.id || document.activeElement.textContent")
    page.keyboard.press("Tab")
    after_password = page.evaluate("document.activeElement.textContent.trim()")

    assert after_email == "password"
    assert after_password == "Sign in"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_keyboard_focus_visible(make_brand, live_server, page):
    make_brand("shop", name="Shop")
    page.goto(f"{live_server}/t/shop/sign-in")
    page.get_by_label("Password", exact=True).focus()

    page.keyboard.press("Tab")
    outline = page.evaluate(
        "() => { const style = getComputedStyle(document.activeElement);"
        " return [style.outlineStyle, style.outlineWidth]; }")

    assert outline[0] != "none"
    assert outline[1] != "0px"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_axe_reports_low_contrast(runtime, make_brand, live_server, page):
    make_brand("shop", name="Shop")
    with runtime.brand_session("shop") as session:
        put_setting(session, "theme.tokens", {"color_text": "#b0b0b0"})
        session.commit()
    serve_axe(page, live_server)
    page.goto(f"{live_server}/t/shop/")

    violations = audit(page, live_server)

    assert any(" color-contrast " in line for line in violations), violations


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_header_focus_ring_contrasts(make_brand, runtime, live_server, page):
    make_brand("shop", name="Shop")
    join(page, live_server, "shop", "ana@example.com")
    confirm_and_sign_in(runtime, page, live_server, "shop", "ana@example.com")
    expect(page.locator("#balance")).to_be_visible()

    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the first link of the header
    focused = page.evaluate(
        "() => [document.activeElement.textContent,"
        " getComputedStyle(document.activeElement).outlineColor,"
        " getComputedStyle(document.querySelector('.site-header')).backgroundColor]")

    assert focused[0] == "Points"
    assert focused[1] != focused[2]
