"""The edge's shared kit: what every request body, query and path is checked against before
a route sees it, and the building blocks of the routers' models.

Text rule (one, for every field of every route): no control characters, no Unicode
bidirectional controls, no lone surrogates. PostgreSQL cannot store NUL at all (a 500
before this rule); the others rewrite what people see on someone else's screen (a payee's
name shown reversed, a log line forged by an escape sequence). Multi-line free text (a
task's instructions, an answer, a dispute's message) may hold tab and line breaks; every
other text is one line. Path parameters are ids: anything else names nothing, so 404.

Two layers apply the rule, both by construction: `Input`, the base of every request body
model, checks every string of every field (one line unless the model lists the field in
`multiline`) and writes the rule into the OpenAPI as a `pattern`; `guard`, a dependency of
the whole app, checks every query value, path parameter, and every string of a JSON or
form body (bodies of any shape, so a route added later is covered even before its model is).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, get_args

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from obolo.entrypoints.api.errors import ApiError

# C0 controls, DEL, C1 controls; the bidi embeddings, overrides, isolates and marks;
# lone surrogates (not Unicode text, and no database encodes them).
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_LINE_BREAKS = "\t\n\r"
_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")
_MULTI_LINE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")
#: The rule as JSON Schema patterns (surrogates left out: a JSON Schema string is Unicode
#: text already, and some regex engines refuse to name them).
_BIDI_ESCAPED = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
ONE_LINE_PATTERN = rf"^[^\u0000-\u001f\u007f-\u009f{_BIDI_ESCAPED}]*$"
MULTI_LINE_PATTERN = rf"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f{_BIDI_ESCAPED}]*$"
#: An id in a path: a UUID (with or without hyphens) or, for ledger accounts, a decimal.
_HEX = "[0-9a-fA-F]"
ID_PATTERN = rf"^(?:{_HEX}{{8}}-?{_HEX}{{4}}-?{_HEX}{{4}}-?{_HEX}{{4}}-?{_HEX}{{12}}|[0-9]{{1,39}})$"
_ID = re.compile(ID_PATTERN)


def spreadsheet_safe(text: str) -> str:
    """A CSV cell holding someone else's words (a site's name, an item's title) as a
    spreadsheet shows it: one starting like a formula (=, +, -, @) gets a leading
    apostrophe, so opening a statement never runs what a provider wrote (OWASP's CSV
    injection advice)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def is_id_parameter(name: str) -> bool:
    """A path parameter named as an id (`id`, `..._id`) must be one; others (a payment link's
    short code) keep their route's own rule and the text rule."""
    return name == "id" or name.endswith("_id")


