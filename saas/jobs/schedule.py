"""The periodic schedule: each periodic job runs for every active brand once per interval.

With Redis, a key per job and interval makes sure that one run is queued however many
workers run the schedule; the embedded thread keeps that record in memory.
"""

from __future__ import annotations

import logging
import threading
import time

from redis.exceptions import RedisError

from saas.jobs.queueing import enqueue
from saas.jobs.registry import JobSpec, periodic_jobs
from saas.runtime import Runtime

log = logging.getLogger(__name__)

TICK_SECONDS = 5


class Scheduler:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._last_bucket: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="tessera-schedule", daemon=True)
        self._thread.start()
        log.info("periodic schedule started")

    def stop(self) -> None:
        self._stop.set()

    def tick(self, now: float | None = None) -> list[str]:
        """Queue every periodic job whose interval has begun; return the job ids queued."""
        now = time.time() if now is None else now
        queued: list[str] = []
        for spec in periodic_jobs():
            bucket = int(now // spec.every)
            if not self._claim(spec, bucket):
                continue
            for brand in self.runtime.directory.all():
                if brand.is_suspended:
                    continue
                try:
                    queued.append(enqueue(self.runtime, brand.slug, spec.name))
                except Exception:
                    log.exception("could not queue %s for %s", spec.name, brand.slug)
        return queued

    def _claim(self, spec: JobSpec, bucket: int) -> bool:
        if self._last_bucket.get(spec.name) == bucket:
            return False
        redis = self.runtime.redis
        if redis is not None:
            key = f"tessera:schedule:{spec.name}:{bucket}"
            try:
                if not redis.set(key, "1", nx=True, ex=spec.every * 2):
                    self._last_bucket[spec.name] = bucket
                    return False
            except RedisError as exc:
                log.warning("schedule skipped %s: Redis is unavailable (%s)", spec.name, exc)
                return False
        self._last_bucket[spec.name] = bucket
        return True

    def _loop(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.tick()
            except Exception:
                log.exception("periodic schedule tick failed")
