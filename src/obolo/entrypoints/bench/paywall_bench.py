"""`obolo bench paywall`: payments verified per second by the provider's offline
verifier, beside bare SHA-256 of the same tokens in the same run."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from obolo.sdk.payword import Certificate, ChannelState, HashChain, accept_payment, b64


@dataclass(frozen=True, slots=True)
class VerifierFigure:
    payments: int
    verified_per_second: float
    sha256_per_second: float

    @property
    def ratio(self) -> float:
        return self.verified_per_second / self.sha256_per_second


def measure_verifier(payments: int, rounds: int = 3) -> VerifierFigure:
    """Best of `rounds` for each side, interleaved, so a noisy neighbour hurts both alike."""
    chain = HashChain.generate(payments)
    tokens = [chain.token(k) for k in range(1, payments + 1)]
    certificate = Certificate("bench", "bench", "EUR", 1_000, payments, b64(chain.root), 2**40, "k")
    best_ours = best_bare = float("inf")
    for _ in range(rounds):
        state = ChannelState.open(certificate)
        started = time.perf_counter()
        for index, token in enumerate(tokens, start=1):
            accept_payment(state, index, token)
        best_ours = min(best_ours, time.perf_counter() - started)
        sha256 = hashlib.sha256
        started = time.perf_counter()
        for token in tokens:
            sha256(token).digest()
        best_bare = min(best_bare, time.perf_counter() - started)
    return VerifierFigure(payments, payments / best_ours, payments / best_bare)


def markdown(
    figure: VerifierFigure,
    command: str,
    machine: str,
    writes: tuple[int, int],
    http: HttpFigure | None = None,
    wire: list[str] | None = None,
) -> str:
    met = "yes" if figure.ratio >= 0.25 else "**no**"
    written, views = writes
    return "\n".join(
        [
            "## Paywall verifier",
            "",
            f"Measured on {machine} with `{command}`: a provider checking channel payments in",
            "order, in-process (`obolo.sdk.payword.accept_payment`), beside bare `hashlib.sha256`",
            "over the same 32-byte tokens; best of 3 interleaved rounds each.",
            "",
            "| payments | verified/s | bare SHA-256/s | ratio | target >= 25% met |",
            "| ---: | ---: | ---: | ---: | --- |",
            f"| {figure.payments:,} | {figure.verified_per_second:,.0f} | {figure.sha256_per_second:,.0f} "
            f"| {figure.ratio:.0%} | {met} |",
            "",
            f"Ledger transfers written for {views:,} paid page views through one channel, counted in",
            f"`ledger_transfers`: **{written}** (the hold, the settlement, the platform fee); target <= 3: "
            f"{'yes' if written * 1_000 <= 3 * views else '**no**'}.",
            "",
            *(
                [
                    "HTTP, one client after another on loopback, the Magazine's article page: each paid",
                    "request carries a new channel payment, checked offline by the middleware; the",
                    "baseline is the same page unpriced on the same server (best of 3 rounds).",
                    "",
                    "| requests | paid req/s | unpriced req/s | ratio | target >= 0.6 met |",
                    "| ---: | ---: | ---: | ---: | --- |",
                    f"| {http.requests:,} | {http.paid_per_second:,.0f} | {http.free_per_second:,.0f} "
                    f"| {http.ratio:.2f} | {'yes' if http.ratio >= 0.6 else '**no**'} |",
                    "",
                ]
                if http
                else ["HTTP through the paywall: not measured in this run (`--http`).", ""]
            ),
            *(wire or []),
        ]
    )


def ledger_writes_per_thousand_views(views: int = 1_000) -> tuple[int, int]:
    """(ledger transfers written, views) for one reader paying `views` page views through
    one channel and the provider settling it: counted in the ledger, not assumed."""
    import tempfile
    from pathlib import Path

    from argon2 import PasswordHasher
    from sqlalchemy import func, select

    from obolo.adapters.cards import Card
    from obolo.adapters.db.schema import transfers
    from obolo.bootstrap import build
    from obolo.identity.model import Role
    from obolo.money import EUR, Amount
    from obolo.paywall.model import Claim
    from obolo.settings import FeeRule, Settings

    with tempfile.TemporaryDirectory(prefix="obolo-bench-") as directory:
        settings = Settings(fees={"paywall": FeeRule(basis_points=200)})
        platform = build(settings, url=f"sqlite:///{Path(directory) / 'bench.db'}", migrate=True)
        platform.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        reader = platform.identity.sign_up("reader@example.com", "reader password", "Reader").id
        publisher = platform.identity.sign_up("publisher@example.com", "publisher password", "Publisher").id
        platform.identity.add_role(publisher, Role.PROVIDER)
        platform.wallets.top_up(reader, Amount.parse("10.00", EUR), Card("4242424242424242", 12, 2035, "123"))
        provider = platform.paywall.register_provider(publisher, "Magazine", "https://magazine.example")

        def count() -> int:
            with platform.engine.connect() as connection:
                return int(connection.execute(select(func.count()).select_from(transfers)).scalar_one())

        before = count()
        chain = HashChain.generate(views)
        channel_id, token = platform.paywall.open_channel(
            reader, provider.id, Amount.parse("0.001", EUR), views, b64(chain.root)
        )
        certificate, _ = Certificate.decode(token)
        state = ChannelState.open(certificate)
        for index in range(1, views + 1):
            accept_payment(state, index, chain.token(index))
        platform.paywall.settle_claims(publisher, [Claim(channel_id, state.index, state.token)])
        written = count() - before
        platform.close()
    return written, views


@dataclass(frozen=True, slots=True)
class HttpFigure:
    requests: int
    paid_per_second: float
    free_per_second: float

    @property
    def ratio(self) -> float:
        return self.paid_per_second / self.free_per_second


def measure_http(requests: int = 300, rounds: int = 3) -> HttpFigure:
    """Requests per second to the Magazine's article page with the paywall and a paying
    client, beside the same page unpriced, same server, same run (best of rounds)."""
    import tempfile
    from pathlib import Path

    import httpx
    from argon2 import PasswordHasher

    from obolo.adapters.cards import Card
    from obolo.bootstrap import build
    from obolo.entrypoints.api.app import create_app
    from obolo.entrypoints.demo_sites import free_port, provider_setup, serve_in_thread
    from obolo.examples.magazine import public_keys, site
    from obolo.money import EUR, Amount
    from obolo.sdk.client import PayingClient
    from obolo.sdk.paywall import PaywallMiddleware, Price

    with tempfile.TemporaryDirectory(prefix="obolo-bench-") as directory:
        folder = Path(directory)
        platform = build(url=f"sqlite:///{folder / 'obolo.db'}", migrate=True)
        platform.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        api_port, site_port = free_port(), free_port()
        api = serve_in_thread(create_app(platform), api_port)
        server = f"http://127.0.0.1:{api_port}"
        state = provider_setup(server, folder / "magazine.provider.json")
        paywall = PaywallMiddleware(
            site(), provider_id=state["provider_id"], prices=[Price("/articles/*", 1_000, "EUR")],
            keys=public_keys(state["keys"]), server=server, store=folder / "magazine.db",
        )  # fmt: skip
        magazine_server = serve_in_thread(paywall, site_port)
        reader = platform.identity.sign_up("reader@example.com", "reader password", "Reader").id
        platform.wallets.top_up(
            reader, Amount.parse("100.00", EUR), Card("4242424242424242", 12, 2035, "123")
        )
        token, _, _ = platform.identity.sign_in("reader@example.com", "reader password", "127.0.0.1")
        base = f"http://127.0.0.1:{site_port}"
        best_paid = best_free = float("inf")
        page = 0
        with (
            # The site's offline check is what is timed: every page is new to the account,
            # so the client's purchase look-up (a platform round trip) is left out.
            PayingClient(
                server, token, budget=10**8, chain_length=requests * rounds + 10, purchases=False
            ) as client,
            httpx.Client() as plain,
        ):
            client.get(f"{base}/articles/0")  # opens the channel before timing
            for _ in range(rounds):
                started = time.perf_counter()
                for _ in range(requests):
                    page += 1
                    client.get(f"{base}/articles/{page}")
                best_paid = min(best_paid, time.perf_counter() - started)
                started = time.perf_counter()
                for _ in range(requests):
                    page += 1
                    plain.get(f"{base}/free/{page}")
                best_free = min(best_free, time.perf_counter() - started)
        magazine_server.should_exit = True
        api.should_exit = True
        time.sleep(0.3)
        platform.close()
    return HttpFigure(requests, requests / best_paid, requests / best_free)
