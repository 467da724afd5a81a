"""Liveness and readiness probes."""

from dataclasses import replace

import pytest
from conftest import RedisServer
from werkzeug.test import Client

from saas.runtime import Runtime
from saas.wsgi_app import create_wsgi_app


def test_healthz_on_any_host(client):
    assert client.get("/healthz", headers={"Host": "whatever.test"}).json == {"status": "ok"}


def test_readyz_ok_without_redis(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"platform_database": "ok", "redis": "not configured"}


@pytest.mark.redis
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_readyz_degraded_when_redis_down(settings, runtime, tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    own = Runtime(replace(settings, redis_url=server.url))
    client = Client(create_wsgi_app(runtime=own))
    healthy = client.get("/readyz")
    server.stop()
    degraded = client.get("/readyz")
    own.close()

    assert healthy.json["checks"]["redis"] == "ok"
    assert degraded.status_code == 200
    assert degraded.json["status"] == "degraded"
    assert degraded.json["checks"]["redis"] == "unreachable"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_readyz_503_without_platform_database(settings, tmp_path):
    broken = Runtime(replace(settings, database_url=f"sqlite:///{tmp_path}/missing/dir/p.db"))
    response = Client(create_wsgi_app(runtime=broken)).get("/readyz")
    broken.close()
    assert response.status_code == 503
    assert response.json["checks"]["platform_database"] == "unreachable"
