"""Brand resolution and isolation, on SQLite and PostgreSQL."""

import pytest
from console_helpers import console_sign_in, make_console_user
from sqlalchemy import select

from saas.jobs.models import JobRecord
from saas.platform.models import BrandStatus, Delegation, User
from saas.tenancy.provisioning import set_brand_status
from saas.web.policy import PUBLIC, allow


def add_job_row(runtime, slug, job_id, name):
    with runtime.brand_session(slug) as session:
        session.add(JobRecord(id=job_id, name=name, queue="default", params={}))
        session.commit()


def admin_of(runtime, *slugs):
    """Create one console admin of every brand in ``slugs``; return its TOTP secret."""
    secret = make_console_user(runtime, "ops@example.com", brand=slugs[0], role="admin")
    with runtime.platform_session() as db:
        user_id = db.scalar(select(User.id).where(User.email == "ops@example.com"))
        for slug in slugs[1:]:
            db.add(Delegation(user_id=user_id, brand_id=runtime.brand(slug).id, role="admin"))
        db.commit()
    return secret


def test_same_id_resolves_per_host(runtime, make_brand, client):
    make_brand("alpha")
    make_brand("beta")
    add_job_row(runtime, "alpha", "7", "Free coffee")
    add_job_row(runtime, "beta", "7", "Cinema ticket")
    secret = admin_of(runtime, "alpha", "beta")
    for host in ("alpha.example.test", "beta.example.test"):
        console_sign_in(runtime, client, "", "ops@example.com", secret, host=host)

    alpha = client.get("/jobs/7", headers={"Host": "alpha.example.test"})
    beta = client.get("/jobs/7", headers={"Host": "beta.example.test"})

    assert alpha.json["name"] == "Free coffee"
    assert beta.json["name"] == "Cinema ticket"


def test_same_id_resolves_per_prefix(runtime, make_brand, client):
    make_brand("alpha")
    make_brand("beta")
    add_job_row(runtime, "alpha", "7", "Free coffee")
    add_job_row(runtime, "beta", "7", "Cinema ticket")
    secret = admin_of(runtime, "alpha", "beta")
    for slug in ("alpha", "beta"):
        console_sign_in(runtime, client, f"/t/{slug}", "ops@example.com", secret)

    assert client.get("/t/alpha/jobs/7").json["name"] == "Free coffee"
    assert client.get("/t/beta/jobs/7").json["name"] == "Cinema ticket"


def test_subdomain_of_base_domain_resolves(make_brand, client):
    make_brand("alpha", name="Alpha Shop")
    response = client.get("/", headers={"Host": "ALPHA.loyalty.test:8443"})
    assert response.status_code == 200
    assert b"Alpha Shop" in response.data


def test_unknown_host_is_404(make_brand, client):
    make_brand("alpha")
    assert client.get("/", headers={"Host": "nobody.example.test"}).status_code == 404


def test_unknown_slug_is_404(make_brand, client):
    make_brand("alpha")
    assert client.get("/t/nobody/").status_code == 404


def test_prefix_on_brand_host_is_404(make_brand, client):
    make_brand("alpha")
    make_brand("beta")
    response = client.get("/t/alpha/", headers={"Host": "beta.example.test"})
    assert response.status_code == 404


def test_platform_path_under_prefix_is_404(make_brand, client):
    make_brand("alpha")
    assert client.get("/t/alpha/platform").status_code == 404


def test_suspended_brand_is_503(runtime, make_brand, client):
    make_brand("alpha")
    set_brand_status(runtime, "alpha", BrandStatus.SUSPENDED)
    response = client.get("/", headers={"Host": "alpha.example.test"})
    assert response.status_code == 503
    assert b"paused" in response.data


def test_platform_index_lists_brands_in_development(make_brand, client):
    make_brand("alpha", name="Alpha Shop")
    response = client.get("/", headers={"Host": "localhost:8000"})
    assert response.status_code == 200
    assert b'href="/t/alpha/"' in response.data


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_platform_index_lists_nothing_in_production(settings, tmp_path):
    from dataclasses import replace

    from werkzeug.test import Client

    from saas.runtime import Runtime
    from saas.tenancy.provisioning import BrandSpec, create_brand
    from saas.tenancy.upgrades import upgrade_platform
    from saas.wsgi_app import create_wsgi_app

    runtime = Runtime(replace(settings, env="production"))
    upgrade_platform(runtime)
    create_brand(runtime, BrandSpec(slug="secret-brand", name="Secret"))
    response = Client(create_wsgi_app(runtime=runtime)).get("/", headers={"Host": "localhost"})
    runtime.close()
    assert response.status_code == 200
    assert b"secret-brand" not in response.data
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_session_cookie_rejected_on_other_brand(make_brand, wsgi_app):
    from flask import session
    from werkzeug.test import Client

    make_brand("alpha")
    make_brand("beta")
    brand_app = wsgi_app.brand_app

    @brand_app.get("/test-session/<value>")
    @allow(PUBLIC)
    def set_value(value):
        session["who"] = value
        return {"who": session.get("who")}

    @brand_app.get("/test-session")
    @allow(PUBLIC)
    def get_value():
        return {"who": session.get("who")}

    alpha = Client(wsgi_app)
    alpha.get("/test-session/alice", headers={"Host": "alpha.example.test"})
    cookie = alpha.get_cookie("tessera_session", domain="alpha.example.test")

    beta = Client(wsgi_app)
    beta.set_cookie("tessera_session", cookie.value, domain="beta.example.test")
    seen_on_beta = beta.get("/test-session", headers={"Host": "beta.example.test"})
    seen_on_alpha = alpha.get("/test-session", headers={"Host": "alpha.example.test"})

    assert seen_on_alpha.json["who"] == "alice"
    assert seen_on_beta.json["who"] is None


def test_prefix_cookie_path_is_brand_prefix(make_brand, wsgi_app):
    from flask import session
    from werkzeug.test import Client

    make_brand("alpha")

    @wsgi_app.brand_app.get("/test-session/<value>")
    def set_value(value):
        session["who"] = value
        return {}

    response = Client(wsgi_app).get("/t/alpha/test-session/alice")
    assert "Path=/t/alpha/" in response.headers["Set-Cookie"]


def test_security_headers_present(make_brand, client):
    make_brand("alpha")
    headers = client.get("/", headers={"Host": "alpha.example.test"}).headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "'nonce-" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in headers


def test_forwarded_host_ignored_without_trusted_proxies(make_brand, client):
    make_brand("alpha")
    response = client.get("/", headers={"Host": "nobody.test", "X-Forwarded-Host": "alpha.example.test"})
    assert response.status_code == 404
