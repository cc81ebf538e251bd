"""A session's device as people name it, from the User-Agent it was opened with: a browser
and its system, an API client by its library, else "Unknown device", in the page's language;
never a fragment such as "httpx on ?"."""

from __future__ import annotations

import pytest

from obolo.account.devices import UNKNOWN, Device, DeviceKind, describe_device
from obolo.entrypoints.web.i18n import translator
from obolo.entrypoints.web.labels import device

BROWSER, PROGRAM = DeviceKind.BROWSER, DeviceKind.PROGRAM


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
            Device(BROWSER, "Firefox", "Windows"),
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.5 Safari/605.1.15",
            Device(BROWSER, "Safari", "macOS"),
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0 Mobile Safari/537.36",
            Device(BROWSER, "Chrome", "Android"),
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 "
            "Safari/537.36 Edg/126.0",
            Device(BROWSER, "Edge", "Windows"),
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.5 Mobile/15E148 Safari/604.1",
            Device(BROWSER, "Safari", "iOS"),
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "CriOS/126.0 Mobile/15E148 Safari/604.1",
            Device(BROWSER, "Chrome", "iOS"),
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "SamsungBrowser/25.0 Chrome/121.0 Mobile Safari/537.36",
            Device(BROWSER, "Samsung Internet", "Android"),
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 "
            "Safari/537.36 OPR/111.0",
            Device(BROWSER, "Opera", "Linux"),
        ),
        # an app's web view on an iPhone: a browser, but not one we can name
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Mobile/15E148",
            Device(BROWSER, "", "iOS"),
        ),
        ("python-httpx/0.27.0", Device(PROGRAM, "httpx")),
        ("curl/8.5.0", Device(PROGRAM, "curl")),
        ("python-requests/2.32.3", Device(PROGRAM, "requests")),
        ("Python/3.11 aiohttp/3.9.5", Device(PROGRAM, "aiohttp")),
        ("PostmanRuntime/7.39.0", Device(PROGRAM, "Postman")),
        ("Go-http-client/2.0", Device(PROGRAM, "Go")),
        ("testclient", UNKNOWN),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", UNKNOWN),
        ("SomethingElse/1.0", UNKNOWN),
        (None, UNKNOWN),
        ("", UNKNOWN),
    ],
)
def test_the_device_is_named_as_people_know_it(user_agent, expected):
    assert describe_device(user_agent) == expected


@pytest.mark.parametrize(
    ("user_agent", "english", "italian"),
    [
        ("python-httpx/0.27.0", "API client (httpx)", "Client API (httpx)"),
        ("curl/8.5.0", "API client (curl)", "Client API (curl)"),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0 Mobile Safari/537.36",
            "Chrome on Android",
            "Chrome su Android",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15",
            "A browser on iPadOS",
            "Un browser su iPadOS",
        ),
        ("testclient", "Unknown device", "Dispositivo sconosciuto"),
        (None, "Unknown device", "Dispositivo sconosciuto"),
    ],
)
def test_the_pages_say_the_device_in_their_language(user_agent, english, italian):
    """A library alone is an API client, never "httpx on ?"; nothing known reads "Unknown device"."""
    assert device(translator("en"), user_agent) == english
    assert device(translator("it"), user_agent) == italian
