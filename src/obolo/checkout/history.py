"""What checkout transfers mean in a person's wallet history: a payer's payments, holds
and refunds; a merchant's takings, fees and refunds given (see obolo.wallets.activity)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, or_, select

from obolo.adapters.db.schema import providers
from obolo.adapters.db.schema_checkout import checkout_refunds, checkout_requests
from obolo.adapters.ids import derived_id
from obolo.checkout.model import TransferCode
from obolo.checkout.store import transfer_id
from obolo.ledger import Transfer
from obolo.wallets.activity import Described, Text

_CODES = {int(code) for code in TransferCode} - {int(TransferCode.FEE)}


def describe_checkout_transfers(
    connection: Connection, user_id: str, transfers: Sequence[Transfer]
) -> dict[int, Described]:
    """Payments, holds and refunds of the person's requests (as payer or merchant), and
    the fees taken from them: two queries at most."""
    if not any(t.code in _CODES or t.code == int(TransferCode.FEE) for t in transfers):
        return {}
    ids = {t.id for t in transfers}
    rows = connection.execute(
        select(checkout_requests.c.id, checkout_requests.c.description, checkout_requests.c.payer_id,
               checkout_requests.c.merchant_id, providers.c.name)
        .join(providers, providers.c.id == checkout_requests.c.provider_id)
        .where(or_(checkout_requests.c.payer_id == user_id, checkout_requests.c.merchant_id == user_id))
    ).all()  # fmt: skip
    out: dict[int, Described] = {}
    by_request = {}
    for row in rows:
        by_request[row.id] = row
        site, item = row.name, row.description
        if row.merchant_id == user_id:
            paid = Described.of(
                "checkout",
                Text.of("Sale: {site}: {item}", site=site, item=item),
                hold=Text.of("Held for you: {site}: {item}", site=site, item=item),
                release=Text.of("Refunded: {site}: {item}", site=site, item=item),
            )
        else:
            paid = Described.of(
                "checkout",
                Text.of("Paid {site}: {item}", site=site, item=item),
                hold=Text.of("Held for {site}: {item} (buyer protection)", site=site, item=item),
                release=Text.of("Refunded: {site}: {item}", site=site, item=item),
            )
        for part in ("pay", "hold"):
            out[transfer_id(row.id, part)] = paid
        out[transfer_id(row.id, "fee")] = Described.of(
            "fee", Text.of("Fee: {site}: {item}", site=site, item=item)
        )
    if any(t.code == int(TransferCode.CHECKOUT_REFUND) for t in transfers) and by_request:
        refunds = connection.execute(
            select(checkout_refunds.c.id, checkout_refunds.c.request_id, checkout_refunds.c.reason).where(
                checkout_refunds.c.request_id.in_(list(by_request))
            )
        ).all()
        for refund in refunds:
            row = by_request[refund.request_id]
            # The buyer is refunded by the shop; the shop reads the refund it gave.
            said = Text.of(
                "Refund given: {site}: {item} ({reason})"
                if row.merchant_id == user_id
                else "Refund from {site}: {item} ({reason})",
                site=row.name,
                item=row.description,
                reason=refund.reason,
            )
            out[derived_id("checkout-refund", refund.id)] = Described.of("refund", said)
    return {key: value for key, value in out.items() if key in ids}
