"""An invited admin enrols TOTP, edits a rule with the simulator and finds the audit entry;
an analyst cannot open the rule editor."""

import pyotp
import pytest
from console_helpers import make_console_user, page_sign_in
from loyalty_helpers import add_rule
from playwright.sync_api import expect

from saas.console.accounts import invite


@pytest.fixture
def records(runtime, make_brand):
    brand = make_brand("records", name="Records")
    with runtime.brand_session("records") as session:
        add_rule(session)
    return brand


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_invited_admin_edits_rule_with_simulator(runtime, records, live_server, page,
                                                 screenshot):
    with runtime.platform_session() as db:
        token = invite(db, records.id, "ada@example.com", "admin", actor="test").token
        db.commit()

    page.goto(f"{live_server}/t/records/admin/invitations/{token}")
    page.get_by_label("Your name").fill("Ada")
    page.get_by_label("Choose a password").fill("copper-kettle-morning-8")
    page.get_by_role("button", name="Accept invitation").click()

    expect(page.get_by_role("heading", name="Set up two-step verification")).to_be_visible()
    screenshot("console-enrol")
    secret = page.get_by_test_id("totp-secret").inner_text()
    page.get_by_label("6-digit code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    page.get_by_role("link", name="I have saved them, continue").click()

    page.get_by_role("link", name="Earn rules").click()
    page.get_by_role("link", name="base").click()
    page.get_by_label("Actions (JSON list)").fill(
        '[{"type": "points_per_amount", "points": 3, "per": 1}]')
    page.get_by_label("Order amount in USD").fill("10")
    page.get_by_role("button", name="Simulate").click()
    expect(page.locator("#simulation")).to_contain_text("With this draft: 30 points")
    expect(page.get_by_test_id("saved-total")).to_contain_text("10 points")
    screenshot("console-simulator")
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_role("status")).to_contain_text("Saved as version 2")

    page.get_by_role("link", name="Audit trail").click()
    row = page.locator("#audit-rows tr").first
    expect(row).to_contain_text("rule.update")
    expect(row).to_contain_text("user:ada@example.com")
    screenshot("console-audit")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_analyst_cannot_open_rule_editor(runtime, records, live_server, page):
    secret = make_console_user(runtime, "ana@example.com", brand="records", role="analyst")
    page_sign_in(page, f"{live_server}/t/records/admin/", "ana@example.com", secret)

    page.get_by_role("link", name="Earn rules").click()
    expect(page.get_by_role("cell", name="base", exact=True).first).to_be_visible()
    expect(page.get_by_role("link", name="base")).to_have_count(0)

    response = page.goto(f"{live_server}/t/records/admin/rules/base")
    assert response.status == 403
