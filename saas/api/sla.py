"""Service levels of partners: each API request is recorded, and a job sums the requests of
each partner and UTC day into error rates and latency percentiles, and flags a day that
breaks the partner's objectives.

Availability is the share of requests not answered with a 5xx; the error rate is the share
answered with any 4xx or 5xx.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime, timedelta

import numpy as np
from flask import Response, g, request
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from saas.api.models import ApiRequest, Partner, PartnerSlaDay
from saas.db import commit_without_waiting, utcnow
from saas.web.tenant import brand_db

log = logging.getLogger(__name__)

KEEP_REQUESTS = timedelta(days=8)


def start_timer() -> None:
    g.api_started = time.perf_counter()


def record_request(response: Response) -> Response:
    """Store the request of a verified partner; a failure to store never fails the request."""
    partner = g.get("api_partner")
    started = g.get("api_started")
    if partner is None or started is None:
        return response
    duration = (time.perf_counter() - started) * 1000
    db = brand_db()
    try:
        db.rollback()
        # A statistic: losing the last moment's records in a crash is acceptable.
        commit_without_waiting(db)
        db.add(ApiRequest(partner_id=partner.id, endpoint=(request.endpoint or "")[:80],
                          status=response.status_code, duration_ms=round(duration, 3),
                          at=utcnow()))
        db.commit()
    except Exception:
        db.rollback()
        log.exception("could not record the API request of partner %s", partner.id)
    return response


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def breaches_of(partner: Partner, row: PartnerSlaDay) -> dict[str, list[float]]:
    """Return the objectives a day missed, each as [measured, objective]."""
    if not row.requests:
        return {}
    found: dict[str, list[float]] = {}
    availability = 100 * (1 - row.server_errors / row.requests)
    error_rate = 100 * (row.server_errors + row.client_errors) / row.requests
    if availability < partner.sla_availability:
        found["availability"] = [round(availability, 3), partner.sla_availability]
    if error_rate > partner.sla_error_rate:
        found["error_rate"] = [round(error_rate, 3), partner.sla_error_rate]
    if row.p95_ms is not None and row.p95_ms > partner.sla_p95_ms:
        found["p95_ms"] = [round(row.p95_ms, 1), partner.sla_p95_ms]
    return found


def summarise_day(session: Session, partner: Partner, day: date) -> PartnerSlaDay:
    """Compute (or recompute) one partner's day; the caller commits."""
    start, end = _day_bounds(day)
    rows = session.execute(select(ApiRequest.status, ApiRequest.duration_ms).where(
        ApiRequest.partner_id == partner.id, ApiRequest.at >= start, ApiRequest.at < end)).all()
    summary = session.scalar(select(PartnerSlaDay).where(PartnerSlaDay.partner_id == partner.id,
                                                         PartnerSlaDay.day == day))
    if summary is None:
        summary = PartnerSlaDay(partner_id=partner.id, day=day)
        session.add(summary)
    durations = np.array([duration for _status, duration in rows], dtype=float)
    summary.requests = len(rows)
    summary.server_errors = sum(1 for status, _duration in rows if status >= 500)
    summary.client_errors = sum(1 for status, _duration in rows if 400 <= status < 500)
    if len(rows):
        p50, p95, p99 = np.percentile(durations, [50, 95, 99])
        summary.p50_ms, summary.p95_ms, summary.p99_ms = float(p50), float(p95), float(p99)
    else:
        summary.p50_ms = summary.p95_ms = summary.p99_ms = None
    found = breaches_of(partner, summary)
    summary.breached = bool(found)
    summary.breaches = found or None
    summary.computed_at = utcnow()
    return summary


def summarise_recent(session: Session, now: datetime | None = None) -> int:
    """Summarise today and yesterday for every partner and drop old request rows."""
    now = now or utcnow()
    today = now.astimezone(UTC).date()
    count = 0
    for partner in session.scalars(select(Partner)):
        for day in (today - timedelta(days=1), today):
            summarise_day(session, partner, day)
            count += 1
    session.execute(delete(ApiRequest).where(ApiRequest.at < now - KEEP_REQUESTS))
    session.commit()
    return count
