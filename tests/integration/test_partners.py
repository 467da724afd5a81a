"""Partner onboarding, console management and service levels, on both databases."""

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from api_helpers import bearer, make_partner, request_token
from console_helpers import console_sign_in, form_post, make_console_user
from sqlalchemy import select
from werkzeug.test import Client

from saas.api.models import ApiRequest, Partner, PartnerSlaDay
from saas.api.sla import summarise_day
from saas.api.webhooks import WebhookEndpoint, WebhookEvent
from saas.notifications.outbox import OutboxEmail
from saas.security.audit import BrandAuditEntry


@pytest.fixture
def shop(make_brand):
    return make_brand("shop", name="Shop")


def admin_client(runtime, wsgi_app, role="admin"):
    secret = make_console_user(runtime, f"{role}@example.com", brand="shop", role=role)
    client = Client(wsgi_app)
    console_sign_in(runtime, client, "/t/shop", f"{role}@example.com", secret)
    return client


def partner_row(runtime, code):
    with runtime.brand_session("shop") as session:
        return session.scalar(select(Partner).where(Partner.code == code))


def apply(client, **fields):
    form = {"name": "Corner Cafe", "email": "owner@corner.example",
            "application": "Coffee for points"} | fields
    return form_post(client, "/t/shop/partners/apply", **form)


def test_application_creates_a_pending_partner_and_confirms_by_email(runtime, shop, client):
    response = apply(client)
    with runtime.brand_session("shop") as session:
        email = session.scalar(select(OutboxEmail.to_address))
    assert response.status_code == 200
    assert partner_row(runtime, "corner-cafe").status == "pending"
    assert email == "owner@corner.example"


def test_application_with_a_bad_email_names_the_field(runtime, shop, client):
    response = apply(client, email="not-an-address")
    assert response.status_code == 400
    assert b"email" in response.data
    assert partner_row(runtime, "corner-cafe") is None


def test_pending_partner_has_no_credentials(runtime, shop, client):
    apply(client)
    with runtime.brand_session("shop") as session:
        partner = session.scalar(select(Partner))
        assert partner.clients == []


def test_admin_approves_and_creates_credentials_shown_once(runtime, shop, wsgi_app, client):
    apply(client)
    admin = admin_client(runtime, wsgi_app)
    base = "/t/shop/admin/partners/corner-cafe"
    form_post(admin, f"{base}/status", token_from=base, action="approve")
    form_post(admin, f"{base}/settings", token_from=base, **{"scope_rewards:read": "on"},
              rate_limit="60/minute", sla_availability="99.9", sla_error_rate="2",
              sla_p95_ms="250")
    created = form_post(admin, f"{base}/clients", token_from=base)
    client_id = re.search(rb'data-testid="client-id">([^<]+)<', created.data).group(1).decode()
    secret = re.search(rb'data-testid="client-secret">([^<]+)<', created.data).group(1)
    token = request_token(client, "/t/shop", client_id, secret.decode(), "rewards:read")
    assert token.status_code == 200
    assert secret not in admin.get(base).data


def test_status_changes_follow_the_lifecycle(runtime, shop, wsgi_app, client):
    apply(client)
    admin = admin_client(runtime, wsgi_app)
    base = "/t/shop/admin/partners/corner-cafe"
    resume = form_post(admin, f"{base}/status", token_from=base, action="resume")
    assert resume.status_code == 409
    assert partner_row(runtime, "corner-cafe").status == "pending"


def test_suspending_a_partner_stops_its_tokens(runtime, shop, wsgi_app, client):
    client_id, secret = make_partner(runtime, "shop", "rewards:read", name="Kiosk")
    auth = bearer(client, "/t/shop", client_id, secret, "rewards:read")
    admin = admin_client(runtime, wsgi_app)
    form_post(admin, "/t/shop/admin/partners/kiosk/status",
              token_from="/t/shop/admin/partners/kiosk", action="suspend")
    assert client.get("/t/shop/api/v1/rewards", headers=auth).status_code == 401


