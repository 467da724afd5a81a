"""Brand console pages: members, vouchers, earn rules with the simulator, users and the
audit trail, through HTTP on both databases."""

import re

import pytest
from console_helpers import console_sign_in, form_post, make_console_user
from loyalty_helpers import add_reward, add_rule, buy
from sqlalchemy import select
from werkzeug.test import Client

from saas.loyalty.members import enrol_member
from saas.loyalty.models import EarnRule, LedgerEntry, Member, Redemption
from saas.loyalty.rewards import redeem_reward
from saas.platform.models import Delegation, User
from saas.security.audit import BrandAuditEntry, verify_chain


@pytest.fixture
def shop(runtime, make_brand, wsgi_app):
    brand = make_brand("shop", name="Shop", timezone="Europe/Berlin")
    with runtime.brand_session("shop") as session:
        add_rule(session)
        add_reward(session, cost=100)
        enrol_member(session, "M-1", email="mia@example.com")
        enrol_member(session, "M-2")
        session.commit()
        buy(session, brand, "M-1", 50_000)
        buy(session, brand, "M-2", 20_000)
    return brand


def signed_in(runtime, wsgi_app, role, email=None):
    email = email or f"{role}@example.com"
    secret = make_console_user(runtime, email, brand="shop", role=role)
    client = Client(wsgi_app)
    console_sign_in(runtime, client, "/t/shop", email, secret)
    return client


def audit_actions(runtime):
    with runtime.brand_session("shop") as session:
        return list(session.scalars(select(BrandAuditEntry.action)
                                    .order_by(BrandAuditEntry.id)))


def test_member_search_finds_by_email(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "support")
    page = client.get("/t/shop/admin/members?q=mia@")
    assert b'href="/t/shop/admin/members/M-1"' in page.data
    assert b"M-2" not in page.data


def test_member_search_answers_htmx_with_the_results_only(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "support")
    page = client.get("/t/shop/admin/members?q=M-", headers={"HX-Request": "true"})
    assert b"<table>" in page.data
    assert b"<html" not in page.data


def test_adjustment_posts_an_entry_and_an_audit_record(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "support")
    response = form_post(client, "/t/shop/admin/members/M-1/adjust",
                         token_from="/t/shop/admin/members/M-1", points="-20",
                         reason="Damaged CD returned")
    with runtime.brand_session("shop") as session:
        entry = session.scalars(select(LedgerEntry).order_by(LedgerEntry.id.desc())).first()
        balance = session.scalar(select(Member.balance).where(Member.ref == "M-1"))
    assert response.status_code == 200
    assert (entry.points, entry.reason, entry.source) == (-20, "Damaged CD returned",
                                                          "user:support@example.com")
    assert balance == 480
    assert audit_actions(runtime) == ["member.adjust"]


def test_adjustment_without_reason_is_refused_and_changes_nothing(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "support")
    response = form_post(client, "/t/shop/admin/members/M-1/adjust",
                         token_from="/t/shop/admin/members/M-1", points="20", reason=" ")
    with runtime.brand_session("shop") as session:
        balance = session.scalar(select(Member.balance).where(Member.ref == "M-1"))
    assert response.status_code == 400
    assert b"reason is required" in response.data
    assert balance == 500
    assert audit_actions(runtime) == []


def test_adjustment_that_is_not_a_number_names_the_value(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "support")
    response = form_post(client, "/t/shop/admin/members/M-1/adjust",
                         token_from="/t/shop/admin/members/M-1", points="ten", reason="x")
    assert response.status_code == 400
    assert b"not ten" in response.data


def test_block_and_unblock_are_audited(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "support")
    form_post(client, "/t/shop/admin/members/M-1/status",
              token_from="/t/shop/admin/members/M-1", status="blocked")
    form_post(client, "/t/shop/admin/members/M-1/status",
              token_from="/t/shop/admin/members/M-1", status="active")
    with runtime.brand_session("shop") as session:
        entries = list(session.scalars(select(BrandAuditEntry).order_by(BrandAuditEntry.id)))
    assert [(e.before, e.after) for e in entries] == [
        ({"status": "active"}, {"status": "blocked"}),
        ({"status": "blocked"}, {"status": "active"}),
    ]


