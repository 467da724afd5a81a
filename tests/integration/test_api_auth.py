"""Partner API authentication: client credentials, scopes, brand binding, revocation and
secret rotation, on both databases."""

from datetime import timedelta

import pytest
from api_helpers import basic, bearer, make_partner, request_token
from sqlalchemy import func, select

from saas.api.models import ApiToken, PartnerClient
from saas.api.partners import revoke_client, rotate_secret
from saas.db import utcnow


@pytest.fixture
def shop(make_brand):
    return make_brand("shop")


def token_count(runtime, slug="shop"):
    with runtime.brand_session(slug) as session:
        return session.scalar(select(func.count()).select_from(ApiToken))


def test_token_carries_requested_scopes(runtime, shop, client):
    client_id, secret = make_partner(runtime, "shop", "members:read points:earn")
    response = request_token(client, "/t/shop", client_id, secret, "points:earn")
    assert response.status_code == 200
    assert response.json["scope"] == "points:earn"
    assert response.json["token_type"] == "Bearer"
    assert response.json["expires_in"] == 900


def test_token_without_scope_gets_the_minimal_default(runtime, shop, client):
    client_id, secret = make_partner(runtime, "shop", "members:read points:earn rewards:read")
    response = request_token(client, "/t/shop", client_id, secret)
    assert response.json["scope"] == "members:read rewards:read"


def test_default_scope_never_exceeds_the_client(runtime, shop, client):
    client_id, secret = make_partner(runtime, "shop", "points:earn members:read")
    response = request_token(client, "/t/shop", client_id, secret)
    assert response.json["scope"] == "members:read"


@pytest.mark.parametrize("scope", ["points:everything", "points:redeem"])
def test_unknown_or_unallowed_scope_gets_no_token(runtime, shop, client, scope):
    client_id, secret = make_partner(runtime, "shop", "members:read points:earn")
    response = request_token(client, "/t/shop", client_id, secret, f"members:read {scope}")
    assert response.status_code == 400
    assert response.json["error"] == "invalid_scope"
    assert scope in response.json["error_description"]
    assert token_count(runtime) == 0


def test_malformed_scope_parameter_gets_no_token(runtime, shop, client):
    client_id, secret = make_partner(runtime, "shop", "members:read points:redeem")
    response = client.post("/t/shop/api/v1/oauth/token",
                           data={"grant_type": "client_credentials",
                                 "scope[0]": "points:redeem"},
                           headers=basic(client_id, secret))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert token_count(runtime) == 0


def test_wrong_secret_is_invalid_client(runtime, shop, client):
    client_id, _secret = make_partner(runtime, "shop", "members:read")
    response = request_token(client, "/t/shop", client_id, "not-the-secret")
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"


def test_secret_is_stored_hashed(runtime, shop):
    _client_id, secret = make_partner(runtime, "shop", "members:read")
    with runtime.brand_session("shop") as session:
        stored = session.scalar(select(PartnerClient.secret_hash))
    assert secret not in stored
    assert len(stored) == 64


def test_token_of_one_brand_is_rejected_on_another(runtime, make_brand, shop, client):
    make_brand("other")
    client_id, secret = make_partner(runtime, "shop", "members:read")
    auth = bearer(client, "/t/shop", client_id, secret, "members:read")
    response = client.get("/t/other/api/v1/rewards", headers=auth)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_missing_token_is_401_problem(shop, client):
    response = client.get("/t/shop/api/v1/members/M-1")
    assert response.status_code == 401
    assert response.json["type"] == "urn:tessera:problem:unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_without_the_scope_is_403(runtime, shop, client):
    client_id, secret = make_partner(runtime, "shop", "members:read rewards:read")
    auth = bearer(client, "/t/shop", client_id, secret, "rewards:read")
    response = client.get("/t/shop/api/v1/members/M-1", headers=auth)
    assert response.status_code == 403
    assert response.json["code"] == "insufficient_scope"


def test_revoked_client_token_stops_at_once(runtime, shop, client):
    client_id, secret = make_partner(runtime, "shop", "rewards:read")
    auth = bearer(client, "/t/shop", client_id, secret, "rewards:read")
    before = client.get("/t/shop/api/v1/rewards", headers=auth).status_code
    with runtime.brand_session("shop") as session:
        revoke_client(session, session.scalar(select(PartnerClient)))
        session.commit()
    after = client.get("/t/shop/api/v1/rewards", headers=auth).status_code
    assert (before, after) == (200, 401)


def test_expired_token_is_rejected(runtime, shop, client):
    client_id, secret = make_partner(runtime, "shop", "rewards:read")
    auth = bearer(client, "/t/shop", client_id, secret, "rewards:read")
    with runtime.brand_session("shop") as session:
        session.scalar(select(ApiToken)).expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    assert client.get("/t/shop/api/v1/rewards", headers=auth).status_code == 401


def test_rotation_keeps_the_old_secret_for_the_overlap(runtime, shop, client):
    client_id, old = make_partner(runtime, "shop", "rewards:read")
    with runtime.brand_session("shop") as session:
        new = rotate_secret(session, session.scalar(select(PartnerClient)))
        session.commit()
    assert request_token(client, "/t/shop", client_id, old).status_code == 200
    assert request_token(client, "/t/shop", client_id, new).status_code == 200


def test_old_secret_stops_after_the_overlap(runtime, shop, client):
    client_id, old = make_partner(runtime, "shop", "rewards:read")
    with runtime.brand_session("shop") as session:
        rotate_secret(session, session.scalar(select(PartnerClient)),
                      overlap=timedelta(seconds=-1))
        session.commit()
    assert request_token(client, "/t/shop", client_id, old).status_code == 401


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_token_over_plain_http_is_an_oauth_error(runtime, shop, client):
    # Authlib accepts plain HTTP only on localhost; the brand's own host is not.
    client_id, secret = make_partner(runtime, "shop", "rewards:read")
    response = client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"},
                           headers={**basic(client_id, secret), "Host": "shop.example.test"})
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
