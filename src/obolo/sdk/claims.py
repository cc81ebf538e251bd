"""Claims in the background: a daemon thread that settles the provider's finished
channels every few minutes, and all of them when it stops.

    sender = ClaimSender(paywall.book, "https://obolo.example", api_key).start()
    ...
    sender.stop()   # on shutdown: every channel with payments is claimed
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx

from obolo.sdk.book import ChannelBook
from obolo.sdk.paywall import send_claims

log = logging.getLogger("obolo.sdk.claims")


class ClaimSender:
    def __init__(
        self,
        book: ChannelBook,
        server: str,
        api_key: str,
        *,
        every: float = 60.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.book = book
        self.server = server
        self.api_key = api_key
        self.every = every
        self.http = http or httpx.Client(timeout=10)
        self.settled: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="obolo-claims", daemon=True)

    def start(self) -> ClaimSender:
        self._thread.start()
        return self

    def send(self, *, close_all: bool = False) -> list[dict[str, Any]]:
        """One round now. A failure is logged and left to the next round: a claim settles
        once, so sending it again is always safe."""
        try:
            results = send_claims(self.book, self.http, self.server, self.api_key, close_all=close_all)
        except httpx.HTTPError as error:
            log.warning("claims not sent, retrying next round: %s", type(error).__name__)
            return []
        self.settled.extend(results)
        return results

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.send()

    def stop(self, *, claim_everything: bool = True) -> None:
        """Stop the thread; by default claim every channel with payments first."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.every + 10)
        if claim_everything:
            self.send(close_all=True)
