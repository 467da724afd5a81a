"""Partner webhooks: URL checks, registration, events written with the ledger change,
signed delivery to a local receiver, retries, dead events, replay and Redis outages."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from api_helpers import bearer, write_headers
from conftest import RedisServer, make_settings
from loyalty_helpers import add_reward, add_rule, add_tiers
from rq import Queue, SimpleWorker
from sqlalchemy import select

from saas.api.partners import create_partner
from saas.api.webhook_delivery import LEASE, claim_due, deliver_due
from saas.api.webhooks import (
    EventNotDead,
    WebhookEvent,
    check_url,
    emit,
    list_endpoints,
    register_endpoint,
    replay_dead,
)
from saas.db import utcnow
from saas.jobs.queueing import backend as job_backend
from saas.jobs.queueing import enqueue
from saas.loyalty.errors import InvalidInput
from saas.loyalty.members import enrol_member
from saas.runtime import Runtime, set_process_runtime
from saas.security.audit import BrandAuditEntry
from saas.tenancy.upgrades import upgrade_platform

ALL_SCOPES = "members:read members:write points:earn points:redeem rewards:read vouchers:write"
ALL_EVENTS = "points.earned points.redeemed voucher.used tier.changed"
BACKOFF = (60, 300)


# --- A local receiver --------------------------------------------------------------------

class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST and responds with the given statuses."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.default_status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else \
                    receiver.default_status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/tessera"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def settings(backend, tmp_path):
    return make_settings(backend, tmp_path, webhook_allow_hosts=frozenset({"127.0.0.1"}),
                         webhook_backoff=BACKOFF)


# --- Brand, partner and endpoint ---------------------------------------------------------

def setup_shop(runtime, make_brand):
    make_brand("shop", currency="USD")
    with runtime.brand_session("shop") as session:
        add_rule(session)
        add_reward(session, "coffee", cost=100)
        enrol_member(session, "M-1", email="mia@example.com")
        session.commit()


def add_partner(runtime, name="Corner Shop"):
    with runtime.brand_session("shop") as session:
        created = create_partner(session, name, ALL_SCOPES)
        session.commit()
    return created


def add_endpoint(runtime, partner_code, url, events=ALL_EVENTS):
    with runtime.brand_session("shop") as session:
        created = register_endpoint(session, partner_code, url, events, actor="test",
                                    secret_key=runtime.settings.secret_key,
                                    allow_hosts=runtime.settings.webhook_allow_hosts)
        session.commit()
    return created


@pytest.fixture
def shop(runtime, make_brand, client, receiver):
    """A brand with one partner whose endpoint is the local receiver; returns its details."""
    setup_shop(runtime, make_brand)
    partner = add_partner(runtime)
    endpoint = add_endpoint(runtime, partner.partner.code, receiver.url)
    auth = bearer(client, "/t/shop", partner.client_id, partner.client_secret, ALL_SCOPES)
    return {"auth": auth, "partner": partner.partner.code, "secret": endpoint.signing_secret,
            "endpoint_id": endpoint.endpoint.id}


def accrual_body(order_ref="A-1", amount=12345):
    return {"order_ref": order_ref, "member": "M-1",
            "amount": {"amount_minor": amount, "currency": "USD"},
            "ordered_at": "2026-11-01T10:00:00Z"}


def post(client, path, auth, body, key=None):
    return client.post(f"/t/shop/api/v1{path}", json=body, headers=write_headers(auth, key))


def events(runtime):
    with runtime.brand_session("shop") as session:
        return list(session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))


def wait_for_jobs(runtime):
    """Let the embedded job thread finish the delivery queued after a commit."""
    job_backend(runtime).join()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Check a request the way a partner's receiver would."""
    fields = dict(part.split("=", 1) for part in headers["Tessera-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body,
                        hashlib.sha256).hexdigest()
    return fields["t"] == headers["Tessera-Timestamp"] and hmac.compare_digest(
        expected, fields["v1"])


# --- URL validation ----------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://hooks.example.com/tessera",
    "https://10.1.2.3/hook",
    "https://127.0.0.1/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/hook",
    "https://[fd00:ec2::254]/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://localhost/hook",
    "https://user:password@93.184.216.34/hook",
    "ftp://93.184.216.34/hook",
])
def test_check_url_rejects(url):
    with pytest.raises(InvalidInput) as raised:
        check_url(url)
    assert raised.value.field == "url"
    assert raised.value.value == url
    assert url in raised.value.message


