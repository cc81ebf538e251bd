"""A person's data, handed over (`export`), and an account closed by its holder (`close`).

The export holds what the platform keeps about the person — profile, wallets, every
movement, open sessions, API keys, the audit entries about them — and no secret: no
password hash, token digest, key secret, TOTP secret or recovery code.

An account is closed only when it holds no money: with a balance, the holder names a bank
account and the balance goes out through the ordinary withdrawal first (its fee, if any,
taken from it). Closing revokes every session and API key; sign-in is refused after.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from sqlalchemy import Connection, or_, select, update

from obolo.account.service import AccountService
from obolo.adapters.clock import iso
from obolo.adapters.db.schema import api_keys, audit_log, sessions
from obolo.adapters.db.schema_account import account_standing, two_factor
from obolo.adapters.db.transactions import run_in_transaction
from obolo.audit import service as audit
from obolo.identity import standing
from obolo.identity.errors import AccountClosed, BalanceNotZero
from obolo.identity.standing import standing_of
from obolo.money import Amount, format_units
from obolo.wallets.model import MovementKind
from obolo.wallets.service import WalletService

__all__ = ["close", "export"]
_HISTORY_PAGE = 500


def export(account: AccountService, wallets: WalletService, user_id: str) -> dict[str, Any]:
    """Everything kept about the person, as JSON-ready values; amounts as exact decimals."""
    identity = account.identity
    user = identity.get_user(user_id)

    def amount(units: int, asset: str) -> str:
        return format_units(units, wallets.asset(asset))

    history: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        entries, cursor = wallets.history(user_id, _HISTORY_PAGE, cursor)
        for entry in entries:
            m = entry.movement
            history.append(
                {
                    "id": m.id, "kind": m.kind.value, "status": m.status.value, "direction": entry.direction,
                    "asset": m.asset, "amount": amount(m.amount, m.asset), "fee": amount(m.fee, m.asset),
                    "counterparty": entry.counterparty, "note": m.note, "created_at": iso(m.created_at),
                }
            )  # fmt: skip
        if cursor is None:
            break

    def work(connection: Connection) -> dict[str, Any]:
        session_rows = connection.execute(
            select(sessions).where(sessions.c.user_id == user_id).order_by(sessions.c.created_at)
        ).all()
        trail = connection.execute(
            select(audit_log)
            .where(or_(audit_log.c.subject == user_id, audit_log.c.actor == user_id))
            .order_by(audit_log.c.seq)
        ).all()
        enabled = connection.execute(
            select(two_factor.c.enabled_at).where(two_factor.c.user_id == user_id)
        ).scalar()
        return {
            "sessions": [
                {
                    "created_at": iso(r.created_at), "expires_at": iso(r.expires_at),
                    "last_used_at": iso(r.last_used_at) if r.last_used_at else None, "address": r.address,
                    "device": r.device,
                    "revoked_at": iso(r.revoked_at) if r.revoked_at else None,
                }
                for r in session_rows
            ],
            "audit": [
                {"at": iso(r.at), "action": r.action, "actor": r.actor, "details": json.loads(r.details),
                 "address": r.address}
                for r in trail
            ],
            "two_factor_enabled": enabled is not None,
        }  # fmt: skip

    kept = run_in_transaction(identity.engine, work, read_only=True)
    return {
        "profile": {
            "id": user.id, "email": user.email, "display_name": user.display_name, "phone": user.phone,
            "language": user.language, "roles": sorted(r.value for r in user.roles),
            "created_at": iso(user.created_at), "two_factor_enabled": kept["two_factor_enabled"],
        },
        "wallets": [
            {
                "asset": b.asset, "available": amount(b.available, b.asset),
                "reserved": amount(b.reserved, b.asset),
            }
            for b in wallets.balances(user_id)
        ],
        "history": history,
        "sessions": kept["sessions"],
        "api_keys": [
            {
                "id": k.id, "prefix": k.prefix, "name": k.name, "scopes": sorted(k.scopes),
                "created_at": iso(k.created_at),
                "last_used_at": iso(k.last_used_at) if k.last_used_at else None,
                "revoked_at": iso(k.revoked_at) if k.revoked_at else None,
            }
            for k in identity.list_api_keys(user_id)
        ],
        "audit": kept["audit"],
    }  # fmt: skip


def close(
    account: AccountService, wallets: WalletService, user_id: str, password: str, iban: str | None = None
) -> None:
    """Close the account. With money in it, `iban` receives the balance first (the usual
    withdrawal); without `iban` that is BalanceNotZero, and so is money still reserved.
    Raises WrongPassword, BalanceNotZero, AccountClosed, and what a withdrawal raises
    (InvalidIban, ...); nothing is closed then."""
    identity = account.identity
    account.check_current_password(user_id, password)
    if run_in_transaction(identity.engine, lambda c: standing_of(c, user_id), read_only=True).closed_at:
        raise AccountClosed("this account is closed")
    balances = wallets.balances(user_id)
    held = {b.asset: b for b in balances if b.available or b.reserved}
    if held and (iban is None or any(b.reserved for b in held.values())):
        raise BalanceNotZero(
            "pay the balance out to a bank account first" if iban is None else "money is still reserved",
            balances={a: format_units(b.available + b.reserved, wallets.asset(a)) for a, b in held.items()},
        )
    for balance in held.values():
        assert iban is not None
        fee = partial(wallets.fee_of, MovementKind.WITHDRAWAL)
        units = balance.available - fee(balance.available)
        while units > 0 and units + fee(units) > balance.available:
            units -= 1
        if units > 0:
            # A space: no Idempotency-Key a client sends can hold one, so none can be taken first.
            wallets.withdraw(
                user_id,
                Amount(units, wallets.asset(balance.asset)),
                iban,
                f"close account {user_id} {balance.asset}",
            )
    left = {b.asset: b for b in wallets.balances(user_id) if b.available or b.reserved}
    if left:
        raise BalanceNotZero(
            "the balance could not be paid out in full",
            balances={a: format_units(b.available + b.reserved, wallets.asset(a)) for a, b in left.items()},
        )

    def work(connection: Connection) -> None:
        now = identity.clock()
        exists = connection.execute(
            select(account_standing.c.user_id).where(account_standing.c.user_id == user_id).with_for_update()
        ).first()
        if exists is None:
            connection.execute(account_standing.insert().values(user_id=user_id, closed_at=now))
        else:
            connection.execute(
                update(account_standing).where(account_standing.c.user_id == user_id).values(closed_at=now)
            )
        revoked = connection.execute(
            update(sessions)
            .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
        connection.execute(
            update(api_keys)
            .where(api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        audit.record(connection, now, user_id, "account.closed", user_id, {"sessions_revoked": int(revoked)})

    try:
        run_in_transaction(identity.engine, work)
    finally:
        identity.forget_sessions()
        standing.forget(identity.engine, user_id)
