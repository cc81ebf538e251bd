"""The OpenAPI document, made to say what the app answers: every operation lists every
refusal the app can give (derived from the error table, not written per route), every path
parameter states the id shape the app accepts, every string a client sends states the text
rule, and undeclared methods are answered 405 with `Allow`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from obolo.entrypoints.api.common import (
    ID_PATTERN,
    MULTI_LINE_PATTERN,
    ONE_LINE_PATTERN,
    TEXT_JSON,
    is_id_parameter,
    stamp_text_rule,
)
from obolo.entrypoints.api.errors import PROBLEM_JSON, STATUS_BY_CODE

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details with a stable machine `code`.",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
    },
    "additionalProperties": True,
}
#: Statuses any operation may answer whatever its route: a body that cannot be parsed at all,
#: the body limit, throttling, a database that is unavailable, read-only, full or busy. The
#: 500 is a defect, not a promise.
_ANYWHERE = {400, 413, 422, 429, 503}


def refusal_statuses() -> list[int]:
    """Every status a refusal can carry: the error table's, and what the middleware answers."""
    return sorted(({*STATUS_BY_CODE.values()} | _ANYWHERE) - {500, 405})


def describe(document: dict[str, Any]) -> dict[str, Any]:
    """The document FastAPI generated, completed in place (see the module's docstring)."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    components["TextJson"] = TEXT_JSON
    problem = {"$ref": "#/components/schemas/Problem"}
    statuses = refusal_statuses()
    sent: set[str] = set()
    for item in document.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses[str(status)] = {
                    "description": "refused: problem+json with a stable `code`",
                    "content": {PROBLEM_JSON: {"schema": problem}},
                }
            for parameter in operation.get("parameters", ()):
                schema = parameter.setdefault("schema", {})
                if parameter.get("in") == "path" and is_id_parameter(str(parameter.get("name"))):
                    _id_parameter(schema)
                    parameter.setdefault("description", "an id: a UUID (ledger accounts: also a decimal)")
                elif parameter.get("in") in ("path", "query"):
                    stamp_text_rule(schema, ONE_LINE_PATTERN)
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                sent |= _refs(media.get("schema", {}))
    # Every model a client sends: strings that state no shape of their own get the text rule
    # (the Input models wrote it already; this covers any other model a route may read).
    seen: set[str] = set()
    while sent - seen:
        name = (sent - seen).pop()
        seen.add(name)
        schema = components.get(name, {})
        # Keys beyond the declared fields (a model that allows them) reach the guard only,
        # which holds them to the multi-line rule; their values are any text-safe JSON.
        stamp_text_rule(schema, MULTI_LINE_PATTERN)
        for field_schema in schema.get("properties", {}).values():
            stamp_text_rule(field_schema, ONE_LINE_PATTERN)
            sent |= _refs(field_schema)
    return document


def _id_parameter(schema: dict[str, Any]) -> None:
    """A path parameter: the id shape the guard accepts, and whatever narrower shape the
    route states itself (a length, a pattern of its own) beside it, since both apply."""
    schema.pop("minLength", None)  # the id pattern needs a character already
    own = schema.get("pattern")
    schema["pattern"] = ID_PATTERN
    if own is not None and own != ID_PATTERN:
        schema.setdefault("allOf", []).append({"pattern": own})


def _refs(schema: Any) -> set[str]:
    """Names of the component schemas a schema refers to, however deep."""
    if isinstance(schema, dict):
        found = {schema["$ref"].rsplit("/", 1)[-1]} if isinstance(schema.get("$ref"), str) else set()
        for value in schema.values():
            found |= _refs(value)
        return found
    if isinstance(schema, list):
        return set().union(*(_refs(item) for item in schema)) if schema else set()
    return set()


def install(app: FastAPI) -> None:
    """Serve the completed document at /openapi.json."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(
                get_openapi(
                    title=app.title, version=app.version, description=app.description, routes=app.routes
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