def test_check_url_names_the_reason():
    with pytest.raises(InvalidInput) as raised:
        check_url("https://169.254.169.254/latest/meta-data")
    assert "cloud metadata address" in raised.value.message


def test_check_url_accepts_public_https():
    assert check_url("https://93.184.216.34/hook") == "https://93.184.216.34/hook"


def test_allow_list_exempts_plain_http_on_loopback():
    url = "http://127.0.0.1:8080/hook"
    assert check_url(url, allow_hosts={"127.0.0.1"}) == url


def test_allow_list_is_per_host():
    with pytest.raises(InvalidInput):
        check_url("http://10.0.0.5:8080/hook", allow_hosts={"127.0.0.1"})


# --- Registration ------------------------------------------------------------------------

def test_registration_is_audited_without_the_secret(runtime, make_brand, receiver):
    setup_shop(runtime, make_brand)
    partner = add_partner(runtime)
    created = add_endpoint(runtime, partner.partner.code, receiver.url, "points.earned")
    with runtime.brand_session("shop") as session:
        entries = list(session.scalars(select(BrandAuditEntry)
                                       .where(BrandAuditEntry.action == "webhook.create")))
        listed = [endpoint.as_json() for endpoint in list_endpoints(session,
                                                                     partner.partner.code)]
    assert len(entries) == 1
    assert entries[0].after == {"partner": partner.partner.code, "url": receiver.url,
                                "events": ["points.earned"]}
    assert created.signing_secret.startswith("whsec_")
    assert created.signing_secret not in json.dumps(entries[0].after)
    assert created.signing_secret not in json.dumps(listed)
    assert listed[0]["events"] == ["points.earned"]


def test_registration_rejects_unknown_event(runtime, make_brand, receiver):
    setup_shop(runtime, make_brand)
    partner = add_partner(runtime)
    with pytest.raises(InvalidInput) as raised:
        add_endpoint(runtime, partner.partner.code, receiver.url, "points.earned points.lost")
    assert raised.value.field == "events"
    assert "points.lost" in raised.value.message


def test_cli_adds_endpoint_and_prints_secret_once(runtime, make_brand, receiver):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from saas.cli import cli
    from saas.wsgi_app import create_app

    setup_shop(runtime, make_brand)
    partner = add_partner(runtime)
    info = ScriptInfo(create_app=lambda: create_app(runtime=runtime))
    added = CliRunner().invoke(cli, ["partners", "webhook", "add", "shop", partner.partner.code,
                                     receiver.url, "--events", "points.earned points.redeemed",
                                     "--json"], obj=info)
    listed = CliRunner().invoke(cli, ["partners", "webhook", "list", "shop",
                                      partner.partner.code, "--json"], obj=info)
    assert added.exit_code == 0, added.output
    secret = json.loads(added.output)["signing_secret"]
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output)[0]["events"] == ["points.earned", "points.redeemed"]
    assert secret not in listed.output


def test_cli_rejects_http_url_with_the_reason(runtime, make_brand):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from saas.cli import cli
    from saas.wsgi_app import create_app

    setup_shop(runtime, make_brand)
    partner = add_partner(runtime)
    info = ScriptInfo(create_app=lambda: create_app(runtime=runtime))
    result = CliRunner().invoke(cli, ["partners", "webhook", "add", "shop", partner.partner.code,
                                      "http://10.0.0.5/hook", "--events", "points.earned"],
                                obj=info)
    assert result.exit_code != 0
    assert "https" in result.output
    assert events(runtime) == []


# --- Events ------------------------------------------------------------------------------

def test_accrual_writes_one_event_and_replay_none(runtime, shop, client):
    first = post(client, "/accruals", shop["auth"], accrual_body(), key="k-1")
    wait_for_jobs(runtime)
    again = post(client, "/accruals", shop["auth"], accrual_body(), key="k-1")
    wait_for_jobs(runtime)
    rows = events(runtime)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(rows) == 1
    assert rows[0].event_type == "points.earned"
    assert rows[0].payload["points"] == 123
    assert rows[0].payload["order"] == "A-1"


def test_rejected_accrual_writes_no_event(runtime, shop, client):
    body = accrual_body() | {"member": "NOPE"}
    response = post(client, "/accruals", shop["auth"], body)
    assert response.status_code == 404
    assert events(runtime) == []


