"""Partner API endpoints: members, accruals with idempotency, redemptions, refunds,
rewards and vouchers, on both databases."""

import pytest
from api_helpers import bearer, make_partner, write_headers
from loyalty_helpers import add_reward, add_rule
from sqlalchemy import func, select

from saas.loyalty.members import enrol_member
from saas.loyalty.models import LedgerEntry

ALL_SCOPES = "members:read members:write points:earn points:redeem rewards:read vouchers:write"


@pytest.fixture
def api(runtime, make_brand, client):
    make_brand("shop", currency="USD")
    with runtime.brand_session("shop") as session:
        add_rule(session)
        add_reward(session, "coffee", cost=100)
        enrol_member(session, "M-1", email="mia@example.com")
        session.commit()
    client_id, secret = make_partner(runtime, "shop", ALL_SCOPES)
    return bearer(client, "/t/shop", client_id, secret, ALL_SCOPES)


def accrual_body(order_ref="A-1", amount=12345, member="M-1"):
    return {"order_ref": order_ref, "member": member,
            "amount": {"amount_minor": amount, "currency": "USD"},
            "ordered_at": "2026-11-01T10:00:00Z"}


def post(client, path, auth, body, key=None):
    return client.post(f"/t/shop/api/v1{path}", json=body, headers=write_headers(auth, key))


def entry_count(runtime):
    with runtime.brand_session("shop") as session:
        return session.scalar(select(func.count()).select_from(LedgerEntry))


def test_accrual_earns_points_with_a_breakdown(api, client):
    response = post(client, "/accruals", api, accrual_body())
    assert response.status_code == 201
    assert response.json["points"] == 123
    assert response.json["breakdown"][0]["rule"] == "base"
    assert response.json["balance"] == 123


def test_retry_with_the_same_key_replays_the_response(runtime, api, client):
    first = post(client, "/accruals", api, accrual_body(), key="k-1")
    again = post(client, "/accruals", api, accrual_body(), key="k-1")
    assert again.status_code == first.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert entry_count(runtime) == 1


def test_same_key_with_another_body_is_422(runtime, api, client):
    post(client, "/accruals", api, accrual_body(), key="k-1")
    other = post(client, "/accruals", api, accrual_body(amount=999), key="k-1")
    assert other.status_code == 422
    assert other.json["code"] == "idempotency_mismatch"
    assert entry_count(runtime) == 1


def test_write_without_idempotency_key_is_400(api, client):
    response = client.post("/t/shop/api/v1/accruals", json=accrual_body(), headers=api)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.json["field"] == "Idempotency-Key"


def test_invalid_body_names_the_field(api, client):
    body = accrual_body()
    body["amount"]["amount_minor"] = "12.34"
    response = post(client, "/accruals", api, body)
    assert response.status_code == 400
    assert response.json["field"] == "amount.amount_minor"
    assert response.json["type"] == "urn:tessera:problem:invalid-input"


def test_unknown_field_is_named(api, client):
    response = post(client, "/accruals", api, accrual_body() | {"brand": "other"})
    assert response.status_code == 400
    assert response.json["field"] == "brand"


def test_unknown_member_is_404(api, client):
    response = post(client, "/accruals", api, accrual_body(member="NOPE"))
    assert response.status_code == 404
    assert response.json["code"] == "not_found"


def test_accrual_can_enrol_an_unknown_member(api, client):
    response = post(client, "/accruals", api, accrual_body(member="NEW-7") | {"enrol": True})
    assert response.status_code == 201
    assert client.get("/t/shop/api/v1/members/NEW-7", headers=api).json["balance"] == 123


def test_member_balance_and_entries_with_cursor(api, client):
    for index in range(3):
        post(client, "/accruals", api, accrual_body(order_ref=f"A-{index}", amount=1000))
    balance = client.get("/t/shop/api/v1/members/M-1/balance", headers=api)
    first = client.get("/t/shop/api/v1/members/M-1/entries?limit=2", headers=api)
    second = client.get("/t/shop/api/v1/members/M-1/entries?limit=2&cursor="
                        + first.json["next_cursor"], headers=api)
    assert balance.json["balance"] == 30
    assert len(first.json["entries"]) == 2
    assert len(second.json["entries"]) == 1
    assert second.json["next_cursor"] is None


def test_malformed_cursor_is_named(api, client):
    response = client.get("/t/shop/api/v1/members/M-1/entries?cursor=%%%", headers=api)
    assert response.status_code == 400
    assert response.json["field"] == "cursor"


