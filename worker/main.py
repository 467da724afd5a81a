"""Run an RQ worker over Tessera's queues, with the periodic schedule in a thread."""

from __future__ import annotations

import logging

from rq import Worker

from saas.jobs import QUEUES
from saas.jobs.schedule import Scheduler
from saas.runtime import Runtime, set_process_runtime

log = logging.getLogger(__name__)


def run_worker(runtime: Runtime, queues: list[str], *, burst: bool = False,
               schedule: bool = True) -> bool:
    """Work ``queues`` (all of them when empty) until stopped, or until empty with ``burst``."""
    if runtime.redis is None:
        raise RuntimeError(
            "no Redis is configured: set TESSERA_REDIS_URL to run a worker; without Redis, "
            "jobs run in a background thread of the web process"
        )
    unknown = [name for name in queues if name not in QUEUES]
    if unknown:
        raise ValueError(f"unknown queue {unknown[0]!r}; queues are {', '.join(QUEUES)}")
    set_process_runtime(runtime)
    if schedule and not burst:
        Scheduler(runtime).start()
    worker = Worker(queues or list(QUEUES), connection=runtime.redis)
    log.info("worker listening on %s", ", ".join(queues or QUEUES))
    return worker.work(burst=burst, with_scheduler=True)
