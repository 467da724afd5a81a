"""Console sign-in: password, TOTP enrolment and check, recovery codes, lockout, remembered
devices, password reset and invitations, through HTTP on both databases."""

import re
from datetime import timedelta

import pyotp
import pytest
from console_helpers import (
    PASSWORD,
    console_sign_in,
    csrf_token,
    form_post,
    fresh_code,
    make_console_user,
)
from sqlalchemy import select
from werkzeug.test import Client

from saas.db import utcnow
from saas.notifications.outbox import OutboxEmail
from saas.platform.models import Delegation, Invitation, User
from saas.security.audit import PlatformAuditEntry, verify_chain


@pytest.fixture
def alpha(make_brand):
    return make_brand("alpha", name="Alpha")


def platform_actions(runtime):
    with runtime.platform_session() as db:
        return list(db.scalars(select(PlatformAuditEntry.action).order_by(PlatformAuditEntry.id)))


def user_row(runtime, email):
    with runtime.platform_session() as db:
        return db.scalar(select(User).where(User.email == email))


def test_anonymous_console_request_goes_to_sign_in(alpha, client):
    response = client.get("/t/alpha/admin/members")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/t/alpha/admin/sign-in?next=")


def test_anonymous_htmx_request_gets_401_with_redirect_header(alpha, client):
    response = client.get("/t/alpha/admin/members", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/t/alpha/admin/sign-in")


def test_password_alone_does_not_open_the_console(runtime, alpha, client):
    make_console_user(runtime, "ann@example.com", brand="alpha", role="owner")
    signed = form_post(client, "/t/alpha/admin/sign-in", email="ann@example.com",
                       password=PASSWORD)
    assert signed.headers["Location"].startswith("/t/alpha/admin/second-factor")
    assert client.get("/t/alpha/admin/").status_code == 302


def test_password_and_totp_open_the_console(runtime, alpha, client):
    secret = make_console_user(runtime, "ann@example.com", brand="alpha", role="owner")
    response = console_sign_in(runtime, client, "/t/alpha", "ann@example.com", secret)
    assert response.headers["Location"] == "/t/alpha/admin/"
    assert b"ann@example.com" in client.get("/t/alpha/admin/").data


def test_wrong_totp_code_is_rejected(runtime, alpha, client):
    secret = make_console_user(runtime, "ann@example.com", brand="alpha", role="owner")
    form_post(client, "/t/alpha/admin/sign-in", email="ann@example.com", password=PASSWORD)
    wrong = str((int(pyotp.TOTP(secret).now()) + 1) % 1_000_000).zfill(6)
    response = form_post(client, "/t/alpha/admin/second-factor",
                         token_from="/t/alpha/admin/sign-in", code=wrong)
    assert response.status_code == 401
    assert client.get("/t/alpha/admin/").status_code == 302


def test_a_totp_code_works_once(runtime, alpha, client):
    secret = make_console_user(runtime, "ann@example.com", brand="alpha", role="owner")
    code = fresh_code(runtime, "ann@example.com", secret)
    for expected in (302, 401):
        other = Client(client.application)
        form_post(other, "/t/alpha/admin/sign-in", email="ann@example.com", password=PASSWORD)
        response = form_post(other, "/t/alpha/admin/second-factor",
                             token_from="/t/alpha/admin/sign-in", code=code)
        assert response.status_code == expected


def test_first_sign_in_enrols_totp_and_shows_recovery_codes(runtime, alpha, client):
    make_console_user(runtime, "ann@example.com", brand="alpha", role="owner", enrolled=False)
    signed = form_post(client, "/t/alpha/admin/sign-in", email="ann@example.com",
                       password=PASSWORD)
    assert signed.headers["Location"].startswith("/t/alpha/admin/enrol")
    enrol_page = client.get("/t/alpha/admin/enrol")
    assert b"data:image/svg+xml" in enrol_page.data
    secret = re.search(rb'data-testid="totp-secret">([A-Z2-7]+)<', enrol_page.data).group(1)
    confirmed = form_post(client, "/t/alpha/admin/enrol",
                          code=pyotp.TOTP(secret.decode()).now())
    codes_page = client.get(confirmed.headers["Location"])
    codes = re.findall(rb"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>", codes_page.data)
    assert len(codes) == 10
    assert client.get("/t/alpha/admin/").status_code == 200
    assert "mfa.enrol" in platform_actions(runtime)


def test_recovery_codes_are_shown_only_once(runtime, alpha, client):
    make_console_user(runtime, "ann@example.com", brand="alpha", role="owner", enrolled=False)
    form_post(client, "/t/alpha/admin/sign-in", email="ann@example.com", password=PASSWORD)
    secret = re.search(rb'data-testid="totp-secret">([A-Z2-7]+)<',
                       client.get("/t/alpha/admin/enrol").data).group(1).decode()
    confirmed = form_post(client, "/t/alpha/admin/enrol", code=pyotp.TOTP(secret).now())
    client.get(confirmed.headers["Location"])
    again = client.get(confirmed.headers["Location"])
    assert again.status_code == 302


def test_recovery_code_signs_in_once_and_is_audited(runtime, alpha, client):
    make_console_user(runtime, "ann@example.com", brand="alpha", role="owner", enrolled=False)
    form_post(client, "/t/alpha/admin/sign-in", email="ann@example.com", password=PASSWORD)
    secret = re.search(rb'data-testid="totp-secret">([A-Z2-7]+)<',
                       client.get("/t/alpha/admin/enrol").data).group(1).decode()
    confirmed = form_post(client, "/t/alpha/admin/enrol", code=pyotp.TOTP(secret).now())
    code = re.findall(rb"<code>([0-9a-f]{6}-[0-9a-f]{6})</code>",
                      client.get(confirmed.headers["Location"]).data)[0].decode()
    results = []
    for _attempt in range(2):
        other = Client(client.application)
        form_post(other, "/t/alpha/admin/sign-in", email="ann@example.com", password=PASSWORD)
        results.append(form_post(other, "/t/alpha/admin/second-factor",
                                 token_from="/t/alpha/admin/sign-in",
                                 recovery_code=code).status_code)
    assert results == [302, 401]
    assert platform_actions(runtime).count("mfa.recovery_code_used") == 1


def test_five_wrong_passwords_lock_the_account_and_record_it(runtime, alpha, client):
    make_console_user(runtime, "ann@example.com", brand="alpha", role="owner")
    statuses = [form_post(client, "/t/alpha/admin/sign-in", email="ann@example.com",
                          password="wrong-password-1").status_code for _ in range(5)]
    right = form_post(client, "/t/alpha/admin/sign-in", email="ann@example.com",
                      password=PASSWORD)
    assert statuses == [401, 401, 401, 401, 429]
    assert right.status_code == 429
    assert "security.account_locked" in platform_actions(runtime)


def test_lock_ends_after_its_period(runtime, alpha, client):
    make_console_user(runtime, "ann@example.com", brand="alpha", role="owner")
    with runtime.platform_session() as db:
        user = db.scalar(select(User).where(User.email == "ann@example.com"))
        user.locked_until = utcnow() - timedelta(seconds=1)
        db.commit()
    response = form_post(client, "/t/alpha/admin/sign-in", email="ann@example.com",
                         password=PASSWORD)
    assert response.headers["Location"].startswith("/t/alpha/admin/second-factor")


def test_remembered_device_skips_totp(runtime, alpha, client):
    secret = make_console_user(runtime, "ann@example.com", brand="alpha", role="owner")
    form_post(client, "/t/alpha/admin/sign-in", email="ann@example.com", password=PASSWORD)
    form_post(client, "/t/alpha/admin/second-factor", token_from="/t/alpha/admin/sign-in",
              code=fresh_code(runtime, "ann@example.com", secret), remember="yes")
    form_post(client, "/t/alpha/admin/sign-out", token_from="/t/alpha/admin/")
    again = form_post(client, "/t/alpha/admin/sign-in", email="ann@example.com",
                      password=PASSWORD)
    assert again.headers["Location"] == "/t/alpha/admin/"


def test_remembered_device_cookie_lasts_30_days(runtime, alpha, client):
    secret = make_console_user(runtime, "ann@example.com", brand="alpha", role="owner")
    form_post(client, "/t/alpha/admin/sign-in", email="ann@example.com", password=PASSWORD)
    response = form_post(client, "/t/alpha/admin/second-factor",
                         token_from="/t/alpha/admin/sign-in",
                         code=fresh_code(runtime, "ann@example.com", secret), remember="yes")
    cookie = next(value for value in response.headers.getlist("Set-Cookie")
                  if value.startswith("tessera_device="))
    assert "Max-Age=2592000" in cookie
    assert "HttpOnly" in cookie


def test_user_without_role_in_brand_cannot_sign_in(runtime, make_brand, client):
    make_brand("alpha")
    make_brand("beta")
    make_console_user(runtime, "bea@example.com", brand="beta", role="owner")
    response = form_post(client, "/t/alpha/admin/sign-in", email="bea@example.com",
                         password=PASSWORD)
    assert response.status_code == 403


def test_session_of_one_brand_is_not_accepted_by_another(runtime, make_brand, client):
    make_brand("alpha")
    make_brand("beta")
    secret = make_console_user(runtime, "ann@example.com", brand="alpha", role="owner")
    with runtime.platform_session() as db:
        user = db.scalar(select(User).where(User.email == "ann@example.com"))
        db.add(Delegation(user_id=user.id, brand_id=runtime.brand("beta").id, role="owner"))
        db.commit()
    console_sign_in(runtime, client, "/t/alpha", "ann@example.com", secret)
    alpha_cookie = next(cookie for cookie in client._cookies.values()
                        if cookie.key == "tessera_session")
    stranger = Client(client.application)
    stranger.set_cookie("tessera_session", alpha_cookie.value, path="/t/beta/")
    assert stranger.get("/t/beta/admin/").status_code == 302


def test_resetting_the_second_factor_ends_sessions(runtime, make_brand, client):
    make_brand("alpha")
    owner = make_console_user(runtime, "own@example.com", brand="alpha", role="owner")
    staff = make_console_user(runtime, "sam@example.com", brand="alpha", role="support")
    staff_client = Client(client.application)
    console_sign_in(runtime, staff_client, "/t/alpha", "sam@example.com", staff)
    console_sign_in(runtime, client, "/t/alpha", "own@example.com", owner)
    staff_id = user_row(runtime, "sam@example.com").id
    form_post(client, f"/t/alpha/admin/users/{staff_id}/reset-second-factor",
              token_from="/t/alpha/admin/users")
    assert staff_client.get("/t/alpha/admin/").status_code == 302
    assert user_row(runtime, "sam@example.com").totp_secret is None
    assert "mfa.reset" in platform_actions(runtime)


def test_password_reset_link_works_once(runtime, alpha, client):
    make_console_user(runtime, "ann@example.com", brand="alpha", role="owner")
    form_post(client, "/t/alpha/admin/forgot-password", email="ann@example.com")
    with runtime.brand_session("alpha") as session:
        body = session.scalar(select(OutboxEmail.body_text)
                              .where(OutboxEmail.to_address == "ann@example.com"))
    path = re.search(r"http://localhost(\S+)", body).group(1)
    token = re.search(r"token=([^&\s]+)", path).group(1)
    first = form_post(client, "/t/alpha/admin/reset-password", token_from=path, token=token,
                      password="new-harbour-lights-9")
    second = form_post(client, "/t/alpha/admin/reset-password", token_from=path, token=token,
                       password="other-harbour-lights-9")
    assert first.status_code == 200
    assert second.status_code == 400
    signed = form_post(Client(client.application), "/t/alpha/admin/sign-in",
                       email="ann@example.com", password="new-harbour-lights-9")
    assert signed.headers["Location"].startswith("/t/alpha/admin/second-factor")


def test_forgot_password_reveals_nothing_about_unknown_addresses(alpha, client):
    known = form_post(client, "/t/alpha/admin/forgot-password", email="nobody@example.com")
    assert known.status_code == 200
    assert b"If this address belongs" in known.data


def invite(runtime, client, email, role):
    owner = make_console_user(runtime, "own@example.com", brand="alpha", role="owner")
    console_sign_in(runtime, client, "/t/alpha", "own@example.com", owner)
    form_post(client, "/t/alpha/admin/users/invite", token_from="/t/alpha/admin/users",
              email=email, role=role)
    with runtime.brand_session("alpha") as session:
        body = session.scalar(select(OutboxEmail.body_text)
                              .where(OutboxEmail.to_address == email))
    return re.search(r"http://localhost(\S+)", body).group(1)


def test_invitation_creates_user_with_role_and_asks_for_totp(runtime, alpha, client):
    link = invite(runtime, client, "new@example.com", "analyst")
    guest = Client(client.application)
    accepted = form_post(guest, link, name="Nia", password="quiet-meadow-river-5")
    assert accepted.headers["Location"].startswith("/t/alpha/admin/enrol")
    with runtime.platform_session() as db:
        role = db.scalar(select(Delegation.role).join(User).where(User.email == "new@example.com"))
    assert role == "analyst"
    assert "delegation.accept" in platform_actions(runtime)


def test_invitation_link_works_once(runtime, alpha, client):
    link = invite(runtime, client, "new@example.com", "analyst")
    form_post(Client(client.application), link, password="quiet-meadow-river-5")
    assert Client(client.application).get(link).status_code == 400


def test_expired_invitation_is_refused(runtime, alpha, client):
    link = invite(runtime, client, "new@example.com", "analyst")
    with runtime.platform_session() as db:
        db.scalar(select(Invitation)).expires_at = utcnow() - timedelta(minutes=1)
        db.commit()
    assert Client(client.application).get(link).status_code == 400


def test_invitation_for_one_brand_is_refused_on_another(runtime, make_brand, alpha, client):
    make_brand("beta")
    link = invite(runtime, client, "new@example.com", "analyst")
    assert Client(client.application).get(link.replace("/t/alpha/", "/t/beta/")).status_code \
        == 400


def test_weak_password_on_invitation_names_the_rule(runtime, alpha, client):
    link = invite(runtime, client, "new@example.com", "analyst")
    response = form_post(Client(client.application), link, password="short")
    assert response.status_code == 400
    assert b"at least 10 characters" in response.data


def test_console_changes_keep_the_platform_chain_intact(runtime, alpha, client):
    invite(runtime, client, "new@example.com", "analyst")
    with runtime.platform_session() as db:
        assert verify_chain(db, platform=True).ok


def test_sign_in_form_has_csrf_protection(runtime, alpha, client):
    make_console_user(runtime, "ann@example.com", brand="alpha", role="owner")
    assert csrf_token(client, "/t/alpha/admin/sign-in")
    response = client.post("/t/alpha/admin/sign-in",
                           data={"email": "ann@example.com", "password": PASSWORD})
    assert response.status_code == 400
