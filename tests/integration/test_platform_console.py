"""The platform console at /platform: sign-in bridge, brand, user and delegation changes,
their audit entries, and the access policy of every route."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from console_helpers import console_sign_in, make_console_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.platform.administration import set_platform_admin
from saas.platform.console import endpoint_policies
from saas.platform.models import Brand, Delegation, User
from saas.platform.region_moves import RegionMoveRequest
from saas.security.audit import PlatformAuditEntry
from saas.web.policy import PLATFORM_ADMIN, PUBLIC

ADMIN = "root@example.test"
OWNER = "owner@example.test"
BRAND_HOST = "alpha.example.test"
CLIENT_ADDRESS = "198.51.100.7"
TOKEN = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"'
                   rb'|name="csrf_token" value="([^"]+)"')


def token_on(client, path: str) -> str:
    page = client.get(path)
    match = TOKEN.search(page.data)
    assert match, f"no CSRF token on {path}: {page.status}"
    return (match.group(1) or match.group(2)).decode()


def console_post(client, path: str, *, token_from: str | None = None, **form):
    token = token_on(client, token_from or path)
    return client.post(path, data={"csrf_token": token, **form},
                       environ_base={"REMOTE_ADDR": CLIENT_ADDRESS})


def sign_in_admin(runtime, client, email: str = ADMIN):
    secret = make_console_user(runtime, email, platform_admin=True)
    response = console_sign_in(runtime, client, "", email, secret)
    assert response.status_code == 302, response.status
    return response


def create_brand_in_console(client, slug: str, **fields):
    form = {"slug": slug, "name": slug.title(), "domains": "", "region": "eu",
            "locale": "en", "locales": "", "currency": "EUR", "timezone": "UTC", **fields}
    return console_post(client, "/platform/brands/new/form", **form)


def audit_entries(runtime, action: str) -> list[PlatformAuditEntry]:
    with runtime.platform_session() as db:
        return list(db.scalars(select(PlatformAuditEntry)
                               .where(PlatformAuditEntry.action == action)
                               .order_by(PlatformAuditEntry.id)))


def brand_id(runtime, slug: str) -> int:
    with runtime.platform_session() as db:
        return db.scalar(select(Brand.id).where(Brand.slug == slug))


# --- Reaching the console ---------------------------------------------------------------------

def test_anonymous_redirected_to_sign_in(runtime, client):
    response = client.get("/platform/brands/list/")

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/admin/sign-in"
    assert parse_qs(location.query)["next"] == ["/platform/brands/list/"]


def test_sign_in_lands_on_console(runtime, client):
    response = sign_in_admin(runtime, client)

    assert urlsplit(response.headers["Location"]).path == "/platform/"
    assert client.get("/platform/").headers["Location"].endswith("/platform/brands/list/")
    assert client.get("/platform/brands/list/").status_code == 200


def test_console_absent_on_brand_host(runtime, client, make_brand):
    make_brand("alpha", domains=[BRAND_HOST])

    for path in ("/platform", "/platform/", "/platform/brands/list/"):
        assert client.get(path, headers={"Host": BRAND_HOST}).status_code == 404, path


def test_console_absent_under_brand_prefix(runtime, client, make_brand):
    make_brand("alpha")

    for path in ("/t/alpha/platform", "/t/alpha/platform/", "/t/alpha/platform/brands/list/"):
        assert client.get(path).status_code == 404, path


def test_sign_out_from_console(runtime, client):
    sign_in_admin(runtime, client)
    page = client.get("/platform/brands/list/").data.decode()
    assert 'action="/admin/sign-out"' in page

    response = console_post(client, "/admin/sign-out", token_from="/platform/brands/list/")

    assert response.status_code == 302
    assert urlsplit(client.get("/platform/brands/list/").headers["Location"]).path == \
        "/admin/sign-in"


def test_no_login_form_of_appbuilder(runtime, client):
    sign_in_admin(runtime, client)

    for path in ("/platform/login/", "/platform/register/form", "/platform/users/add",
                 "/platform/brands/add", "/platform/brands/delete/1"):
        assert client.get(path).status_code == 404, path


# --- Brands ----------------------------------------------------------------------------------

def test_created_brand_resolves(runtime, client):
    sign_in_admin(runtime, client)

    response = create_brand_in_console(client, "gamma", name="Gamma Games")

    assert response.status_code == 302
    assert client.get("/t/gamma/").status_code == 200
    assert b"gamma" in client.get("/platform/brands/list/").data


def test_brand_creation_audited(runtime, client):
    sign_in_admin(runtime, client)

    create_brand_in_console(client, "gamma")

    [entry] = audit_entries(runtime, "brand.create")
    assert entry.actor == f"user:{ADMIN}"
    assert entry.target == "brand:gamma"
    assert entry.client_address == CLIENT_ADDRESS


def test_validation_error_names_field(runtime, client):
    sign_in_admin(runtime, client)

    response = create_brand_in_console(client, "gamma", currency="EURO")

    assert response.status_code == 400
    page = response.data.decode()
    field = page[page.index('name="currency"'):]
    assert "unknown currency" in field[:600]
    assert brand_id(runtime, "gamma") is None


def test_brand_form_requires_csrf_token(runtime, client):
    sign_in_admin(runtime, client)

    response = client.post("/platform/brands/new/form", data={
        "slug": "gamma", "name": "Gamma", "region": "eu", "locale": "en", "currency": "EUR",
        "timezone": "UTC"})

    assert response.status_code == 400
    assert brand_id(runtime, "gamma") is None


def test_suspended_brand_answers_503(runtime, client, make_brand):
    make_brand("alpha")
    sign_in_admin(runtime, client)

    response = console_post(client, "/platform/brands/action_post",
                            token_from="/platform/brands/list/", action="suspend",
                            rowid=str(brand_id(runtime, "alpha")))

    assert response.status_code == 302
    assert client.get("/t/alpha/").status_code == 503


def test_suspension_audited(runtime, client, make_brand):
    make_brand("alpha")
    sign_in_admin(runtime, client)

    console_post(client, "/platform/brands/action_post", token_from="/platform/brands/list/",
                 action="suspend", rowid=str(brand_id(runtime, "alpha")))

    [entry] = audit_entries(runtime, "brand.status")
    assert entry.actor == f"user:{ADMIN}"
    assert entry.before == {"status": "active"}
    assert entry.after == {"status": "suspended"}


def test_resumed_brand_answers_again(runtime, client, make_brand):
    make_brand("alpha")
    sign_in_admin(runtime, client)
    for action in ("suspend", "resume"):
        console_post(client, "/platform/brands/action_post",
                     token_from="/platform/brands/list/", action=action,
                     rowid=str(brand_id(runtime, "alpha")))

    assert client.get("/t/alpha/").status_code == 200


def test_region_move_request_recorded(runtime, client, make_brand):
    make_brand("alpha")
    sign_in_admin(runtime, client)

    response = console_post(client, "/platform/region-moves/new/form", brand="alpha",
                            to_region="us", reason="customers moved")

    assert response.status_code == 302
    with runtime.platform_session() as db:
        move = db.scalar(select(RegionMoveRequest))
    assert (move.from_region, move.to_region, move.status) == ("eu", "us", "pending")
    [entry] = audit_entries(runtime, "brand.region_move_requested")
    assert entry.after["region"] == "us"


def test_region_move_to_home_rejected(runtime, client, make_brand):
    make_brand("alpha")
    sign_in_admin(runtime, client)

    response = console_post(client, "/platform/region-moves/new/form", brand="alpha",
                            to_region="eu")

    assert response.status_code == 400
    assert "already lives in region" in response.data.decode()


# --- Users and delegations ---------------------------------------------------------------------

def test_user_created_and_audited(runtime, client):
    sign_in_admin(runtime, client)

    response = console_post(client, "/platform/users/new/form", email="new@example.test",
                            name="New Person", password="granite-harbour-41")

    assert response.status_code == 302
    [entry] = [e for e in audit_entries(runtime, "user.create")
               if e.target == "user:new@example.test"]
    assert entry.actor == f"user:{ADMIN}"


def test_weak_password_names_field(runtime, client):
    sign_in_admin(runtime, client)

    response = console_post(client, "/platform/users/new/form", email="new@example.test",
                            password="short")

    assert response.status_code == 400
    page = response.data.decode()
    assert "at least" in page[page.index('name="password"'):][:600]


def user_id(runtime, email: str) -> int:
    with runtime.platform_session() as db:
        return db.scalar(select(User.id).where(User.email == email))


def test_user_deactivated(runtime, client):
    make_console_user(runtime, "leaver@example.test")
    sign_in_admin(runtime, client)

    console_post(client, "/platform/users/action_post", token_from="/platform/users/list/",
                 action="deactivate", rowid=str(user_id(runtime, "leaver@example.test")))

    with runtime.platform_session() as db:
        assert db.get(User, user_id(runtime, "leaver@example.test")).is_active is False
    [entry] = audit_entries(runtime, "user.deactivate")
    assert entry.target == "user:leaver@example.test"


def test_own_deactivation_rejected(runtime, client):
    sign_in_admin(runtime, client)

    console_post(client, "/platform/users/action_post", token_from="/platform/users/list/",
                 action="deactivate", rowid=str(user_id(runtime, ADMIN)))

    with runtime.platform_session() as db:
        assert db.get(User, user_id(runtime, ADMIN)).is_active is True
    assert audit_entries(runtime, "user.deactivate") == []


def test_platform_admin_granted(runtime, client):
    make_console_user(runtime, "helper@example.test")
    sign_in_admin(runtime, client)

    console_post(client, "/platform/users/action_post", token_from="/platform/users/list/",
                 action="grant_admin", rowid=str(user_id(runtime, "helper@example.test")))

    with runtime.platform_session() as db:
        assert db.get(User, user_id(runtime, "helper@example.test")).is_platform_admin
    [entry] = audit_entries(runtime, "user.platform_admin_grant")
    assert entry.after == {"platform_admin": True}


def test_delegation_created(runtime, client, make_brand):
    make_brand("alpha")
    make_console_user(runtime, "analyst@example.test")
    sign_in_admin(runtime, client)

    response = console_post(client, "/platform/delegations/new/form",
                            email="analyst@example.test", brand="alpha", role="analyst")

    assert response.status_code == 302
    with runtime.platform_session() as db:
        delegation = db.scalar(select(Delegation))
        assert (delegation.user.email, delegation.brand.slug, delegation.role) == \
            ("analyst@example.test", "alpha", "analyst")
    [entry] = audit_entries(runtime, "delegation.grant")
    assert entry.target == "delegation:analyst@example.test@alpha"
    assert entry.after == {"role": "analyst"}


def test_delegation_for_unknown_user_names_field(runtime, client, make_brand):
    make_brand("alpha")
    sign_in_admin(runtime, client)

    response = console_post(client, "/platform/delegations/new/form",
                            email="nobody@example.test", brand="alpha", role="admin")

    assert response.status_code == 400
    page = response.data.decode()
    assert "no user with the email" in page[page.index('name="email"'):][:600]


# --- Audit trail ---------------------------------------------------------------------------

def test_audit_list_filters_by_action(runtime, client, make_brand):
    make_brand("alpha")
    sign_in_admin(runtime, client)
    console_post(client, "/platform/brands/action_post", token_from="/platform/brands/list/",
                 action="suspend", rowid=str(brand_id(runtime, "alpha")))

    page = client.get("/platform/audit/list/?_flt_3_action=brand.status").data.decode()

    assert "brand.status" in page
    assert "brand.create" not in page


# --- Security headers ------------------------------------------------------------------------

def test_inline_scripts_carry_csp_nonce(runtime, client, make_brand):
    make_brand("alpha")
    sign_in_admin(runtime, client)

    response = client.get("/platform/brands/list/")

    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    scripts = re.findall(r"<script([^>]*)>", response.data.decode())
    assert scripts
    for attributes in scripts:
        assert f'nonce="{nonce}"' in attributes, attributes



def test_style_attributes_allowed_by_csp(runtime, client, make_brand):
    make_brand("alpha")
    sign_in_admin(runtime, client)

    for path in ("/platform/brands/list/", "/platform/brands/new/form",
                 f"/platform/brands/show/{brand_id(runtime, 'alpha')}"):
        response = client.get(path)
        policy = response.headers["Content-Security-Policy"]
        for value in set(re.findall(r'style="([^"]*)"', response.data.decode())):
            digest = base64.b64encode(hashlib.sha256(value.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in policy, (path, value)

# --- Every route and its policy ------------------------------------------------------------

@pytest.fixture
def console_routes(runtime, wsgi_app, make_brand):
    """Every route of the console app with a URL that reaches it and a method to call."""
    make_brand("alpha")
    make_console_user(runtime, OWNER, brand="alpha", role="owner")
    with runtime.platform_session() as db:
        record_ids = {
            "BrandView": brand_id(runtime, "alpha"),
            "UserView": user_id(runtime, OWNER),
            "DelegationView": db.scalar(select(Delegation.id)),
            "AuditView": db.scalar(select(PlatformAuditEntry.id)),
        }
        _request_move(db)
        record_ids["RegionMoveView"] = db.scalar(select(RegionMoveRequest.id))
    app = wsgi_app.console_app
    routes = []
    for rule in app.url_map.iter_rules():
        if endpoint_policies(app)[rule.endpoint] is PUBLIC:
            continue
        view = rule.endpoint.split(".")[0]
        actions = sorted(getattr(_view_instance(app, view), "actions", {}) or {})
        values = {"pk": record_ids.get(view), "name": actions[0] if actions else "",
                  "locale": "en"}
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>",
                      lambda match, values=values: str(values[match.group(1)]), rule.rule)
        method = "GET" if "GET" in rule.methods else "POST"
        form = {"action": actions[0]} if rule.endpoint.endswith("action_post") else {}
        routes.append((rule.endpoint, "/platform" + path, method, form))
    assert len(routes) > 20
    return routes


def _request_move(db: Session) -> None:
    from saas.platform.region_moves import request_region_move

    request_region_move(db, {"eu": "", "us": ""}, "alpha", "us", actor="test")
    db.commit()


def _view_instance(app, name: str):
    for view in app.appbuilder.baseviews:
        if view.__class__.__name__ == name:
            return view
    return None


def test_every_route_has_a_policy(runtime, wsgi_app):
    app = wsgi_app.console_app
    policies = endpoint_policies(app)

    assert set(policies) == {rule.endpoint for rule in app.url_map.iter_rules()}
    assert {e for e, p in policies.items() if p is PUBLIC} == {"appbuilder.static"}
    assert all(p is PLATFORM_ADMIN for e, p in policies.items() if e != "appbuilder.static")


def test_every_route_rejects_anonymous(runtime, client, console_routes):
    for endpoint, path, method, form in console_routes:
        response = client.open(path, method=method, data=form)
        if method == "GET":
            assert response.status_code == 302, (endpoint, response.status)
            assert urlsplit(response.headers["Location"]).path == "/admin/sign-in", endpoint
        else:
            assert response.status_code == 401, (endpoint, response.status)


def test_every_route_rejects_brand_owner(runtime, client, console_routes):
    # The platform host signs in platform admins only. So the owner signs in while still an
    # admin and loses the right afterwards, while the session itself stays valid.
    make_console_user(runtime, "owner2@example.test", brand="alpha", role="owner")
    with runtime.platform_session() as db:
        set_platform_admin(db, user_id(runtime, "owner2@example.test"), True, actor="test")
        db.commit()
    secret = _secret_of(runtime, "owner2@example.test")
    assert console_sign_in(runtime, client, "", "owner2@example.test", secret).status_code == 302
    with runtime.platform_session() as db:
        set_platform_admin(db, user_id(runtime, "owner2@example.test"), False, actor="test")
        db.commit()

    for endpoint, path, method, form in console_routes:
        response = client.open(path, method=method, data=form)
        assert response.status_code == 403, (endpoint, response.status)


def _secret_of(runtime, email: str) -> str:
    with runtime.platform_session() as db:
        return db.scalar(select(User.totp_secret).where(User.email == email))


def test_every_route_accepts_platform_admin(runtime, client, console_routes):
    sign_in_admin(runtime, client)
    token = token_on(client, "/platform/brands/new/form")

    for endpoint, path, method, form in console_routes:
        data = {**form, "csrf_token": token} if method == "POST" else None
        response = client.open(path, method=method, data=data)
        assert 200 <= response.status_code < 400, (endpoint, path, response.status)
