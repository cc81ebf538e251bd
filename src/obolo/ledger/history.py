"""An account's balances after each event, rebuilt from its transfers and expiries."""

from __future__ import annotations

from obolo.ledger.model import AccountBalance, AccountId, PendingStatus, TransferFlags
from obolo.ledger.rows import id_bytes, id_int
from obolo.ledger.store import SqlStore

_PENDING = int(TransferFlags.PENDING)
_POST = int(TransferFlags.POST_PENDING_TRANSFER)
_VOID = int(TransferFlags.VOID_PENDING_TRANSFER)


def balance_history(store: SqlStore, account_id: AccountId) -> list[AccountBalance]:
    key = id_bytes(account_id)
    m = store.mark
    store.cursor.execute(
        "SELECT t.timestamp, t.id, t.debit_account_id, t.amount, t.flags, p.amount "
        "FROM ledger_transfers t LEFT JOIN ledger_pending_transfers p ON p.id = t.pending_id "
        f"WHERE (t.debit_account_id = {m} OR t.credit_account_id = {m}) AND t.failure IS NULL",
        (key, key),
    )
    events = [
        (ts, tid, debit == key, amount, flags, held)
        for ts, tid, debit, amount, flags, held in store.cursor.fetchall()
    ]
    store.cursor.execute(
        "SELECT resolved_at, id, debit_account_id, amount FROM ledger_pending_transfers "
        f"WHERE status = {int(PendingStatus.EXPIRED)} "
        f"AND (debit_account_id = {m} OR credit_account_id = {m})",
        (key, key),
    )
    # An expiry releases what the pending transfer held, like a void of the whole amount.
    events += [
        (ts, pid, debit == key, amount, _VOID, amount) for ts, pid, debit, amount in store.cursor.fetchall()
    ]
    events.sort(key=lambda event: event[0])
    debits_posted = credits_posted = debits_pending = credits_pending = 0
    history: list[AccountBalance] = []
    for timestamp, transfer_id, is_debit, amount, flags, held in events:
        if flags & _PENDING:
            pending_delta, posted_delta = amount, 0
        elif flags & _POST:
            pending_delta, posted_delta = -held, amount
        elif flags & _VOID:
            pending_delta, posted_delta = -held, 0
        else:
            pending_delta, posted_delta = 0, amount
        if is_debit:
            debits_pending += pending_delta
            debits_posted += posted_delta
        else:
            credits_pending += pending_delta
            credits_posted += posted_delta
        history.append(
            AccountBalance(
                timestamp,
                id_int(bytes(transfer_id)),
                debits_posted,
                credits_posted,
                debits_pending,
                credits_pending,
            )
        )
    return history
