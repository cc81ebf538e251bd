"""A fake SMS gateway for tests: it records what would have been sent, and can be told to fail."""

from __future__ import annotations

from obolo.adapters.sms_gateway import SmsNotSent


class FakeSmsGateway:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failing = False

    def send(self, to: str, body: str) -> str:
        if self.failing:
            raise SmsNotSent("the fake gateway is down")
        self.sent.append((to, body))
        return f"fake-{len(self.sent)}"

    def to(self, phone: str) -> list[str]:
        """Everything sent to `phone`, oldest first."""
        return [body for to, body in self.sent if to == phone]
