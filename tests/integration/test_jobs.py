"""Jobs run for exactly one brand, on RQ and on the embedded thread alike."""

import jobfuncs  # noqa: F401 - registers the test jobs
import pytest
from console_helpers import console_sign_in, make_console_user
from rq import Queue, SimpleWorker
from rq.job import Job
from sqlalchemy import select

from saas.jobs import NoBrandContext
from saas.jobs.execution import run_job
from saas.jobs.queueing import ThreadBackend, backend, enqueue
from saas.jobs.status import job_status
from saas.platform.models import Delegation, User
from saas.runtime import Runtime
from saas.tenancy.settings import get_setting


def counter(runtime, slug):
    with runtime.brand_session(slug) as session:
        return get_setting(session, "test.counter")


@pytest.fixture
def rq_runtime(settings, redis_url):
    from dataclasses import replace

    from saas.runtime import set_process_runtime
    from saas.tenancy.upgrades import upgrade_platform

    runtime = Runtime(replace(settings, redis_url=redis_url))
    upgrade_platform(runtime)
    set_process_runtime(runtime)
    yield runtime
    set_process_runtime(None)
    runtime.close()


@pytest.mark.redis
def test_worker_runs_brand_jobs_and_rejects_brandless(rq_runtime):
    from saas.tenancy.provisioning import BrandSpec, create_brand

    create_brand(rq_runtime, BrandSpec(slug="alpha", name="Alpha"))
    create_brand(rq_runtime, BrandSpec(slug="beta", name="Beta"))
    queue = Queue("default", connection=rq_runtime.redis)

    first = enqueue(rq_runtime, "alpha", "test.bump", by=5)
    brandless = queue.enqueue(run_job, None, "no-such-job")
    last = enqueue(rq_runtime, "beta", "test.bump", by=7)
    SimpleWorker([queue], connection=rq_runtime.redis).work(burst=True)

    assert Job.fetch(first, connection=rq_runtime.redis).get_status() == "finished"
    failed = Job.fetch(brandless.id, connection=rq_runtime.redis)
    assert failed.get_status() == "failed"
    assert "no brand context" in failed.latest_result().exc_string
    assert Job.fetch(last, connection=rq_runtime.redis).get_status() == "finished"
    assert counter(rq_runtime, "alpha") == 5
    assert counter(rq_runtime, "beta") == 7


@pytest.mark.redis
def test_rq_job_status_reads_like_thread(rq_runtime):
    from saas.tenancy.provisioning import BrandSpec, create_brand

    create_brand(rq_runtime, BrandSpec(slug="alpha", name="Alpha"))
    job_id = enqueue(rq_runtime, "alpha", "test.bump", by=2)
    with rq_runtime.brand_session("alpha") as session:
        assert job_status(session, job_id).status == "queued"

    SimpleWorker([Queue("default", connection=rq_runtime.redis)],
                 connection=rq_runtime.redis).work(burst=True)

    with rq_runtime.brand_session("alpha") as session:
        view = job_status(session, job_id)
    assert view.status == "finished"
    assert view.percent == 100
    assert view.result == {"counter": 2}


def test_enqueue_without_brand_writes_nothing(runtime, make_brand):
    make_brand("alpha")
    with pytest.raises(NoBrandContext, match="no brand context"):
        enqueue(runtime, None, "test.bump")
    with pytest.raises(NoBrandContext, match="no brand context"):
        enqueue(runtime, "", "test.bump")
    assert counter(runtime, "alpha") == 0


def test_thread_runs_job_with_status(runtime, make_brand):
    make_brand("alpha")
    job_id = enqueue(runtime, "alpha", "test.bump", by=3)
    backend(runtime).join()
    with runtime.brand_session("alpha") as session:
        view = job_status(session, job_id)
    assert view.status == "finished"
    assert view.progress_done == 1
    assert view.message == "bumped"
    assert view.result == {"counter": 3}


def test_failed_job_rolls_back_and_retries(runtime, make_brand):
    make_brand("alpha")
    runtime.__dict__["job_backend"] = ThreadBackend(runtime, retry_intervals=[0])
    job_id = enqueue(runtime, "alpha", "test.fail")
    backend(runtime).join()
    with runtime.brand_session("alpha") as session:
        view = job_status(session, job_id)
        label = get_setting(session, "test.label")
        from saas.jobs.models import JobRecord

        attempts = session.get(JobRecord, job_id).attempts
    assert view.status == "failed"
    assert view.as_json()["error"] == "RuntimeError: this job always fails"
    assert attempts == 2
    assert label == ""


