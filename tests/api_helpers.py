"""Partner clients and access tokens for API tests."""

from __future__ import annotations

import base64
import uuid

from saas.api.partners import create_partner


def make_partner(runtime, slug: str, scopes: str, *, name: str = "Corner Shop",
                 rate_limit: str = "120/minute") -> tuple[str, str]:
    with runtime.brand_session(slug) as session:
        created = create_partner(session, name, scopes, rate_limit=rate_limit)
        session.commit()
    return created.client_id, created.client_secret


def basic(client_id: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def request_token(client, base: str, client_id: str, secret: str, scope: str | None = None):
    form = {"grant_type": "client_credentials"}
    if scope is not None:
        form["scope"] = scope
    return client.post(f"{base}/api/v1/oauth/token", data=form, headers=basic(client_id, secret))


def bearer(client, base: str, client_id: str, secret: str, scope: str) -> dict[str, str]:
    response = request_token(client, base, client_id, secret, scope)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def write_headers(auth: dict[str, str], key: str | None = None) -> dict[str, str]:
    return {**auth, "Idempotency-Key": key or str(uuid.uuid4())}
