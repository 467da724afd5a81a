"""The theme editor in the brand console: live preview, validation naming the token, and
saving with an audit entry, through HTTP on both databases."""

import pytest
from console_helpers import console_sign_in, form_post, make_console_user
from sqlalchemy import select
from werkzeug.test import Client

from saas.security.audit import BrandAuditEntry
from saas.tenancy.settings import get_setting, put_setting


@pytest.fixture
def shop(runtime, make_brand):
    brand = make_brand("shop", name="Shop")
    with runtime.brand_session("shop") as session:
        put_setting(session, "theme.tokens", {"color_primary": "#1d4ed8"})
        session.commit()
    return brand


def signed_in(runtime, wsgi_app, role):
    email = f"{role}@example.com"
    secret = make_console_user(runtime, email, brand="shop", role=role)
    client = Client(wsgi_app)
    console_sign_in(runtime, client, "/t/shop", email, secret)
    return client


def saved_tokens(runtime):
    with runtime.brand_session("shop") as session:
        return get_setting(session, "theme.tokens")


def audit_entries(runtime):
    with runtime.brand_session("shop") as session:
        return list(session.scalars(select(BrandAuditEntry).order_by(BrandAuditEntry.id)))


def test_editor_shows_the_saved_tokens(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    page = client.get("/t/shop/admin/theme")
    assert page.status_code == 200
    assert b'name="color_primary" value="#1d4ed8"' in page.data


def test_save_stores_the_tokens(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "owner")
    response = form_post(client, "/t/shop/admin/theme", color_primary="#B91C1C",
                         radius="4px")
    assert response.status_code == 302
    assert response.headers["Location"] == "/t/shop/admin/theme?saved=1"
    assert saved_tokens(runtime) == {"color_primary": "#b91c1c", "radius": "4px"}


def test_save_is_audited_with_before_and_after(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    form_post(client, "/t/shop/admin/theme", color_primary="#b91c1c")
    entries = audit_entries(runtime)
    assert [entry.action for entry in entries] == ["theme.update"]
    assert entries[0].before == {"color_primary": "#1d4ed8"}
    assert entries[0].after == {"color_primary": "#b91c1c"}
    assert entries[0].actor == "user:admin@example.com"


def test_saved_tokens_reach_the_theme_css(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    form_post(client, "/t/shop/admin/theme", color_primary="#b91c1c")
    assert b"--color-primary: #b91c1c;" in client.get("/t/shop/theme.css").data


def test_invalid_colour_names_token_value_and_rule(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/theme", color_primary="red")
    assert response.status_code == 400
    assert b"theme.color_primary: invalid value &#39;red&#39;: expected a colour like" \
        in response.data
    assert saved_tokens(runtime) == {"color_primary": "#1d4ed8"}
    assert audit_entries(runtime) == []


def test_invalid_radius_names_the_token(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/theme", radius="1;}body{")
    assert response.status_code == 400
    assert b"theme.radius: invalid value" in response.data
    assert b"a CSS length in px, rem or em" in response.data


def test_preview_links_the_draft_without_saving(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/theme/preview",
                         token_from="/t/shop/admin/theme", color_primary="#B91C1C",
                         headers={"HX-Request": "true"})
    assert b"<html" not in response.data
    assert b'href="/t/shop/admin/theme/preview.css?color_primary=%23b91c1c"' in response.data
    assert saved_tokens(runtime) == {"color_primary": "#1d4ed8"}
    assert audit_entries(runtime) == []


def test_preview_of_an_invalid_draft_shows_the_error(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/theme/preview",
                         token_from="/t/shop/admin/theme", color_text="blue")
    assert response.status_code == 200
    assert b"theme.color_text: invalid value &#39;blue&#39;" in response.data
    assert b"preview.css" not in response.data


def test_preview_css_scopes_the_tokens_to_the_preview(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = client.get("/t/shop/admin/theme/preview.css?color_primary=%23b91c1c")
    assert response.mimetype == "text/css"
    assert response.data == b".theme-preview {\n  --color-primary: #b91c1c;\n}\n"


def test_preview_css_rejects_an_unsafe_value(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = client.get("/t/shop/admin/theme/preview.css?radius=1px;}*{color:red")
    assert response.status_code == 400
    assert b"color:red" not in response.data


def test_analyst_cannot_open_the_theme_editor(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "analyst")
    assert client.get("/t/shop/admin/theme").status_code == 403


def test_support_cannot_save_a_theme(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "support")
    response = form_post(client, "/t/shop/admin/theme", token_from="/t/shop/admin/",
                         color_primary="#b91c1c")
    assert response.status_code == 403
    assert saved_tokens(runtime) == {"color_primary": "#1d4ed8"}