def test_endpoint_gets_only_subscribed_events(runtime, shop, client, receiver):
    with runtime.brand_session("shop") as session:
        other = create_partner(session, "Kiosk", ALL_SCOPES)
        session.commit()
    add_endpoint(runtime, other.partner.code, receiver.url, "points.redeemed")
    post(client, "/accruals", shop["auth"], accrual_body())
    wait_for_jobs(runtime)
    rows = events(runtime)
    assert [row.endpoint_id for row in rows] == [shop["endpoint_id"]]


def test_redemption_and_voucher_use_emit_events(runtime, shop, client):
    post(client, "/accruals", shop["auth"], accrual_body())
    redeemed = post(client, "/redemptions", shop["auth"], {"member": "M-1", "reward": "coffee"})
    voucher = redeemed.json["voucher"]
    used = client.post(f"/t/shop/api/v1/vouchers/{voucher}/use",
                       headers=write_headers(shop["auth"]))
    wait_for_jobs(runtime)
    rows = events(runtime)
    assert used.status_code == 200
    assert [row.event_type for row in rows] == ["points.earned", "points.redeemed",
                                                 "voucher.used"]
    assert rows[1].payload["points"] == 100
    assert rows[2].payload["voucher"] == voucher


def test_tier_change_goes_to_every_subscribed_partner(runtime, shop, client, receiver):
    with runtime.brand_session("shop") as session:
        add_tiers(session, ("silver", 100, "1"))
        other = create_partner(session, "Kiosk", ALL_SCOPES)
        session.commit()
    other_endpoint = add_endpoint(runtime, other.partner.code, receiver.url, "tier.changed")
    post(client, "/accruals", shop["auth"], accrual_body())
    wait_for_jobs(runtime)
    changes = [row for row in events(runtime) if row.event_type == "tier.changed"]
    assert sorted(row.endpoint_id for row in changes) == sorted(
        [shop["endpoint_id"], other_endpoint.endpoint.id])
    assert changes[0].payload["from_tier"] is None
    assert changes[0].payload["to_tier"] == "silver"


# --- Delivery ----------------------------------------------------------------------------

def test_delivery_is_signed(runtime, shop, client, receiver):
    post(client, "/accruals", shop["auth"], accrual_body())
    wait_for_jobs(runtime)
    (row,) = events(runtime)
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    assert verify(shop["secret"], headers, body)
    assert headers["Tessera-Event"] == "points.earned"
    assert headers["Tessera-Delivery"] == str(row.id)
    assert json.loads(body)["data"]["order"] == "A-1"
    assert row.delivered_at is not None
    assert row.attempts == 1


def test_signature_fails_with_another_secret(runtime, shop, client, receiver):
    post(client, "/accruals", shop["auth"], accrual_body())
    wait_for_jobs(runtime)
    headers, body = receiver.requests[0]
    assert not verify("whsec_not-the-secret", headers, body)


def test_failed_delivery_retries_after_backoff(runtime, shop, client, receiver):
    receiver.statuses = [500]
    post(client, "/accruals", shop["auth"], accrual_body())
    wait_for_jobs(runtime)
    (failed,) = events(runtime)
    with runtime.brand_session("shop") as session:
        early = deliver_due(session, runtime.settings,
                            now=failed.next_attempt_at - timedelta(seconds=5))
        due = deliver_due(session, runtime.settings,
                          now=failed.next_attempt_at + timedelta(seconds=1))
    (row,) = events(runtime)
    assert failed.attempts == 1
    assert failed.last_error.startswith("HTTP 500")
    assert failed.next_attempt_at - failed.created_at >= timedelta(seconds=BACKOFF[0])
    assert early == {"delivered": 0, "retry": 0, "dead": 0, "stale": 0}
    assert due["delivered"] == 1
    assert len(receiver.requests) == 2
    assert row.delivered_at is not None
    assert row.attempts == 2
    assert row.last_error is None