def test_enrol_and_issue_claim_code(api, client):
    enrolled = post(client, "/members", api, {"ref": "T-9", "email": "tom@example.com"})
    code = post(client, "/members/T-9/claim-codes", api, {})
    assert enrolled.status_code == 201
    assert enrolled.json["ref"] == "T-9"
    assert code.status_code == 201
    assert code.json["member"] == "T-9"


def test_redeem_reward_issues_a_voucher_used_once(api, client):
    post(client, "/accruals", api, accrual_body())
    redeemed = post(client, "/redemptions", api, {"member": "M-1", "reward": "coffee"})
    voucher = redeemed.json["voucher"]
    first = post(client, f"/vouchers/{voucher}/use", api, {})
    second = post(client, f"/vouchers/{voucher}/use", api, {})
    assert redeemed.status_code == 201
    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json["code"] == "voucher_not_usable"


def test_redeem_more_points_than_available_is_409(api, client):
    response = post(client, "/redemptions", api, {"member": "M-1", "points": 5})
    assert response.status_code == 409
    assert response.json["code"] == "insufficient_points"


def test_redemption_needs_reward_or_points_not_both(api, client):
    response = post(client, "/redemptions", api, {"member": "M-1", "reward": "coffee",
                                                  "points": 5})
    assert response.status_code == 400
    assert response.json["field"] == "reward"


def test_partial_refund_reverses_points_in_proportion(api, client):
    post(client, "/accruals", api, accrual_body(amount=10000))
    response = post(client, "/refunds", api, {"order_ref": "A-1", "refund_ref": "R-1",
                                              "amount": {"amount_minor": 2500,
                                                         "currency": "USD"}})
    assert response.status_code == 201
    assert response.json["points_reversed"] == 25
    assert response.json["balance"] == 75


def test_rewards_list(api, client):
    response = client.get("/t/shop/api/v1/rewards", headers=api)
    assert response.json["rewards"][0]["code"] == "coffee"
    assert response.json["rewards"][0]["cost_points"] == 100


def test_unknown_api_route_is_a_problem(api, client):
    response = client.get("/t/shop/api/v1/nowhere", headers=api)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_openapi_lists_every_operation(client, make_brand):
    make_brand("shop")
    document = client.get("/t/shop/api/v1/openapi.json").json
    operations = {op["operationId"] for path in document["paths"].values()
                  for op in path.values()}
    assert document["openapi"] == "3.1.0"
    assert operations == {"getMember", "enrolMember", "issueClaimCode", "getBalance",
                          "listEntries", "createAccrual", "createRefund", "createRedemption",
                          "listRewards", "useVoucher"}


def test_docs_page_lists_operations_and_scopes(client, make_brand):
    make_brand("shop")
    page = client.get("/t/shop/api/v1/docs")
    assert page.status_code == 200
    assert b'id="createAccrual"' in page.data
    assert b"<code>points:earn</code>" in page.data


def test_retry_without_order_time_replays(runtime, api, client):
    body = accrual_body()
    del body["ordered_at"]
    first = post(client, "/accruals", api, body, key="k-2")
    again = post(client, "/accruals", api, body, key="k-2")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert entry_count(runtime) == 1


def set_locations(runtime, *codes):
    from saas.api.models import Partner

    with runtime.brand_session("shop") as session:
        session.scalar(select(Partner)).locations = list(codes)
        session.commit()


def test_accrual_at_an_unregistered_location_is_rejected(runtime, api, client):
    set_locations(runtime, "till-1", "till-2")
    response = post(client, "/accruals", api, accrual_body() | {"location": "till-9"})
    assert response.status_code == 400
    assert response.json["field"] == "location"
    assert entry_count(runtime) == 0


def test_accrual_at_a_registered_location_is_recorded(runtime, api, client):
    set_locations(runtime, "till-1")
    response = post(client, "/accruals", api, accrual_body() | {"location": "till-1"})
    assert response.status_code == 201


def test_partner_specific_rule_applies_to_its_accruals(runtime, api, client):
    from saas.api.models import Partner

    with runtime.brand_session("shop") as session:
        code = session.scalar(select(Partner.code))
        add_rule(session, "partner-bonus", points=1, priority=20,
                 conditions={"partners": [code]})
    response = post(client, "/accruals", api, accrual_body())
    assert response.json["points"] == 246
    assert [line["rule"] for line in response.json["breakdown"]] == ["base", "partner-bonus"]
