"""OAuth2 client credentials for partners (Authlib) and the bearer check of API routes.

Tokens are random strings stored as SHA-256 hashes in the brand's database, so a token
issued by brand A is unknown to brand B. Every request checks that the client is not
revoked and its partner not suspended, so a revocation applies at once in every process.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc6749.errors import InsecureTransportError, InvalidScopeError
from flask import Flask, Response, g, request
from sqlalchemy import select

from saas.api.models import ApiToken, PartnerClient, PartnerStatus
from saas.api.partners import DEFAULT_SCOPES, SCOPES, secret_matches
from saas.api.problems import problem
from saas.api.sla import start_timer
from saas.db import utcnow
from saas.web.policy import Policy, register_check
from saas.web.tenant import brand_db

log = logging.getLogger(__name__)

TOKEN_LIFETIME = timedelta(minutes=15)
TOKEN_PARAMETERS = frozenset({"grant_type", "scope", "client_id", "client_secret"})


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class OAuthClient(ClientMixin):
    """Authlib's view of a partner client row."""

    def __init__(self, row: PartnerClient) -> None:
        self.row = row
        self.allowed = set(row.partner.scopes)

    def get_client_id(self):
        return self.row.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        if not scope:
            return " ".join(name for name in DEFAULT_SCOPES if name in self.allowed)
        return " ".join(name for name in scope.split() if name in self.allowed)

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return secret_matches(self.row, client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_grant_type(self, grant_type):
        return grant_type == "client_credentials"

    def check_response_type(self, response_type):
        return False


class PartnerCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_requested_scope(self):
        scope = self.request.payload.scope
        client: OAuthClient = self.request.client
        if not scope or not scope.strip():
            if not client.get_allowed_scope(None):
                raise InvalidScopeError(
                    description="no scope requested and the client may have none of the "
                    f"default scopes ({' '.join(DEFAULT_SCOPES)}); request a scope")
            return
        for name in scope.split():
            if name not in SCOPES:
                raise InvalidScopeError(description=f"unknown scope {name!r}; known scopes: "
                                        f"{' '.join(SCOPES)}")
            if name not in client.allowed:
                raise InvalidScopeError(description=f"scope {name!r} is not allowed for this "
                                        "client")


def _query_client(client_id: str) -> OAuthClient | None:
    row = brand_db().scalar(select(PartnerClient).where(PartnerClient.client_id == client_id))
    if row is None or row.revoked_at is not None or row.partner.status != PartnerStatus.ACTIVE:
        return None
    return OAuthClient(row)


def _save_token(token: dict, oauth_request) -> None:
    db = brand_db()
    db.add(ApiToken(token_hash=_digest(token["access_token"]),
                    client_id=oauth_request.client.row.id, scopes=token.get("scope", ""),
                    issued_at=utcnow(),
                    expires_at=utcnow() + timedelta(seconds=token["expires_in"])))
    db.commit()


def init_app(app: Flask) -> AuthorizationServer:
    app.config.setdefault("OAUTH2_TOKEN_EXPIRES_IN",
                          {"client_credentials": int(TOKEN_LIFETIME.total_seconds())})
    server = AuthorizationServer(app, query_client=_query_client, save_token=_save_token)
    server.register_grant(PartnerCredentialsGrant)
    app.extensions["tessera.oauth"] = server
    return server


def token_response() -> Response:
    """Return the token response; a parameter outside RFC 6749's is an invalid_request."""
    for name in request.form:
        if name not in TOKEN_PARAMETERS or len(request.form.getlist(name)) > 1:
            return _oauth_error("invalid_request",
                                f"unexpected or repeated parameter {name!r}; send grant_type, "
                                "scope (space-separated) and the client credentials once")
    from flask import current_app

    try:
        return current_app.extensions["tessera.oauth"].create_token_response()
    except InsecureTransportError:
        # Plain HTTP reached the app without a trusted proxy saying the client used HTTPS.
        return _oauth_error("invalid_request", "request tokens over https; behind a proxy, "
                            "set TESSERA_TRUSTED_PROXIES so its X-Forwarded-Proto is trusted")


def _oauth_error(code: str, description: str) -> Response:
    response = Response(json.dumps({"error": code, "error_description": description}),
                        status=400, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def check_partner(policy: Policy):
    """Accept a request with a live token of this brand that has the policy's scopes."""
    header = request.headers.get("Authorization", "")
    challenge = {"WWW-Authenticate": 'Bearer realm="api"'}
    if not header.lower().startswith("bearer ") or not header[7:].strip():
        return problem(401, "unauthorized", "send an access token from POST /api/v1/oauth/token"
                       " in the Authorization header as 'Bearer TOKEN'", headers=challenge)
    db = brand_db()
    token = db.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(header[7:].strip())))
    client = db.get(PartnerClient, token.client_id) if token is not None else None
    if token is None or token.expires_at <= utcnow() or client is None \
            or client.revoked_at is not None or client.partner.status != PartnerStatus.ACTIVE:
        return problem(401, "unauthorized", "the access token is unknown, expired or revoked; "
                       "request a new one", headers={
                           "WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'})
    granted = set(token.scopes.split())
    missing = sorted(policy.scopes - granted)
    if missing:
        return problem(403, "insufficient_scope", f"this request needs the scope {missing[0]!r};"
                       " request a token with it", headers={
                           "WWW-Authenticate": f'Bearer realm="api", error="insufficient_scope",'
                                               f' scope="{" ".join(sorted(policy.scopes))}"'})
    partner = client.partner
    # Detached, they keep their loaded values when a write rolls the session back.
    db.expunge(client)
    db.expunge(partner)
    g.api_client = client
    g.api_partner = partner
    g.api_scopes = granted
    start_timer()
    return None


register_check("partner", check_partner)
