"""The OpenAPI 3.1 document, built from the API's routes and the schemas they validate with."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from saas.api import partners
from saas.api.problems import MEDIA_TYPE


@dataclass(frozen=True)
class Operation:
    operation_id: str
    summary: str
    scope: str
    response: dict
    request: dict | None = None
    write: bool = False
    status: int = 200
    parameters: list[dict] = field(default_factory=list)


def document(operation: Operation):
    """Attach ``operation`` to a view so the OpenAPI document lists it."""
    def decorate(view):
        view.openapi_operation = operation
        return view

    return decorate


IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key", "in": "header", "required": True,
    "schema": {"type": "string", "pattern": "^[!-~]{1,200}$"},
    "description": "A unique key per intended write, such as a UUID. A retry with the same key "
                   "and body replays the first response; the same key with another body is "
                   "rejected with 422, and a retry while the first is running gets 409.",
}


def _problem(description: str) -> dict:
    return {"description": description,
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _operation(operation: Operation, path_names: list[str]) -> dict[str, Any]:
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in path_names]
    parameters += operation.parameters
    if operation.write:
        parameters.append(IDEMPOTENCY_HEADER)
    responses: dict[str, Any] = {
        str(operation.status): {"description": "Success",
                                "content": {"application/json": {"schema": operation.response}}},
        "400": _problem("Invalid request; the problem names the field"),
        "401": _problem("Missing, unknown, expired or revoked access token"),
        "403": _problem("The token lacks the scope"),
        "404": _problem("Not found"),
        "429": _problem("Rate limit exceeded; see Retry-After"),
    }
    if operation.write:
        responses["409"] = _problem("Conflict with the current state, or the same "
                                    "Idempotency-Key still in progress")
        responses["422"] = _problem("Idempotency-Key reused with a different body")
    spec: dict[str, Any] = {
        "operationId": operation.operation_id, "summary": operation.summary,
        "security": [{"oauth2": [operation.scope]}], "parameters": parameters,
        "responses": responses,
    }
    if operation.request is not None:
        spec["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": operation.request}}}
    return spec


def openapi_document(server_url: str) -> dict[str, Any]:
    paths: dict[str, dict] = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        view = current_app.view_functions[rule.endpoint]
        operation = getattr(view, "openapi_operation", None)
        if operation is None:
            continue
        path = rule.rule.removeprefix("/api/v1")
        names = re.findall(r"<(?:[^:>]+:)?([^>]+)>", path)
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(operation, names)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tessera partner API", "version": "1.0.0",
                 "description": "Earn and redeem points for a brand's members. Authenticate "
                                "with OAuth2 client credentials at /oauth/token; every write "
                                "needs an Idempotency-Key header. Errors are RFC 9457 problem "
                                "details. Money is an object with integer minor units and an "
                                "ISO 4217 currency code."},
        "servers": [{"url": server_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Problem": _problem_schema()},
            "securitySchemes": {"oauth2": {"type": "oauth2", "flows": {"clientCredentials": {
                "tokenUrl": f"{server_url}/oauth/token",
                "scopes": dict(partners.SCOPES)}}}},
        },
    }


def _problem_schema() -> dict:
    from saas.api.schemas import PROBLEM

    return PROBLEM
