"""A paying HTTP client: on 402 it opens (or reuses) a channel to that provider within
the budget it was given, and retries with the next payment of the channel.

    with PayingClient("https://obolo.example", token, budget=1_000_000) as client:
        page = client.get("https://magazine.example/articles/1")

It never reserves more than `budget` units in total. With `wallet_file`, chains are kept
on disk (mode 0600), so a restart does not lose paid-for but unused payments; without
it, what was reserved but not spent comes back when the channel expires.

Purchases belong to the account, not to one client: before paying for a page it asks the
platform whether the account bought it within its re-access period (from any device or
client) and, if so, opens it with the platform's fresh re-access receipt, paying nothing;
after a paid view it tells the platform what it bought, with the provider's view receipt.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from obolo.money import Asset, parse_units
from obolo.sdk.paywall import CHARGE_SCHEME, RECEIPT_SCHEME, SCHEME, decode_header, encode_header
from obolo.sdk.payword import CLOSED, EXPIRED, Certificate, HashChain, b64, unb64
from obolo.sdk.proofs import CAPPED_PROOF_REQUIRED, prove_capped, prove_reread, public_key_text

# Refusals after which a channel is of no more use: the client opens another (one saved
# before channels named a reader key cannot read past a cap).
RETIRED = {CLOSED, EXPIRED, CAPPED_PROOF_REQUIRED}


def _refusal(response: httpx.Response) -> str:
    try:
        return str(response.json().get("refused", ""))
    except ValueError:
        return ""


class BudgetExceeded(Exception):
    """Paying for this would take the client past its budget."""


class PaymentFailed(Exception):
    """The provider refused the payment, or the platform refused the channel."""


@dataclass(frozen=True)
class Proof:
    """One channel payment handed to another client's transport: `payload` is the JSON of
    Obolo's `Payment` header."""

    channel: _Channel
    index: int
    payload: dict[str, Any]


@dataclass
class _Channel:
    certificate: str
    chain: HashChain
    price: int
    next_index: int = 1
    spent: int = field(default=0)
    #: Signs views past a provider's cap; its public half is in the certificate. Not
    #: derived from the chain: the chain's seed is revealed by its last payment.
    reader_key: Ed25519PrivateKey | None = None

    @property
    def decoded(self) -> Certificate:
        return Certificate.decode(self.certificate)[0]

    @property
    def exhausted(self) -> bool:
        return self.next_index > self.chain.length


def _key_text(key: Ed25519PrivateKey) -> str:
    return b64(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))


