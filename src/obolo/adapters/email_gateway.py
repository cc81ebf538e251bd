"""Sending email: the `EmailGateway` port and its adapter.

    EmailGateway            send(to, subject, body) -> the gateway's message id; raises EmailNotSent
    └── ConsoleEmailGateway logs that a message went out: a masked address and the subject

A body may carry a claim code, so no adapter logs one; the console gateway logs neither the
full address nor the body. A real provider (SMTP, an HTTP API) is one more adapter.
"""

from __future__ import annotations

from typing import Protocol

import structlog

from obolo.adapters.ids import new_id

log = structlog.get_logger("obolo.email")


class EmailNotSent(Exception):
    """The gateway did not accept the message; the outbox tries again later."""


class EmailGateway(Protocol):
    def send(self, to: str, subject: str, body: str) -> str: ...


def mask_address(address: str) -> str:
    """ "ca***@example.com": enough to tell messages apart in a log, not to mail anyone."""
    local, _, domain = address.partition("@")
    return f"{local[:2]}***@{domain}"


class ConsoleEmailGateway:
    """For local runs and until a provider is configured: a log line per message."""

    def send(self, to: str, subject: str, body: str) -> str:
        log.info("email sent", to=mask_address(to), subject=subject)
        return new_id()
