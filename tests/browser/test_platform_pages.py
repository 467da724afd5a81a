"""The platform host's start page and a brand's page, in a real browser."""

import pytest
from playwright.sync_api import expect


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_platform_index_links_to_brand(make_brand, live_server, page, screenshot):
    make_brand("alpha", name="Alpha Records")
    make_brand("beta", name="Beta Books")

    page.goto(live_server + "/")
    expect(page.get_by_role("link", name="Alpha Records")).to_be_visible()
    screenshot("platform-index")
    page.get_by_role("link", name="Beta Books").click()

    expect(page).to_have_url(live_server + "/t/beta/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Beta Books")
    screenshot("brand-home")