def test_merge_moves_the_balance_and_aliases_the_reference(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "support")
    form_post(client, "/t/shop/admin/members/M-1/merge",
              token_from="/t/shop/admin/members/M-1", merge_ref="M-2", confirm="yes")
    page = client.get("/t/shop/admin/members/M-2")
    with runtime.brand_session("shop") as session:
        balance = session.scalar(select(Member.balance).where(Member.ref == "M-1"))
    assert page.headers["Location"] == "/t/shop/admin/members/M-1"
    assert balance == 700
    assert audit_actions(runtime) == ["member.merge"]


def test_merge_needs_confirmation(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "support")
    response = form_post(client, "/t/shop/admin/members/M-1/merge",
                         token_from="/t/shop/admin/members/M-1", merge_ref="M-2")
    assert response.status_code == 400
    assert audit_actions(runtime) == []


def test_claim_code_is_shown_once_and_audited_without_the_code(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "support")
    response = form_post(client, "/t/shop/admin/members/M-1/claim-code",
                         token_from="/t/shop/admin/members/M-1")
    code = re.search(rb'data-testid="claim-code">([^<]+)<', response.data).group(1).decode()
    with runtime.brand_session("shop") as session:
        entry = session.scalar(select(BrandAuditEntry))
    assert entry.action == "member.claim_code"
    assert code not in str(entry.after)


def test_voucher_is_marked_used_once(runtime, shop, wsgi_app):
    with runtime.brand_session("shop") as session:
        code = redeem_reward(session, "M-1", "coffee", source="test").voucher_code
        session.commit()
    client = signed_in(runtime, wsgi_app, "support")
    first = form_post(client, "/t/shop/admin/vouchers",
                      token_from=f"/t/shop/admin/vouchers?code={code}", code=code)
    second = form_post(client, "/t/shop/admin/vouchers",
                       token_from=f"/t/shop/admin/vouchers?code={code}", code=code)
    with runtime.brand_session("shop") as session:
        status = session.scalar(select(Redemption.status))
    assert (first.status_code, second.status_code) == (200, 400)
    assert status == "used"
    assert audit_actions(runtime) == ["voucher.use"]


def rule_form(**overrides):
    form = {"name": "Base points", "priority": "10", "stacking": "stack", "rounding": "down",
            "active": "on", "actions": '[{"type": "points_per_amount", "points": 2, "per": 1}]'}
    form.update(overrides)
    return form