def test_member_one_read_per_brand(runtime, make_brand):
    from saas.loyalty.corrections import adjust_points
    from saas.loyalty.members import enrol_member
    from saas.loyalty.models import Member

    for slug, points in (("alpha", 10), ("beta", 99)):
        brand = make_brand(slug)
        with runtime.brand_session(slug) as session:
            enrol_member(session, "same-person")
            adjust_points(session, brand, "same-person", points, reason="test")
            session.commit()
            assert session.get(Member, 1).balance == points

    alpha_job = enqueue(runtime, "alpha", "test.member_balance", member_id=1)
    beta_job = enqueue(runtime, "beta", "test.member_balance", member_id=1)
    backend(runtime).join()
    seen = []
    for slug in ("alpha", "beta"):
        with runtime.brand_session(slug) as session:
            seen.append(session.get(Member, 1).balance)
    with runtime.brand_session("alpha") as session:
        alpha_result = job_status(session, alpha_job).result
    with runtime.brand_session("beta") as session:
        beta_result = job_status(session, beta_job).result

    assert seen == [10, 99]
    assert alpha_result == {"balance": 10}
    assert beta_result == {"balance": 99}


def signed_in_admin(runtime, client, *brands):
    secret = make_console_user(runtime, "ops@example.com", brand=brands[0], role="admin")
    for slug in brands[1:]:
        with runtime.platform_session() as db:
            user_id = db.scalar(select(User.id).where(User.email == "ops@example.com"))
            db.add(Delegation(user_id=user_id, brand_id=runtime.brand(slug).id, role="admin"))
            db.commit()
    for slug in brands:
        console_sign_in(runtime, client, f"/t/{slug}", "ops@example.com", secret)


def test_status_endpoint_json_and_fragment(runtime, make_brand, client):
    make_brand("alpha")
    signed_in_admin(runtime, client, "alpha")
    job_id = enqueue(runtime, "alpha", "test.bump")
    backend(runtime).join()

    as_json = client.get(f"/t/alpha/jobs/{job_id}")
    fragment = client.get(f"/t/alpha/jobs/{job_id}", headers={"HX-Request": "true"})

    assert as_json.json["status"] == "finished"
    assert b'<progress id="job-bar-' in fragment.data
    assert b'value="100"' in fragment.data


def test_status_endpoint_does_not_find_another_brands_job(runtime, make_brand, client):
    make_brand("alpha")
    make_brand("beta")
    signed_in_admin(runtime, client, "alpha", "beta")
    job_id = enqueue(runtime, "alpha", "test.bump")
    backend(runtime).join()

    assert client.get(f"/t/beta/jobs/{job_id}").status_code == 404


def test_status_endpoint_needs_a_console_user(runtime, make_brand, client):
    make_brand("alpha")
    job_id = enqueue(runtime, "alpha", "test.bump")
    backend(runtime).join()

    response = client.get(f"/t/alpha/jobs/{job_id}", headers={"HX-Request": "true"})

    assert response.status_code == 401


def test_status_endpoint_unknown_job_is_404(runtime, make_brand, client):
    make_brand("alpha")
    signed_in_admin(runtime, client, "alpha")
    assert client.get("/t/alpha/jobs/nope").status_code == 404


def test_periodic_jobs_registered():
    from saas.jobs.registry import periodic_jobs

    names = {spec.name for spec in periodic_jobs()}
    assert {"points.expire", "tiers.recalculate", "idempotency.purge", "jobs.purge"} <= names


def test_expire_job_runs_for_brand(runtime, make_brand):
    make_brand("alpha")
    job_id = enqueue(runtime, "alpha", "points.expire")
    backend(runtime).join()
    with runtime.brand_session("alpha") as session:
        view = job_status(session, job_id)
    assert view.status == "finished"
    assert view.result == {"expired_points": 0, "expired_vouchers": 0}


def test_scheduler_queues_each_brand_once_per_interval(runtime, make_brand):
    from saas.jobs.registry import periodic_jobs
    from saas.jobs.schedule import Scheduler

    make_brand("alpha")
    make_brand("beta")
    scheduler = Scheduler(runtime)
    first = scheduler.tick(now=1_000_000.0)
    again = scheduler.tick(now=1_000_001.0)
    backend(runtime).join()
    assert len(first) == 2 * len(periodic_jobs())
    assert again == []
