"""The egress guard: no outbound request reaches an internal address in any spelling, the
address actually connected to is checked (DNS rebinding fails), redirects are not
followed, and only the explicit allow-list opens a way in."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore
import httpx
import pytest

from obolo.adapters.egress import (
    AllowRule,
    EgressGuard,
    EgressPolicy,
    EgressRefused,
    failure_reason,
    literal_address,
)

PUBLIC = "93.184.215.14"


class Local:
    """A tiny HTTP server on 127.0.0.1 that counts the connections it accepts and the
    requests it reads."""

    def __init__(self, answer: int = 204, location: str | None = None) -> None:
        self.connections = 0
        self.requests: list[str] = []
        local = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                local.requests.append(self.path)
                self.send_response(answer)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST  # noqa: N815 (the handler's method name)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):  # type: ignore[no-untyped-def]
                local.connections += 1
                return super().get_request()

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port

    @contextmanager
    def running(self) -> Iterator[Local]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def local() -> Iterator[Local]:
    with Local().running() as server:
        yield server


def answers(*rounds: list[str]):
    """A resolver that gives each round of answers in turn (the last one again after)."""
    given = list(rounds)

    def resolve(host: str, port: int) -> list[str]:
        return given.pop(0) if len(given) > 1 else given[0]

    return resolve


# Every spelling of an internal destination the guard must refuse (host as in a URL).
INTERNAL = [
    "127.0.0.1", "127.0.0.53", "127.1", "2130706433", "0x7f000001",
    "0x7f.0.0.1", "0x7f.1", "017700000001", "localhost", "LOCALHOST", "localhost.", "127.0.0.1.",
    "0.0.0.0", "0",  # noqa: S104 (to refuse, not to bind)
    "0.1.2.3", "[::1]", "[::]", "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
    "[::ffff:10.0.0.1]", "[::127.0.0.1]", "[2002:7f00:1::1]", "[2002:a9fe:a9fe::1]", "[64:ff9b::7f00:1]",
    "[fe80::1]", "[fc00::1]", "[fd12:3456::1]", "[fec0::1]", "[ff02::1]", "[2001::1]", "[2001:db8::1]",
    "[fe80::5efe:7f00:1]", "169.254.169.254", "169.254.0.1", "10.0.0.1", "10.255.255.255", "172.16.0.1",
    "172.31.255.255", "192.168.1.1", "100.64.0.1", "100.127.255.254", "192.0.0.8", "192.0.2.1",
    "198.18.0.1", "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1",
    "255.255.255.255", "192.88.99.1",
]  # fmt: skip


@pytest.mark.parametrize("host", INTERNAL)
def test_every_spelling_of_an_internal_address_is_refused(host):
    """Loopback, private, link-local, CGNAT, multicast, reserved, unspecified, and IPv4 inside IPv6."""
    guard = EgressGuard(resolver=lambda name, port: {"localhost": ["127.0.0.1", "::1"]}[name])
    with pytest.raises(EgressRefused):
        guard.check_url(f"http://{host}:8080/hooks")


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fd00::1", "0.0.0.0"])  # noqa: S104
def test_a_name_that_resolves_to_an_internal_address_is_refused(address):
    """The name is resolved and every answer judged: a public-looking name is not enough."""
    guard = EgressGuard(resolver=answers([PUBLIC, address]))
    with pytest.raises(EgressRefused):
        guard.check_url("https://hooks.customer.example/in")


@pytest.mark.parametrize(
    "host", ["8.8.8.8", "[2606:4700:4700::1111]", "[2002:808:808::1]", "hooks.customer.example"]
)
def test_public_destinations_pass(host):
    """A public address (also 6to4 or mapped around a public IPv4) is allowed."""
    guard = EgressGuard(resolver=answers([PUBLIC]))
    assert guard.check_url(f"https://{host}/in").host


@pytest.mark.parametrize(
    "url", ["http://127.000.000.001/", "http://0177.0.0.1/", "gopher://x.example/", "http:///x"]
)
def test_urls_httpx_would_not_send_are_not_urls(url):
    """Spellings the HTTP client refuses to parse are refused as URLs, before any lookup."""
    with pytest.raises(ValueError, match="URL"):
        EgressGuard(resolver=answers(["127.0.0.1"])).check_url(url)


def test_literal_spellings_mean_what_the_c_library_reads():
    """127.1, 2130706433, 0x7f000001 and octal parts are 127.0.0.1; a name is not a literal."""
    for spelling in ("127.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.0.0.1"):
        assert str(literal_address(spelling)) == "127.0.0.1"
    assert literal_address("deadbeef.example") is None
    assert literal_address("1.2.3.4 x") is None


def test_a_refused_address_is_never_connected_to(local):
    """Through a real socket: the refused server never sees a connection, whatever the spelling."""
    client = EgressGuard().client()
    for host in ("127.0.0.1", "localhost", "127.1", "2130706433", "0x7f000001", "[::ffff:127.0.0.1]"):
        with pytest.raises(EgressRefused) as refused:
            client.post(f"http://{host}:{local.port}/hooks", content=b"{}")
        assert failure_reason(refused.value) == "refused by policy"
    assert local.connections == 0
    assert local.requests == []


def test_the_allow_list_opens_exactly_what_it_names(local):
    """An allowed address or host:port is reached; the same server on another name or port is not."""
    by_address = EgressGuard(EgressPolicy.parse("127.0.0.1")).client()
    assert by_address.post(f"http://127.1:{local.port}/a", content=b"").status_code == 204
    by_name = EgressGuard(EgressPolicy.parse(f"localhost:{local.port}")).client()
    assert by_name.post(f"http://localhost:{local.port}/b", content=b"").status_code == 204
    with pytest.raises(EgressRefused):
        by_name.post(f"http://127.0.0.1:{local.port}/c", content=b"")
    other_port = EgressGuard(EgressPolicy.parse(f"localhost:{local.port + 1}")).client()
    with pytest.raises(EgressRefused):
        other_port.post(f"http://localhost:{local.port}/d", content=b"")
    assert local.requests == ["/a", "/b"]


def test_dns_rebinding_fails(local):
    """The name answered a public address when checked, then loopback: the connection is refused."""
    guard = EgressGuard(resolver=answers([PUBLIC], ["127.0.0.1"]))
    guard.check_url(f"http://rebind.example:{local.port}/hooks")  # registration saw a public answer
    with pytest.raises(EgressRefused):
        guard.client().post(f"http://rebind.example:{local.port}/hooks", content=b"{}")
    assert local.connections == 0


class Misrouted(httpcore.NetworkBackend):
    """A network that delivers every connection to the local server, whatever address was
    asked for (a rebinding resolver below ours, a NAT, a transparent proxy)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.asked: list[str] = []

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.asked.append(host)
        return httpcore.SyncBackend().connect_tcp("127.0.0.1", self.port, timeout)


