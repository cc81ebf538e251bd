"""Sending text messages: the `SmsGateway` port and its adapters.

    SmsGateway                 send(to, body) -> the gateway's message id; raises SmsNotSent
    ├── HttpSmsGateway         the common gateway REST form: POST To/From/Body, basic auth
    ├── ConsoleSmsGateway      demos only: logs each message, keeps the last few for the simulator
    └── UnconfiguredSmsGateway no gateway and no demo: every message is SmsNotSent (kept in
                               the outbox), so no one's texts end up in logs or memory

Message bodies never carry a PIN (the sms service does not put one in); a sign-in code, the
one secret we do send, is masked in the console gateway's log line (any run of six digits).
Inbound bodies, which may carry a PIN, never reach this module.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from dataclasses import dataclass
from typing import Protocol

import httpx
import structlog

from obolo.adapters.egress import EgressGuard
from obolo.adapters.ids import new_id

log = structlog.get_logger("obolo.sms")
_SIX_DIGITS = re.compile(r"(?<![0-9])[0-9]{6}(?![0-9])")


class SmsNotSent(Exception):
    """The gateway did not accept the message; the outbox tries again later."""


class SmsGateway(Protocol):
    def send(self, to: str, body: str) -> str: ...


class HttpSmsGateway:
    """Form POST to `url` (e.g. https://api.gateway.example/Accounts/<id>/Messages.json)
    with basic auth; any 2xx is accepted. Without a client of its own it goes through the
    egress guard (a gateway at an internal address must be allowed by name)."""

    def __init__(
        self, url: str, user: str, token: str, sender: str, client: httpx.Client | None = None
    ) -> None:
        self.url = url
        self.auth = (user, token)
        self.sender = sender
        self.client = client or EgressGuard().client(timeout=10.0)

    def send(self, to: str, body: str) -> str:
        try:
            response = self.client.post(
                self.url, data={"To": to, "From": self.sender, "Body": body}, auth=self.auth
            )
        except httpx.HTTPError as error:
            raise SmsNotSent(f"gateway unreachable: {type(error).__name__}") from error
        if not response.is_success:
            raise SmsNotSent(f"gateway answered {response.status_code}")
        try:
            sid = response.json().get("sid")
        except ValueError:
            sid = None
        return str(sid) if sid else new_id()


@dataclass(frozen=True, slots=True)
class SentSms:
    to: str
    body: str


class ConsoleSmsGateway:
    """For local runs: a message is a log line, and the last `keep` stay in memory so the
    simulator page can show a number what it was sent."""

    def __init__(self, keep: int = 200) -> None:
        self._sent: deque[SentSms] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def send(self, to: str, body: str) -> str:
        with self._lock:
            self._sent.append(SentSms(to, body))
        log.info("sms sent", to=to, body=_SIX_DIGITS.sub("******", body))
        return new_id()

    def sent_to(self, phone: str) -> list[str]:
        """What was sent to `phone`, oldest first."""
        with self._lock:
            return [m.body for m in self._sent if m.to == phone]


class UnconfiguredSmsGateway:
    """What a server outside a demo has until OBOLO_SMS_GATEWAY_URL is set: nothing is sent,
    printed or kept. The sms outbox retries (a gateway configured later delivers); a sign-in
    code is simply not sent."""

    def send(self, to: str, body: str) -> str:
        raise SmsNotSent("no SMS gateway is configured (OBOLO_SMS_GATEWAY_URL)")
