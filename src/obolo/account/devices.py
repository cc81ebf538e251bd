"""What a session was opened with, named from its User-Agent as people know it: a browser
and its system ("Chrome" on "Android"), a program calling the API through a known HTTP
library ("httpx", "curl"), or nothing we can honestly name. Pure: no I/O.

A User-Agent is what the other side says about itself, so this is a hint for the person
reviewing their sessions, never a check: anything not recognised stays unknown rather than
guessed from a fragment (an agent naming only a library is not a browser, whatever it says
next)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DeviceKind(StrEnum):
    BROWSER = "browser"
    PROGRAM = "program"  # an API client: a script or a server using an HTTP library
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Device:
    """`name`: the browser or the library ("" when a browser does not say which); `system`:
    the browser's operating system ("" when it does not say)."""

    kind: DeviceKind
    name: str = ""
    system: str = ""


UNKNOWN = Device(DeviceKind.UNKNOWN)

# HTTP libraries and tools, by the product token they send (browsers send none of these).
_PROGRAMS = (
    ("python-httpx/", "httpx"), ("python-requests/", "requests"), ("aiohttp/", "aiohttp"),
    ("Python-urllib/", "urllib"), ("curl/", "curl"), ("Wget/", "Wget"), ("HTTPie/", "HTTPie"),
    ("PostmanRuntime/", "Postman"), ("insomnia/", "Insomnia"), ("okhttp/", "OkHttp"),
    ("Go-http-client/", "Go"), ("axios/", "axios"), ("node-fetch", "node-fetch"), ("undici", "undici"),
    ("GuzzleHttp/", "Guzzle"), ("libwww-perl/", "libwww-perl"), ("Java-http-client/", "Java"),
    ("Java/", "Java"), ("Dart/", "Dart"),
)  # fmt: skip
# Order matters: Edge, Opera and Samsung Internet say "Chrome" too, Chrome says "Safari";
# Chrome and Firefox on iOS name themselves CriOS and FxiOS.
_BROWSERS = (
    ("Edg/", "Edge"), ("EdgA/", "Edge"), ("EdgiOS/", "Edge"), ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"), ("Firefox/", "Firefox"), ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"), ("Chrome/", "Chrome"),
)  # fmt: skip
# Android says "Linux", and iPhones "like Mac OS X": those come first.
_SYSTEMS = (
    ("Android", "Android"), ("iPhone", "iOS"), ("iPod", "iOS"), ("iPad", "iPadOS"), ("Windows", "Windows"),
    ("CrOS", "ChromeOS"), ("Mac OS X", "macOS"), ("Macintosh", "macOS"), ("Linux", "Linux"),
)  # fmt: skip


def describe_device(user_agent: str | None) -> Device:
    """The device a User-Agent names; UNKNOWN when it names nothing we recognise."""
    agent = (user_agent or "").strip()
    program = next((name for mark, name in _PROGRAMS if mark in agent), None)
    if program is not None:
        return Device(DeviceKind.PROGRAM, program)
    if not agent.startswith("Mozilla/"):  # every browser's agent starts so
        return UNKNOWN
    browser = next((name for mark, name in _BROWSERS if mark in agent), "")
    if not browser and "Safari/" in agent and "Version/" in agent:  # Safari's own, not a web view's
        browser = "Safari"
    system = next((name for mark, name in _SYSTEMS if mark in agent), "")
    if not browser and not system:
        return UNKNOWN
    return Device(DeviceKind.BROWSER, browser, system)


__all__ = ["UNKNOWN", "Device", "DeviceKind", "describe_device"]