def unsafe_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character of `text` the text rule refuses, as `U+XXXX at N`, or None."""
    found = (_MULTI_LINE if multiline else _ONE_LINE).search(text)
    return None if found is None else f"U+{ord(found.group()):04X} at {found.start()}"


def _strings(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string in a JSON-shaped value (object keys too), with where it is."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield (*path, key), key
            yield from _strings(item, (*path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _refusal(where: tuple[str | int, ...], found: str) -> dict[str, Any]:
    return {
        "loc": where,
        "msg": f"control and bidi characters are not allowed in text ({found})",
        "type": "unsafe_text",
    }


def stamp_text_rule(schema: dict[str, Any], pattern: str) -> None:
    """Write the text rule into every string a schema describes (object keys included); a
    string with a pattern of its own gets the rule beside it, in `allOf`."""
    if schema.get("type") == "string" and not {"format", "enum", "const"} & schema.keys():
        if "pattern" not in schema:
            schema["pattern"] = pattern
        elif schema["pattern"] not in (ONE_LINE_PATTERN, MULTI_LINE_PATTERN):
            schema.setdefault("allOf", []).append({"pattern": pattern})
    if schema.get("type") == "object" or "additionalProperties" in schema:
        names = schema.setdefault("propertyNames", {})
        if "pattern" not in names:
            names["pattern"] = pattern
        if schema.get("additionalProperties") is True:  # free-form JSON: its text too
            schema["additionalProperties"] = {"$ref": "#/components/schemas/TextJson"}
    for key in ("anyOf", "oneOf"):
        for branch in schema.get(key, ()):
            stamp_text_rule(branch, pattern)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            stamp_text_rule(schema[key], pattern)


#: Any JSON value whose strings (keys too) keep the multi-line text rule.
TEXT_JSON: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": MULTI_LINE_PATTERN},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "array", "items": {"$ref": "#/components/schemas/TextJson"}},
        {
            "type": "object",
            "propertyNames": {"pattern": MULTI_LINE_PATTERN},
            "additionalProperties": {"$ref": "#/components/schemas/TextJson"},
        },
    ]
}


def _describe_text(schema: dict[str, Any], model: type[BaseModel]) -> None:
    multiline: frozenset[str] = getattr(model, "multiline", frozenset())
    trimmed = bool(model.model_config.get("str_strip_whitespace"))
    for name, field_schema in schema.get("properties", {}).items():
        stamp_text_rule(field_schema, MULTI_LINE_PATTERN if name in multiline else ONE_LINE_PATTERN)
        if trimmed:
            stamp_trimmed_length(field_schema)


def stamp_trimmed_length(schema: dict[str, Any]) -> None:
    """A trimmed string's `minLength` counts what is left after trimming: a pattern beside
    it says so (at least that many characters from the first non-space to the last), so
    blanks that trim to nothing are not offered as valid."""
    least = schema.get("minLength", 0)
    if schema.get("type") == "string" and least >= 1 and not {"format", "enum", "const"} & schema.keys():
        needed = r"\S" if least == 1 else rf"\S[\s\S]{{{least - 2},}}\S"
        schema.setdefault("allOf", []).append({"pattern": needed})
    for key in ("anyOf", "oneOf"):
        for branch in schema.get(key, ()):
            stamp_trimmed_length(branch)
    if isinstance(schema.get("items"), dict):
        stamp_trimmed_length(schema["items"])


def _integral(value: Any) -> Any:
    """JSON does not tell 3 from 3.0 and neither does JSON Schema's `integer`: a float with
    no fraction is the integer (strict mode refuses every other coercion)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, list):
        return [_integral(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    return value


def _holds_models(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_models(argument) for argument in get_args(annotation))


class Input(BaseModel):
    """The base of every request body: unknown fields refused, no coercion, and the text
    rule on every string of every field (nested lists and objects included)."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_describe_text)
    #: Fields of free text that may span lines (tab, CR and LF allowed).
    multiline: ClassVar[frozenset[str]] = frozenset()

    # Before parsing: the text as sent, not as trimmed (a trailing line break is refused,
    # as the schema's pattern says, rather than quietly stripped).
    @field_validator("*", mode="before")
    @classmethod
    def _text_rule(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        # What nested models hold they check themselves (their own multi-line fields included).
        multiline = name in cls.multiline or _holds_models(cls.model_fields[name].annotation)
        for where, text in _strings(value):
            found = unsafe_character(text, multiline=multiline)
            if found is not None:
                place = "".join(f"[{part!r}]" for part in where)
                raise ValueError(f"control and bidi characters are not allowed in text{place} ({found})")
        return _integral(value)


class Strict(Input):
    """An `Input` whose text is trimmed of surrounding spaces (not for passwords)."""

    model_config = ConfigDict(str_strip_whitespace=True)


async def guard(request: Request) -> None:
    """Every route's first dependency: path parameters must be ids (404 otherwise, before
    anything looks them up), and no query value or body string may break the text rule
    (422). Bodies are checked whatever model reads them, so no route is left out."""
    for name, value in request.path_params.items():
        if not isinstance(value, str) or not (
            _ID.fullmatch(value) if is_id_parameter(name) else unsafe_character(value) is None
        ):
            raise ApiError("not_found", f"no such {name.removesuffix('_id').replace('_', ' ')}")
    refused = [
        _refusal(("query", name), found)
        for name, value in request.query_params.multi_items()
        for found in (unsafe_character(name), unsafe_character(value))
        if found is not None
    ]
    refused += [_refusal(("body", *where), found) for where, found in await _body_strings(request)]
    if refused:
        raise RequestValidationError(refused)


async def _body_strings(request: Request) -> list[tuple[tuple[str | int, ...], str]]:
    """Where a body's strings break the (multi-line) text rule; single lines are the models'."""
    content_type = request.headers.get("content-type", "")
    if request.method in ("GET", "HEAD", "DELETE", "OPTIONS") and "content-length" not in request.headers:
        return []
    found: list[tuple[tuple[str | int, ...], str]] = []
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        await request.body()  # kept by the request, so the route can read the form again
        form = await request.form()
        for name, value in form.multi_items():
            for text in (name, value):
                if isinstance(text, str) and (problem := unsafe_character(text, multiline=True)):
                    found.append(((name,), problem))
        return found
    body = await request.body()
    if not body:
        return found
    try:
        document = json.loads(body)
    except ValueError:  # not JSON (or not UTF-8): the route's own parsing refuses it
        return found
    for where, text in _strings(document):
        if problem := unsafe_character(text, multiline=True):
            found.append((where, problem))
    return found


AmountText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=19,
        # At most 6 decimals (every asset's scale) and 12 digits (within 64-bit units).
        pattern=r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,6})?$",
        description='Decimal string at the asset\'s scale, e.g. "0.10"; no exponent, no sign.',
        examples=["0.10"],
    ),
]
#: An amount above zero (what is paid or given back): `AmountText` without its zeros ("0",
#: "0.000"), so the document says what the server takes. Below 1: some digit is not 0.
_FRACTION_ABOVE_ZERO = "|".join(f"0{{{zeros}}}[1-9][0-9]{{0,{5 - zeros}}}" for zeros in range(6))
PositiveAmountText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=19,
        pattern=rf"^(?:[1-9][0-9]{{0,11}}(?:\.[0-9]{{1,6}})?|0\.(?:{_FRACTION_ABOVE_ZERO}))$",
        description='Decimal string above zero at the asset\'s scale, e.g. "0.10"; no exponent, no sign.',
        examples=["0.10"],
    ),
]
AssetCode = Annotated[str, Field(min_length=3, max_length=12, pattern=r"^[A-Z]{3,12}$", examples=["EUR"])]
#: Documented on routes for readability; `openapi.py` derives every operation's full list.
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": "problem+json", "content": {"application/problem+json": {}}}
    for status in (400, 401, 402, 403, 404, 409, 413, 422, 429, 503)
}
