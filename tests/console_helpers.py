"""Console users for tests, and signing them in through the real sign-in pages."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import select

from saas.console.accounts import create_user
from saas.db import utcnow
from saas.platform.models import Brand, Delegation, User

PASSWORD = "amber-lighthouse-77"


def make_console_user(runtime, email: str, *, brand: str | None = None, role: str | None = None,
                      platform_admin: bool = False, enrolled: bool = True) -> str | None:
    """Create a user (with a role in ``brand`` if given); return the TOTP secret if enrolled."""
    with runtime.platform_session() as db:
        user = create_user(db, email, PASSWORD, platform_admin=platform_admin, actor="test")
        secret = None
        if enrolled:
            secret = pyotp.random_base32()
            user.totp_secret = secret
            user.totp_confirmed_at = utcnow()
        if brand is not None:
            brand_id = db.scalar(select(Brand.id).where(Brand.slug == brand))
            db.add(Delegation(user_id=user.id, brand_id=brand_id, role=role or "admin"))
        db.commit()
    return secret


def fresh_code(runtime, email: str, secret: str) -> str:
    """A valid code, forgetting the last used step so a test can sign in again at once."""
    with runtime.platform_session() as db:
        user = db.scalar(select(User).where(User.email == email))
        user.totp_last_step = None
        db.commit()
    return pyotp.TOTP(secret).now()


def csrf_token(client, path: str, headers: dict | None = None) -> str:
    page = client.get(path, headers=headers)
    match = re.search(rb'name="csrf_token" value="([^"]+)"', page.data)
    assert match, f"no CSRF token on {path}: {page.status}"
    return match.group(1).decode()


def form_post(client, path: str, *, token_from: str | None = None,
              headers: dict | None = None, **form):
    token = csrf_token(client, token_from or path, headers)
    return client.post(path, data={"csrf_token": token, **form}, headers=headers)


def console_sign_in(runtime, client, base: str, email: str, secret: str,
                    password: str = PASSWORD, host: str | None = None):
    """Sign in at ``base`` + /admin (base is "/t/<slug>", or "" for a brand's own ``host``
    or the platform host)."""
    headers = {"Host": host} if host else None
    form_post(client, f"{base}/admin/sign-in", headers=headers, email=email, password=password)
    return form_post(client, f"{base}/admin/second-factor", token_from=f"{base}/admin/sign-in",
                     headers=headers, code=fresh_code(runtime, email, secret))


def page_sign_in(page, url: str, email: str, secret: str, password: str = PASSWORD) -> None:
    """Open ``url`` in a Playwright page and pass the console sign-in it leads to."""
    page.goto(url)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("6-digit code from your authenticator app").fill(
        pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Verify").click()
