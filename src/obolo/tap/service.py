"""Tap use cases: merchants and terminals, cards linked by UID, taps online and offline,
transit days held and posted once, offline kits, debts, journey history.

A tap is one unit of work in one transaction (`tap_in`), so many of them share a commit
(the process's write path, `adapters/db/write_path.py`): a terminal's answer never waits
for more than one commit.

Retail: one posted transfer per approved tap (the merchant is paid at once; see
docs/decisions/0004-tap-charges.md). Transit: the first tap of a card's day reserves all
that day can still cost under the caps (one pending transfer); later taps only accrue on
it; the day's close posts what accrued and releases the rest — one posted transfer per
card, operator and day. Taps uploaded after their day closed are billed by one correction
per week.
"""

from __future__ import annotations

from obolo.tap.cards import TapCards
from obolo.tap.jobs import TapJobs
from obolo.tap.merchants import TapMerchants
from obolo.tap.store import key_hash
from obolo.tap.taps import TapPayments
from obolo.tap.views import Card, Credential, Journey, Merchant, TapIn, TapOutcome, Terminal


class TapService(TapMerchants, TapCards, TapPayments, TapJobs):
    """Every tap use case behind one name, as the API, pages and jobs call them; each lives
    in the module of what it is about (`merchants`, `cards`, `taps`, `jobs`)."""


__all__ = [
    "Card",
    "Credential",
    "Journey",
    "Merchant",
    "TapIn",
    "TapOutcome",
    "TapService",
    "Terminal",
    "key_hash",
]
