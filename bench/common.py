"""Shared set-up for benchmarks: a throw-away platform and brand on the local PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from saas.config import Settings
from saas.runtime import Runtime
from saas.tenancy.upgrades import upgrade_platform

PG_SERVER = os.environ.get("TESSERA_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")


@contextlib.contextmanager
def bench_runtime() -> Iterator[tuple[Runtime, str]]:
    """Yield a runtime whose databases carry a unique prefix; drop them afterwards."""
    prefix = f"tbench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{prefix}_platform"')
    settings = Settings(
        database_url=f"{PG_SERVER}/{prefix}_platform",
        regions={"us": f"{PG_SERVER}/{prefix}_us_{{brand}}"},
        default_region="us", secret_key=secrets.token_urlsafe(48), base_domain="bench.test",
        instance_path=Path(tempfile.mkdtemp(prefix="tessera-bench-")),
    )
    runtime = Runtime(settings, application_name=prefix)
    try:
        upgrade_platform(runtime)
        yield runtime, prefix
    finally:
        runtime.close()
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
            names = [row[0] for row in connection.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix + "%",))]
            for name in names:
                connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def machine() -> str:
    cores = os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    with psycopg.connect(f"{PG_SERVER}/postgres") as connection:
        server = connection.execute("SHOW server_version").fetchone()[0]
    return (f"{platform.machine()}, {cores} cores, {memory:.0f} GiB, Python "
            f"{platform.python_version()}, PostgreSQL {server}, "
            f"{datetime.now(UTC):%Y-%m-%d}")
