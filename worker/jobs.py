"""Job functions. Each takes a JobContext for one brand and returns a JSON-able result."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from saas.db import utcnow
from saas.jobs.execution import JobContext
from saas.jobs.models import JobRecord, JobStatus
from saas.jobs.registry import job

# Days a finished or failed job's status stays readable.
JOB_RETENTION_DAYS = 30


@job("jobs.purge", queue="default", every=24 * 3600)
def purge_old_jobs(ctx: JobContext) -> dict:
    """Delete status rows of jobs that ended more than JOB_RETENTION_DAYS ago."""
    cutoff = utcnow() - timedelta(days=JOB_RETENTION_DAYS)
    result = ctx.session.execute(
        delete(JobRecord).where(
            JobRecord.status.in_([JobStatus.FINISHED, JobStatus.FAILED]),
            JobRecord.finished_at < cutoff,
        )
    )
    return {"deleted": result.rowcount}
