"""Rewards and tiers in the brand console: create and edit with validation naming the field,
audit entries with before and after, and role checks, through HTTP on both databases."""

from datetime import UTC, datetime

import pytest
from console_helpers import console_sign_in, form_post, make_console_user
from loyalty_helpers import add_reward, add_tiers
from sqlalchemy import select
from werkzeug.test import Client

from saas.loyalty.models import Reward, Tier
from saas.security.audit import BrandAuditEntry


@pytest.fixture
def shop(runtime, make_brand):
    brand = make_brand("shop", name="Shop", locales=["en", "de"], timezone="Europe/Berlin")
    with runtime.brand_session("shop") as session:
        add_reward(session, "coffee", cost=100)
        add_tiers(session, ("basic", 0, "1"), ("gold", 1000, "1.5"))
    return brand


def signed_in(runtime, wsgi_app, role):
    email = f"{role}@example.com"
    secret = make_console_user(runtime, email, brand="shop", role=role)
    client = Client(wsgi_app)
    console_sign_in(runtime, client, "/t/shop", email, secret)
    return client


def reward_form(**overrides):
    form = {"name_en": "Free coffee", "name_de": "Gratis Kaffee", "cost_points": "150",
            "stock": "", "per_member_limit": "", "valid_from": "", "valid_until": "",
            "voucher_valid_days": "", "active": "on"}
    form.update(overrides)
    return form


def tier_form(**overrides):
    form = {"name_en": "Silver", "name_de": "Silber", "threshold": "500", "multiplier": "1.25"}
    form.update(overrides)
    return form


def reward(runtime, code="coffee"):
    with runtime.brand_session("shop") as session:
        return session.scalar(select(Reward).where(Reward.code == code))


def tier(runtime, code):
    with runtime.brand_session("shop") as session:
        return session.scalar(select(Tier).where(Tier.code == code))


def audit_entries(runtime):
    with runtime.brand_session("shop") as session:
        return list(session.scalars(select(BrandAuditEntry).order_by(BrandAuditEntry.id)))