def test_partner_changes_are_audited(runtime, shop, wsgi_app, client):
    make_partner(runtime, "shop", "rewards:read", name="Kiosk")
    admin = admin_client(runtime, wsgi_app)
    base = "/t/shop/admin/partners/kiosk"
    form_post(admin, f"{base}/settings", token_from=base, **{"scope_members:read": "on"},
              rate_limit="30/minute", sla_availability="99", sla_error_rate="1",
              sla_p95_ms="300")
    with runtime.brand_session("shop") as session:
        entry = session.scalar(select(BrandAuditEntry).where(
            BrandAuditEntry.action == "partner.update"))
    assert entry.before["scopes"] == ["rewards:read"]
    assert entry.after["scopes"] == ["members:read"]
    assert entry.after["rate_limit"] == "30/minute"


def test_invalid_rate_limit_names_the_value(runtime, shop, wsgi_app):
    make_partner(runtime, "shop", "rewards:read", name="Kiosk")
    admin = admin_client(runtime, wsgi_app)
    base = "/t/shop/admin/partners/kiosk"
    response = form_post(admin, f"{base}/settings", token_from=base, **{"scope_rewards:read": "on"},
                         rate_limit="lots", sla_availability="99", sla_error_rate="1",
                         sla_p95_ms="300")
    assert response.status_code == 400
    assert b"lots" in response.data
    assert partner_row(runtime, "kiosk").rate_limit == "120/minute"


def test_analyst_cannot_change_a_partner(runtime, shop, wsgi_app):
    make_partner(runtime, "shop", "rewards:read", name="Kiosk")
    analyst = admin_client(runtime, wsgi_app, role="analyst")
    base = "/t/shop/admin/partners/kiosk"
    assert analyst.get(base).status_code == 200
    assert form_post(analyst, f"{base}/status", token_from=base,
                     action="suspend").status_code == 403


def test_api_requests_are_measured_per_partner(runtime, shop, client):
    client_id, secret = make_partner(runtime, "shop", "rewards:read members:read")
    auth = bearer(client, "/t/shop", client_id, secret, "rewards:read members:read")
    client.get("/t/shop/api/v1/rewards", headers=auth)
    client.get("/t/shop/api/v1/members/NOPE", headers=auth)
    with runtime.brand_session("shop") as session:
        statuses = sorted(session.scalars(select(ApiRequest.status)))
    assert statuses == [200, 404]


def add_requests(runtime, partner_id, day, durations, status=200):
    with runtime.brand_session("shop") as session:
        for index, duration in enumerate(durations):
            session.add(ApiRequest(partner_id=partner_id, endpoint="api.rewards", status=status,
                                   duration_ms=duration,
                                   at=day + timedelta(minutes=index)))
        session.commit()


def test_sla_day_flags_a_slow_day(runtime, shop):
    make_partner(runtime, "shop", "rewards:read", name="Kiosk")
    partner = partner_row(runtime, "kiosk")
    day = datetime(2026, 11, 3, tzinfo=UTC)
    add_requests(runtime, partner.id, day, [10.0] * 90 + [900.0] * 10)
    with runtime.brand_session("shop") as session:
        row = summarise_day(session, session.get(Partner, partner.id), day.date())
        session.commit()
        assert row.requests == 100
        assert row.breached is True
        assert list(row.breaches) == ["p95_ms"]


def test_sla_day_counts_errors_against_objectives(runtime, shop):
    make_partner(runtime, "shop", "rewards:read", name="Kiosk")
    partner = partner_row(runtime, "kiosk")
    day = datetime(2026, 11, 3, tzinfo=UTC)
    add_requests(runtime, partner.id, day, [5.0] * 98)
    add_requests(runtime, partner.id, day + timedelta(hours=5), [5.0] * 2, status=503)
    with runtime.brand_session("shop") as session:
        row = summarise_day(session, session.get(Partner, partner.id), day.date())
        session.commit()
        assert row.server_errors == 2
        assert row.breaches == {"availability": [98.0, 99.5], "error_rate": [2.0, 1.0]}


