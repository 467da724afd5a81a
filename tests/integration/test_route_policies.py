"""Every route of the brand app declares who may call it, and every non-public route turns
away an anonymous caller, a caller without the role and a caller from another brand."""

import re

import pytest
from console_helpers import console_sign_in, make_console_user
from werkzeug.test import Client

from saas.web.policy import policy_of

# Values for the URL variables of the brand app's routes.
SAMPLE_VALUES = {"ref": "M-1", "code": "X1", "job_id": "job-1", "token": "token-1",
                 "user_id": 1, "filename": "css/base.css", "upload_id": "0" * 32,
                 "client_id": "tsr_0", "endpoint_id": 1, "event_id": 1,
                 "report_id": 1, "day": "2025-01-01"}
REFUSED_ANONYMOUS = (302, 401)


def brand_routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def path_of(rule) -> str:
    return rule.build({name: SAMPLE_VALUES[name] for name in rule.arguments},
                      append_unknown=False)[1]


def token_of(client, path) -> str:
    page = client.get(path)
    return re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()


def call(client, method, path, token):
    return client.open(path, method=method, data={"csrf_token": token} if method != "GET"
                       else None, headers={"X-CSRFToken": token})


@pytest.fixture
def brands(make_brand):
    make_brand("alpha")
    make_brand("beta")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_route_declares_a_policy(wsgi_app):
    app = wsgi_app.brand_app
    missing = [rule.endpoint for rule in app.url_map.iter_rules()
               if policy_of(app, rule.endpoint) is None]
    assert missing == []


def test_route_without_policy_is_refused(brands, wsgi_app, client):
    app = wsgi_app.brand_app
    app.add_url_rule("/undeclared", "undeclared", lambda: "open")
    assert client.get("/t/alpha/undeclared").status_code == 500


def protected(app):
    for rule, method in brand_routes(app):
        policy = policy_of(app, rule.endpoint)
        if policy.kind != "public":
            yield rule, method, policy


def test_anonymous_callers_are_refused(brands, wsgi_app, client):
    app = wsgi_app.brand_app
    token = token_of(client, "/t/alpha/sign-in")
    let_through = []
    for rule, method, _policy in protected(app):
        path = "/t/alpha" + path_of(rule)
        status = call(client, method, path, token).status_code
        if status not in REFUSED_ANONYMOUS:
            let_through.append((method, path, status))
    assert let_through == []


def test_callers_without_the_role_are_refused(runtime, brands, wsgi_app, client):
    app = wsgi_app.brand_app
    clients = {}
    for role in ("owner", "admin", "analyst", "support"):
        secret = make_console_user(runtime, f"{role}@example.com", brand="alpha", role=role)
        clients[role] = Client(wsgi_app)
        console_sign_in(runtime, clients[role], "/t/alpha", f"{role}@example.com", secret)
    let_through = []
    checked = 0
    for rule, method, policy in protected(app):
        path = "/t/alpha" + path_of(rule)
        outsiders = [role for role in clients if role not in policy.roles]
        for role in outsiders:
            response = call(clients[role], method, path, token_of(clients[role],
                                                                   "/t/alpha/admin/"))
            expected = {"member": (302,), "partner": (401,)}.get(policy.kind, (403,))
            checked += 1
            if response.status_code not in expected:
                let_through.append((role, method, path, response.status_code))
    assert checked > 0
    assert let_through == []


def test_callers_from_another_brand_are_refused(runtime, brands, wsgi_app, client):
    app = wsgi_app.brand_app
    secret = make_console_user(runtime, "bea@example.com", brand="beta", role="owner")
    console_sign_in(runtime, client, "/t/beta", "bea@example.com", secret)
    beta_cookie = next(cookie.value for cookie in client._cookies.values()
                       if cookie.key == "tessera_session")
    intruder = Client(wsgi_app)
    intruder.set_cookie("tessera_session", beta_cookie, path="/t/alpha/")
    token = token_of(client, "/t/beta/admin/")
    let_through = []
    for rule, method, _policy in protected(app):
        path = "/t/alpha" + path_of(rule)
        status = call(intruder, method, path, token).status_code
        # A write may already fail the CSRF check (400): the token belongs to beta's session.
        if status not in (*REFUSED_ANONYMOUS, 400):
            let_through.append((method, path, status))
    assert let_through == []