def test_the_address_actually_connected_to_is_checked(local):
    """The checked answer was public but the socket reached loopback: refused before a byte is sent."""
    network = Misrouted(local.port)
    guard = EgressGuard(resolver=answers([PUBLIC]))
    client = httpx.Client(transport=guard.transport(backend=network), follow_redirects=False)
    with pytest.raises(EgressRefused):
        client.post("http://hooks.customer.example/in", content=b"{}")
    assert network.asked == [PUBLIC]  # we dialled the checked address, not the name
    assert local.requests == []


def test_redirects_are_not_followed():
    """A 302 to an internal address is an answer, not a second request."""
    with Local(answer=302, location="http://169.254.169.254/latest/meta-data").running() as server:
        client = EgressGuard(EgressPolicy.parse("127.0.0.1")).client()
        assert client.post(f"http://127.0.0.1:{server.port}/hooks", content=b"").status_code == 302
        assert server.requests == ["/hooks"]


def test_proxies_from_the_environment_are_ignored(local, monkeypatch):
    """HTTP_PROXY cannot carry a request past the guard."""
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{local.port}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{local.port}")
    client = EgressGuard(resolver=answers(["127.0.0.1"])).client(timeout=2)
    with pytest.raises(EgressRefused):
        client.get("http://anything.example/")
    assert local.connections == 0


def test_failures_are_told_without_internal_detail():
    """Refused by policy, timeout, or connection failed: never the address or the errno."""
    assert failure_reason(EgressRefused("10.0.0.1", "10.0.0.1")) == "refused by policy"
    assert failure_reason(httpx.ReadTimeout("read timed out")) == "timeout"
    assert failure_reason(httpx.ConnectError("[Errno 111] Connection refused")) == "connection failed"


def test_closed_ports_and_timeouts_on_allowed_hosts_say_only_that(local):
    """A closed port is 'connection failed'; a silent server is 'timeout'."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    client = EgressGuard(EgressPolicy.parse("127.0.0.1")).client(timeout=0.5)
    with pytest.raises(httpx.HTTPError) as failed:
        client.post(f"http://127.0.0.1:{closed}/", content=b"")
    assert failure_reason(failed.value) == "connection failed"
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with pytest.raises(httpx.HTTPError) as slow:
            client.post(f"http://127.0.0.1:{silent.getsockname()[1]}/", content=b"")
    assert failure_reason(slow.value) == "timeout"


def test_the_allow_list_is_parsed_strictly():
    """Hosts, host:port, addresses in any spelling, [v6]:port and networks; anything else is refused."""
    policy = EgressPolicy.parse("127.0.0.1, localhost:8001 10.0.0.0/8,[::1]:9000,127.1")
    assert policy.rules[0] == AllowRule(network=policy.rules[0].network)
    assert policy.rules[1] == AllowRule(host="localhost", port=8001)
    assert str(policy.rules[2].network) == "10.0.0.0/8"
    assert (str(policy.rules[3].network), policy.rules[3].port) == ("::1/128", 9000)
    assert str(policy.rules[4].network) == "127.0.0.1/32"
    assert EgressPolicy.parse("").rules == ()
    for bad in ("http://x", "host:99999", "a b/c", "x:y"):
        with pytest.raises(ValueError, match="not a"):
            EgressPolicy.parse(bad)


def test_the_sms_gateway_goes_through_the_guard(local):
    """A gateway URL at an internal address is not reached unless allowed by name, however it is wired."""
    from obolo.adapters.sms_gateway import HttpSmsGateway, SmsNotSent
    from obolo.bootstrap import build
    from obolo.settings import Settings

    url = f"http://127.0.0.1:{local.port}/Messages.json"
    with pytest.raises(SmsNotSent):
        HttpSmsGateway(url, "AC1", "token", "+15005550006").send("+393331234567", "hello")
    wired = {"sms_gateway_url": url, "sms_auth_token": "token"}
    platform = build(Settings(**wired), url="sqlite://")
    with pytest.raises(SmsNotSent):
        platform.sms_gateway.send("+393331234567", "hello")
    platform.close()
    assert local.connections == 0
    allowed = build(Settings(**wired, egress_allow="127.0.0.1"), url="sqlite://")
    allowed.sms_gateway.send("+393331234567", "hello")
    allowed.close()
    assert local.requests == ["/Messages.json"]