def test_saving_a_rule_bumps_its_version_and_records_before_and_after(runtime, shop,
                                                                      wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/rules/base", **rule_form())
    with runtime.brand_session("shop") as session:
        rule = session.scalar(select(EarnRule).where(EarnRule.code == "base"))
        entry = session.scalar(select(BrandAuditEntry))
    assert response.status_code == 302
    assert (rule.version, rule.actions[0]["points"]) == (2, 2)
    assert entry.before["actions"][0]["points"] == 1
    assert entry.after["actions"][0]["points"] == 2
    assert entry.actor == "user:admin@example.com"


def test_invalid_rule_names_the_path_and_saves_nothing(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/rules/base",
                         **rule_form(actions='[{"type": "points_per_amount", "points": -1, '
                                             '"per": 1}]'))
    with runtime.brand_session("shop") as session:
        version = session.scalar(select(EarnRule.version).where(EarnRule.code == "base"))
    assert response.status_code == 400
    assert b"rule.actions[0].points" in response.data
    assert version == 1


def test_malformed_actions_json_names_the_field(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/rules/base", **rule_form(actions="[{"))
    assert response.status_code == 400
    assert b"actions is not valid JSON" in response.data


def test_simulator_shows_draft_and_saved_points(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/rules/base/simulate",
                         token_from="/t/shop/admin/rules/base", sim_amount="42.50",
                         **rule_form())
    with runtime.brand_session("shop") as session:
        version = session.scalar(select(EarnRule.version).where(EarnRule.code == "base"))
    assert b"With this draft: 85 points" in response.data
    assert b"With the saved rules: 42 points" in response.data
    assert version == 1


def test_simulator_rejects_an_amount_that_is_not_a_number(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "admin")
    response = form_post(client, "/t/shop/admin/rules/base/simulate",
                         token_from="/t/shop/admin/rules/base", sim_amount="lots",
                         **rule_form())
    assert response.status_code == 400
    assert b"not lots" in response.data


def test_new_rule_is_created_and_audited(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "owner")
    response = form_post(client, "/t/shop/admin/rules/new", code="weekend",
                         **rule_form(name="Weekend bonus", day_sat="on", day_sun="on"))
    with runtime.brand_session("shop") as session:
        rule = session.scalar(select(EarnRule).where(EarnRule.code == "weekend"))
    assert response.headers["Location"] == "/t/shop/admin/rules/weekend?saved=1"
    assert rule.conditions == {"days": ["sat", "sun"]}
    assert audit_actions(runtime) == ["rule.create"]


def test_analyst_sees_rules_but_cannot_open_the_editor(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "analyst")
    listing = client.get("/t/shop/admin/rules")
    assert listing.status_code == 200
    assert b'href="/t/shop/admin/rules/base"' not in listing.data
    assert client.get("/t/shop/admin/rules/base").status_code == 403


def test_owner_changes_and_removes_a_role(runtime, shop, wsgi_app):
    make_console_user(runtime, "sam@example.com", brand="shop", role="support")
    client = signed_in(runtime, wsgi_app, "owner")
    with runtime.platform_session() as db:
        sam = db.scalar(select(User.id).where(User.email == "sam@example.com"))
    form_post(client, f"/t/shop/admin/users/{sam}/role", token_from="/t/shop/admin/users",
              role="analyst")
    with runtime.platform_session() as db:
        changed = db.scalar(select(Delegation.role).where(Delegation.user_id == sam))
    form_post(client, f"/t/shop/admin/users/{sam}/role", token_from="/t/shop/admin/users",
              role="remove")
    with runtime.platform_session() as db:
        removed = db.scalar(select(Delegation.role).where(Delegation.user_id == sam))
        assert verify_chain(db, platform=True).ok
    assert (changed, removed) == ("analyst", None)


def test_the_last_owner_cannot_be_demoted(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "owner")
    with runtime.platform_session() as db:
        me = db.scalar(select(User.id).where(User.email == "owner@example.com"))
    response = form_post(client, f"/t/shop/admin/users/{me}/role",
                         token_from="/t/shop/admin/users", role="admin")
    with runtime.platform_session() as db:
        role = db.scalar(select(Delegation.role).where(Delegation.user_id == me))
    assert response.status_code == 400
    assert b"at least one owner" in response.data
    assert role == "owner"


def test_owner_cannot_manage_a_user_of_another_brand(runtime, make_brand, shop, wsgi_app):
    make_brand("other")
    make_console_user(runtime, "out@example.com", brand="other", role="admin")
    client = signed_in(runtime, wsgi_app, "owner")
    with runtime.platform_session() as db:
        outsider = db.scalar(select(User.id).where(User.email == "out@example.com"))
    response = form_post(client, f"/t/shop/admin/users/{outsider}/role",
                         token_from="/t/shop/admin/users", role="remove")
    with runtime.platform_session() as db:
        role = db.scalar(select(Delegation.role).where(Delegation.user_id == outsider))
    assert response.status_code == 404
    assert role == "admin"


def test_audit_trail_filters_by_action(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "owner")
    form_post(client, "/t/shop/admin/members/M-1/status",
              token_from="/t/shop/admin/members/M-1", status="blocked")
    form_post(client, "/t/shop/admin/members/M-1/adjust",
              token_from="/t/shop/admin/members/M-1", points="5", reason="goodwill")
    page = client.get("/t/shop/admin/audit?action=member.adjust")
    assert b"member.adjust" in page.data
    assert b"member.status" not in page.data


def test_audit_trail_rejects_a_malformed_date_naming_it(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "owner")
    page = client.get("/t/shop/admin/audit?since=yesterday")
    assert page.status_code == 400
    assert b"not yesterday" in page.data
