"""Run one job for one brand and keep its status row current."""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from saas.db import utcnow
from saas.jobs import NoBrandContext
from saas.jobs.models import JobRecord, JobStatus
from saas.jobs.registry import get_job
from saas.logging import bind_context
from saas.runtime import Runtime, process_runtime
from saas.tenancy.brands import BrandInfo

log = logging.getLogger(__name__)


@dataclass
class JobContext:
    """The argument of every job function: its brand, a session on that brand, and progress."""

    runtime: Runtime
    brand: BrandInfo
    session: Session
    job_id: str

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Record progress in the job's own session; readers see it at the job's next commit.

        A separate transaction would be visible sooner on PostgreSQL but would wait forever
        on SQLite's single write lock held by the job itself, so long jobs commit in batches.
        """
        record = self.session.get(JobRecord, self.job_id)
        record.progress_done = done
        if total is not None:
            record.progress_total = total
        if message is not None:
            record.message = message


def run_job(brand_slug: str | None, job_id: str, runtime: Runtime | None = None) -> dict | None:
    """Execute job ``job_id`` of brand ``brand_slug``; the entry point of RQ and the thread."""
    if not brand_slug:
        raise NoBrandContext()
    runtime = runtime or process_runtime()
    brand = runtime.brand(brand_slug)
    with bind_context(brand=brand.slug, job_id=job_id):
        _mark(runtime, brand, job_id, status=JobStatus.STARTED, started_at=utcnow())
        try:
            result = _execute(runtime, brand, job_id)
        except Exception as exc:
            log.exception("job %s failed", job_id)
            _mark(runtime, brand, job_id, status=JobStatus.FAILED, finished_at=utcnow(),
                  error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}")
            raise
        _mark(runtime, brand, job_id, status=JobStatus.FINISHED, finished_at=utcnow(),
              result=result, error=None)
        log.info("job %s finished", job_id)
        return result


def _execute(runtime: Runtime, brand: BrandInfo, job_id: str) -> dict[str, Any] | None:
    with runtime.open_brand_session(brand) as session:
        record = session.get(JobRecord, job_id)
        if record is None:
            raise LookupError(f"job {job_id} is not recorded in brand {brand.slug!r}")
        spec = get_job(record.name)
        params = dict(record.params or {})
        log.info("job %s (%s) started, attempt %d", job_id, spec.name, record.attempts)
        context = JobContext(runtime=runtime, brand=brand, session=session, job_id=job_id)
        result = spec.func(context, **params)
        session.commit()
        return result


def _mark(runtime: Runtime, brand: BrandInfo, job_id: str, **values: Any) -> None:
    with runtime.open_brand_session(brand) as session:
        record = session.get(JobRecord, job_id)
        if record is None:
            raise LookupError(f"job {job_id} is not recorded in brand {brand.slug!r}")
        for name, value in values.items():
            setattr(record, name, value)
        if values.get("status") == JobStatus.STARTED:
            record.attempts += 1
        session.commit()
