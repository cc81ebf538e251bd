"""The egress guard: every outbound HTTP request of the server (webhooks, the SMS gateway,
and any real card or bank adapter) goes through one `httpx` client built here, so that a
URL someone else chose cannot reach the server's own network.

    EgressGuard             resolve a name, refuse internal addresses, hand out guarded clients
    ├── EgressPolicy        the explicit allow-list (OBOLO_EGRESS_ALLOW), empty by default
    └── EgressTransport     an httpx transport whose connections go only to checked addresses

    httpx.TransportError
    └── EgressRefused       the destination is not allowed: nothing was sent to it

Refused unless allowed by name: loopback, private, link-local, multicast, reserved,
unspecified and shared (CGNAT) addresses, in IPv4 and IPv6, including IPv4 embedded in IPv6
(mapped, 6to4, ISATAP) and every way of writing an IPv4 literal (`127.1`, `2130706433`,
`0x7f000001`, `0177.0.0.1`). The transport resolves the name itself, checks every answer,
connects to a checked address (the URL, Host header and TLS SNI keep the name) and checks
the peer of the socket it got, so a name that answers a public address to one lookup and
a private one to the next (DNS rebinding) still reaches nothing private. Redirects are
never followed and proxies from the environment are ignored.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Answers a name with the addresses it has now (as text); raises OSError when it has none.
Resolver = Callable[[str, int], list[str]]

REFUSED = "refused by policy"
# Not global, yet not all flagged by `ipaddress` on every Python: refused by name.
_ALSO_REFUSED: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network": 0.0.0.0 and friends reach the host itself on Linux
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "192.0.0.0/24",  # IETF protocol assignments
        "192.88.99.0/24",  # 6to4 relay anycast
        "198.18.0.0/15",  # benchmarking
        "224.0.0.0/3",  # multicast, reserved, broadcast
        "fec0::/10",  # deprecated site-local
        "64:ff9b::/96",  # NAT64: the embedded IPv4 is someone else's network to judge
        "64:ff9b:1::/48",
        "2001::/23",  # IETF protocol assignments, Teredo among them
    )
)
# Things inet_aton reads as an IPv4 address: 1 to 4 parts, decimal, octal or hex.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$", re.IGNORECASE)


class EgressRefused(httpx.TransportError):
    """The destination is not allowed by the egress policy; nothing was sent to it."""

    def __init__(self, host: str, address: str | None = None) -> None:
        super().__init__(f"{REFUSED}: {host}" + (f" ({address})" if address else ""))
        self.host = host
        self.address = address


class Unresolvable(httpcore.ConnectError):
    """The name has no address just now (a connection error like any other)."""


def forbidden(address: Address) -> bool:
    """Whether an address is internal (not to be reached unless allowed by name)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and forbidden(embedded):
            return True
    return (
        not address.is_global
        or address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or any(address.version == n.version and address in n for n in _ALSO_REFUSED)
    )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, ISATAP), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    interface = int(address) & ((1 << 64) - 1)
    if interface >> 32 in (0x00005EFE, 0x02005EFE):  # ISATAP
        return ipaddress.IPv4Address(interface & 0xFFFFFFFF)
    return None


def literal_address(host: str) -> Address | None:
    """The address a host written as a literal means, in any spelling the C library
    accepts (so a resolver that is not the C library cannot be told otherwise)."""
    text = host.strip().removeprefix("[").removesuffix("]").rstrip(".")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _NUMERIC_HOST.match(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def _address(text: str) -> Address:
    return ipaddress.ip_address(text.split("%", 1)[0])


def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's answer for a name, every address of it."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(answer[4][0]) for answer in answers))


def _normal_host(host: str) -> str:
    return host.strip().removeprefix("[").removesuffix("]").rstrip(".").lower()


@dataclass(frozen=True, slots=True)
class AllowRule:
    """One allow-list entry: a host name, or an address or network, optionally one port."""

    host: str | None = None
    network: Network | None = None
    port: int | None = None

    def matches(self, host: str, port: int, address: Address) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host is not None:
            return self.host == _normal_host(host)
        assert self.network is not None
        candidates = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        return any(a.version == self.network.version and a in self.network for a in candidates)

    @classmethod
    def parse(cls, entry: str) -> AllowRule:
        """`host`, `host:port`, `10.0.0.0/8`, `127.0.0.1:8001`, `[::1]:8001` or `::1`;
        raises ValueError naming the entry otherwise."""
        try:
            return cls._parse(entry)
        except ValueError:
            raise ValueError(f"not a host, address or network (OBOLO_EGRESS_ALLOW): {entry!r}") from None

    @classmethod
    def _parse(cls, entry: str) -> AllowRule:
        text = entry.strip().lower()
        port: int | None = None
        if text.startswith("["):
            inside, _, rest = text[1:].partition("]")
            text, port = inside, int(rest.removeprefix(":")) if rest else None
        elif text.count(":") == 1:
            text, _, port_text = text.partition(":")
            port = int(port_text)
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"not a port: {entry!r}")
        try:
            return cls(network=ipaddress.ip_network(text, strict=False), port=port)
        except ValueError:
            pass
        literal = literal_address(text)
        if literal is not None:
            return cls(network=ipaddress.ip_network(literal), port=port)
        if not text or not re.fullmatch(r"[a-z0-9._-]+", text):
            raise ValueError(f"not a host, address or network: {entry!r}")
        return cls(host=_normal_host(text), port=port)


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """What may be reached although internal: nothing, unless listed."""

    rules: tuple[AllowRule, ...] = ()

    @classmethod
    def parse(cls, text: str | Iterable[str] | None) -> EgressPolicy:
        """From `OBOLO_EGRESS_ALLOW`: entries separated by commas or spaces. Raises
        ValueError on an entry that is not a host, address or network."""
        entries = re.split(r"[,\s]+", text) if isinstance(text, str) else list(text or ())
        return cls(tuple(AllowRule.parse(e) for e in entries if e.strip()))

    def allows(self, host: str, port: int, address: Address) -> bool:
        return not forbidden(address) or any(rule.matches(host, port, address) for rule in self.rules)

    def describe(self) -> str:
        return ", ".join(
            (r.host or str(r.network)) + (f":{r.port}" if r.port is not None else "") for r in self.rules
        )


