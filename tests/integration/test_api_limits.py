"""Partner rate limits on Redis: keyed by brand and verified client, with headers, and
failing open when Redis is unreachable."""

from dataclasses import replace

import pytest
from api_helpers import bearer, make_partner
from conftest import RedisServer
from werkzeug.test import Client

from saas.runtime import Runtime, set_process_runtime
from saas.tenancy.provisioning import BrandSpec, create_brand
from saas.tenancy.upgrades import upgrade_platform
from saas.wsgi_app import create_wsgi_app


def start(settings, redis_url):
    runtime = Runtime(replace(settings, redis_url=redis_url))
    upgrade_platform(runtime)
    set_process_runtime(runtime)
    for slug in ("alpha", "beta"):
        create_brand(runtime, BrandSpec(slug=slug, name=slug.title()))
    return runtime


@pytest.fixture
def limited(settings, redis_url):
    runtime = start(settings, redis_url)
    yield runtime
    set_process_runtime(None)
    runtime.close()


@pytest.mark.redis
def test_limit_counts_per_client_whatever_the_headers(limited):
    client = Client(create_wsgi_app(runtime=limited))
    alpha = bearer(client, "/t/alpha", *make_partner(limited, "alpha", "rewards:read"),
                   "rewards:read")
    beta = bearer(client, "/t/beta", *make_partner(limited, "beta", "rewards:read"),
                  "rewards:read")
    statuses = [client.get("/t/alpha/api/v1/rewards",
                           headers={**alpha, "X-Brand": f"brand-{index}",
                                    "X-Forwarded-For": f"10.0.0.{index % 250}"}).status_code
                for index in range(150)]
    beta_status = client.get("/t/beta/api/v1/rewards", headers=beta).status_code
    assert statuses.count(200) == 120
    assert statuses.count(429) == 30
    assert beta_status == 200


@pytest.mark.redis
def test_limit_headers_and_retry_after(limited):
    client = Client(create_wsgi_app(runtime=limited))
    auth = bearer(client, "/t/alpha", *make_partner(limited, "alpha", "rewards:read",
                                                    rate_limit="2/minute"), "rewards:read")
    responses = [client.get("/t/alpha/api/v1/rewards", headers=auth) for _ in range(3)]
    assert responses[0].headers["RateLimit-Limit"] == "2"
    assert responses[1].headers["RateLimit-Remaining"] == "0"
    assert responses[2].status_code == 429
    assert int(responses[2].headers["Retry-After"]) > 0


@pytest.mark.redis
def test_limit_is_per_partner_setting(limited):
    client = Client(create_wsgi_app(runtime=limited))
    tight = bearer(client, "/t/alpha", *make_partner(limited, "alpha", "rewards:read",
                                                     name="Tight", rate_limit="1/minute"),
                   "rewards:read")
    loose = bearer(client, "/t/alpha", *make_partner(limited, "alpha", "rewards:read",
                                                     name="Loose", rate_limit="5/minute"),
                   "rewards:read")
    tight_statuses = [client.get("/t/alpha/api/v1/rewards", headers=tight).status_code
                      for _ in range(2)]
    loose_statuses = [client.get("/t/alpha/api/v1/rewards", headers=loose).status_code
                      for _ in range(2)]
    assert tight_statuses == [200, 429]
    assert loose_statuses == [200, 200]


@pytest.mark.redis
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_limiter_fails_open_when_redis_is_down(settings, tmp_path, caplog):
    server = RedisServer(tmp_path)
    server.start()
    runtime = start(settings, server.url)
    client = Client(create_wsgi_app(runtime=runtime))
    auth = bearer(client, "/t/alpha", *make_partner(runtime, "alpha", "rewards:read",
                                                    rate_limit="1/minute"), "rewards:read")
    server.stop()
    statuses = [client.get("/t/alpha/api/v1/rewards", headers=auth).status_code
                for _ in range(3)]
    set_process_runtime(None)
    runtime.close()
    assert statuses == [200, 200, 200]
    assert "Failed to rate limit" in caplog.text
