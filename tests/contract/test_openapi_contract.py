"""Schemathesis drives the running API from its own OpenAPI document: no answer may be a
5xx or break the documented schema."""

import threading
import uuid

import pytest
import schemathesis
from api_helpers import bearer, make_partner
from hypothesis import HealthCheck, given, settings
from loyalty_helpers import add_reward, add_rule
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.serving import make_server
from werkzeug.test import Client

from saas.api.partners import SCOPES
from saas.loyalty.members import enrol_member

# Examples per operation: enough to reach every documented branch, few enough for CI.
EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture
def running_api(runtime, make_brand, wsgi_app):
    """The app on a free port of 127.0.0.1 with a brand, a member and a partner token."""
    make_brand("shop")
    with runtime.brand_session("shop") as session:
        add_rule(session)
        add_reward(session, "coffee", cost=100)
        enrol_member(session, "M-1")
        session.commit()
    client_id, secret = make_partner(runtime, "shop", " ".join(SCOPES),
                                     rate_limit="100000/minute")
    auth = bearer(Client(wsgi_app), "/t/shop", client_id, secret, " ".join(SCOPES))
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/t/shop/api/v1", auth
    server.shutdown()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_api_honours_its_schema(running_api):
    base, auth = running_api
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case):
            headers = dict(auth)
            if case.method.upper() == "POST":
                headers["Idempotency-Key"] = str(uuid.uuid4())
            case.call_and_validate(headers=headers, checks=CHECKS)

        call()
    assert len(operations) == 10
