"""Put jobs on RQ, or on the embedded background thread when no Redis is configured."""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from typing import Any

from redis.exceptions import RedisError
from rq import Queue, Retry

from saas.jobs import NoBrandContext
from saas.jobs.execution import run_job
from saas.jobs.models import JobRecord, JobStatus
from saas.jobs.registry import get_job
from saas.runtime import Runtime

log = logging.getLogger(__name__)

# Seconds before each retry of a failed job.
RETRY_INTERVALS = [10, 60, 300]


class JobQueueUnavailable(RuntimeError):
    """The job was recorded but could not be queued, and its status records the failure."""


def enqueue(runtime: Runtime, brand_slug: str | None, name: str, **params: Any) -> str:
    """Record job ``name`` for the brand, queue it after the record is committed, return its id."""
    if not brand_slug:
        raise NoBrandContext()
    spec = get_job(name)
    brand = runtime.brand(brand_slug)
    job_id = str(uuid.uuid4())
    with runtime.open_brand_session(brand) as session:
        session.add(JobRecord(id=job_id, name=name, queue=spec.queue, params=params))
        session.commit()

    try:
        backend(runtime).submit(spec.queue, brand.slug, job_id, spec.retries, spec.timeout)
    except RedisError as exc:
        log.error("could not queue job %s (%s) for %s: %s", job_id, name, brand.slug, exc)
        with runtime.open_brand_session(brand) as session:
            record = session.get(JobRecord, job_id)
            record.status = JobStatus.FAILED
            record.error = f"the job queue is unavailable: {exc}"
            session.commit()
        raise JobQueueUnavailable(f"job {name} could not be queued: {exc}") from exc
    return job_id


def backend(runtime: Runtime) -> RQBackend | ThreadBackend:
    existing = runtime.__dict__.get("job_backend")
    if existing is None:
        existing = RQBackend(runtime) if runtime.redis is not None else ThreadBackend(runtime)
        runtime.__dict__["job_backend"] = existing
    return existing


class RQBackend:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def submit(self, queue_name: str, slug: str, job_id: str, retries: int, timeout: int) -> None:
        rq_queue = Queue(queue_name, connection=self.runtime.redis)
        retry = Retry(max=retries, interval=RETRY_INTERVALS[:retries]) if retries else None
        rq_queue.enqueue(
            run_job, slug, job_id, job_id=job_id, retry=retry, job_timeout=timeout,
            description=f"{slug}:{job_id}",
        )


class ThreadBackend:
    """Runs jobs one at a time in a daemon thread of this process, with retries."""

    def __init__(self, runtime: Runtime, retry_intervals: list[int] | None = None) -> None:
        self.runtime = runtime
        self.retry_intervals = RETRY_INTERVALS if retry_intervals is None else retry_intervals
        self._queue: queue.Queue[tuple[str, str, int]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, queue_name: str, slug: str, job_id: str, retries: int, timeout: int) -> None:
        # NOTE: the embedded runner ignores the timeout, because a thread cannot be killed.
        self._ensure_thread()
        self._queue.put((slug, job_id, retries))

    def join(self, timeout: float = 60.0) -> None:
        """Wait until every submitted job has run (tests, CLI commands)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="tessera-jobs", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            slug, job_id, retries = self._queue.get()
            try:
                self._run_with_retries(slug, job_id, retries)
            finally:
                self._queue.task_done()

    def _run_with_retries(self, slug: str, job_id: str, retries: int) -> None:
        for attempt in range(retries + 1):
            try:
                run_job(slug, job_id, self.runtime)
                return
            except Exception:
                if attempt == retries:
                    return
                delay = self.retry_intervals[min(attempt, len(self.retry_intervals) - 1)]
                log.warning("retrying job %s in %ss", job_id, delay)
                time.sleep(delay)