def test_list_shows_rewards_and_tiers(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    page = client.get("/t/shop/admin/rewards")
    assert page.status_code == 200
    assert b'href="/t/shop/admin/rewards/coffee"' in page.data
    assert b'href="/t/shop/admin/tiers/gold"' in page.data


def test_analyst_reads_the_list_without_edit_links(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "analyst")
    page = client.get("/t/shop/admin/rewards")
    assert page.status_code == 200
    assert b"coffee" in page.data
    assert b'href="/t/shop/admin/rewards/coffee"' not in page.data


def test_analyst_cannot_edit_a_reward(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "analyst")
    response = form_post(client, "/t/shop/admin/rewards/coffee",
                         token_from="/t/shop/admin/rewards", **reward_form())
    assert response.status_code == 403
    assert reward(runtime).cost_points == 100


def test_support_cannot_read_the_catalog(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "support")
    assert client.get("/t/shop/admin/rewards").status_code == 403


def test_reward_is_created_with_names_per_locale(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "owner")
    response = form_post(client, "/t/shop/admin/rewards/new", code="tote-bag",
                         **reward_form(name_en="Tote bag", name_de="Stofftasche",
                                       stock="25", per_member_limit="1",
                                       voucher_valid_days="30",
                                       valid_until="2026-12-31T23:00"))
    created = reward(runtime, "tote-bag")
    assert response.headers["Location"] == "/t/shop/admin/rewards?saved=1"
    assert created.name == {"en": "Tote bag", "de": "Stofftasche"}
    assert (created.cost_points, created.stock, created.per_member_limit,
            created.voucher_valid_days) == (150, 25, 1, 30)
    assert created.valid_until == datetime(2026, 12, 31, 22, 0, tzinfo=UTC)


def test_reward_creation_is_audited(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    form_post(client, "/t/shop/admin/rewards/new", code="tote-bag", **reward_form())
    entries = audit_entries(runtime)
    assert [(entry.action, entry.target) for entry in entries] == [
        ("reward.create", "reward:tote-bag")]
    assert entries[0].before is None
    assert entries[0].after["cost_points"] == 150


def test_reward_update_records_before_and_after(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/rewards/coffee",
                         **reward_form(cost_points="120", stock="10", active=""))
    entry = audit_entries(runtime)[0]
    assert response.status_code == 302
    assert (reward(runtime).cost_points, reward(runtime).stock) == (120, 10)
    assert reward(runtime).active is False
    assert entry.action == "reward.update"
    assert (entry.before["cost_points"], entry.after["cost_points"]) == (100, 120)
    assert (entry.before["active"], entry.after["active"]) == (True, False)


def test_reward_cost_not_a_number_rejected(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/rewards/coffee",
                         **reward_form(cost_points="lots"))
    assert response.status_code == 400
    assert b"cost_points: lots is not allowed; expected a whole number of 1 or more." \
        in response.data
    assert reward(runtime).cost_points == 100
    assert audit_entries(runtime) == []


def test_negative_stock_is_rejected(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/rewards/coffee", **reward_form(stock="-1"))
    assert response.status_code == 400
    assert b"stock: -1 is not allowed" in response.data


def test_validity_that_ends_before_it_starts_is_rejected(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/rewards/coffee",
                         **reward_form(valid_from="2026-02-01T00:00",
                                       valid_until="2026-01-01T00:00"))
    assert response.status_code == 400
    assert b"valid_until: 2026-01-01T00:00 is not allowed; expected a time after valid_from" \
        in response.data


def test_reward_without_default_name_is_rejected(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/rewards/coffee", **reward_form(name_en=""))
    assert response.status_code == 400
    assert b"name_en: the name in the default language is required." in response.data


def test_reward_with_a_duplicate_code_is_rejected(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/rewards/new", code="coffee", **reward_form())
    assert response.status_code == 400
    assert b"code: a reward with the code coffee exists already" in response.data


def test_reward_with_an_invalid_code_names_it(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/rewards/new", code="Free Coffee!",
                         **reward_form())
    assert response.status_code == 400
    assert b"code: Free Coffee! is not allowed" in response.data


def test_unknown_reward_is_not_found(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    assert client.get("/t/shop/admin/rewards/nothing").status_code == 404


def test_tier_is_created_and_audited(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/tiers/new", code="silver", **tier_form())
    created = tier(runtime, "silver")
    entries = audit_entries(runtime)
    assert response.status_code == 302
    assert (created.threshold, created.multiplier) == (500, "1.25")
    assert created.name == {"en": "Silver", "de": "Silber"}
    assert [(entry.action, entry.after["threshold"]) for entry in entries] == [
        ("tier.create", 500)]


def test_tier_update_records_before_and_after(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    form_post(client, "/t/shop/admin/tiers/gold",
              **tier_form(name_en="Gold", name_de="Gold", threshold="2000", multiplier="2"))
    entry = audit_entries(runtime)[0]
    assert (tier(runtime, "gold").threshold, tier(runtime, "gold").multiplier) == (2000, "2")
    assert entry.action == "tier.update"
    assert entry.before == {"code": "gold", "name": {"en": "Gold"}, "threshold": 1000,
                            "multiplier": "1.5"}
    assert entry.after == {"code": "gold", "name": {"en": "Gold", "de": "Gold"},
                           "threshold": 2000, "multiplier": "2"}


def test_tier_multiplier_out_of_range_rejected(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/tiers/gold", **tier_form(multiplier="0.5"))
    assert response.status_code == 400
    assert b"multiplier: 0.5 is not allowed; expected a decimal number from 1 to 10" \
        in response.data
    assert tier(runtime, "gold").multiplier == "1.5"
    assert audit_entries(runtime) == []


def test_tier_threshold_taken_by_another_tier_is_rejected(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/tiers/new", code="silver",
                         **tier_form(threshold="1000"))
    assert response.status_code == 400
    assert b"threshold: 1000 is not allowed; the tier gold has the same threshold" \
        in response.data


def test_entry_tier_keeps_threshold_zero(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/tiers/basic", **tier_form(threshold="10"))
    assert response.status_code == 400
    assert b"one tier needs threshold 0" in response.data
    assert tier(runtime, "basic").threshold == 0


def test_analyst_cannot_create_a_tier(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "analyst")
    response = form_post(client, "/t/shop/admin/tiers/new", token_from="/t/shop/admin/rewards",
                         code="silver", **tier_form())
    assert response.status_code == 403
    assert tier(runtime, "silver") is None