def test_sla_table_shows_a_missed_day(runtime, shop, wsgi_app):
    make_partner(runtime, "shop", "rewards:read", name="Kiosk")
    partner = partner_row(runtime, "kiosk")
    day = datetime(2026, 11, 3, tzinfo=UTC)
    add_requests(runtime, partner.id, day, [900.0] * 5)
    with runtime.brand_session("shop") as session:
        summarise_day(session, session.get(Partner, partner.id), day.date())
        session.commit()
        assert session.scalar(select(PartnerSlaDay.breached))
    admin = admin_client(runtime, wsgi_app)
    page = admin.get("/t/shop/admin/partners/kiosk")
    assert b'data-testid="sla-2026-11-03">missed: p95_ms 900.0 / 300' in page.data
    assert b"data-plotly=" in page.data


def accept_partner_invitation(runtime, client):
    """Apply, approve in the console, and accept the emailed invitation with TOTP."""
    apply(client)
    admin = admin_client(runtime, client.application)
    base = "/t/shop/admin/partners/corner-cafe"
    form_post(admin, f"{base}/status", token_from=base, action="approve")
    with runtime.brand_session("shop") as session:
        body = session.scalars(select(OutboxEmail.body_text).where(
            OutboxEmail.to_address == "owner@corner.example")
            .order_by(OutboxEmail.id.desc())).first()
    link = re.search(r"http://localhost(\S+)", body).group(1)
    contact = Client(client.application)
    form_post(contact, link, password="harbour-lantern-42")
    enrol = contact.get("/t/shop/admin/enrol")
    secret = re.search(rb'data-testid="totp-secret">([A-Z2-7]+)<', enrol.data).group(1)
    confirmed = form_post(contact, "/t/shop/admin/enrol",
                          code=pyotp.TOTP(secret.decode()).now())
    codes_page = contact.get(confirmed.headers["Location"])
    return contact, codes_page


def test_approved_contact_reaches_the_partner_page(runtime, shop, client):
    contact, codes_page = accept_partner_invitation(runtime, client)
    assert b'href="/t/shop/partner/"' in codes_page.data
    page = contact.get("/t/shop/partner/")
    assert page.status_code == 200
    assert b"Partner page of Corner Cafe" in page.data


def test_partner_contact_cannot_open_the_console(runtime, shop, client):
    contact, _codes = accept_partner_invitation(runtime, client)
    assert contact.get("/t/shop/admin/").status_code == 403


def test_partner_contact_creates_and_rotates_credentials(runtime, shop, client):
    contact, _codes = accept_partner_invitation(runtime, client)
    created = form_post(contact, "/t/shop/partner/clients", token_from="/t/shop/partner/")
    client_id = re.search(rb'data-testid="client-id">([^<]+)<', created.data).group(1).decode()
    rotated = form_post(contact, f"/t/shop/partner/clients/{client_id}/rotate",
                        token_from="/t/shop/partner/")
    new_secret = re.search(rb'data-testid="client-secret">([^<]+)<', rotated.data).group(1)
    with runtime.brand_session("shop") as session:
        actions = list(session.scalars(select(BrandAuditEntry.action)
                                       .order_by(BrandAuditEntry.id)))
    assert rotated.status_code == 200
    assert new_secret
    assert actions[-2:] == ["partner.client_create", "partner.secret_rotate"]


def test_staff_without_partner_contact_cannot_open_partner_page(runtime, shop, wsgi_app):
    admin = admin_client(runtime, wsgi_app)
    assert admin.get("/t/shop/partner/").status_code == 403


