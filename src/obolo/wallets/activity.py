"""Describing ledger transfers on a wallet for the person who owns it.

History is read from the ledger, which every product writes to, so nothing can be
missed; what a transfer *was for* lives in the products' own tables. Products register a
`Describer` here (the bootstrap wires them), so this package never imports a product:
products may import wallets, never the reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from obolo import locale
from obolo.ledger import Transfer

_DAY_NS = 86_400 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class Day:
    """A calendar day inside a sentence (days since 1970-01-01), written where the sentence
    is rendered in its reader's language by Babel ("3 Dec", "3 dic"); for programs, ISO 8601
    ("2026-12-03")."""

    days: int

    def render(self, translate: Callable[..., str] | None = None) -> str:
        """The day in the language of `translate` (a page's `t` knows its language), else English."""
        language = getattr(translate, "language", locale.DEFAULT_LANGUAGE)
        return locale.short_day(self.days * _DAY_NS, language)

    def __str__(self) -> str:
        return locale.moment(self.days * _DAY_NS).date().isoformat()


@dataclass(frozen=True, slots=True)
class Text:
    """A sentence for a person, kept as its English template (the message id) and its
    values, so that each edge (pages, CSV, SMS) renders it in the reader's language. A value
    may itself be a Text, or a Day (a date the edge writes); one named `what` is a clause
    inside the sentence, its first letter lowered ("Reserved: payment to Bob")."""

    message: str
    values: tuple[tuple[str, str | Text | Day], ...] = ()

    @classmethod
    def of(cls, message: str, **values: str | Text | Day) -> Text:
        return cls(message, tuple(sorted(values.items())))

    def render(self, translate: Callable[..., str] | None = None) -> str:
        """The sentence through `translate(message, **values)` (a page's `t`), else in English."""
        values = {}
        for name, value in self.values:
            text = value if isinstance(value, str) else value.render(translate)
            values[name] = text[:1].lower() + text[1:] if name == "what" else text
        if translate is not None:
            return translate(self.message, **values)
        return self.message.format(**values) if values else self.message

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True, slots=True)
class Described:
    """What a transfer (or, for a hold, its later post or void) means to a person.

    `description` names a posted transfer or a hold's settlement; `hold` the hold while it
    reserves money; `release` what a void (or a partial post) gives back."""

    kind: str
    description: str
    hold: str | None = None
    release: str | None = None
    counterparty: str | None = None
    movement_id: str | None = None
    # The same, structured for translation (None: the product has not said; the English stands).
    text: Text | None = None
    hold_text: Text | None = None
    release_text: Text | None = None

    @classmethod
    def of(
        cls,
        kind: str,
        text: Text,
        *,
        hold: Text | None = None,
        release: Text | None = None,
        counterparty: str | None = None,
        movement_id: str | None = None,
    ) -> Described:
        """A description said as structured sentences, its English rendered beside them."""
        return cls(
            kind, text.render(), hold=hold.render() if hold else None,
            release=release.render() if release else None, counterparty=counterparty,
            movement_id=movement_id, text=text, hold_text=hold, release_text=release,
        )  # fmt: skip


#: `describe(connection, user_id, transfers)` → descriptions by transfer id, for those of
#: `transfers` (holds included, as the pending transfers themselves) that the product
#: made. One query per call, whatever the number of transfers.
Describer = Callable[[Connection, str, Sequence[Transfer]], Mapping[int, Described]]


@dataclass(frozen=True, slots=True)
class Purchase:
    """One thing bought on a site, or its refund, as the product recorded it.

    `spent` is the signed change of what the person spent: a view's price, minus that
    price for its refund."""

    id: str  # stable across reads: the product's own id for the purchase (and ":refund")
    timestamp: int
    asset: str
    kind: str  # the history kind: "paywall", "tap"
    status: str  # "charged" or "refunded"
    site: str
    item: str  # what was bought: the page, the ride
    spent: int
    settled: bool  # already posted by its tab's or day's settlement


#: `purchases(connection, user_id, start, before, limit)` → the person's purchases (and
#: refunds) with timestamps in [start, before) (None: unbounded), newest first, at most `limit`.
PurchaseSource = Callable[[Connection, str, int | None, int | None, int], Sequence[Purchase]]


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    """One ledger event on one of the person's wallets.

    `amount` is the signed change of the wallet's balance (available + reserved);
    `reserved` the signed change of what is reserved: a hold is amount 0, reserved
    +held; its settlement amount -posted, reserved -held; a release (a void, or the hold
    expiring) amount 0, reserved -held. Summed over a wallet's whole history they are its
    balance and its reserve."""

    id: str
    timestamp: int
    asset: str
    kind: str
    status: str  # posted, reserved (from this wallet), pending (for it), settled, released, expired,
    # and for purchases: charged, refunded
    direction: str  # in, out
    amount: int
    reserved: int
    description: str
    counterparty: str | None
    movement_id: str | None
    # A purchase (status "charged" or "refunded") changes no balance: it is the detail of
    # a hold its settlement posts later. `spent` is what it adds to the person's spending.
    spent: int = 0
    item: str | None = None
    text: Text | None = None  # `description`, structured for translation

    @property
    def available(self) -> int:
        """The signed change of what can be spent."""
        return self.amount - self.reserved

    @property
    def released(self) -> int:
        """What a settlement or a void gave back to the available balance."""
        return self.amount - self.reserved if self.reserved < 0 else 0


__all__ = ["ActivityEntry", "Day", "Described", "Describer", "Purchase", "PurchaseSource", "Text"]
