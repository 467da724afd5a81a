"""The installed portal shows the last known balance and member card without the server."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from loyalty_helpers import add_rule, buy
from playwright.sync_api import expect
from portal_helpers import confirm_and_sign_in, join
from sqlalchemy import select

from saas.loyalty.models import Member
from saas.portal.accounts import MemberAccount


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_offline_reload_shows_cached_balance(runtime, make_brand, stoppable_server, page,
                                             screenshot):
    base = f"http://127.0.0.1:{stoppable_server.server_port}"
    brand = make_brand("records", name="Records")
    with runtime.brand_session("records") as session:
        add_rule(session)
    join(page, base, "records", "ana@example.com")
    confirm_and_sign_in(runtime, page, base, "records", "ana@example.com")
    with runtime.brand_session("records") as session:
        account = session.scalars(select(MemberAccount)).one()
        ref = session.get(Member, account.member_id).ref
        buy(session, brand, ref, 43210, at=datetime.now(UTC) - timedelta(hours=1))

    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now controlled by the service worker, which keeps this copy
    expect(page.locator("#balance")).to_contain_text("432")
    page.goto(f"{base}/t/records/card")
    page.goto(f"{base}/t/records/")
    stoppable_server.shutdown()
    stoppable_server.server_close()

    page.reload()
    expect(page.locator("#balance")).to_contain_text("432")
    screenshot("offline-home")
    page.goto(f"{base}/t/records/card")
    expect(page.get_by_role("img", name=f"QR code of membership number {ref}")).to_be_visible()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_manifest_names_brand(make_brand, live_server, page):
    make_brand("records", name="Records")
    response = page.request.get(f"{live_server}/t/records/manifest.webmanifest")
    manifest = json.loads(response.text())
    assert manifest["name"] == "Records"
    assert manifest["start_url"] == "/t/records/"
    assert manifest["icons"][0]["src"] == "/t/records/icon.svg"
