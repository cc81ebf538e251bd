"""The HTTP SMS gateway adapter: the common form POST with basic auth; failures are SmsNotSent."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import httpx
import pytest
from structlog.testing import capture_logs

from obolo.adapters.sms_gateway import ConsoleSmsGateway, HttpSmsGateway, SmsNotSent, UnconfiguredSmsGateway
from obolo.bootstrap import sms_gateway_for
from obolo.entrypoints.demo import demo_status
from obolo.settings import Settings

URL = "https://gateway.example/Accounts/AC1/Messages.json"


def gateway(handler) -> HttpSmsGateway:
    return HttpSmsGateway(
        URL, "AC1", "secret-token", "+15005550006", httpx.Client(transport=httpx.MockTransport(handler))
    )


def test_a_message_is_a_form_post_with_basic_auth():
    """To, From and Body go as a form with basic auth (account, token); the gateway's id comes back."""
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["auth"] = request.headers["authorization"]
        seen["form"] = parse_qs(request.content.decode())
        seen["url"] = str(request.url)
        return httpx.Response(201, json={"sid": "SM123"})

    assert gateway(handler).send("+393331234567", "Ref K7M2QX") == "SM123"
    assert seen["url"] == URL
    assert seen["auth"] == "Basic " + base64.b64encode(b"AC1:secret-token").decode()
    assert seen["form"] == {"To": ["+393331234567"], "From": ["+15005550006"], "Body": ["Ref K7M2QX"]}


@pytest.mark.parametrize("status", [400, 401, 429, 500, 503])
def test_a_refusal_is_sms_not_sent(status):
    """Any non-2xx answer raises SmsNotSent, for the outbox to retry."""
    with pytest.raises(SmsNotSent):
        gateway(lambda request: httpx.Response(status)).send("+393331234567", "hi")


def test_an_unreachable_gateway_is_sms_not_sent():
    """A connection error raises SmsNotSent, not an httpx error."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down", request=request)

    with pytest.raises(SmsNotSent):
        gateway(handler).send("+393331234567", "hi")


def test_console_gateway_keeps_what_each_number_was_sent():
    """The console gateway remembers messages per number, oldest first, for the simulator."""
    console = ConsoleSmsGateway(keep=3)
    for n in range(4):
        console.send("+393331234567" if n % 2 else "+393337654321", f"m{n}")
    assert console.sent_to("+393331234567") == ["m1", "m3"]
    assert console.sent_to("+393337654321") == ["m2"]  # the oldest fell out


def test_the_console_gateway_logs_no_sign_in_code():
    """A six-digit code in a message is masked in the log line, kept whole for the simulator."""
    console = ConsoleSmsGateway()
    with capture_logs() as logs:
        console.send("+393331234567", "Obolo: 042917 is your code to sign in on the web.")
    assert "042917" not in repr(logs)
    assert console.sent_to("+393331234567") == ["Obolo: 042917 is your code to sign in on the web."]


GATEWAY_URL = "https://gateway.example/Accounts/AC1/Messages.json"


@pytest.mark.parametrize(
    ("settings", "kind", "said"),
    [
        (Settings(), UnconfiguredSmsGateway, "outbound SMS: not sent"),
        (Settings(sms_auth_token="t"), UnconfiguredSmsGateway, "outbound SMS: not sent"),
        (Settings(sms_gateway_url=GATEWAY_URL), UnconfiguredSmsGateway, "outbound SMS: not sent"),
        (Settings(demo=True), ConsoleSmsGateway, "outbound SMS: printed to the log (demo)"),
        (
            Settings(demo=True, sms_auth_token="t"),
            ConsoleSmsGateway,
            "outbound SMS: printed to the log (demo)",
        ),
        (
            Settings(sms_gateway_url=GATEWAY_URL, sms_auth_token="t"),
            HttpSmsGateway,
            "outbound SMS: sent through",
        ),
        (
            Settings(demo=True, sms_gateway_url=GATEWAY_URL, sms_auth_token="t"),
            HttpSmsGateway,
            "outbound SMS: sent through",
        ),
    ],
)
def test_only_a_demo_prints_texts_and_start_up_says_where_they_go(settings, kind, said):
    """The console gateway is a demo's; elsewhere without a gateway nothing is sent; start-up says which."""
    gateway = sms_gateway_for(settings)
    assert type(gateway) is kind
    assert any(line.startswith(said) for line in demo_status(settings)), demo_status(settings)


def test_without_a_gateway_a_text_is_not_sent_printed_or_kept():
    """Outside a demo with no gateway, a text is SmsNotSent (the outbox keeps it) and nothing is logged."""
    with capture_logs() as logs, pytest.raises(SmsNotSent):
        UnconfiguredSmsGateway().send("+393331234567", "Obolo: 042917 is your code to sign in on the web.")
    assert logs == []
