"""Prove the books: every invariant the ledger promises, checked from the stored rows.

Each query looks for violations, so a healthy ledger returns nothing; the aggregation
runs in the database and scales with the number of accounts, not of transfers held in
Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from obolo.adapters.db.engine import READ_ONLY, is_sqlite
from obolo.ledger.rows import id_int

_PENDING, _POST, _VOID = 2, 4, 8


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


# (rule, SQL returning one row per violation, how to describe a row)
_CHECKS: list[tuple[str, str]] = [
    (
        "asset_sums_to_zero",
        "SELECT asset, SUM(credits_posted) - SUM(debits_posted), "
        "SUM(credits_pending) - SUM(debits_pending) "
        "FROM ledger_accounts GROUP BY asset "
        "HAVING SUM(credits_posted) <> SUM(debits_posted) OR SUM(credits_pending) <> SUM(debits_pending)",
    ),
    (
        "transfer_is_well_formed",
        "SELECT t.id, 'accounts, assets or amount wrong' FROM ledger_transfers t "
        "LEFT JOIN ledger_accounts d ON d.id = t.debit_account_id "
        "LEFT JOIN ledger_accounts c ON c.id = t.credit_account_id "
        "WHERE t.failure IS NULL AND (d.id IS NULL OR c.id IS NULL OR d.id = c.id "
        "OR d.asset <> t.asset OR c.asset <> t.asset OR t.amount <= 0)",
    ),
    (
        "totals_match_transfers",
        f"""
        WITH legs AS (
            SELECT debit_account_id AS account_id,
                   CASE WHEN (flags & {_PENDING | _VOID}) = 0 THEN amount ELSE 0 END AS debit_posted,
                   0 AS credit_posted
            FROM ledger_transfers WHERE failure IS NULL
            UNION ALL
            SELECT credit_account_id, 0,
                   CASE WHEN (flags & {_PENDING | _VOID}) = 0 THEN amount ELSE 0 END
            FROM ledger_transfers WHERE failure IS NULL
        ),
        held AS (
            SELECT debit_account_id AS account_id, amount AS debit_pending, 0 AS credit_pending
            FROM ledger_pending_transfers WHERE status = 1
            UNION ALL
            SELECT credit_account_id, 0, amount FROM ledger_pending_transfers WHERE status = 1
        ),
        posted AS (
            SELECT account_id, SUM(debit_posted) AS dp, SUM(credit_posted) AS cp FROM legs GROUP BY account_id
        ),
        pending AS (
            SELECT account_id, SUM(debit_pending) AS dq, SUM(credit_pending) AS cq
            FROM held GROUP BY account_id
        )
        SELECT a.id, 'totals ' || a.debits_posted || '/' || a.credits_posted || '/' || a.debits_pending
               || '/' || a.credits_pending || ' but transfers give ' || COALESCE(p.dp, 0) || '/'
               || COALESCE(p.cp, 0) || '/' || COALESCE(q.dq, 0) || '/' || COALESCE(q.cq, 0)
        FROM ledger_accounts a
        LEFT JOIN posted p ON p.account_id = a.id
        LEFT JOIN pending q ON q.account_id = a.id
        WHERE a.debits_posted <> COALESCE(p.dp, 0) OR a.credits_posted <> COALESCE(p.cp, 0)
           OR a.debits_pending <> COALESCE(q.dq, 0) OR a.credits_pending <> COALESCE(q.cq, 0)
        """,
    ),
    (
        "flags_hold",
        "SELECT id, 'limit flag broken or negative total' FROM ledger_accounts "
        "WHERE ((flags & 2) <> 0 AND debits_posted + debits_pending > credits_posted) "
        "OR ((flags & 4) <> 0 AND credits_posted + credits_pending > debits_posted) "
        "OR debits_posted < 0 OR credits_posted < 0 OR debits_pending < 0 OR credits_pending < 0",
    ),
    (
        "pending_state_matches_transfers",
        f"""
        SELECT p.id, 'status ' || p.status || ' with ' || COUNT(r.id) || ' post/void transfers'
        FROM ledger_pending_transfers p
        JOIN ledger_transfers t ON t.id = p.id
        LEFT JOIN ledger_transfers r ON r.pending_id = p.id AND r.failure IS NULL
        GROUP BY p.id, p.status, p.amount, t.amount, t.flags
        HAVING COUNT(r.id) > 1
            OR (p.status IN (2, 3) AND COUNT(r.id) <> 1)
            OR (p.status IN (1, 4) AND COUNT(r.id) <> 0)
            OR (p.status = 2 AND MAX(r.flags & {_POST}) = 0)
            OR (p.status = 3 AND MAX(r.flags & {_VOID}) = 0)
            OR MAX(r.amount) > p.amount OR p.amount <> t.amount OR (t.flags & {_PENDING}) = 0
        """,
    ),
    (
        "failed_transfer_moves_nothing",
        "SELECT id, 'a failed transfer with an amount or a pending record' FROM ledger_transfers t "
        "WHERE t.failure IS NOT NULL AND (t.amount <> 0 "
        "OR EXISTS (SELECT 1 FROM ledger_pending_transfers p WHERE p.id = t.id))",
    ),
    (
        "pending_is_recorded",
        "SELECT t.id, 'pending transfer without a pending record' FROM ledger_transfers t "
        "LEFT JOIN ledger_pending_transfers p ON p.id = t.id "
        f"WHERE (t.flags & {_PENDING}) <> 0 AND p.id IS NULL AND t.failure IS NULL",
    ),
]


def check_ledger(engine: Engine) -> list[Violation]:
    """Every violation of the ledger's invariants; an empty list means the books hold."""
    violations: list[Violation] = []
    options = READ_ONLY if is_sqlite(engine) else {}
    with engine.connect().execution_options(**options) as connection, connection.begin():
        if not is_sqlite(engine):
            # One snapshot for every query, so concurrent writers cannot make the
            # checks disagree with each other.
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        for rule, sql in _CHECKS:
            for row in connection.exec_driver_sql(sql).fetchall():
                raw = row[0]
                subject = format(id_int(bytes(raw)), "x") if isinstance(raw, bytes | memoryview) else raw
                detail = " ".join(str(value) for value in row[1:])
                violations.append(Violation(rule, f"{subject}: {detail}"))
    return violations
