"""The table of job functions, by name, with their queue, retries, timeout and schedule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from saas.jobs import QUEUES


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable[..., dict[str, Any] | None]
    queue: str
    retries: int
    timeout: int
    # Seconds between scheduled runs for every active brand, or None for on-demand jobs.
    every: int | None


_JOBS: dict[str, JobSpec] = {}


def job(
    name: str,
    *,
    queue: str = "default",
    retries: int = 3,
    timeout: int = 3600,
    every: int | None = None,
) -> Callable:
    """Register ``func(ctx, **params)`` as job ``name``; it returns a JSON-able result or None."""
    if queue not in QUEUES:
        raise ValueError(f"job {name!r} names queue {queue!r}; queues are {', '.join(QUEUES)}")

    def register(func: Callable) -> Callable:
        if name in _JOBS and _JOBS[name].func is not func:
            raise ValueError(f"job name {name!r} is registered twice")
        _JOBS[name] = JobSpec(name, func, queue, retries, timeout, every)
        return func

    return register


def get_job(name: str) -> JobSpec:
    load_jobs()
    try:
        return _JOBS[name]
    except KeyError:
        raise LookupError(f"unknown job {name!r}; known jobs: {', '.join(sorted(_JOBS))}") from None


def periodic_jobs() -> list[JobSpec]:
    load_jobs()
    return [spec for spec in _JOBS.values() if spec.every]


def load_jobs() -> None:
    """Import the modules that define jobs, so the table is complete in every process."""
    from worker import jobs, partner_jobs  # noqa: F401
