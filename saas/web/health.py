"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from saas.web.policy import PUBLIC, allow

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@allow(PUBLIC)
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
@allow(PUBLIC)
def readyz():
    """503 without the platform database; 200 but "degraded" when Redis is down."""
    runtime = current_app.extensions["tessera"]
    checks = {"platform_database": "ok", "redis": "not configured"}
    status = "ok"
    try:
        with runtime.platform_engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.error("readiness: platform database unreachable: %s", exc)
        checks["platform_database"] = "unreachable"
        return {"status": "unavailable", "checks": checks}, 503
    if runtime.redis is not None:
        try:
            runtime.redis.ping()
            checks["redis"] = "ok"
        except RedisError as exc:
            log.warning("readiness: Redis unreachable: %s", exc)
            checks["redis"] = "unreachable"
            status = "degraded"
    return {"status": status, "checks": checks}
