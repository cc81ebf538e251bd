"""Structured logs: one JSON object a line, with the request id of the request that
caused it, and never a secret — whatever a caller passes, values under secret-sounding
keys are replaced, and bearer tokens, API keys and card numbers are scrubbed from text."""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any

import structlog

SECRET_KEYS = re.compile(r"pass(word)?|secret|token|authori[sz]ation|api_?key|pin|cvc|card|uid|cookie", re.I)
_SCRUB = [
    (re.compile(r"(?i)bearer\s+[\w.~+/=-]+"), "Bearer [redacted]"),
    (re.compile(r"obo_[A-Za-z0-9]+_[\w-]+"), "obo_[redacted]"),
    (re.compile(r"whsec_[\w-]+"), "whsec_[redacted]"),
    (re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), "[card number redacted]"),
]


# What every pattern above needs to find anything (a cheap first look: most text of most
# lines, a route, a request id, a timestamp, holds none of it).
_SUSPECT = re.compile(r"(?i:bearer)|obo_|whsec_|(?:\d[ -]?){12}\d")
# Whether a key names a secret, by key: a line's keys are nearly always the same few.
_SECRET_KEY: dict[str, bool] = {}


def scrub(text: str) -> str:
    if _SUSPECT.search(text) is None:
        return text
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text


def _is_secret_key(key: str) -> bool:
    known = _SECRET_KEY.get(key)
    if known is None:
        known = SECRET_KEYS.search(key) is not None
        if len(_SECRET_KEY) < 4096:  # keys made of data must not grow it without end
            _SECRET_KEY[key] = known
    return known


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: the last step before a line is written."""
    for key, value in list(event.items()):
        if _is_secret_key(key):
            event[key] = "[redacted]"
        elif isinstance(value, str):
            event[key] = scrub(value)
    return event


def configure(*, json: bool = True, level: int = logging.INFO) -> None:
    """JSON lines on stdout for servers and workers (console rendering for a terminal)."""
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(),  # whatever sys.stdout is when a line is written
        cache_logger_on_first_use=True,
    )
