"""Browser steps shared by the portal tests: joining and signing in."""

import re

from playwright.sync_api import expect
from sqlalchemy import select

from saas.notifications.outbox import OutboxEmail

PASSWORD = "violet-harbour-42"


def join(page, live_server, slug, email):
    page.goto(f"{live_server}/t/{slug}/join")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password (at least 10 characters)").fill(PASSWORD)
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()


def confirm_and_sign_in(runtime, page, live_server, slug, email):
    with runtime.brand_session(slug) as session:
        body = session.scalars(select(OutboxEmail.body_text)
                               .where(OutboxEmail.to_address == email)).first()
    token = re.search(r"token=(\S+)", body).group(1)
    page.goto(f"{live_server}/t/{slug}/verify?token={token}")
    expect(page.get_by_role("status")).to_contain_text("confirmed")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