def test_anonymous_partner_page_goes_to_sign_in(shop, client):
    response = client.get("/t/shop/partner/")
    assert response.headers["Location"].startswith("/t/shop/admin/sign-in")


def test_partner_contact_registers_a_webhook_shown_once(runtime, shop, client):
    contact, _codes = accept_partner_invitation(runtime, client)
    added = form_post(contact, "/t/shop/partner/webhooks", token_from="/t/shop/partner/",
                      url="https://93.184.216.34/tessera",
                      **{"event_points.earned": "on"})
    secret = re.search(rb'data-testid="webhook-secret">([^<]+)<', added.data)
    with runtime.brand_session("shop") as session:
        endpoint = session.scalar(select(WebhookEndpoint))
    assert added.status_code == 200
    assert secret is not None
    assert endpoint.event_types == ["points.earned"]
    assert secret.group(1) not in contact.get("/t/shop/partner/").data


def test_webhook_to_a_private_address_is_refused(runtime, shop, client):
    contact, _codes = accept_partner_invitation(runtime, client)
    refused = form_post(contact, "/t/shop/partner/webhooks", token_from="/t/shop/partner/",
                        url="https://10.1.2.3/hook", **{"event_points.earned": "on"})
    assert refused.status_code == 400
    assert b"10.1.2.3" in refused.data


def test_admin_replays_a_dead_webhook_event(runtime, shop, wsgi_app):
    make_partner(runtime, "shop", "rewards:read", name="Kiosk")
    partner = partner_row(runtime, "kiosk")
    with runtime.brand_session("shop") as session:
        endpoint = WebhookEndpoint(partner_id=partner.id, url="https://hooks.example.org/x",
                                   events="points.earned", secret_encrypted="x")
        session.add(endpoint)
        session.flush()
        event = WebhookEvent(endpoint_id=endpoint.id, event_type="points.earned",
                             payload={}, attempts=6, dead_at=datetime.now(UTC),
                             last_error="HTTP 500")
        session.add(event)
        session.commit()
        event_id = event.id
    admin = admin_client(runtime, wsgi_app)
    base = "/t/shop/admin/partners/kiosk"
    assert b"HTTP 500" in admin.get(base).data
    replayed = form_post(admin, f"{base}/webhook-events/{event_id}/replay", token_from=base)
    with runtime.brand_session("shop") as session:
        row = session.get(WebhookEvent, event_id)
        assert (row.dead_at, row.attempts) == (None, 0)
    assert replayed.status_code == 200


def test_locations_are_saved_and_audited(runtime, shop, wsgi_app):
    make_partner(runtime, "shop", "rewards:read", name="Kiosk")
    admin = admin_client(runtime, wsgi_app)
    base = "/t/shop/admin/partners/kiosk"
    form_post(admin, f"{base}/settings", token_from=base, **{"scope_rewards:read": "on"},
              rate_limit="30/minute", sla_availability="99", sla_error_rate="1",
              sla_p95_ms="300", locations="till-2, till-1\ntill-1")
    with runtime.brand_session("shop") as session:
        entry = session.scalar(select(BrandAuditEntry).where(
            BrandAuditEntry.action == "partner.update"))
    assert partner_row(runtime, "kiosk").locations == ["till-1", "till-2"]
    assert entry.after["locations"] == ["till-1", "till-2"]


def test_invalid_location_code_is_named(runtime, shop, wsgi_app):
    make_partner(runtime, "shop", "rewards:read", name="Kiosk")
    admin = admin_client(runtime, wsgi_app)
    base = "/t/shop/admin/partners/kiosk"
    response = form_post(admin, f"{base}/settings", token_from=base,
                         **{"scope_rewards:read": "on"}, rate_limit="30/minute",
                         sla_availability="99", sla_error_rate="1", sla_p95_ms="300",
                         locations="till 1/back")
    assert response.status_code == 400
    assert b"1/back" in response.data
