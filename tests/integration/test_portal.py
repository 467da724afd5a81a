"""Portal sign-up, sign-in, balance and member card through HTTP, on both databases."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from loyalty_helpers import add_reward, add_rule, add_tiers, buy
from sqlalchemy import select
from werkzeug.test import Client

from saas.loyalty.claims import issue_claim_code
from saas.loyalty.members import enrol_member
from saas.notifications.outbox import OutboxEmail

PASSWORD = "violet-harbour-42"


def csrf(client, path):
    page = client.get(path)
    return re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()


def post(client, path, **form):
    return client.post(path, data={"csrf_token": csrf(client, path), **form})


@pytest.fixture
def shop(runtime, make_brand, wsgi_app):
    brand = make_brand("shop", name="Shop")
    with runtime.brand_session("shop") as session:
        add_rule(session)
        add_reward(session, cost=500)
        add_tiers(session, ("bronze", 0, "1"), ("silver", 1000, "1"))
    return brand, Client(wsgi_app)


def join_and_verify(runtime, client, email="ana@example.com"):
    post(client, "/t/shop/join", email=email, password=PASSWORD)
    with runtime.brand_session("shop") as session:
        body = session.scalars(select(OutboxEmail.body_text)).first()
    link = re.search(r"(http://\S+)", body).group(1)
    return client.get(link.replace("http://localhost", ""))


def test_join_verify_and_sign_in(runtime, shop):
    _brand, client = shop
    verified = join_and_verify(runtime, client)
    signed_in = post(client, "/t/shop/sign-in", email="ana@example.com", password=PASSWORD)
    home = client.get("/t/shop/")

    assert b"confirmed" in verified.data
    assert signed_in.status_code == 302
    assert b"Your points" in home.data


def test_form_without_csrf_rejected(shop):
    _brand, client = shop
    response = client.post("/t/shop/join", data={"email": "a@example.com", "password": PASSWORD})
    assert response.status_code == 400


def test_wrong_password_is_401(runtime, shop):
    _brand, client = shop
    join_and_verify(runtime, client)
    response = post(client, "/t/shop/sign-in", email="ana@example.com", password="nope-nope-nope")
    assert response.status_code == 401
    assert b"wrong" in response.data


def test_home_shows_balance_and_progress(runtime, shop):
    brand, client = shop
    join_and_verify(runtime, client)
    post(client, "/t/shop/sign-in", email="ana@example.com", password=PASSWORD)
    with runtime.brand_session("shop") as session:
        from saas.loyalty.models import Member
        from saas.portal.accounts import MemberAccount

        account = session.scalars(select(MemberAccount)).one()
        ref = session.get(Member, account.member_id).ref
        buy(session, brand, ref, 25000, at=datetime.now(UTC) - timedelta(days=1))

    home = client.get("/t/shop/").data
    assert b"<strong>250</strong>" in home
    assert b'value="25"' in home
    assert b"Next reward: coffee at 500 points" in home


def test_member_card_has_qr(runtime, shop):
    _brand, client = shop
    join_and_verify(runtime, client)
    post(client, "/t/shop/sign-in", email="ana@example.com", password=PASSWORD)
    card = client.get("/t/shop/card")
    assert card.status_code == 200
    assert b'src="data:image/png;base64,' in card.data


def test_pages_need_sign_in(shop):
    _brand, client = shop
    response = client.get("/t/shop/card")
    assert response.status_code == 302
    assert "/t/shop/sign-in?next=/card" in response.headers["Location"]


def test_sign_in_next_stays_on_site(runtime, shop):
    _brand, client = shop
    join_and_verify(runtime, client)
    token = csrf(client, "/t/shop/sign-in")
    response = client.post("/t/shop/sign-in?next=//evil.example/x",
                           data={"csrf_token": token, "email": "ana@example.com", "password": PASSWORD})
    assert response.headers["Location"] == "/t/shop/"


def test_session_of_one_brand_not_valid_on_other(runtime, make_brand, shop):
    _brand, client = shop
    make_brand("other")
    join_and_verify(runtime, client)
    post(client, "/t/shop/sign-in", email="ana@example.com", password=PASSWORD)
    assert b"Your points" in client.get("/t/shop/").data
    assert b"Your points" not in client.get("/t/other/").data


def test_claim_links_imported_member(runtime, shop):
    brand, client = shop
    with runtime.brand_session("shop") as session:
        enrol_member(session, "00042")
        buy(session, brand, "00042", 70000)
        code = issue_claim_code(session, "00042", issued_by="test").code
        session.commit()
    join_and_verify(runtime, client)
    post(client, "/t/shop/sign-in", email="ana@example.com", password=PASSWORD)
    claimed = post(client, "/t/shop/claim", member="00042", code=code)
    assert claimed.status_code == 302
    assert b"<strong>700</strong>" in client.get("/t/shop/").data


def signed_in_member(runtime, client, brand, amount_minor):
    """Join, sign in, and give the new member ``amount_minor`` of purchases."""
    join_and_verify(runtime, client)
    post(client, "/t/shop/sign-in", email="ana@example.com", password=PASSWORD)
    with runtime.brand_session("shop") as session:
        from saas.loyalty.models import Member
        from saas.portal.accounts import MemberAccount

        account = session.scalars(select(MemberAccount)).one()
        ref = session.get(Member, account.member_id).ref
        if amount_minor:
            buy(session, brand, ref, amount_minor, at=datetime.now(UTC) - timedelta(days=1))
    return ref


def test_redeem_issues_voucher_once(runtime, shop):
    brand, client = shop
    signed_in_member(runtime, client, brand, 120000)
    token = csrf(client, "/t/shop/rewards")
    form = {"csrf_token": token, "request_key": "form-1"}
    first = client.post("/t/shop/rewards/coffee/redeem", data=form, headers={"HX-Request": "true"})
    second = client.post("/t/shop/rewards/coffee/redeem", data=form, headers={"HX-Request": "true"})
    vouchers = client.get("/t/shop/vouchers")
    from saas.loyalty.models import Redemption

    with runtime.brand_session("shop") as session:
        count = len(session.scalars(select(Redemption)).all())
    assert b"Your voucher is ready" in first.data
    assert second.data == first.data
    assert count == 1
    assert b'alt="QR code of voucher' in vouchers.data


def test_redeem_without_points_explains(runtime, shop):
    brand, client = shop
    signed_in_member(runtime, client, brand, 1000)
    token = csrf(client, "/t/shop/rewards")
    response = client.post("/t/shop/rewards/coffee/redeem",
                           data={"csrf_token": token, "request_key": "k"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 409
    assert b"do not have enough points" in response.data


def test_history_lists_and_filters(runtime, shop):
    brand, client = shop
    signed_in_member(runtime, client, brand, 120000)
    everything = client.get("/t/shop/history")
    redeemed = client.get("/t/shop/history?kind=redeem")
    invalid = client.get("/t/shop/history?kind=nonsense")
    assert b"Earned" in everything.data
    assert b"1,200" in everything.data
    assert b"Nothing here yet" in redeemed.data
    assert invalid.status_code == 400


HTMX = {"HX-Request": "true"}


def test_history_htmx_returns_fragment(runtime, shop):
    brand, client = shop
    signed_in_member(runtime, client, brand, 120000)
    response = client.get("/t/shop/history?kind=earn", headers=HTMX)
    assert response.status_code == 200
    assert b"<html" not in response.data
    assert b'<div id="history-results">' in response.data
    assert b"1,200" in response.data
    assert b'hx-swap-oob="innerHTML">1 entry on page 1<' in response.data


def test_history_without_htmx_is_full_page(runtime, shop):
    brand, client = shop
    signed_in_member(runtime, client, brand, 120000)
    response = client.get("/t/shop/history?kind=earn")
    assert response.status_code == 200
    assert b"<html" in response.data
    assert b'<option value="earn" selected>' in response.data
    assert b'<div id="history-results">' in response.data
    assert b"hx-swap-oob" not in response.data
    assert "HX-Request" in response.headers["Vary"]


def test_history_htmx_filter_by_kind(runtime, shop):
    brand, client = shop
    signed_in_member(runtime, client, brand, 120000)
    response = client.get("/t/shop/history?kind=redeem", headers=HTMX)
    assert b"Nothing here yet" in response.data
    assert b"Earned" not in response.data


def test_history_htmx_pages(runtime, shop):
    brand, client = shop
    ref = signed_in_member(runtime, client, brand, 0)
    with runtime.brand_session("shop") as session:
        for day in range(21):
            buy(session, brand, ref, 1000 + day, at=datetime.now(UTC) - timedelta(days=day + 1))
    first = client.get("/t/shop/history", headers=HTMX)
    second = client.get("/t/shop/history?page=2", headers=HTMX)
    assert first.data.count(b"<tr><td>") == 20
    assert b'hx-get="/t/shop/history?page=2"' in first.data
    assert second.data.count(b"<tr><td>") == 1
    assert b'hx-get="/t/shop/history?page=1"' in second.data
    assert b"page=3" not in second.data


def test_history_restore_gets_full_page(runtime, shop):
    brand, client = shop
    signed_in_member(runtime, client, brand, 120000)
    response = client.get("/t/shop/history?page=1", headers={
        **HTMX, "HX-History-Restore-Request": "true"})
    assert b"<html" in response.data


@pytest.mark.parametrize(("locale", "currency", "expected"), [
    ("en_US", "USD", "Purchase of $612.34"),
    ("de_DE", "EUR", "Kauf über 612,34\xa0€"),
    ("ja_JP", "JPY", "￥61,234のお買い物"),
    ("en_US", "EUR", "Purchase of €612.34"),
])
def test_history_shows_order_amount_in_locale(runtime, make_brand, wsgi_app, locale, currency,
                                              expected):
    brand = make_brand("money", locale=locale, locales=[locale], currency=currency)
    with runtime.brand_session("money") as session:
        add_rule(session)
    client = member_client(runtime, wsgi_app, "money")
    with runtime.brand_session("money") as session:
        from saas.loyalty.models import Member
        from saas.portal.accounts import MemberAccount

        account = session.scalars(select(MemberAccount)).one()
        ref = session.get(Member, account.member_id).ref
        buy(session, brand, ref, 61234, at=datetime.now(UTC) - timedelta(days=1))

    response = client.get("/t/money/history")

    assert expected in response.get_data(as_text=True)


def reset_link(runtime):
    with runtime.brand_session("shop") as session:
        body = session.scalars(select(OutboxEmail.body_text)
                               .where(OutboxEmail.subject.like("%reset%"))).first()
    return re.search(r"(http://\S+)", body).group(1).replace("http://localhost", "")


def test_password_reset_works_once(runtime, shop):
    _brand, client = shop
    join_and_verify(runtime, client)
    post(client, "/t/shop/forgot-password", email="ana@example.com")
    link = reset_link(runtime)
    token = link.split("token=")[1]

    first = post(client, link, token=token, password="brand-new-secret-7")
    again = post(client, link, token=token, password="another-secret-88")
    old = post(client, "/t/shop/sign-in", email="ana@example.com", password=PASSWORD)
    new = post(client, "/t/shop/sign-in", email="ana@example.com", password="brand-new-secret-7")

    assert b"password is changed" in first.data
    assert again.status_code == 422
    assert old.status_code == 401
    assert new.status_code == 302


def test_forgot_password_reveals_nothing(runtime, shop):
    _brand, client = shop
    response = post(client, "/t/shop/forgot-password", email="nobody@example.com")
    with runtime.brand_session("shop") as session:
        queued = session.scalars(select(OutboxEmail)).all()
    assert b"If this address has an account" in response.data
    assert queued == []


def member_client(runtime, wsgi_app, slug) -> Client:
    """Return a client signed in as a new member of the brand ``slug``."""
    client = Client(wsgi_app)
    client.post(f"/t/{slug}/join", data={"csrf_token": csrf(client, f"/t/{slug}/join"),
                                         "email": "ana@example.com", "password": PASSWORD})
    with runtime.brand_session(slug) as session:
        body = session.scalars(select(OutboxEmail.body_text)).first()
    client.get(re.search(r"(http://\S+)", body).group(1).replace("http://localhost", ""))
    client.post(f"/t/{slug}/sign-in", data={"csrf_token": csrf(client, f"/t/{slug}/sign-in"),
                                            "email": "ana@example.com", "password": PASSWORD})
    return client


def bilingual_member(runtime, make_brand, wsgi_app) -> Client:
    """Return a client signed in as a member of a brand offering English and German."""
    make_brand("bilingual", locale="en", locales=["en", "de"])
    return member_client(runtime, wsgi_app, "bilingual")


def test_profile_saves_language_and_consents(runtime, make_brand, wsgi_app):
    client = bilingual_member(runtime, make_brand, wsgi_app)

    saved = client.post("/t/bilingual/profile", data={
        "csrf_token": csrf(client, "/t/bilingual/profile"), "locale": "de",
        "points_reminders": "on"})
    page = client.get("/t/bilingual/profile")
    from saas.portal.preferences import ConsentEvent

    with runtime.brand_session("bilingual") as session:
        events = session.scalars(select(ConsentEvent)).all()
    assert saved.status_code == 302
    assert b'<html lang="de"' in page.data
    assert b'<option value="de" selected>Deutsch</option>' in page.data
    assert [(e.purpose, e.granted) for e in events] == [("points_reminders", True)]


def test_profile_htmx_save_returns_form(runtime, shop):
    brand, client = shop
    signed_in_member(runtime, client, brand, 0)
    response = client.post("/t/shop/profile", headers=HTMX, data={
        "csrf_token": csrf(client, "/t/shop/profile"), "locale": "en",
        "marketing_email": "on"})
    from saas.portal.preferences import ConsentEvent

    with runtime.brand_session("shop") as session:
        events = session.scalars(select(ConsentEvent)).all()
    assert response.status_code == 200
    assert b"<html" not in response.data
    assert b'<form id="profile-form"' in response.data
    assert b'hx-swap-oob="innerHTML">Your settings are saved.<' in response.data
    assert b'name="marketing_email" checked' in response.data
    assert [(e.purpose, e.granted) for e in events] == [("marketing_email", True)]


def test_profile_htmx_new_language_reloads_page(runtime, make_brand, wsgi_app):
    client = bilingual_member(runtime, make_brand, wsgi_app)
    response = client.post("/t/bilingual/profile", headers=HTMX, data={
        "csrf_token": csrf(client, "/t/bilingual/profile"), "locale": "de"})
    page = client.get("/t/bilingual/profile?saved=1")
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/t/bilingual/profile?saved=1"
    assert b'<html lang="de"' in page.data


def test_profile_page_without_htmx_is_full_page(runtime, shop):
    brand, client = shop
    signed_in_member(runtime, client, brand, 0)
    response = client.get("/t/shop/profile")
    assert b"<html" in response.data
    assert b'<form id="profile-form"' in response.data
    assert b"hx-swap-oob" not in response.data


def test_profile_rejects_unoffered_locale(runtime, shop):
    brand, client = shop
    signed_in_member(runtime, client, brand, 0)
    response = post(client, "/t/shop/profile", locale="xx")
    assert response.status_code == 400


def test_unconfirmed_address_cannot_sign_in(runtime, shop):
    _brand, client = shop
    post(client, "/t/shop/join", email="ana@example.com", password=PASSWORD)
    response = post(client, "/t/shop/sign-in", email="ana@example.com", password=PASSWORD)
    with runtime.brand_session("shop") as session:
        links = session.scalars(select(OutboxEmail).where(OutboxEmail.subject.like("%confirm%"))).all()
    assert response.status_code == 403
    assert b"Confirm your email address first" in response.data
    assert len(links) == 2
    assert b"Your points" not in client.get("/t/shop/").data


@pytest.mark.parametrize(("locale", "expected"), [
    ("de_DE", "Willkommen bei Café"),
    ("es", "Te damos la bienvenida a Café"),
    ("ja_JP", "Café へようこそ"),
])
def test_portal_speaks_brand_locale(make_brand, wsgi_app, locale, expected):
    make_brand("cafe", name="Café", locale=locale)
    page = Client(wsgi_app).get("/t/cafe/")
    assert expected in page.get_data(as_text=True)
    assert f'lang="{locale.replace("_", "-")}"' in page.get_data(as_text=True)
