"""A platform admin signs in with password and TOTP and creates a brand in the console."""

import pyotp
import pytest
from console_helpers import PASSWORD, make_console_user
from playwright.sync_api import expect

ADMIN = "root@example.test"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_admin_creates_brand(runtime, live_server, page, screenshot):
    secret = make_console_user(runtime, ADMIN, platform_admin=True)
    csp_reports = []
    page.on("console", lambda message: csp_reports.append(message.text)
            if "Content Security Policy" in message.text else None)

    page.goto(live_server + "/platform/")
    expect(page).to_have_url(live_server + "/admin/sign-in?next=%2Fplatform%2F")
    page.get_by_label("Email address").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("6-digit code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(live_server + "/platform/brands/list/")

    page.goto(live_server + "/platform/brands/new/form")
    page.get_by_label("Slug").fill("delta")
    page.get_by_label("Name").fill("Delta Deli")
    page.get_by_label("Currency").fill("EUR")
    screenshot("brand-form")
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(live_server + "/platform/brands/list/")
    expect(page.get_by_role("cell", name="Delta Deli")).to_be_visible()
    screenshot("brand-list")
    assert csp_reports == []
    page.goto(live_server + "/t/delta/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Delta Deli")
