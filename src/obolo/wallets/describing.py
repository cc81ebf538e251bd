"""What the wallets' own transfers mean in a person's history: top-ups, payments,
withdrawals and adjustments, read from the movements table, each described as a structured
sentence (obolo.wallets.activity.Text) its reader's edge translates."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, or_, select

from obolo.adapters.db.schema import movements
from obolo.identity.lookup import display_names
from obolo.ledger import Transfer
from obolo.wallets.accounts import movement_from_row, transfer_id_of
from obolo.wallets.activity import Described, Text
from obolo.wallets.model import Movement, MovementKind, TransferCode

_DAY_NS = 86_400 * 1_000_000_000


def describe_movement_transfers(
    connection: Connection, user_id: str, transfers: Sequence[Transfer]
) -> dict[int, Described]:
    """Top-ups, payments, withdrawals and payouts: the movements table, matched by the
    transfer ids each movement's id derives (one query for the person's movements
    whose principal is among these transfers, their fees found the same way)."""
    ids = {t.id for t in transfers}
    wanted = {t.id for t in transfers if t.code != int(TransferCode.FEE)}
    keys = [i.to_bytes(16, "big") for i in sorted(wanted)]
    rows = connection.execute(
        select(movements).where(
            movements.c.transfer_id.in_(keys),
            or_(movements.c.from_user_id == user_id, movements.c.to_user_id == user_id),
        )
    ).all() if keys else []  # fmt: skip
    found = [movement_from_row(row) for row in rows]
    principal = {row.id: int.from_bytes(row.transfer_id, "big") for row in rows}
    # Fees carry their own derived id; a movement's fee shows next to it, so look
    # them up among the person's movements only when fee transfers are asked for.
    fee_ids = ids - wanted
    if fee_ids:
        # A fee is posted in its movement's transaction: look near those times only.
        times = [t.timestamp for t in transfers if t.id in fee_ids]
        rows = connection.execute(
            select(movements).where(
                movements.c.from_user_id == user_id,
                movements.c.fee > 0,
                movements.c.created_at.between(min(times) - _DAY_NS, max(times) + _DAY_NS),
            )
        ).all()
        found += [movement_from_row(row) for row in rows if transfer_id_of(row.id, "fee") in fee_ids]
    others = {m.to_user_id if m.from_user_id == user_id else m.from_user_id for m in found}
    names = display_names(connection, {o for o in others if o})
    out: dict[int, Described] = {}
    for m in found:
        other = m.to_user_id if m.from_user_id == user_id else m.from_user_id
        name = names.get(other) if other else None
        text = describe_movement(m, user_id, False, name)
        hold, release = Text.of("Reserved: {what}", what=text), Text.of("Released: {what}", what=text)
        out[principal.get(m.id) or transfer_id_of(m.id, "principal")] = Described(
            str(m.kind), text.render(), hold=hold.render(), release=release.render(),
            counterparty=name, movement_id=m.id, text=text, hold_text=hold, release_text=release,
        )  # fmt: skip
        fee_text = describe_movement(m, user_id, True, name)
        fee = Described("fee", fee_text.render(), movement_id=m.id, text=fee_text)
        out[transfer_id_of(m.id, "fee")] = fee
    return out


def describe_movement(
    movement: Movement | None, user_id: str, is_fee: bool, counterparty: str | None = None
) -> Text:
    """A movement as its owner reads it ("Top-up by Visa 4242", "Payment to Bob: pizza"),
    structured for translation."""
    if movement is None:
        return Text.of("Adjustment")
    if movement.kind is MovementKind.ADJUSTMENT:
        return Text.of("Adjustment: {note}", note=movement.note or "")
    if is_fee:
        return Text.of("Fee for {what}", what=_describe_base(movement, user_id, counterparty))
    base = _describe_base(movement, user_id, counterparty)
    if movement.kind in (MovementKind.PAYMENT,) and movement.note:
        return Text.of("{payment}: {note}", payment=base, note=movement.note)
    return base


def _describe_base(movement: Movement, user_id: str, counterparty: str | None) -> Text:
    """The movement without its note."""
    if movement.kind is MovementKind.TOPUP:
        brand = str(movement.details.get("card_brand", "card")).capitalize()
        last4 = str(movement.details.get("card_last4", ""))
        return (
            Text.of("Top-up by {brand} {last4}", brand=brand, last4=last4)
            if last4
            else (Text.of("Top-up by {brand}", brand=brand))
        )
    if movement.kind is MovementKind.WITHDRAWAL:
        iban = movement.details.get("iban")
        return Text.of("Withdrawal to {iban}", iban=str(iban)) if iban else Text.of("Withdrawal to the bank")
    if movement.kind is MovementKind.ADJUSTMENT:
        return Text.of("Adjustment")
    if movement.from_user_id == user_id:
        invitee = movement.details.get("invitee")
        if counterparty is None and invitee:  # an invitation: the sender sees where it stands
            state = _INVITATION_STATES.get(str(movement.details.get("invitation")), "Payment to {name}")
            return Text.of(state, name=str(invitee))
        return Text.of("Payment to {name}", name=counterparty) if counterparty else Text.of("Payment sent")
    return Text.of("Payment from {name}", name=counterparty) if counterparty else Text.of("Payment received")


_INVITATION_STATES = {
    "waiting": "Payment to {name} (waiting for them to join)",
    "returned": "Payment to {name} (not claimed: returned)",
}


__all__ = ["describe_movement", "describe_movement_transfers"]
