"""The OpenAPI document, complete: every answer an operation can give is in it, with its
shape, so generated clients and fuzzers can rely on it.

FastAPI documents the success and 422; the rest come from middleware and exception handlers
it cannot see (401 and 429 from ``api.auth``, 413 from the body limit, 403/404/409/503 from
``api.errors``; 401 and 422 from the Slack endpoints' signature check and form parsing, which
read the raw body). They are added here, by what each operation can meet.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.config import API_PREFIX

ERROR = {
    "title": "Error",
    "type": "object",
    "properties": {"detail": {"type": "string", "title": "Detail"}},
    "required": ["detail"],
}

_WHY = {
    "401": "no token, or one that is not valid (the same answer either way)",
    "403": "the token's role may not do this, or may not act as the `by` named",
    "404": "no such incident, statement, review, drill or token",
    "409": "the change does not fit the current state (the answer says why)",
    "413": "the body is larger than allowed",
    "429": "too many requests for this token; see Retry-After",
    "503": "the workflow engine or the records database is unavailable; see Retry-After",
}
# Slack's endpoints take no token: Slack signs each request instead.
_SLACK_WHY = {
    "401": "not signed by Slack: no signature, a wrong one, a timestamp older than five "
    "minutes, or no signing secret configured here",
    "422": "signed, but not a form Slack sends (the answer names the field)",
}
_RETRY = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}


def _error(code: str, why: dict[str, str] = _WHY) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": why[code],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if code in ("429", "503"):
        answer["headers"] = _RETRY
    return answer


def _slack_refusals() -> dict[str, Any]:
    malformed = {"$ref": "#/components/schemas/HTTPValidationError"}
    return {
        "401": _error("401", _SLACK_WHY),
        "422": {
            "description": _SLACK_WHY["422"],
            "content": {"application/json": {"schema": malformed}},
        },
    }


def _hoist(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with its ``$defs`` moved into ``defs`` and references pointed there."""
    if isinstance(node, dict):
        for name, schema in node.pop("$defs", {}).items():
            defs[name] = _hoist(schema, defs)
        return {
            k: (
                v.replace("#/$defs/", "#/components/schemas/")
                if k == "$ref" and isinstance(v, str)
                else _hoist(v, defs)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_hoist(v, defs) for v in node]
    return node


def complete(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is not None:
        return app.openapi_schema
    spec = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            hoisted: dict[str, Any] = {}
            op.update(_hoist({k: v for k, v in op.items()}, hoisted))
            schemas.update(hoisted)
            answers = op.setdefault("responses", {})
            codes: list[str] = []
            if path.startswith(API_PREFIX):
                codes += ["401", "503"]
                if not path.startswith(f"{API_PREFIX}/alerts/"):
                    codes += ["403", "429"]
            if "{" in path or path.startswith((API_PREFIX, "/status/")):
                codes.append("404")
            if method in ("post", "put", "patch", "delete") and path.startswith(API_PREFIX):
                codes.append("409")
            if "requestBody" in op or path.startswith(f"{API_PREFIX}/alerts/"):
                codes.append("413")
            for code in codes:
                answers.setdefault(code, _error(code))
            if path.startswith("/slack/"):
                answers.update(_slack_refusals())
            if path.startswith("/status/") and "404" in answers:
                # The public pages answer a person: a page saying the link is not valid.
                answers["404"] = {
                    "description": "the link is not valid (any more)",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                }
            content = answers.get("422", {}).get("content", {}).get("application/json")
            if content is not None and "schema" in content:
                # A well-formed request can still be refused as making no sense (same level
                # again): that 422 carries a sentence, not the validation list.
                content["schema"] = {
                    "anyOf": [content["schema"], {"$ref": "#/components/schemas/Error"}]
                }
    app.openapi_schema = spec
    return spec


def install(app: FastAPI) -> None:
    app.openapi = lambda: complete(app)  # type: ignore[method-assign]