class PayingClient:
    def __init__(
        self,
        server: str,
        token: str,
        budget: int,
        *,
        chain_length: int = 1_000,
        http: httpx.Client | None = None,
        wallet_file: str | Path | None = None,
        clock: Callable[[], float] = time.time,
        purchases: bool = True,
    ) -> None:
        """`purchases`: ask the platform before paying for a page whether the account
        bought it already, and tell it what was bought (False: this client alone remembers)."""
        self.server = server.rstrip("/")
        self.purchases = purchases
        #: Unix seconds; dates the reader's proofs, which a site accepts only near its own time.
        self.clock = clock
        self.auth = {"Authorization": f"Bearer {token}"}
        self.budget = budget
        self.reserved = 0
        self.chain_length = chain_length
        self.http = http or httpx.Client(timeout=10)
        self._channels: dict[tuple[str, str, int], _Channel] = {}
        self._receipts: dict[str, tuple[str, str]] = {}  # url: (receipt, its holder key)
        self._by_host: dict[str, _Channel] = {}
        self._spent_on_retired = 0
        self._file = Path(wallet_file) if wallet_file else None
        if self._file is not None and self._file.exists():
            self._load(self._file)

    def __enter__(self) -> PayingClient:
        return self

    # -- chains kept on disk: paid-for but unused payments survive a restart --------------
    def _load(self, path: Path) -> None:
        saved = json.loads(path.read_text())
        self.reserved = int(saved.get("reserved", 0))
        self._spent_on_retired = int(saved.get("spent_on_retired", 0))
        for item in saved.get("channels", []):
            chain = HashChain(unb64(item["seed"]), int(item["length"]))
            key = (
                Ed25519PrivateKey.from_private_bytes(unb64(item["reader_key"]))
                if item.get("reader_key")
                else None
            )
            channel = _Channel(
                item["certificate"], chain, int(item["price"]), int(item["next_index"]), reader_key=key
            )
            self._channels[(item["provider"], item["asset"], channel.price)] = channel
            if item.get("host"):
                self._by_host[item["host"]] = channel

    def _save(self) -> None:
        if self._file is None:
            return
        hosts = {id(channel): host for host, channel in self._by_host.items()}
        channels = [
            {
                "provider": provider, "asset": asset, "price": channel.price,
                "certificate": channel.certificate, "seed": b64(channel.chain.seed),
                "length": channel.chain.length, "next_index": channel.next_index,
                "host": hosts.get(id(channel)),
                "reader_key": _key_text(channel.reader_key) if channel.reader_key else None,
            }
            for (provider, asset, _), channel in self._channels.items()
        ]  # fmt: skip
        temporary = self._file.with_suffix(".tmp")
        # The seeds and reader keys are money: readable by this user only, replaced atomically.
        temporary.touch(mode=0o600)
        saved = {"reserved": self.reserved, "spent_on_retired": self._spent_on_retired, "channels": channels}
        temporary.write_text(json.dumps(saved))
        os.replace(temporary, self._file)

    def __exit__(self, *_: object) -> None:
        self.http.close()

    @property
    def spent(self) -> int:
        return self._spent_on_retired + sum(c.price * (c.next_index - 1) for c in self._channels.values())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        kept = self._receipts.get(url)
        if kept is not None:
            # Paid once, read again: the provider's receipt, with the proof only its holder
            # can make, reopens the page for free.
            receipt, holder_key = kept
            proof = prove_reread(holder_key, httpx.URL(url).path, int(self.clock()))
            headers = dict(kwargs.get("headers") or {})
            headers["Payment"] = encode_header({"scheme": RECEIPT_SCHEME, "receipt": receipt, "proof": proof})
            again = self.http.request(method, url, **{**kwargs, "headers": headers})
            if again.status_code != 402:
                return again
            del self._receipts[url]
        host = httpx.URL(url).host
        known = self._by_host.get(host)
        if known is not None and not known.exhausted:
            bought = self._bought(method, url, known.decoded.provider, kwargs)
            if bought is not None:
                return bought
            # Pay up front with the channel this site took last time: one round trip. If
            # this page costs something else, the site answers 402 and we ask properly.
            attempt = self._pay(method, url, known, kwargs)
            if attempt.status_code != 402:
                return attempt
            if _refusal(attempt) in RETIRED:
                self._retire(known)
        response = self.http.request(method, url, **kwargs)
        if response.status_code != 402:
            return response
        offer = self._offer(response)
        if known is None:
            bought = self._bought(method, url, str(offer["payTo"]), kwargs)
            if bought is not None:
                return bought
        channel = self._channel_for(offer)
        self._by_host[host] = channel
        paid = self._pay(method, url, channel, kwargs)
        if paid.status_code == 402 and _refusal(paid) in RETIRED:
            self._retire(channel)
            channel = self._channel_for(offer)
            self._by_host[host] = channel
            paid = self._pay(method, url, channel, kwargs)
        if paid.status_code == 402:
            raise PaymentFailed(f"the provider refused the payment: {_refusal(paid)}")
        return paid

    def _retire(self, channel: _Channel) -> None:
        """The provider settled this channel, or it expired: forget it. What it did not use
        comes back to the wallet at settlement, so it stops counting against the budget."""
        used = channel.next_index - 1
        self._spent_on_retired += channel.price * used
        self.reserved -= channel.price * (channel.chain.length - used)
        self._channels = {key: kept for key, kept in self._channels.items() if kept is not channel}
        self._by_host = {host: kept for host, kept in self._by_host.items() if kept is not channel}
        self._save()

    def _pay(self, method: str, url: str, channel: _Channel, kwargs: dict[str, Any]) -> httpx.Response:
        headers = dict(kwargs.get("headers") or {})
        index = channel.next_index
        payment: dict[str, Any] = {
            "scheme": SCHEME,
            "certificate": channel.certificate,
            "index": index,
            "token": b64(channel.chain.token(index)),
        }
        if channel.reader_key is not None:
            # Used only if this view is past the provider's cap (then the payment is not).
            path = httpx.URL(url).path
            payment["proof"] = prove_capped(channel.reader_key, channel.decoded, path, int(self.clock()))
        headers["Payment"] = encode_header(payment)
        paid = self.http.request(method, url, **{**kwargs, "headers": headers})
        if paid.status_code == 402:
            return paid
        answer = decode_header(paid.headers["Payment-Response"]) if "Payment-Response" in paid.headers else {}
        if paid.status_code < 400 and answer.get("index") == index:
            channel.next_index += 1  # the site took it: delivered, and not past a cap
            self._save()
        if answer.get("receipt") and answer.get("receipt_key"):
            self._receipts[url] = (str(answer["receipt"]), str(answer["receipt_key"]))
        if paid.status_code < 400 and answer.get("view"):
            self.record(str(answer["view"]))
        return paid

    # -- purchases kept by the platform: paid once, read again from any client ----------------
    def _bought(self, method: str, url: str, provider: str, kwargs: dict[str, Any]) -> httpx.Response | None:
        """The page opened with the platform's re-access receipt, if the account bought it
        within its re-access period; None when it did not (or the site refused it)."""
        receipt = self.reaccess(provider, httpx.URL(url).path or "/")
        if receipt is None:
            return None
        headers = dict(kwargs.get("headers") or {})
        headers["Payment"] = encode_header({"scheme": CHARGE_SCHEME, "receipt": receipt})
        opened = self.http.request(method, url, **{**kwargs, "headers": headers})
        if opened.status_code == 402:
            return None
        header = opened.headers.get("Payment-Response")
        answer = decode_header(header) if header else {}
        if answer.get("receipt") and answer.get("receipt_key"):
            self._receipts[url] = (str(answer["receipt"]), str(answer["receipt_key"]))
        return opened

    def reaccess(self, provider: str, resource: str) -> str | None:
        """The platform's re-access receipt for `resource` (a path) at `provider`, if the
        account bought it within its re-access period from any device or client; None when
        it did not, or when this client keeps its purchases to itself."""
        if not self.purchases:
            return None
        try:
            asked = self.http.get(
                f"{self.server}/v1/purchases",
                params={"provider_id": provider, "resource": resource},
                headers=self.auth,
            )
        except httpx.HTTPError:
            return None  # the platform is unreachable: pay as if nothing was bought
        if asked.status_code != 200:
            return None
        receipt = asked.json().get("receipt")
        return receipt if isinstance(receipt, str) and receipt else None

    def record(self, view: str) -> None:
        """Tell the platform what this view bought (the provider's view receipt proves it),
        so the account's other clients do not pay for it again. A failure costs nothing
        but that memory."""
        if not self.purchases:
            return
        try:
            self.http.post(f"{self.server}/v1/purchases", json={"view": view}, headers=self.auth)
        except httpx.HTTPError:
            return

    # -- proofs for other clients' transports (x402's, pympp's): same channels and budget ----
    def proof_for(self, offer: dict[str, Any]) -> Proof:
        """The next payment for `offer` ({"payTo", "asset", "amount", "price"}, and the
        "resource" paid for), opening a channel within the budget when needed. Not counted as
        spent until `took` says the site took it, so a failed or capped request leaves the
        proof to pay again."""
        channel = self._channel_for(offer)
        index = channel.next_index
        payload = {"scheme": SCHEME, "certificate": channel.certificate, "index": index,
                   "token": b64(channel.chain.token(index))}  # fmt: skip
        resource = offer.get("resource")
        if channel.reader_key is not None and isinstance(resource, str) and resource:
            # Used only if this view is past the provider's cap (then the payment is not).
            path = httpx.URL(resource).path or "/"
            payload["proof"] = prove_capped(channel.reader_key, channel.decoded, path, int(self.clock()))
        return Proof(channel, index, payload)

    def took(self, proof: Proof, *, taken: bool, refused: str = "") -> bool:
        """What the site answered `proof`: taken (paid, not capped) advances its channel; a
        channel the site closed or that expired is forgotten. True when it was forgotten
        (pay again with a fresh proof)."""
        if taken and proof.channel.next_index == proof.index:
            proof.channel.next_index += 1
            self._save()
        if refused in RETIRED and any(kept is proof.channel for kept in self._channels.values()):
            self._retire(proof.channel)
            return True
        return False

    def give_back(self, proof: Proof) -> None:
        """A proof counted as taken that the site did not keep (a capped view, a failed
        request): the next payment uses it again, if none was made since."""
        if proof.channel.next_index == proof.index + 1:
            proof.channel.next_index = proof.index
            self._save()

    def refund(self, response: httpx.Response) -> dict[str, Any]:
        """Take back the channel payment `response` made, with the view receipt the provider
        returned (within the platform's refund window). The money comes back when the
        channel settles. Raises PaymentFailed when the view is not refundable."""
        header = response.headers.get("Payment-Response")
        answer = decode_header(header) if header else {}
        if not answer.get("view"):
            raise PaymentFailed("this response carries no refundable view receipt")
        refunded = self.http.post(
            f"{self.server}/v1/channels/{answer['channel']}/refunds",
            json={"view": answer["view"]},
            headers=self.auth,
        )
        if refunded.status_code != 201:
            raise PaymentFailed(f"refund refused: {refunded.json().get('code')}")
        result: dict[str, Any] = refunded.json()
        return result

    @staticmethod
    def _offer(response: httpx.Response) -> dict[str, Any]:
        header = response.headers.get("Payment-Required")
        offers = decode_header(header)["offers"] if header else response.json().get("offers", [])
        for offer in offers:
            if offer.get("scheme") == SCHEME:
                return dict(offer)
        raise PaymentFailed("no offer this client can pay")

    def _channel_for(self, offer: dict[str, Any]) -> _Channel:
        price = int(offer["amount"])
        key = (str(offer["payTo"]), str(offer["asset"]), price)
        channel = self._channels.get(key)
        if channel is not None and not channel.exhausted:
            return channel
        length = min(self.chain_length, (self.budget - self.reserved) // price) if price > 0 else 0
        if length < 1:
            raise BudgetExceeded(f"{price} more units would pass the budget of {self.budget}")
        asset = Asset(str(offer["asset"]), 6)
        if parse_units(str(offer["price"]), asset) != price:
            raise PaymentFailed("the offer's price and amount disagree")
        chain = HashChain.generate(length)
        reader_key = Ed25519PrivateKey.generate()
        opened = self.http.post(
            f"{self.server}/v1/channels",
            json={
                "provider_id": offer["payTo"],
                "asset": asset.code,
                "price": str(offer["price"]),
                "length": length,
                "root": b64(chain.root),
                "reader_key": public_key_text(reader_key),
            },
            headers=self.auth,
        )
        if opened.status_code != 201:
            raise PaymentFailed(f"the platform refused the channel: {opened.text[:200]}")
        self.reserved += price * length
        channel = _Channel(opened.json()["certificate"], chain, price, reader_key=reader_key)
        self._channels[key] = channel
        self._save()
        return channel
