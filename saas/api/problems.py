"""RFC 9457 problem details for every API error outside the token endpoint."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

from saas.loyalty.errors import LoyaltyError

TYPE_PREFIX = "urn:tessera:problem:"
MEDIA_TYPE = "application/problem+json"

# Domain error codes and the HTTP status of each.
STATUS_BY_CODE = {
    "invalid_input": 400,
    "not_found": 404,
    "member_not_active": 409,
    "insufficient_points": 409,
    "negative_balance": 409,
    "out_of_stock": 409,
    "limit_reached": 409,
    "reward_unavailable": 409,
    "voucher_not_usable": 409,
    "order_conflict": 409,
    "refund_too_large": 409,
    "no_exchange_rate": 422,
    "idempotency_mismatch": 422,
    "idempotency_in_flight": 409,
    "claim_rejected": 409,
}

TITLES = {
    "invalid_input": "Invalid request",
    "not_found": "Not found",
    "member_not_active": "Member not active",
    "insufficient_points": "Not enough points",
    "negative_balance": "Balance would go negative",
    "out_of_stock": "Reward out of stock",
    "limit_reached": "Limit reached",
    "reward_unavailable": "Reward unavailable",
    "voucher_not_usable": "Voucher not usable",
    "order_conflict": "Order already recorded differently",
    "refund_too_large": "Refund larger than the order",
    "no_exchange_rate": "No exchange rate",
    "idempotency_mismatch": "Idempotency key reused with a different request",
    "idempotency_in_flight": "Request with this idempotency key still in progress",
    "unauthorized": "Authentication required",
    "insufficient_scope": "Token lacks a scope",
    "rate_limited": "Too many requests",
    "idempotency_key_missing": "Idempotency-Key header missing",
    "unsupported_media_type": "JSON body required",
    "server_error": "Internal error",
    "method_not_allowed": "Method not allowed",
}


def problem(status: int, code: str, detail: str, *, field: str | None = None,
            value: Any = None, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"type": TYPE_PREFIX + code.replace("_", "-"),
                            "title": TITLES.get(code, code.replace("_", " ").capitalize()),
                            "status": status, "detail": detail, "code": code}
    if field is not None:
        body["field"] = field
    if value is not None:
        body["value"] = value if isinstance(value, (int, str, float, bool)) else str(value)
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for name, header in (headers or {}).items():
        response.headers[name] = header
    return response


def status_of(code: str) -> int:
    return STATUS_BY_CODE.get(code, 400)


RESERVED = ("type", "title", "status", "detail", "code", "message", "field", "value")


def from_body(body: dict[str, Any]) -> Response:
    """Return a stored domain rejection (``LoyaltyError.as_json()``) as problem details.

    A detail whose name problem details reserve, such as a voucher's ``status``, is
    renamed with the prefix ``current_``.
    """
    extra = {key if key not in RESERVED else f"current_{key}": value
             for key, value in body.items() if key not in ("code", "message", "field", "value")}
    return problem(status_of(body["code"]), body["code"], body["message"],
                   field=body.get("field"), value=body.get("value"), **extra)


def from_error(error: LoyaltyError) -> Response:
    return from_body(error.as_json())
