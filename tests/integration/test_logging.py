"""Every log record carries the brand and the request or job id."""

import io
import json
import logging

import jobfuncs  # noqa: F401 - registers the test jobs
import pytest

from saas.jobs.queueing import backend, enqueue
from saas.logging import ContextFilter, JSONFormatter, bind_context
from saas.web.policy import PUBLIC, allow


class Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.addFilter(ContextFilter())
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def captured():
    handler = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler.records
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_request_records_carry_brand_and_request_id(make_brand, wsgi_app, captured):
    from werkzeug.test import Client

    make_brand("alpha")

    @wsgi_app.brand_app.get("/test-log")
    @allow(PUBLIC)
    def log_something():
        logging.getLogger("saas.test").info("hello")
        return {}

    response = Client(wsgi_app).get("/t/alpha/test-log", headers={"X-Request-ID": "req-12345678"})
    record = next(r for r in captured if r.getMessage() == "hello")
    assert record.brand == "alpha"
    assert record.request_id == "req-12345678"
    assert response.headers["X-Request-ID"] == "req-12345678"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_job_records_carry_brand_and_job_id(runtime, make_brand, captured):
    make_brand("alpha")
    job_id = enqueue(runtime, "alpha", "test.bump")
    backend(runtime).join()
    record = next(r for r in captured if r.getMessage() == f"job {job_id} finished")
    assert record.brand == "alpha"
    assert record.job_id == job_id


def test_json_format_has_context():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JSONFormatter())
    logger = logging.getLogger("saas.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    with bind_context(brand="beta", job_id="j-1"):
        logger.warning("points %s", 5)
    logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["message"] == "points 5"
    assert line["brand"] == "beta"
    assert line["job_id"] == "j-1"
    assert line["level"] == "WARNING"