@dataclass(frozen=True, slots=True)
class EgressGuard:
    """The policy and the resolver; `check` a destination, or get a `client` that checks
    every connection it makes."""

    policy: EgressPolicy = field(default_factory=EgressPolicy)
    resolver: Resolver = system_resolver

    def addresses(self, host: str, port: int) -> list[Address]:
        """Every address `host` means now, each allowed, or EgressRefused; a name without
        an address raises Unresolvable."""
        literal = literal_address(host)
        if literal is not None:
            found = [literal]
        else:
            try:
                found = [_address(a) for a in self.resolver(_normal_host(host), port)]
            except (OSError, UnicodeError, ValueError) as error:
                raise Unresolvable(f"{host} does not resolve") from error
            if not found:
                raise Unresolvable(f"{host} does not resolve")
        # One internal answer refuses the name: which answer a connection uses is not ours to pick.
        for address in found:
            if not self.policy.allows(host, port, address):
                raise EgressRefused(host, str(address))
        return found

    def check_url(self, url: str) -> httpx.URL:
        """An http(s) URL whose host is allowed now. A name that does not resolve yet
        passes (every connection is checked again when made); raises EgressRefused or
        ValueError for a URL that is not http(s)."""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, UnicodeError) as error:
            raise ValueError("not a URL") from error
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError("not an http(s) URL")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        with contextlib.suppress(Unresolvable):
            self.addresses(parsed.host, port)
        return parsed

    def transport(self, **options: Any) -> EgressTransport:
        return EgressTransport(self, **options)

    def client(self, timeout: float = 5.0, **options: Any) -> httpx.Client:
        """An httpx client whose every connection is checked; no redirects, no proxies
        from the environment."""
        return httpx.Client(
            transport=self.transport(**options), timeout=timeout, follow_redirects=False, trust_env=False
        )


def failure_reason(error: BaseException) -> str:
    """What a person may be told of a failed request: nothing about the network it met."""
    if isinstance(error, EgressRefused):
        return REFUSED
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    return "connection failed"


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolves and checks the name, connects to a checked address, then checks the
    address the socket is actually connected to."""

    def __init__(self, guard: EgressGuard, inner: httpcore.NetworkBackend | None = None) -> None:
        self.guard = guard
        self.inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        failure: Exception | None = None
        for address in self.guard.addresses(host, port):
            try:
                stream = self.inner.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
                continue
            peer = stream.get_extra_info("server_addr")
            try:
                connected = _address(str(peer[0]))
            except (TypeError, IndexError, ValueError):
                connected = None
            if connected is None or not self.guard.policy.allows(host, port, connected):
                stream.close()
                raise EgressRefused(host, str(connected))
            return stream
        raise failure or Unresolvable(f"{host} does not resolve")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise EgressRefused(path)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


# httpcore's errors as httpx's, most specific first (as httpx's own transport maps them).
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


def _as_httpx(error: Exception) -> Exception:
    for source, target in _ERRORS:
        if isinstance(error, source):
            return target(str(error))
    return error


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream
        except Exception as error:
            mapped = _as_httpx(error)
            if mapped is error:
                raise
            raise mapped from error

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class EgressTransport(httpx.BaseTransport):
    """httpx's transport interface over httpcore's connection pool, with the guarded
    network backend (httpcore's extension point for how connections are opened)."""

    def __init__(
        self,
        guard: EgressGuard,
        *,
        verify: bool = True,
        max_connections: int = 100,
        backend: httpcore.NetworkBackend | None = None,
    ) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=max_connections,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(guard, backend),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            answer = self._pool.handle_request(core)
        except EgressRefused:
            raise
        except Exception as error:
            mapped = _as_httpx(error)
            if mapped is error:
                raise
            raise mapped from error
        assert isinstance(answer.stream, Iterable)
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(answer.stream),
            extensions=answer.extensions,
        )

    def close(self) -> None:
        self._pool.close()
