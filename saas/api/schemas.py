"""JSON Schemas of the API's bodies: requests are validated with them, and the OpenAPI
document publishes them, so the documentation and the checks cannot drift apart."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from saas.loyalty.errors import InvalidInput

REF = {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$",
       "description": "Member reference: 1-64 letters, digits, '-', '_' or '.'"}
MONEY = {
    "type": "object", "additionalProperties": False, "required": ["amount_minor", "currency"],
    "properties": {
        "amount_minor": {"type": "integer", "minimum": 0, "maximum": 10**15,
                         "description": "Amount in minor units (cents), such as 1999 for 19.99"},
        "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$",
                     "description": "ISO 4217 code"},
    },
}
CODE = {"type": "string", "minLength": 1, "maxLength": 64}
TIMESTAMP = {"type": "string", "format": "date-time"}

ENROL = {
    "type": "object", "additionalProperties": False, "required": ["ref"],
    "properties": {"ref": REF, "email": {"type": "string", "maxLength": 320},
                   "locale": {"type": "string", "maxLength": 16}},
}
ACCRUAL = {
    "type": "object", "additionalProperties": False,
    "required": ["order_ref", "member", "amount"],
    "properties": {
        "order_ref": {"type": "string", "minLength": 1, "maxLength": 100,
                      "description": "The partner's own order reference, unique per partner"},
        "member": REF,
        "amount": MONEY,
        "ordered_at": {**TIMESTAMP, "description": "Defaults to now"},
        "channel": {"type": "string", "maxLength": 40},
        "location": {"type": "string", "maxLength": 64},
        "categories": {"type": "array", "items": CODE, "maxItems": 50},
        "items": {"type": "array", "maxItems": 200, "items": {
            "type": "object", "additionalProperties": False, "required": ["sku", "quantity"],
            "properties": {"sku": CODE, "quantity": {"type": "integer", "minimum": 1},
                           "category": CODE, "amount": MONEY}}},
        "enrol": {"type": "boolean", "description": "Enrol an unknown member reference"},
    },
}
REFUND = {
    "type": "object", "additionalProperties": False,
    "required": ["order_ref", "refund_ref", "amount"],
    "properties": {"order_ref": {"type": "string", "minLength": 1, "maxLength": 100},
                   "refund_ref": {"type": "string", "minLength": 1, "maxLength": 100},
                   "amount": MONEY},
}
REDEMPTION = {
    "type": "object", "additionalProperties": False, "required": ["member"],
    "properties": {"member": REF, "reward": CODE,
                   "points": {"type": "integer", "minimum": 1, "maximum": 10**12},
                   "reason": {"type": "string", "maxLength": 500}},
}

MEMBER = {
    "type": "object", "required": ["ref", "status", "balance", "available"],
    "properties": {"ref": {"type": "string"}, "status": {"type": "string"},
                   "email": {"type": ["string", "null"]}, "locale": {"type": ["string", "null"]},
                   "joined_at": TIMESTAMP, "balance": {"type": "integer"},
                   "available": {"type": "integer"}, "tier": {"type": ["string", "null"]}},
}
BALANCE = {"type": "object", "required": ["member", "balance", "available", "debt"],
           "properties": {"member": {"type": "string"}, "balance": {"type": "integer"},
                          "available": {"type": "integer"}, "debt": {"type": "integer"}}}
CLAIM_CODE = {"type": "object", "required": ["member", "code", "expires_at"],
              "properties": {"member": {"type": "string"}, "code": {"type": "string"},
                             "expires_at": TIMESTAMP}}
ENTRIES = {
    "type": "object", "required": ["entries", "next_cursor"],
    "properties": {
        "entries": {"type": "array", "items": {
            "type": "object", "required": ["id", "kind", "points", "occurred_at"],
            "properties": {"id": {"type": "integer"}, "kind": {"type": "string"},
                           "points": {"type": "integer"}, "source": {"type": "string"},
                           "reason": {"type": ["string", "null"]}, "occurred_at": TIMESTAMP}}},
        "next_cursor": {"type": ["string", "null"]},
    },
}
BREAKDOWN_LINE = {"type": "object", "required": ["name", "points"],
                  "properties": {"rule": {"type": ["string", "null"]}, "name": {"type": "string"},
                                 "points": {"type": "integer"},
                                 "explanation": {"type": "string"}}}
ACCRUAL_RESULT = {
    "type": "object", "required": ["order", "member", "points", "balance", "breakdown"],
    "properties": {"order_id": {"type": "integer"}, "order": {"type": "string"},
                   "member": {"type": "string"}, "points": {"type": "integer"},
                   "balance": {"type": "integer"},
                   "breakdown": {"type": "array", "items": BREAKDOWN_LINE}},
}
REFUND_RESULT = {
    "type": "object", "required": ["order", "refunded_minor", "points_reversed", "balance"],
    "properties": {"order": {"type": "string"}, "refunded_minor": {"type": "integer"},
                   "points_reversed": {"type": "integer"}, "balance": {"type": "integer"}},
}
REDEMPTION_RESULT = {
    "type": "object", "required": ["redemption_id", "member", "points", "status"],
    "properties": {"redemption_id": {"type": "integer"}, "member": {"type": "string"},
                   "reward": {"type": ["string", "null"]}, "points": {"type": "integer"},
                   "voucher": {"type": ["string", "null"]}, "status": {"type": "string"},
                   "expires_at": {"type": ["string", "null"]}, "balance": {"type": "integer"}},
}
REWARDS = {
    "type": "object", "required": ["rewards"],
    "properties": {"rewards": {"type": "array", "items": {
        "type": "object", "required": ["code", "name", "cost_points"],
        "properties": {"code": {"type": "string"},
                       "name": {"type": "object", "additionalProperties": {"type": "string"}},
                       "cost_points": {"type": "integer"},
                       "stock": {"type": ["integer", "null"]},
                       "per_member_limit": {"type": ["integer", "null"]}}}}},
}
PROBLEM = {
    "type": "object", "required": ["type", "title", "status", "detail"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                   "status": {"type": "integer"}, "detail": {"type": "string"},
                   "code": {"type": "string"}, "field": {"type": "string"}, "value": {}},
}
CURSOR_PARAMETER = {"name": "cursor", "in": "query", "required": False,
                    "schema": {"type": "string"},
                    "description": "next_cursor of the previous page"}
LIMIT_PARAMETER = {"name": "limit", "in": "query", "required": False,
                   "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}


def _path(error) -> str:
    parts = [str(part) for part in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        parts.append(missing)
    if error.validator == "additionalProperties" and "'" in error.message:
        parts.append(error.message.split("'")[1])
    return ".".join(part for part in parts if part) or "body"


def validate(data: Any, schema: dict) -> dict:
    """Return ``data`` if it fits ``schema``, or raise InvalidInput naming the first field."""
    errors = sorted(Draft202012Validator(schema).iter_errors(data),
                    key=lambda error: list(error.absolute_path))
    if errors:
        error = errors[0]
        field = _path(error)
        if error.validator == "required":
            message = f"missing field {field!r}"
        elif error.validator == "additionalProperties":
            message = f"unknown field {field!r}; see the API documentation for the fields"
        else:
            message = f"invalid {field!r}: {error.message}"
        raise InvalidInput(message, field=field,
                           value=None if error.validator == "required" else error.instance)
    return data