def test_event_dies_after_last_attempt(runtime, shop, client, receiver):
    receiver.default_status = 503
    post(client, "/accruals", shop["auth"], accrual_body())
    wait_for_jobs(runtime)
    with runtime.brand_session("shop") as session:
        for _ in BACKOFF:
            (row,) = events(runtime)
            deliver_due(session, runtime.settings, now=row.next_attempt_at)
        later = deliver_due(session, runtime.settings,
                            now=utcnow() + timedelta(days=30))
    (row,) = events(runtime)
    assert len(receiver.requests) == len(BACKOFF) + 1
    assert row.dead_at is not None
    assert row.attempts == len(BACKOFF) + 1
    assert "HTTP 503" in row.last_error
    assert later["delivered"] + later["retry"] + later["dead"] == 0


def test_replay_sends_dead_event_again(runtime, shop, client, receiver):
    receiver.statuses = [500] * (len(BACKOFF) + 1)
    post(client, "/accruals", shop["auth"], accrual_body())
    wait_for_jobs(runtime)
    with runtime.brand_session("shop") as session:
        for _ in BACKOFF:
            (row,) = events(runtime)
            deliver_due(session, runtime.settings, now=row.next_attempt_at)
        replay_dead(session, row.id, "test")
        session.commit()
        deliver_due(session, runtime.settings)
        audited = list(session.scalars(select(BrandAuditEntry)
                                       .where(BrandAuditEntry.action == "webhook.replay")))
    (row,) = events(runtime)
    assert row.delivered_at is not None
    assert row.dead_at is None
    assert row.attempts == 1
    assert len(receiver.requests) == len(BACKOFF) + 2
    assert len(audited) == 1
    assert audited[0].target == f"webhook_event:{row.id}"


def test_replay_rejects_event_that_is_not_dead(runtime, shop, client):
    post(client, "/accruals", shop["auth"], accrual_body())
    wait_for_jobs(runtime)
    (row,) = events(runtime)
    with runtime.brand_session("shop") as session, pytest.raises(EventNotDead):
        replay_dead(session, row.id, "test")


def test_interrupted_delivery_is_retried_once(runtime, shop, receiver):
    with runtime.brand_session("shop") as session:
        emit(session, "points.redeemed", {"member": "M-1", "points": 5}, partner_id=None)
        session.commit()  # no delivery is queued: nothing asked to wake it
        now = utcnow()
        claimed = claim_due(session, now, runtime.settings.secret_key, len(BACKOFF) + 1)
        # The claiming worker stops here, without sending or recording an outcome.
        within_lease = deliver_due(session, runtime.settings, now=now + LEASE / 2)
        after_lease = deliver_due(session, runtime.settings,
                                  now=now + LEASE + timedelta(seconds=1))
        again = deliver_due(session, runtime.settings,
                            now=now + LEASE + timedelta(minutes=10))
    (row,) = events(runtime)
    assert len(claimed) == 1
    assert within_lease["delivered"] == 0
    assert after_lease["delivered"] == 1
    assert again["delivered"] == 0
    assert len(receiver.requests) == 1
    assert row.attempts == 2
    assert row.delivered_at is not None


def test_outcome_after_lease_is_not_recorded(runtime, shop):
    from saas.api.webhook_delivery import Outcome, record_outcome

    with runtime.brand_session("shop") as session:
        emit(session, "points.redeemed", {"member": "M-1", "points": 5}, partner_id=None)
        session.commit()
        now = utcnow()
        (stale,) = claim_due(session, now, runtime.settings.secret_key, len(BACKOFF) + 1)
        (current,) = claim_due(session, now + LEASE + timedelta(seconds=1),
                               runtime.settings.secret_key, len(BACKOFF) + 1)
        late = record_outcome(session, stale, Outcome(False, "HTTP 500"), now, BACKOFF)
        fresh = record_outcome(session, current, Outcome(True, "HTTP 200"), now, BACKOFF)
    (row,) = events(runtime)
    assert late == "stale"
    assert fresh == "delivered"
    assert row.last_error is None


# --- Redis outage ------------------------------------------------------------------------

