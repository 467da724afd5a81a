"""Shared fixtures: real PostgreSQL and Redis, per-test databases, brands and apps.

Every database a test creates carries a prefix unique to this test session and is dropped
afterwards; Redis tests use a redis-server this session starts on a free port. Under
CI=true a missing PostgreSQL, Redis or Chromium fails the run instead of skipping tests.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from redis import Redis

from saas.config import Settings
from saas.runtime import Runtime, set_process_runtime
from saas.tenancy.provisioning import BrandSpec, create_brand
from saas.tenancy.upgrades import upgrade_platform

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_SERVER = os.environ.get("TESSERA_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
SESSION_PREFIX = f"tt{uuid.uuid4().hex[:8]}"
NEEDS_SERVICE = ("postgres", "redis", "browser")


def require(available: bool, what: str) -> None:
    """Skip when a service is missing, but fail under CI, where every test must run."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but is not available")
    pytest.skip(f"{what} is not available")


def pytest_sessionfinish(session, exitstatus):
    # A skipped PostgreSQL, Redis or browser test under CI means the run proved less than
    # it claims, so the run fails.
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    service_skips = [r for r in skipped if any(m in r.keywords for m in NEEDS_SERVICE)]
    if service_skips:
        names = ", ".join(r.nodeid for r in service_skips[:5])
        reporter.write_line(f"CI=true: {len(service_skips)} service tests skipped: {names}")
        session.exitstatus = 1


def pytest_collection_modifyitems(items):
    for item in items:
        if "backend" in getattr(item, "fixturenames", ()):
            callspec = getattr(item, "callspec", None)
            if callspec and callspec.params.get("backend") == "postgres":
                item.add_marker(pytest.mark.postgres)


# --- PostgreSQL -------------------------------------------------------------------------

def _pg_reachable() -> bool:
    try:
        with psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def pg_server() -> str:
    require(_pg_reachable(), f"PostgreSQL at {PG_SERVER}")
    yield PG_SERVER
    drop_databases(SESSION_PREFIX)


def drop_databases(prefix: str) -> None:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        names = [row[0] for row in connection.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix + "%",)
        )]
        for name in names:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- Redis --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A private redis-server on its own port, so tests never touch the shared one."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> RedisServer:
    require(shutil.which("redis-server") is not None, "redis-server")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    client = Redis.from_url(redis_server.url)
    client.flushdb()  # the private server of this test session only
    return redis_server.url


# --- Settings, runtime, brands -----------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgres"])
def backend(request) -> str:
    """Run a data-layer test once on SQLite and once on PostgreSQL."""
    if request.param == "postgres":
        request.getfixturevalue("pg_server")
    return request.param


def make_settings(backend: str, tmp_path: Path, **overrides) -> Settings:
    if backend == "postgres":
        prefix = f"{SESSION_PREFIX}_{uuid.uuid4().hex[:6]}"
        platform_url = f"{PG_SERVER}/{prefix}_platform"
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{prefix}_platform"')
        regions = {name: f"{PG_SERVER}/{prefix}_{name}_{{brand}}" for name in ("eu", "us")}
    else:
        platform_url = f"sqlite:///{tmp_path}/platform.db"
        regions = {name: f"sqlite:///{tmp_path}/{name}/{{brand}}.db" for name in ("eu", "us")}
    values = {
        "database_url": platform_url,
        "regions": regions,
        "default_region": "eu",
        "secret_key": secrets.token_urlsafe(48),
        "base_domain": "loyalty.test",
        "instance_path": tmp_path,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(backend, tmp_path) -> Settings:
    return make_settings(backend, tmp_path)


@pytest.fixture
def runtime(settings) -> Runtime:
    runtime = Runtime(settings, application_name=f"{SESSION_PREFIX}-test")
    upgrade_platform(runtime)
    set_process_runtime(runtime)
    yield runtime
    set_process_runtime(None)
    runtime.close()
    if settings.database_url.startswith("postgresql"):
        drop_databases(settings.database_url.rsplit("/", 1)[1].removesuffix("_platform"))


@pytest.fixture
def make_brand(runtime):
    def make(slug: str, **fields):
        fields.setdefault("name", slug.title())
        fields.setdefault("domains", [f"{slug}.example.test"])
        return create_brand(runtime, BrandSpec(slug=slug, **fields))

    return make


@pytest.fixture
def wsgi_app(runtime):
    from saas.wsgi_app import create_wsgi_app

    return create_wsgi_app(runtime=runtime)


@pytest.fixture
def client(wsgi_app):
    from werkzeug.test import Client

    return Client(wsgi_app)
