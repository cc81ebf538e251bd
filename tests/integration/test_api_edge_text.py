"""The text rule at the edge, walked over every operation of the API: a NUL, another control
character or a bidi control in any string of a body, a query or a path is refused (422, or
404 for an id) before anything is read or written, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from jsonschema_rs import Draft202012Validator
from sqlalchemy import func, inspect, select, table

from obolo.bootstrap import build
from obolo.entrypoints.api.app import create_app
from obolo.entrypoints.api.common import Input
from obolo.settings import Settings
from tests.integration.api_world import bearer, cheap_hashing, populate

ADMIN_TOKEN = "edge-admin-token-0123456789"
SOME_ID = "0190a0b0-0000-7000-8000-000000000000"
# What attackers spell: NUL (PostgreSQL cannot store it), escape sequences, C1 controls,
# the bidi override/isolate/marks that reorder what another person reads.
POISONS = ["\x00", "a\x00b", "\x1b[2J", "\x7f", "\x85", "\u202e", "\u2066", "\u200f", "\u061c", "\x0b"]
BODY_ONLY = ["\ud800"]  # a lone surrogate: JSON can carry it escaped, a URL cannot


@pytest.fixture(scope="module")
def world(module_db_url):
    mp = pytest.MonkeyPatch()
    mp.setenv("OBOLO_ADMIN_TOKEN", ADMIN_TOKEN)
    settings = dataclasses.replace(Settings.from_environment(), sms_auth_token="edge-sms-token")
    platform = build(settings, url=module_db_url, migrate=True)
    cheap_hashing(platform)
    app = create_app(platform)
    with TestClient(app, raise_server_exceptions=False) as client:
        me = populate(client, platform, "edge@example.com", operator=True)
        yield client, platform, me
    platform.close()
    mp.undo()


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def sample(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """A value of the schema's shape with every optional part present (so that every
    string the operation reads is there to poison)."""
    schema = _resolve(schema, components)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            branches = [b for b in schema[key] if _resolve(b, components).get("type") != "null"]
            return sample(branches[0], components)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        value = {name: sample(sub, components) for name, sub in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties")
        if not schema.get("properties") and isinstance(extra, dict):
            value["key"] = sample(extra, components)
        elif not schema.get("properties") and extra is not False:
            value["key"] = "x"
        return value
    if kind == "array":
        return [sample(schema.get("items", {"type": "string"}), components)]
    if kind == "integer":
        return schema.get("minimum", 1)
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    return "x"


def string_leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from string_leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from string_leaves(item, (*path, index))


def poisoned(value: Any, path: tuple[Any, ...], poison: str) -> Any:
    if not path:
        return poison
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = poisoned(value[path[0]], path[1:], poison)
    return copy


def row_counts(platform) -> dict[str, int]:
    with platform.engine.connect() as connection:
        names = inspect(connection).get_table_names()
        return {
            name: connection.execute(select(func.count()).select_from(table(name))).scalar_one()
            for name in names
        }


def requests(client: TestClient, me) -> Iterator[tuple[str, str, str, dict[str, Any], list[Any] | None]]:
    """(label, method, url, request kwargs, where the refusal must point; None for a path id)
    for every poisoned spot."""
    document = client.get("/openapi.json").json()
    components = document["components"]["schemas"]
    turn = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            headers = bearer(ADMIN_TOKEN) if path.startswith("/v1/ledger/") else me.headers
            parameters = operation.get("parameters", [])
            ids = {p["name"]: me.ids.get(p["name"], SOME_ID) for p in parameters if p["in"] == "path"}
            query = {
                p["name"]: sample(p["schema"], components)
                for p in parameters
                if p["in"] == "query" and _resolve(p["schema"], components).get("type") != "integer"
            }
            content = operation.get("requestBody", {}).get("content", {})
            media, body_schema = next(iter(content.items()), (None, None))
            body = sample(body_schema["schema"], components) if body_schema else None

            def send(ids=ids, query=query, body=body, media=media, headers=headers, path=path, method=method):
                url = path.format(**{name: quote(value, safe="") for name, value in ids.items()})
                kwargs: dict[str, Any] = {"headers": headers, "params": query}
                if media == "application/json":  # escaped as JSON allows, lone surrogates too
                    kwargs["content"] = json.dumps(body).encode()
                    kwargs["headers"] = {**headers, "content-type": media}
                elif media is not None:
                    kwargs["data"] = body
                return url, kwargs

            for name in ids:
                for poison in ("\x00", POISONS[turn % len(POISONS)], "not-an-id"):
                    turn += 1
                    url, kwargs = send(ids={**ids, name: poison})
                    yield f"{method} {path} path {name}={poison!r}", method, url, kwargs, None
            for name, value in query.items():
                for leaf in string_leaves(value):
                    for poison in ("\x00", POISONS[turn % len(POISONS)]):
                        turn += 1
                        url, kwargs = send(query={**query, name: poisoned(value, leaf, poison)})
                        where = ["query", name, *leaf]
                        yield f"{method} {path} query {name}={poison!r}", method, url, kwargs, where
            for leaf in string_leaves(body):
                extra = BODY_ONLY if media == "application/json" else []
                for poison in ("\x00", POISONS[turn % len(POISONS)], *extra):
                    turn += 1
                    url, kwargs = send(body=poisoned(body, leaf, poison))
                    where = ["body", *leaf]
                    yield f"{method} {path} body {leaf}={poison!r}", method, url, kwargs, where


def test_every_string_of_every_operation_refuses_control_and_bidi_characters(world):
    """A NUL, a control or a bidi character in any string of any operation's body or query
    is a 422 `validation_error`, in a path id a 404 `not_found`; never a 5xx, and nothing
    is written (every table's row count unchanged)."""
    client, platform, me = world
    before = row_counts(platform)
    wrong, sent = [], 0
    for label, method, url, kwargs, where in requests(client, me):
        response = client.request(method.upper(), url, **kwargs)
        sent += 1
        problem = response.json()
        if where is None:
            refused = response.status_code == 404 and problem.get("code") == "not_found"
        else:  # refused for the poisoned string itself, not for some other field
            refused = response.status_code == 422 and any(
                error["type"] == "unsafe_text" and error["loc"] == [str(part) for part in where]
                for error in problem.get("errors", [])
            )
        if not refused:
            wrong.append(f"{label}: {response.status_code} {response.text[:200]}")
    assert sent > 300, "the walk lost its operations"
    assert not wrong, f"{len(wrong)} of {sent} not refused as they should be:\n" + "\n".join(wrong[:40])
    assert row_counts(platform) == before


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        ({"to": "bob@example.com", "amount": "0.10", "asset": "EUR", "note": "line\nbreak"}, True),
        ({"to": "bob@example.com", "amount": "0.10", "asset": "EUR", "note": "tab\there"}, True),
        ({"to": "bob@example.com\r\n", "amount": "0.10", "asset": "EUR"}, True),
    ],
)
def test_one_line_text_refuses_line_breaks(world, body, refused):
    """A payment's recipient and note are one line: a tab or a line break is refused with
    422, and no money moves."""
    client, platform, me = world
    before = row_counts(platform)
    response = client.post("/v1/payments", json=body, headers=me.headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert row_counts(platform) == before


def test_multi_line_text_keeps_its_line_breaks(world):
    """A dispute's message may span lines (tab, CR, LF) but not hold other controls."""
    client, _platform, me = world
    url = f"/v1/tasks/assignments/{SOME_ID}/dispute"
    kept = client.post(url, json={"message": "first line\r\n\tsecond"}, headers=me.headers)
    assert kept.status_code == 404, kept.text  # past the text rule, to the lookup
    refused = client.post(url, json={"message": "first line\x1b[2J"}, headers=me.headers)
    assert refused.status_code == 422, refused.text


def test_every_request_body_is_an_input_model(world):
    """Every route's body model derives from `Input` (the text rule on every field, its
    pattern in the OpenAPI): a route added with a bare BaseModel fails here."""
    client, _platform, _me = world
    bare = []
    for context in iter_route_contexts(client.app.router.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.body_field is not None:
            model = route.body_field.field_info.annotation
            if isinstance(model, type) and not issubclass(model, Input):
                bare.append(f"{route.path}: {model.__name__}")
    assert not bare, bare


def _documented(client: TestClient, name: str) -> Any:
    """A validator for one component schema of the served document, its refs resolved."""
    components = client.get("/openapi.json").json()["components"]
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": components})


def _path_parameter(client: TestClient, path: str, method: str, name: str) -> dict[str, Any]:
    operation = client.get("/openapi.json").json()["paths"][path][method]
    return next(p["schema"] for p in operation["parameters"] if p["name"] == name)


def test_a_path_id_is_documented_with_the_routes_own_limits(world):
    """A path id's document states the id shape and the route's own limits beside it, so an
    id the route refuses (422) is never offered as valid."""
    client, _platform, _me = world
    mixed = "c495eFCb3AB8-b3EA-d91dAdBDcb12B88c"  # a UUID's digits, hyphens astray: still a UUID
    ledger_path = "/v1/ledger/accounts/{account_id}"
    account = Draft202012Validator(_path_parameter(client, ledger_path, "get", "account_id"))
    absent = client.get(f"/v1/ledger/accounts/{mixed}", headers=bearer(ADMIN_TOKEN))
    assert absent.status_code == 404, absent.text  # read as an id: no such account
    assert account.is_valid(mixed)
    assert not account.is_valid("c495eFCb3AB8")
    assert account.is_valid("12345")
    assert account.is_valid(SOME_ID)
    card = Draft202012Validator(_path_parameter(client, "/v1/cards/{card_id}/journeys", "get", "card_id"))
    long_decimal = "1" * 37  # an id's shape, longer than a card id may be
    assert client.get(f"/v1/cards/{long_decimal}/journeys", headers=_me_headers(world)).status_code == 422
    assert not card.is_valid(long_decimal)


def assert_refused(response) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


def _me_headers(world) -> dict[str, str]:
    return world[2].headers


def test_keys_beyond_a_models_fields_are_documented_with_the_text_rule(world):
    """A body that lets unknown keys through (x402's) documents them as the guard holds
    them: multi-line text as keys, text-safe JSON as values."""
    client, _platform, me = world
    request = _documented(client, "FacilitatorRequest")
    body = {"x402Version": 2, "paymentPayload": {}, "paymentRequirements": {}}
    for key, accepted in (("extra\tkey", True), ("extra\x1ckey", False)):
        answer = client.post("/x402/verify", json={**body, key: "value"}, headers=me.headers)
        assert (answer.status_code == 200) is accepted, answer.text
        assert request.is_valid({**body, key: "value"}) is accepted
    float_version = client.post("/x402/verify", json={**body, "x402Version": 2.0}, headers=me.headers)
    assert float_version.status_code == 200, float_version.text


def test_payment_request_and_refund_amounts_are_above_zero_in_the_document(world):
    """A payment request's, a payment's and a refund's amount is above zero: the document's
    pattern refuses zeros, and the server refuses them as a `validation_error`."""
    client, platform, me = world
    before = row_counts(platform)
    asked = {"provider_id": me.ids["provider_id"], "amount": "0.00", "asset": "EUR", "description": "A print",
             "reference": "order-0", "return_url": "https://site.example/done"}  # fmt: skip
    assert not _documented(client, "PaymentRequestIn").is_valid(asked)
    assert _documented(client, "PaymentRequestIn").is_valid({**asked, "amount": "0.000001"})
    refused = client.post("/v1/payment-requests", json=asked, headers=me.headers)
    assert_refused(refused)
    refund = {"amount": "0", "asset": "EUR", "reason": "damaged"}
    assert not _documented(client, "obolo__entrypoints__api__checkout_routes__RefundIn").is_valid(refund)
    url = f"/v1/payment-requests/{me.ids['payment_request_id']}/refunds"
    refused = client.post(url, json=refund, headers=me.headers)
    assert_refused(refused)
    assert row_counts(platform) == before


def test_checkout_bodies_keep_the_text_rule_and_whole_numbers(world):
    """Checkout's bodies are `Input`s: a description is one line, an expiry of 3600.0 is
    the whole number 3600 (JSON does not tell them apart)."""
    client, _platform, me = world
    asked = {"provider_id": me.ids["provider_id"], "amount": "1.00", "asset": "EUR",
             "description": "A\nprint", "reference": "order-2",
             "return_url": "https://site.example/done"}  # fmt: skip
    refused = client.post("/v1/payment-requests", json=asked, headers=me.headers)
    assert_refused(refused)
    assert refused.json()["errors"][0]["loc"][-1] == "description"
    made = client.post(
        "/v1/payment-requests", json={**asked, "description": "A print", "expires_in_seconds": 3600.0},
        headers=me.headers,
    )  # fmt: skip
    assert made.status_code == 201, made.text


def test_a_trimmed_fields_length_is_documented_after_trimming(world):
    """Text that is trimmed counts its length after trimming, and the document says so: a
    blank description is refused by both."""
    client, _platform, me = world
    asked = {"provider_id": me.ids["provider_id"], "amount": "1.00", "asset": "EUR", "description": "\u3000 ",
             "reference": "order-3", "return_url": "https://site.example/done"}  # fmt: skip
    assert not _documented(client, "PaymentRequestIn").is_valid(asked)
    refused = client.post("/v1/payment-requests", json=asked, headers=me.headers)
    assert_refused(refused)
    dispute = _documented(client, "obolo__entrypoints__api__checkout_routes__DisputeIn")
    assert not dispute.is_valid({"reason": " \n "})
    assert dispute.is_valid({"reason": " a "})
