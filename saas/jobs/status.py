"""One way to read a job's progress and outcome, whichever runner executed it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from saas.jobs.models import JobRecord


@dataclass(frozen=True)
class JobView:
    id: str
    name: str
    status: str
    progress_done: int
    progress_total: int | None
    percent: int | None
    message: str
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def is_done(self) -> bool:
        return self.status in ("finished", "failed")

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("created_at", "started_at", "finished_at"):
            data[key] = data[key].isoformat() if data[key] else None
        # Tracebacks are for operators, so the status shows only the error's first line.
        data["error"] = self.error.splitlines()[0] if self.error else None
        return data


def job_status(session: Session, job_id: str) -> JobView | None:
    """Return the status of job ``job_id`` in this brand's database, or None if unknown."""
    record = session.get(JobRecord, job_id)
    if record is None:
        return None
    return JobView(
        id=record.id,
        name=record.name,
        status=str(record.status),
        progress_done=record.progress_done,
        progress_total=record.progress_total,
        percent=record.percent,
        message=record.message,
        result=record.result,
        error=record.error,
        created_at=record.created_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
    )