@pytest.mark.redis
def test_events_wait_in_outbox_while_redis_is_down(settings, tmp_path, receiver):
    from werkzeug.test import Client

    from saas.wsgi_app import create_wsgi_app

    server = RedisServer(tmp_path)
    server.start()
    own = Runtime(replace(settings, redis_url=server.url))
    upgrade_platform(own)
    set_process_runtime(own)
    try:
        make_brand_on(own)
        partner = add_partner(own)
        endpoint = add_endpoint(own, partner.partner.code, receiver.url, "points.earned")
        client = Client(create_wsgi_app(runtime=own))
        auth = bearer(client, "/t/shop", partner.client_id, partner.client_secret, ALL_SCOPES)

        server.stop()
        response = post(client, "/accruals", auth, accrual_body())
        (waiting,) = events(own)

        server.start()
        enqueue(own, "shop", "webhooks.deliver")
        SimpleWorker([Queue("default", connection=own.redis)],
                     connection=own.redis).work(burst=True)
        (sent,) = events(own)
    finally:
        set_process_runtime(None)
        own.close()
        server.stop()

    assert response.status_code == 201
    assert response.json["points"] == 123
    assert waiting.delivered_at is None
    assert waiting.attempts == 0
    assert sent.delivered_at is not None
    assert len(receiver.requests) == 1
    assert verify(endpoint.signing_secret, *receiver.requests[0])


def make_brand_on(runtime):
    from saas.tenancy.provisioning import BrandSpec, create_brand

    create_brand(runtime, BrandSpec(slug="shop", name="Shop", domains=["shop.example.test"],
                                    currency="USD"))
    with runtime.brand_session("shop") as session:
        add_rule(session)
        enrol_member(session, "M-1", email="mia@example.com")
        session.commit()


# --- More sources and endpoint removal ---------------------------------------------------

def test_tier_recalculation_emits_tier_change(runtime, shop, client):
    from saas.loyalty.models import Tier

    with runtime.brand_session("shop") as session:
        add_tiers(session, ("silver", 100, "1"))
    post(client, "/accruals", shop["auth"], accrual_body())
    wait_for_jobs(runtime)
    with runtime.brand_session("shop") as session:
        session.scalars(select(Tier)).one().threshold = 1000
        session.commit()
    enqueue(runtime, "shop", "tiers.recalculate")
    wait_for_jobs(runtime)
    changes = [row.payload for row in events(runtime) if row.event_type == "tier.changed"]
    assert [(change["from_tier"], change["to_tier"]) for change in changes] == [
        (None, "silver"), ("silver", None)]


def test_delete_endpoint_discards_its_events(runtime, shop):
    from saas.api.webhooks import delete_endpoint

    with runtime.brand_session("shop") as session:
        emit(session, "points.redeemed", {"member": "M-1", "points": 5}, partner_id=None)
        session.commit()
        discarded = delete_endpoint(session, shop["partner"], shop["endpoint_id"], actor="test")
        session.commit()
        audited = session.scalars(select(BrandAuditEntry)
                                  .where(BrandAuditEntry.action == "webhook.delete")).one()
        remaining = list_endpoints(session, shop["partner"])
    assert discarded == 1
    assert events(runtime) == []
    assert remaining == []
    assert audited.after == {"undelivered_events_discarded": 1}


def test_interrupted_last_attempt_becomes_dead(runtime, shop, receiver):
    with runtime.brand_session("shop") as session:
        emit(session, "points.redeemed", {"member": "M-1", "points": 5}, partner_id=None)
        session.commit()
        now = utcnow()
        for attempt in range(len(BACKOFF) + 1):
            claim_due(session, now + attempt * (LEASE + timedelta(seconds=1)),
                      runtime.settings.secret_key, len(BACKOFF) + 1)
        later = now + (len(BACKOFF) + 1) * (LEASE + timedelta(seconds=1))
        result = deliver_due(session, runtime.settings, now=later)
    (row,) = events(runtime)
    assert result["delivered"] == 0
    assert receiver.requests == []
    assert row.dead_at is not None
    assert "interrupted" in row.last_error


def test_cli_replays_dead_event(runtime, shop, receiver):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from saas.cli import cli
    from saas.wsgi_app import create_app

    with runtime.brand_session("shop") as session:
        emit(session, "points.redeemed", {"member": "M-1", "points": 5}, partner_id=None)
        session.commit()
        (row,) = session.scalars(select(WebhookEvent))
        row.dead_at = utcnow()
        row.attempts = len(BACKOFF) + 1
        session.commit()
    info = ScriptInfo(create_app=lambda: create_app(runtime=runtime))
    result = CliRunner().invoke(cli, ["partners", "webhook", "replay", "shop", str(row.id)],
                                obj=info)
    (replayed,) = events(runtime)
    assert result.exit_code == 0, result.output
    assert replayed.dead_at is None
    assert replayed.attempts == 0
    assert replayed.delivered_at is None
